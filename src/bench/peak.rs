//! The machine's peak f32 multiply-add rate, the yardstick of the forward
//! pass's GFLOP/s: independent FMA chains (enough to hide the FMA latency)
//! on every core at once, for each SIMD width the CPU has.

use std::time::Instant;

use serde::Serialize;

/// Peak f32 GFLOP/s (2 FLOPs per multiply-add) of one SIMD width.
#[derive(Clone, Debug, Serialize)]
pub struct PeakPoint {
    /// `avx512f`, `avx2+fma`.
    pub simd: &'static str,
    pub threads: usize,
    pub gflops: f64,
}

/// Measures every SIMD width this CPU has, on all cores, about `seconds` each.
pub fn peak_gflops(seconds: f64) -> Vec<PeakPoint> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = Vec::new();
    for (simd, kernel) in kernels() {
        let gflops = run_on_all_cores(threads, seconds, kernel);
        out.push(PeakPoint {
            simd,
            threads,
            gflops,
        });
    }
    out
}

/// A kernel: runs `iters` rounds, returns (a value to keep, FLOPs done).
type Kernel = fn(u64) -> (f32, f64);

fn run_on_all_cores(threads: usize, seconds: f64, kernel: Kernel) -> f64 {
    let rates: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    // Warm up (clocks, page faults), then time whole slices.
                    std::hint::black_box(kernel(100_000));
                    let start = Instant::now();
                    let mut flops = 0.0;
                    while start.elapsed().as_secs_f64() < seconds {
                        let (v, f) = kernel(200_000);
                        std::hint::black_box(v);
                        flops += f;
                    }
                    flops / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0.0))
            .collect()
    });
    rates.iter().sum::<f64>() / 1e9
}

#[cfg(target_arch = "x86_64")]
fn kernels() -> Vec<(&'static str, Kernel)> {
    let mut k: Vec<(&'static str, Kernel)> = Vec::new();
    if std::arch::is_x86_feature_detected!("avx512f") {
        k.push(("avx512f", x86::fma512));
    }
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        k.push(("avx2+fma", x86::fma256));
    }
    k
}

#[cfg(not(target_arch = "x86_64"))]
fn kernels() -> Vec<(&'static str, Kernel)> {
    vec![("scalar", scalar)]
}

/// Chains of plain f32 multiply-adds (the compiler may vectorise them).
#[cfg(not(target_arch = "x86_64"))]
fn scalar(iters: u64) -> (f32, f64) {
    let mut acc = [0f32; 32];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = a.mul_add(0.999_999, 1e-7);
        }
    }
    (acc.iter().sum(), (iters * 32 * 2) as f64)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Independent chains: more than FMA latency x FMA ports on current cores.
    const CHAINS: usize = 12;

    pub fn fma512(iters: u64) -> (f32, f64) {
        // SAFETY: only chosen when the CPU has AVX-512F (see `kernels`).
        let v = unsafe { chains512(iters) };
        (v, (iters as usize * CHAINS * 16 * 2) as f64)
    }

    pub fn fma256(iters: u64) -> (f32, f64) {
        // SAFETY: only chosen when the CPU has AVX2 and FMA (see `kernels`).
        let v = unsafe { chains256(iters) };
        (v, (iters as usize * CHAINS * 8 * 2) as f64)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn chains512(iters: u64) -> f32 {
        let a = _mm512_set1_ps(0.999_999);
        let b = _mm512_set1_ps(1e-7);
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn chains256(iters: u64) -> f32 {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut lanes = [0f32; 8];
        let mut total = 0.0;
        for x in acc {
            _mm256_storeu_ps(lanes.as_mut_ptr(), x);
            total += lanes.iter().sum::<f32>();
        }
        total
    }
}
