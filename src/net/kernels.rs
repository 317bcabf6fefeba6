//! Small dense matrix products for the CPU inference path, with the SIMD
//! width chosen at run time: `C[m, n] = A[m, k] B[k, n]`, all row-major and
//! contiguous, `C` overwritten.
//!
//! The products of a Winograd convolution are many small ones (a few dozen
//! rows, 64 x 64 weights) with the same right-hand side reused across
//! calls: a register-blocked kernel that reads `B` straight from L1 (no
//! packing) is faster there than a general GEMM, which packs `B` at every
//! call. Shapes the kernels do not cover (`n` not a multiple of the vector
//! width, non-x86 CPUs) go to the `gemm` crate.

use gemm::Parallelism;

/// The SIMD width of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Simd {
    /// 16-wide AVX-512F kernels.
    Avx512,
    /// 8-wide AVX2 + FMA kernels.
    Avx2,
    /// The `gemm` crate (its own run-time choice: AVX-512, AVX2/FMA, NEON, scalar).
    Gemm,
}

impl Simd {
    /// The widest kernels this CPU runs, capped by the environment variable
    /// `WGZERO_SIMD` (`avx2`: stand in for a CPU without AVX-512; `gemm`:
    /// the `gemm` crate for every product).
    pub fn detect() -> Self {
        let cap = std::env::var("WGZERO_SIMD").unwrap_or_default();
        Self::best().min_with(match cap.as_str() {
            "avx2" => Simd::Avx2,
            "gemm" => Simd::Gemm,
            _ => Simd::Avx512,
        })
    }

    fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Simd::Avx2;
            }
        }
        Simd::Gemm
    }

    fn rank(self) -> u8 {
        match self {
            Simd::Avx512 => 2,
            Simd::Avx2 => 1,
            Simd::Gemm => 0,
        }
    }

    fn min_with(self, other: Simd) -> Simd {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Simd::Avx512 => "avx512f",
            Simd::Avx2 => "avx2+fma",
            Simd::Gemm => "gemm crate",
        }
    }

    /// Every level this CPU can run, widest first (for parity tests).
    pub fn available() -> Vec<Simd> {
        [Simd::Avx512, Simd::Avx2, Simd::Gemm]
            .into_iter()
            .filter(|s| s.rank() <= Self::best().rank())
            .collect()
    }
}

/// `c [m, n] = a [m, k] x b [k, n]` with `simd`'s kernels.
pub fn matmul(simd: Simd, c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` only picks a level the CPU has; the asserts
        // above keep every access inside the slices (the kernels read rows
        // `0..m` of `a` (k each), `0..k` of `b` (n each), write `0..m` of `c`).
        Simd::Avx512 if n.is_multiple_of(16) && k > 0 => {
            return unsafe { x86::matmul512(c.as_mut_ptr(), a.as_ptr(), b.as_ptr(), m, k, n) }
        }
        Simd::Avx2 if n.is_multiple_of(8) && k > 0 => {
            return unsafe { x86::matmul256(c.as_mut_ptr(), a.as_ptr(), b.as_ptr(), m, k, n) }
        }
        _ => {}
    }
    let _ = simd;
    gemm_crate(c, a, b, m, k, n);
}

/// Whether this CPU has the bf16 dot-product instructions of
/// [`matmul_bf16`] (AVX512-BF16).
pub fn has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x` rounded to bf16 (to nearest, ties to even), as its 16 bits.
pub fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// The f32 a bf16's 16 bits stand for.
pub fn bf16_value(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Number of bf16 pairs a row of `k` values packs into.
pub fn pairs(k: usize) -> usize {
    k.div_ceil(2)
}

/// Rows of `a` (`[m, k]` f32) as bf16 pairs along `k` (`[m, pairs(k)]`,
/// element `2p` in the low half, `2p + 1` (or 0 past the end) in the high
/// half): the left-hand side of [`matmul_bf16`].
#[inline(always)]
pub fn pack_rows_bf16(a: &[f32], m: usize, k: usize, out: &mut Vec<u32>) {
    let kp = pairs(k);
    out.resize(m * kp, 0);
    assert!(a.len() >= m * k);
    #[cfg(target_arch = "x86_64")]
    if k.is_multiple_of(32) && has_bf16() {
        // SAFETY: the CPU has AVX-512F and AVX512-BF16; `a` holds `m k`
        // floats and `out` `m k / 2` pairs (resized above).
        unsafe { x86::pack_bf16(a.as_ptr(), out.as_mut_ptr(), m * k / 32) };
        return;
    }
    for (row, dst) in a[..m * k].chunks_exact(k).zip(out.chunks_exact_mut(kp)) {
        for (p, d) in dst.iter_mut().enumerate() {
            let lo = bf16_bits(row[2 * p]) as u32;
            let hi = row.get(2 * p + 1).map_or(0, |&x| bf16_bits(x) as u32);
            *d = lo | (hi << 16);
        }
    }
}

/// `b` (`[k, n]` f32) as bf16 pairs along `k`: `[pairs(k), n]`, the pair of
/// rows `2p` and `2p + 1` for each column (the right-hand side of
/// [`matmul_bf16`]).
pub fn pack_cols_bf16(b: &[f32], k: usize, n: usize) -> Vec<u32> {
    let kp = pairs(k);
    let mut out = vec![0u32; kp * n];
    for p in 0..kp {
        for j in 0..n {
            let lo = bf16_bits(b[2 * p * n + j]) as u32;
            let hi = if 2 * p + 1 < k {
                bf16_bits(b[(2 * p + 1) * n + j]) as u32
            } else {
                0
            };
            out[p * n + j] = lo | (hi << 16);
        }
    }
    out
}

/// `c [m, n] = a [m, k] x b [k, n]` with both sides rounded to bf16 and the
/// products summed in f32 (AVX512-BF16's `vdpbf16ps`: two multiply-adds per
/// lane and instruction): `a` from [`pack_rows_bf16`] (`[m, kp]`), `b` from
/// [`pack_cols_bf16`] (`[kp, n]`), `kp = pairs(k)`, `n` a multiple of 16.
/// Panics unless [`has_bf16`].
pub fn matmul_bf16(c: &mut [f32], a: &[u32], b: &[u32], m: usize, kp: usize, n: usize) {
    assert!(has_bf16(), "matmul_bf16 needs AVX512-BF16");
    assert!(n.is_multiple_of(16) && kp > 0);
    assert!(c.len() >= m * n && a.len() >= m * kp && b.len() >= kp * n);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F and AVX512-BF16 (asserted); the asserts
    // keep every access inside the slices.
    unsafe {
        x86::matmul_bf16(c.as_mut_ptr(), a.as_ptr(), b.as_ptr(), m, kp, n)
    }
}

/// The `gemm` crate's product, on this thread.
pub fn gemm_crate(out: &mut [f32], lhs: &[f32], rhs: &[f32], m: usize, k: usize, n: usize) {
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Rows per register block.
    const MR: usize = 6;

    /// Defines an f32 block kernel: one `R x (LANES NV)` block of `C`
    /// (`R <= MR` rows from `a`, `NV` column vectors from `b`, whose rows
    /// are `n` apart), accumulated in registers over the whole `k`.
    macro_rules! fma_block {
        ($(#[$doc:meta])* $name:ident, $feature:literal, $lanes:literal,
         $zero:ident, $load:ident, $splat:ident, $fmadd:ident, $store:ident) => {
            $(#[$doc])*
            #[target_feature(enable = $feature)]
            unsafe fn $name<const R: usize, const NV: usize>(
                c: *mut f32,
                a: *const f32,
                b: *const f32,
                k: usize,
                n: usize,
            ) {
                let mut acc = [[$zero(); NV]; R];
                for p in 0..k {
                    let bp = b.add(p * n);
                    let mut bv = [$zero(); NV];
                    for (j, v) in bv.iter_mut().enumerate() {
                        *v = $load(bp.add($lanes * j));
                    }
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = $splat(*a.add(i * k + p));
                        for (x, &bj) in row.iter_mut().zip(&bv) {
                            *x = $fmadd(av, bj, *x);
                        }
                    }
                }
                for (i, row) in acc.iter().enumerate() {
                    for (j, &x) in row.iter().enumerate() {
                        $store(c.add(i * n + $lanes * j), x);
                    }
                }
            }
        };
    }

    fma_block!(
        /// AVX-512F: 16-wide vectors.
        block512, "avx512f", 16,
        _mm512_setzero_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps
    );
    fma_block!(
        /// AVX2 + FMA: 8-wide vectors.
        block256, "avx2,fma", 8,
        _mm256_setzero_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps
    );

    /// Calls the kernel `$f` monomorphised for `$rows` (<= MR) rows and
    /// `$nv` vectors.
    macro_rules! call {
        ($f:ident, $r:literal, $nv:literal, ($($a:expr),*)) => {
            $f::<$r, $nv>($($a),*)
        };
    }
    macro_rules! rows {
        ($f:ident, $nv:literal, $rows:expr, $args:tt) => {
            match $rows {
                6 => call!($f, 6, $nv, $args),
                5 => call!($f, 5, $nv, $args),
                4 => call!($f, 4, $nv, $args),
                3 => call!($f, 3, $nv, $args),
                2 => call!($f, 2, $nv, $args),
                _ => call!($f, 1, $nv, $args),
            }
        };
    }

    /// The tiling every product kernel shares: row blocks of up to MR rows,
    /// column blocks of up to `$max` vectors of `$lanes` lanes (narrower at
    /// the right edge; `n` is a multiple of `$lanes`), each block computed
    /// by `$kernel` over the whole `k` (`k` elements, or pairs, per row of
    /// `a`). Expanded inside each `#[target_feature]` function so that the
    /// kernels inline there.
    macro_rules! tiles {
        ($kernel:ident, $lanes:literal, $max:literal, [$($nv:literal),*],
         $c:expr, $a:expr, $b:expr, $m:expr, $k:expr, $n:expr) => {{
            let (c, a, b, m, k, n) = ($c, $a, $b, $m, $k, $n);
            let mut i = 0;
            while i < m {
                let rows = MR.min(m - i);
                let mut j = 0;
                while j < n {
                    let nv = $max.min((n - j) / $lanes);
                    let (cc, aa, bb) = (c.add(i * n + j), a.add(i * k), b.add(j));
                    match nv {
                        $($nv => rows!($kernel, $nv, rows, (cc, aa, bb, k, n)),)*
                        _ => unreachable!("a column block of {nv} vectors"),
                    }
                    j += $lanes * nv;
                }
                i += rows;
            }
        }};
    }

    /// The bf16 counterpart of `block512`: `a` holds bf16 pairs (`kp`
    /// per row), `b` bf16 pairs (`[kp, n]`), one `vdpbf16ps` per row, vector
    /// and pair.
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn block_bf16<const R: usize, const NV: usize>(
        c: *mut f32,
        a: *const u32,
        b: *const u32,
        kp: usize,
        n: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); NV]; R];
        for p in 0..kp {
            let bp = b.add(p * n);
            let mut bv: [__m512bh; NV] =
                [std::mem::transmute::<__m512i, __m512bh>(_mm512_setzero_si512()); NV];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                    bp.add(16 * j) as *const _
                ));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let av = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                    *a.add(i * kp + p) as i32,
                ));
                for (x, &bj) in row.iter_mut().zip(&bv) {
                    *x = _mm512_dpbf16_ps(*x, av, bj);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                _mm512_storeu_ps(c.add(i * n + 16 * j), x);
            }
        }
    }

    /// `blocks` blocks of 32 floats from `a` to 16 bf16 pairs each in
    /// `out` (round to nearest even, as [`super::bf16_bits`]).
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX512-BF16; `a` holds `32 blocks` floats,
    /// `out` `16 blocks` pairs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn pack_bf16(a: *const f32, out: *mut u32, blocks: usize) {
        for b in 0..blocks {
            let lo = _mm512_loadu_ps(a.add(32 * b));
            let hi = _mm512_loadu_ps(a.add(32 * b + 16));
            // 32 bf16: `lo`'s 16 values, then `hi`'s: pairs in row order.
            let v = _mm512_cvtne2ps_pbh(hi, lo);
            _mm512_storeu_si512(
                out.add(16 * b) as *mut _,
                std::mem::transmute::<__m512bh, __m512i>(v),
            );
        }
    }

    /// `c = a b` in bf16 with f32 sums: blocks of 6 rows x 64 columns.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX512-BF16; `a`, `b`, `c` hold `m kp`,
    /// `kp n`, `m n` elements; `n` is a multiple of 16.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn matmul_bf16(
        c: *mut f32,
        a: *const u32,
        b: *const u32,
        m: usize,
        kp: usize,
        n: usize,
    ) {
        tiles!(block_bf16, 16, 4, [4, 3, 2, 1], c, a, b, m, kp, n);
    }

    /// `c = a b` with AVX-512F, `n` a multiple of 16: blocks of 6 rows x 64
    /// columns (24 accumulators), narrower at the right edge.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `a`, `b`, `c` hold `m k`, `k n`, `m n` floats.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn matmul512(
        c: *mut f32,
        a: *const f32,
        b: *const f32,
        m: usize,
        k: usize,
        n: usize,
    ) {
        tiles!(block512, 16, 4, [4, 3, 2, 1], c, a, b, m, k, n);
    }

    /// `c = a b` with AVX2 + FMA, `n` a multiple of 8: blocks of 6 rows x 16
    /// columns (12 accumulators of the 16 registers).
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `a`, `b`, `c` hold `m k`, `k n`, `m n` floats.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul256(
        c: *mut f32,
        a: *const f32,
        b: *const f32,
        m: usize,
        k: usize,
        n: usize,
    ) {
        tiles!(block256, 8, 2, [2, 1], c, a, b, m, k, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for p in 0..k {
                    s += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn every_level_matches_a_plain_product_on_every_shape() {
        let mut x = 12345u64;
        let mut next = || {
            x = crate::game::mix64(x);
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for simd in Simd::available() {
            for &(m, k, n) in &[
                (1, 1, 16),
                (7, 64, 64),
                (13, 9, 48),
                (60, 64, 64),
                (6, 3, 8),
                (5, 17, 32),
                (11, 128, 128),
                (3, 5, 7),
                (96, 64, 80),
            ] {
                let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
                let mut c = vec![f32::NAN; m * n];
                matmul(simd, &mut c, &a, &b, m, k, n);
                let r = reference(&a, &b, m, k, n);
                for (x, y) in c.iter().zip(&r) {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{simd:?} {m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_bf16_product_matches_the_product_of_rounded_inputs() {
        if !has_bf16() {
            return;
        }
        let mut x = 777u64;
        let mut next = || {
            x = crate::game::mix64(x);
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for &(m, k, n) in &[
            (1, 1, 16),
            (7, 64, 64),
            (13, 9, 48),
            (60, 64, 64),
            (5, 17, 32),
            (11, 2, 16),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let mut ap = Vec::new();
            pack_rows_bf16(&a, m, k, &mut ap);
            let bp = pack_cols_bf16(&b, k, n);
            let mut c = vec![f32::NAN; m * n];
            matmul_bf16(&mut c, &ap, &bp, m, pairs(k), n);
            // Exactly the product of the bf16-rounded inputs (up to f32 sums).
            let round = |v: &[f32]| {
                v.iter()
                    .map(|&x| bf16_value(bf16_bits(x)))
                    .collect::<Vec<_>>()
            };
            let r = reference(&round(&a), &round(&b), m, k, n);
            for (x, y) in c.iter().zip(&r) {
                assert!(
                    (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "{m}x{k}x{n}: {x} vs {y}"
                );
            }
        }
        // The vector packing rounds as the scalar one does.
        let a: Vec<f32> = (0..64)
            .map(|_| next())
            .chain([1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0].repeat(16))
            .collect();
        let mut fast = Vec::new();
        pack_rows_bf16(&a, 3, 32, &mut fast);
        let scalar: Vec<u32> = a
            .chunks_exact(2)
            .map(|p| bf16_bits(p[0]) as u32 | (bf16_bits(p[1]) as u32) << 16)
            .collect();
        assert_eq!(fast, scalar);
        // Rounding: to nearest, ties to even.
        assert_eq!(bf16_bits(1.0), 0x3f80);
        assert_eq!(bf16_value(bf16_bits(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(bf16_value(bf16_bits(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
    }

    #[test]
    fn the_environment_caps_the_level() {
        // Only the cap's direction is checked: the CPU decides the rest.
        assert!(Simd::best().min_with(Simd::Avx2).rank() <= 1);
        assert_eq!(Simd::best().min_with(Simd::Gemm), Simd::Gemm);
    }
}
