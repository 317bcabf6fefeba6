//! A CPU inference path for the policy/value network, used on the CPU
//! backend instead of running the burn graph: batch norm folded into the
//! convolutions, each 3x3 convolution as im2col + one matrix product with
//! the `gemm` crate (its kernels pick AVX-512, AVX2/FMA or NEON at run
//! time; see [`simd_level`]),
//! bias + residual + ReLU fused in one pass, positions split across the
//! rayon threads. Training stays in burn; this path is built from the same
//! weights ([`super::model::PolicyValueNet::cpu_net`]) and checked against
//! burn's forward pass in the tests.
//!
//! Activations are position-major, cell-major, channel-minor: `[n, cells, ch]`.

use gemm::Parallelism;
use rayon::prelude::*;

/// Positions per task at most (see [`CpuNet::forward`]).
const CHUNK: usize = 32;

/// Batch-norm parameters (inference: running statistics).
pub struct BatchNormParams {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    pub epsilon: f64,
}

impl BatchNormParams {
    /// Per channel: `bn(x) = scale * x + shift`.
    fn scale_shift(&self) -> (Vec<f32>, Vec<f32>) {
        let scale: Vec<f32> = self
            .gamma
            .iter()
            .zip(&self.var)
            .map(|(&g, &v)| (g as f64 / (v as f64 + self.epsilon).sqrt()) as f32)
            .collect();
        let shift = self
            .beta
            .iter()
            .zip(&self.mean)
            .zip(&scale)
            .map(|((&b, &m), &s)| b - m * s)
            .collect();
        (scale, shift)
    }
}

/// A convolution (3x3 "same" or 1x1) with its batch norm folded in.
pub struct Conv {
    cin: usize,
    cout: usize,
    /// 3 or 1.
    k: usize,
    /// `[k * k * cin, cout]`, row `tap * cin + c` (tap = ky * k + kx).
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    /// From burn's `[cout, cin, k, k]` weights (no bias) and the batch norm after it.
    pub fn folded(weight: &[f32], cout: usize, cin: usize, k: usize, bn: &BatchNormParams) -> Self {
        assert_eq!(weight.len(), cout * cin * k * k, "convolution weight shape");
        let (scale, shift) = bn.scale_shift();
        let mut w = vec![0f32; k * k * cin * cout];
        for o in 0..cout {
            for c in 0..cin {
                for tap in 0..k * k {
                    w[(tap * cin + c) * cout + o] = weight[(o * cin + c) * k * k + tap] * scale[o];
                }
            }
        }
        Conv {
            cin,
            cout,
            k,
            weight: w,
            bias: shift,
        }
    }
}

/// A dense layer: `[inp, out]` weights (burn's `Linear` layout) and a bias.
pub struct Dense {
    inp: usize,
    out: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    pub fn new(weight: Vec<f32>, bias: Vec<f32>) -> Self {
        let out = bias.len();
        assert!(
            out > 0 && weight.len().is_multiple_of(out),
            "dense weight shape"
        );
        Dense {
            inp: weight.len() / out,
            out,
            weight,
            bias,
        }
    }
}

/// The network as plain arrays, ready for CPU inference.
pub struct CpuNet {
    pub height: usize,
    pub width: usize,
    pub planes: usize,
    pub stem: Conv,
    pub blocks: Vec<[Conv; 2]>,
    pub policy_conv: Conv,
    pub policy_fc: Dense,
    pub value_conv: Conv,
    pub value_fc1: Dense,
    pub value_fc2: Dense,
}

impl CpuNet {
    /// Policy logits `[n, A]` and values `[n]` of `planes` (`[n, C, H, W]`,
    /// the game's input encoding), the positions split across rayon's threads.
    pub fn forward(&self, planes: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let per = self.planes * self.height * self.width;
        let n = planes.len() / per;
        let actions = self.policy_fc.out;
        // Chunks of at most CHUNK positions keep each thread's im2col
        // buffer (about 97 KB per Connect Four position) in cache.
        let threads = rayon::current_num_threads().max(1);
        let chunk = n.div_ceil(threads).clamp(1, CHUNK);
        let parts: Vec<(Vec<f32>, Vec<f32>)> = planes
            .par_chunks(chunk * per)
            .map(|p| self.forward_chunk(p))
            .collect();
        let mut logits = Vec::with_capacity(n * actions);
        let mut values = Vec::with_capacity(n);
        for (l, v) in parts {
            logits.extend(l);
            values.extend(v);
        }
        (logits, values)
    }

    /// [`CpuNet::forward`] on one thread.
    fn forward_chunk(&self, planes: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let cells = self.height * self.width;
        let n = planes.len() / (self.planes * cells);
        let mut scratch = Vec::new();
        let input = to_cell_major(planes, n, self.planes, cells);
        let mut x = self.conv(&self.stem, &input, n, None, &mut scratch);
        for [c1, c2] in &self.blocks {
            let y = self.conv(c1, &x, n, None, &mut scratch);
            x = self.conv(c2, &y, n, Some(&x), &mut scratch);
        }
        let p = self.conv(&self.policy_conv, &x, n, None, &mut scratch);
        let logits = dense(
            &self.policy_fc,
            &to_channel_major(&p, n, cells, 2),
            n,
            false,
        );
        let vc = self.value_conv.cout;
        let v = self.conv(&self.value_conv, &x, n, None, &mut scratch);
        let hidden = dense(
            &self.value_fc1,
            &to_channel_major(&v, n, cells, vc),
            n,
            true,
        );
        let mut values = dense(&self.value_fc2, &hidden, n, false);
        values.iter_mut().for_each(|v| *v = v.tanh());
        (logits, values)
    }

    /// `relu(conv(x) + bias [+ residual])` over `n` positions.
    fn conv(
        &self,
        conv: &Conv,
        x: &[f32],
        n: usize,
        residual: Option<&[f32]>,
        scratch: &mut Vec<f32>,
    ) -> Vec<f32> {
        let m = n * self.height * self.width;
        let lhs: &[f32] = if conv.k == 1 {
            x
        } else {
            im2col(x, n, self.height, self.width, conv.cin, scratch);
            scratch
        };
        let mut out = vec![0f32; m * conv.cout];
        matmul(
            &mut out,
            lhs,
            &conv.weight,
            m,
            conv.k * conv.k * conv.cin,
            conv.cout,
        );
        let bias = &conv.bias;
        match residual {
            Some(r) => {
                for (row, rrow) in out
                    .chunks_exact_mut(conv.cout)
                    .zip(r.chunks_exact(conv.cout))
                {
                    for ((o, &b), &res) in row.iter_mut().zip(bias).zip(rrow) {
                        *o = (*o + b + res).max(0.0);
                    }
                }
            }
            None => {
                for row in out.chunks_exact_mut(conv.cout) {
                    for (o, &b) in row.iter_mut().zip(bias) {
                        *o = (*o + b).max(0.0);
                    }
                }
            }
        }
        out
    }
}

/// `out [m, n] = lhs [m, k] x rhs [k, n]`, all row-major.
fn matmul(out: &mut [f32], lhs: &[f32], rhs: &[f32], m: usize, k: usize, n: usize) {
    assert!(out.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    // SAFETY: the asserts above keep every access of the row-major
    // [m, k] x [k, n] -> [m, n] product inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// A dense layer on `n` rows, with an optional ReLU.
fn dense(d: &Dense, x: &[f32], n: usize, relu: bool) -> Vec<f32> {
    let mut out = vec![0f32; n * d.out];
    matmul(&mut out, x, &d.weight, n, d.inp, d.out);
    for row in out.chunks_exact_mut(d.out) {
        for (o, &b) in row.iter_mut().zip(&d.bias) {
            *o += b;
            if relu {
                *o = o.max(0.0);
            }
        }
    }
    out
}

/// The 3x3 "same" patches of `x` (`[n, h * w, c]`) as rows of `out`
/// (`[n * h * w, 9 * c]`, column `tap * c + channel`), zero outside the board.
fn im2col(x: &[f32], n: usize, h: usize, w: usize, c: usize, out: &mut Vec<f32>) {
    let cells = h * w;
    out.clear();
    out.resize(n * cells * 9 * c, 0.0);
    for p in 0..n {
        let src = &x[p * cells * c..(p + 1) * cells * c];
        for y in 0..h {
            for xx in 0..w {
                let row = ((p * cells) + y * w + xx) * 9 * c;
                for ky in 0..3 {
                    let sy = y + ky;
                    if sy < 1 || sy > h {
                        continue;
                    }
                    for kx in 0..3 {
                        let sx = xx + kx;
                        if sx < 1 || sx > w {
                            continue;
                        }
                        let from = ((sy - 1) * w + (sx - 1)) * c;
                        let to = row + (ky * 3 + kx) * c;
                        out[to..to + c].copy_from_slice(&src[from..from + c]);
                    }
                }
            }
        }
    }
}

/// `[n, c, cells]` planes -> `[n, cells, c]`.
fn to_cell_major(planes: &[f32], n: usize, c: usize, cells: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * cells * c];
    for p in 0..n {
        for ch in 0..c {
            for cell in 0..cells {
                out[(p * cells + cell) * c + ch] = planes[(p * c + ch) * cells + cell];
            }
        }
    }
    out
}

/// `[n, cells, c]` -> `[n, c * cells]` (burn's `flatten(1, 3)` of NCHW).
fn to_channel_major(x: &[f32], n: usize, cells: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * cells * c];
    for p in 0..n {
        for cell in 0..cells {
            for ch in 0..c {
                out[(p * c + ch) * cells + cell] = x[(p * cells + cell) * c + ch];
            }
        }
    }
    out
}

/// The SIMD level the `gemm` kernels use on this CPU: gemm detects the
/// CPU's features at run time and takes its AVX-512 (x86-64-v4, the `x86-v4`
/// feature this build turns on), AVX2/FMA (x86-64-v3) or NEON kernels.
pub fn simd_level() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2+fma";
        }
        "sse2 (no avx2+fma: portable kernels)"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}
