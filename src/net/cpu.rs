//! A CPU inference path for the policy/value network, used on the CPU
//! backend instead of running the burn graph: batch norm folded into the
//! convolutions, each 3x3 convolution either as Winograd F(2x2, 3x3) (16
//! matrix products of transformed tiles: 2.25x fewer multiplications; the
//! default, see [`ConvAlgo`]) or as im2col + one matrix product, the
//! products by the `gemm` crate (its kernels pick AVX-512, AVX2/FMA or NEON
//! at run time; see [`simd_level`]), bias + residual + ReLU fused into the
//! output pass, positions split across the rayon threads in chunks sized
//! so that each thread's working set stays in its core's cache. Training stays in burn; this path is built from the same
//! weights ([`super::model::PolicyValueNet::cpu_net`]) and checked against
//! burn's forward pass in the tests.
//!
//! Activations are position-major, cell-major, channel-minor: `[n, cells, ch]`.

use std::cell::RefCell;

use super::kernels::{self, Simd};
use crate::eval::ScoreUtility;
use rayon::prelude::*;

/// Bytes of scratch (transformed tiles or im2col rows, products,
/// activations) one chunk of positions may use: half of a 1 MB L2, the
/// smallest per-core L2 of the CPUs this path is tuned on, so that a chunk's
/// working set stays in its core's cache at every batch size.
const CHUNK_BYTES: usize = 512 * 1024;

/// How the 3x3 convolutions are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvAlgo {
    /// Winograd F(2x2, 3x3): each 4x4 input tile gives a 2x2 output tile
    /// with 16 products per channel pair instead of 36 (as lc0 and KataGo's
    /// CPU backends do). The default.
    Winograd,
    /// im2col: the 9 shifted copies of the input as rows, one matrix product.
    Im2col,
}

impl ConvAlgo {
    /// The default, [`ConvAlgo::Winograd`], unless the environment variable
    /// `WGZERO_CPU_CONV=im2col` asks for the direct path.
    pub fn from_env() -> Self {
        match std::env::var("WGZERO_CPU_CONV").as_deref() {
            Ok("im2col") => ConvAlgo::Im2col,
            _ => ConvAlgo::Winograd,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConvAlgo::Winograd => "winograd",
            ConvAlgo::Im2col => "im2col",
        }
    }
}

/// The number format of the CPU path's Winograd products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuPrecision {
    /// f32 throughout: the default on CPUs without AVX512-BF16.
    F32,
    /// The Winograd products' inputs rounded to bf16, sums in f32
    /// (AVX512-BF16's `vdpbf16ps`: two multiply-adds per lane and
    /// instruction): the default where the CPU has it and the AVX-512
    /// kernels are in use; f32 elsewhere. The shipped Connect Four network
    /// plays as well with it (docs/performance.md).
    Bf16,
}

impl CpuPrecision {
    /// bf16 where the CPU runs it ([`kernels::has_bf16`] and the AVX-512
    /// kernels), else f32; the environment variable
    /// `WGZERO_CPU_PRECISION=f32` (or `bf16`) overrides.
    pub fn from_env() -> Self {
        match std::env::var("WGZERO_CPU_PRECISION").as_deref() {
            Ok("f32") => CpuPrecision::F32,
            Ok("bf16") => CpuPrecision::Bf16,
            _ if kernels::has_bf16() && Simd::detect() == Simd::Avx512 => CpuPrecision::Bf16,
            _ => CpuPrecision::F32,
        }
    }

    /// Whether this CPU path really runs bf16 products.
    pub fn in_use(self, simd: Simd) -> bool {
        self == CpuPrecision::Bf16 && kernels::has_bf16() && simd == Simd::Avx512
    }

    pub fn name(self) -> &'static str {
        match self {
            CpuPrecision::F32 => "f32",
            CpuPrecision::Bf16 => "bf16",
        }
    }
}

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
    /// 3x3 only: the Winograd-domain weights `G g G^T`, `[16, cin, cout]`.
    winograd: Vec<f32>,
    /// The same as bf16 pairs along `cin` (`[16, pairs(cin), cout]`), where
    /// the CPU has AVX512-BF16.
    winograd_bf16: Vec<u32>,
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
        let winograd = if k == 3 {
            winograd_weights(&w, cin, cout)
        } else {
            Vec::new()
        };
        let winograd_bf16 = if k == 3 && kernels::has_bf16() {
            winograd
                .chunks_exact(cin * cout)
                .flat_map(|u| kernels::pack_cols_bf16(u, cin, cout))
                .collect()
        } else {
            Vec::new()
        };
        Conv {
            cin,
            cout,
            k,
            weight: w,
            winograd,
            winograd_bf16,
            bias: shift,
        }
    }
}

/// `U = G g G^T` for every (input, output) channel pair of the folded 3x3
/// weights `w` (`[9 * cin, cout]`): `[16, cin, cout]`, index `(i * 4 + j)`.
fn winograd_weights(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    const G: [[f32; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut u = vec![0f32; 16 * cin * cout];
    for c in 0..cin {
        for o in 0..cout {
            let g = |ky: usize, kx: usize| w[((ky * 3 + kx) * cin + c) * cout + o];
            // t = G g: [4, 3]
            let mut t = [[0f32; 3]; 4];
            for (i, row) in t.iter_mut().enumerate() {
                for (kx, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|ky| G[i][ky] * g(ky, kx)).sum();
                }
            }
            for i in 0..4 {
                for j in 0..4 {
                    let v: f32 = (0..3).map(|kx| t[i][kx] * G[j][kx]).sum();
                    u[((i * 4 + j) * cin + c) * cout + o] = v;
                }
            }
        }
    }
    u
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

/// The policy head's layers of a network with global pooling.
pub struct CpuPooledHeads {
    /// Pooled features (3 per channel) -> a bias per channel.
    pub policy_bias: Dense,
    /// A cell's channels -> its logit.
    pub policy_cells: Dense,
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
    /// With global pooling: each block's dense layer from its pooled
    /// features to its channel biases (empty without).
    pub gpool: Vec<Dense>,
    /// With global pooling: the policy head's pooled biases and logit per
    /// cell (`policy_fc` is then the pass logit, `value_fc1` reads pooled
    /// features).
    pub pooled: Option<CpuPooledHeads>,
    /// With a score utility: the score head (from the value head's hidden
    /// layer) and the blend of value and score the search gets.
    pub score: Option<(Dense, ScoreUtility)>,
    /// How the 3x3 convolutions are computed.
    pub algo: ConvAlgo,
    /// The matrix products' SIMD kernels ([`Simd::detect`]).
    pub simd: Simd,
    /// The Winograd products' number format.
    pub precision: CpuPrecision,
}

/// One thread's reusable buffers (reused from chunk to chunk, so nothing
/// is allocated or cleared in steady state).
#[derive(Default)]
struct Scratch {
    /// im2col rows or Winograd-transformed tiles.
    lhs: Vec<f32>,
    /// Winograd products.
    products: Vec<f32>,
    /// One tile's row-transformed vectors.
    rows: Vec<f32>,
    /// Activations.
    act: [Vec<f32>; 3],
    /// Transformed tiles as bf16 pairs.
    packed: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl CpuNet {
    /// Policy logits `[n, A]` and values `[n]` of `planes` (`[n, C, H, W]`,
    /// the game's input encoding), the positions split across rayon's threads.
    pub fn forward(&self, planes: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let per = self.planes * self.height * self.width;
        let n = planes.len() / per;
        let actions = self.actions();
        // Every thread gets work, and no chunk outgrows its core's cache.
        let threads = rayon::current_num_threads().max(1);
        let chunk = n.div_ceil(threads).clamp(1, self.chunk_positions());
        let parts: Vec<(Vec<f32>, Vec<f32>)> = planes
            .par_chunks(chunk * per)
            .map(|p| SCRATCH.with(|s| self.forward_chunk(p, &mut s.borrow_mut())))
            .collect();
        let mut logits = Vec::with_capacity(n * actions);
        let mut values = Vec::with_capacity(n);
        for (l, v) in parts {
            logits.extend(l);
            values.extend(v);
        }
        (logits, values)
    }

    /// Policy logits per position.
    fn actions(&self) -> usize {
        match self.pooled {
            Some(_) => self.height * self.width + 1,
            None => self.policy_fc.out,
        }
    }

    /// Positions per chunk: as many as fit [`CHUNK_BYTES`] of scratch.
    fn chunk_positions(&self) -> usize {
        let cells = self.height * self.width;
        let ch = self
            .blocks
            .iter()
            .flatten()
            .chain([&self.stem])
            .map(|c| c.cin.max(c.cout))
            .max()
            .unwrap_or(1);
        let floats = match self.algo {
            // Tiles and products (16 each per tile), input and output.
            ConvAlgo::Winograd => 2 * 16 * self.tiles() * ch + 2 * cells * ch,
            // im2col rows, input and output.
            ConvAlgo::Im2col => 9 * cells * ch + 2 * cells * ch,
        };
        (CHUNK_BYTES / (4 * floats)).max(1)
    }

    /// Winograd tiles per position: 2x2 output tiles covering the board.
    fn tiles(&self) -> usize {
        self.height.div_ceil(2) * self.width.div_ceil(2)
    }

    /// [`CpuNet::forward`] on one thread, compiled for the SIMD level of
    /// the matrix products (the transforms and the element-wise passes
    /// vectorise to that width too).
    fn forward_chunk(&self, planes: &[f32], scratch: &mut Scratch) -> (Vec<f32>, Vec<f32>) {
        #[cfg(target_arch = "x86_64")]
        match self.simd {
            // SAFETY: `Simd::detect` and `Network::with_simd` only pick a
            // level this CPU has.
            Simd::Avx512 => return unsafe { self.forward_chunk_avx512(planes, scratch) },
            Simd::Avx2 => return unsafe { self.forward_chunk_avx2(planes, scratch) },
            Simd::Gemm => {}
        }
        self.forward_chunk_body(planes, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn forward_chunk_avx512(
        &self,
        planes: &[f32],
        scratch: &mut Scratch,
    ) -> (Vec<f32>, Vec<f32>) {
        self.forward_chunk_body(planes, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_chunk_avx2(
        &self,
        planes: &[f32],
        scratch: &mut Scratch,
    ) -> (Vec<f32>, Vec<f32>) {
        self.forward_chunk_body(planes, scratch)
    }

    #[inline(always)]
    fn forward_chunk_body(&self, planes: &[f32], scratch: &mut Scratch) -> (Vec<f32>, Vec<f32>) {
        let cells = self.height * self.width;
        let n = planes.len() / (self.planes * cells);
        // Three activation buffers circulate: x (the tower's output so far),
        // y (a block's middle), z (a block's output).
        let [mut x, mut y, mut z] = std::mem::take(&mut scratch.act);
        to_cell_major(planes, n, self.planes, cells, &mut y);
        self.conv(&self.stem, &y, n, None, scratch, &mut x);
        for (i, [c1, c2]) in self.blocks.iter().enumerate() {
            self.conv(c1, &x, n, None, scratch, &mut y);
            if let Some(fc) = self.gpool.get(i) {
                pooled_bias_relu(self.simd, fc, &mut y, n, cells);
            }
            self.conv(c2, &y, n, Some(&x), scratch, &mut z);
            std::mem::swap(&mut x, &mut z);
        }
        let logits = self.policy_head(&x, n, scratch, &mut y);
        let vc = self.value_conv.cout;
        self.conv(&self.value_conv, &x, n, None, scratch, &mut y);
        let features = match self.pooled {
            Some(_) => global_pool(&y, n, cells, vc),
            None => to_channel_major(&y, n, cells, vc),
        };
        let hidden = dense(self.simd, &self.value_fc1, &features, n, true);
        let mut values = dense(self.simd, &self.value_fc2, &hidden, n, false);
        values.iter_mut().for_each(|v| *v = v.tanh());
        if let Some((fc, utility)) = &self.score {
            let scores = dense(self.simd, fc, &hidden, n, false);
            for (v, s) in values.iter_mut().zip(scores) {
                *v = utility.blend(*v, s);
            }
        }
        scratch.act = [x, y, z];
        (logits, values)
    }

    /// The policy logits `[n, A]` of the trunk's output `x` (`y`: a
    /// scratch activation buffer).
    #[inline(always)]
    fn policy_head(
        &self,
        x: &[f32],
        n: usize,
        scratch: &mut Scratch,
        y: &mut Vec<f32>,
    ) -> Vec<f32> {
        let cells = self.height * self.width;
        let ph = self.policy_conv.cout;
        self.conv(&self.policy_conv, x, n, None, scratch, y);
        let Some(heads) = &self.pooled else {
            return dense(
                self.simd,
                &self.policy_fc,
                &to_channel_major(y, n, cells, ph),
                n,
                false,
            );
        };
        let g = global_pool(y, n, cells, ph);
        let bias = dense(self.simd, &heads.policy_bias, &g, n, false);
        add_bias_relu(y, &bias, n, cells);
        let per_cell = dense(self.simd, &heads.policy_cells, y, n * cells, false);
        let pass = dense(self.simd, &self.policy_fc, &g, n, false);
        let mut logits = Vec::with_capacity(n * (cells + 1));
        for (p, pass) in pass.iter().enumerate() {
            logits.extend_from_slice(&per_cell[p * cells..(p + 1) * cells]);
            logits.push(*pass);
        }
        logits
    }

    /// `out = relu(conv(x) + bias [+ residual])` over `n` positions (`out`
    /// is resized; every element is written).
    #[inline(always)]
    fn conv(
        &self,
        conv: &Conv,
        x: &[f32],
        n: usize,
        residual: Option<&[f32]>,
        scratch: &mut Scratch,
        out: &mut Vec<f32>,
    ) {
        let m = n * self.height * self.width;
        out.resize(m * conv.cout, 0.0);
        if conv.k == 3 && self.algo == ConvAlgo::Winograd {
            return self.conv_winograd(conv, x, n, residual, scratch, out);
        }
        let lhs: &[f32] = if conv.k == 1 {
            x
        } else {
            im2col(x, n, self.height, self.width, conv.cin, &mut scratch.lhs);
            &scratch.lhs
        };
        kernels::matmul(
            self.simd,
            out,
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
                    bias_residual_relu(row, bias, rrow);
                }
            }
            None => {
                for row in out.chunks_exact_mut(conv.cout) {
                    bias_relu(row, bias);
                }
            }
        }
    }

    /// [`CpuNet::conv`] of a 3x3 convolution by Winograd F(2x2, 3x3): input
    /// tiles transformed (`B^T d B`), 16 matrix products with the transformed
    /// weights, output tiles transformed back (`A^T m A`) with bias,
    /// residual and ReLU applied as they are written.
    #[inline(always)]
    fn conv_winograd(
        &self,
        conv: &Conv,
        x: &[f32],
        n: usize,
        residual: Option<&[f32]>,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) {
        let (h, w) = (self.height, self.width);
        let (cin, cout) = (conv.cin, conv.cout);
        let rows = n * self.tiles();
        let Scratch {
            lhs: v,
            products: m,
            rows: t,
            packed,
            ..
        } = scratch;
        // Every element of both is written before it is read: no clearing.
        v.resize(16 * rows * cin, 0.0);
        m.resize(16 * rows * cout, 0.0);
        winograd_input(x, n, h, w, cin, v, t);
        let bf16 = self.precision.in_use(self.simd)
            && !conv.winograd_bf16.is_empty()
            && cout.is_multiple_of(16);
        if bf16 {
            let kp = kernels::pairs(cin);
            for xi in 0..16 {
                kernels::pack_rows_bf16(
                    &v[xi * rows * cin..(xi + 1) * rows * cin],
                    rows,
                    cin,
                    packed,
                );
                kernels::matmul_bf16(
                    &mut m[xi * rows * cout..(xi + 1) * rows * cout],
                    packed,
                    &conv.winograd_bf16[xi * kp * cout..(xi + 1) * kp * cout],
                    rows,
                    kp,
                    cout,
                );
            }
        } else {
            for xi in 0..16 {
                kernels::matmul(
                    self.simd,
                    &mut m[xi * rows * cout..(xi + 1) * rows * cout],
                    &v[xi * rows * cin..(xi + 1) * rows * cin],
                    &conv.winograd[xi * cin * cout..(xi + 1) * cin * cout],
                    rows,
                    cin,
                    cout,
                );
            }
        }
        winograd_output(m, n, h, w, conv, residual, out, t);
    }
}

/// `o[i] = a[i] - b[i]`.
#[inline(always)]
fn sub(o: &mut [f32], a: &[f32], b: &[f32]) {
    for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
        *o = a - b;
    }
}

/// `o[i] = a[i] + b[i]`.
#[inline(always)]
fn add(o: &mut [f32], a: &[f32], b: &[f32]) {
    for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
        *o = a + b;
    }
}

/// Winograd input transform of `x` (`[n, h * w, c]`): for every 4x4 tile
/// (stride 2, one cell of zero padding), `V = B^T d B` with
/// `B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]`, written to `v` as
/// `[16, n * tiles, c]` (`v` holds at least that). `t` is scratch.
#[inline(always)]
fn winograd_input(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    v: &mut [f32],
    t: &mut Vec<f32>,
) {
    let (th, tw) = (h.div_ceil(2), w.div_ceil(2));
    let rows = n * th * tw;
    t.resize(16 * c, 0.0);
    let zero = vec![0f32; c];
    let cells = h * w;
    for p in 0..n {
        let src = &x[p * cells * c..(p + 1) * cells * c];
        for ty in 0..th {
            for tx in 0..tw {
                // d[k][l] = x at (2 ty - 1 + k, 2 tx - 1 + l), zero off the board.
                let d = |k: usize, l: usize| -> &[f32] {
                    let (y, xx) = ((2 * ty + k) as isize - 1, (2 * tx + l) as isize - 1);
                    if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                        &zero
                    } else {
                        let at = (y as usize * w + xx as usize) * c;
                        &src[at..at + c]
                    }
                };
                // Rows: t = B^T d.
                for l in 0..4 {
                    let (t0, rest) = t.split_at_mut(4 * c);
                    let (t1, rest) = rest.split_at_mut(4 * c);
                    let (t2, t3) = rest.split_at_mut(4 * c);
                    let r = l * c..(l + 1) * c;
                    let (d0, d1, d2, d3) = (d(0, l), d(1, l), d(2, l), d(3, l));
                    sub(&mut t0[r.clone()], d0, d2);
                    add(&mut t1[r.clone()], d1, d2);
                    sub(&mut t2[r.clone()], d2, d1);
                    sub(&mut t3[r], d1, d3);
                }
                // Columns: V = t B, straight into the 16 matrices.
                let row = (p * th + ty) * tw + tx;
                for i in 0..4 {
                    let ti = |l: usize| &t[(i * 4 + l) * c..(i * 4 + l + 1) * c];
                    let at = |j: usize| ((i * 4 + j) * rows + row) * c;
                    sub(&mut v[at(0)..at(0) + c], ti(0), ti(2));
                    add(&mut v[at(1)..at(1) + c], ti(1), ti(2));
                    sub(&mut v[at(2)..at(2) + c], ti(2), ti(1));
                    sub(&mut v[at(3)..at(3) + c], ti(1), ti(3));
                }
            }
        }
    }
}

/// Winograd output transform: for every tile, `Y = A^T m A` with
/// `A^T = [[1,1,1,0],[0,1,-1,-1]]` from the 16 products `m`
/// (`[16, n * tiles, cout]`), then bias, residual and ReLU, written to the
/// board cells of `out` (`[n, h * w, cout]`). `t` is scratch.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn winograd_output(
    m: &[f32],
    n: usize,
    h: usize,
    w: usize,
    conv: &Conv,
    residual: Option<&[f32]>,
    out: &mut [f32],
    t: &mut Vec<f32>,
) {
    let c = conv.cout;
    let (th, tw) = (h.div_ceil(2), w.div_ceil(2));
    let rows = n * th * tw;
    let cells = h * w;
    t.resize(8 * c, 0.0);
    for p in 0..n {
        for ty in 0..th {
            for tx in 0..tw {
                let row = (p * th + ty) * tw + tx;
                let mm = |i: usize, j: usize| {
                    let at = ((i * 4 + j) * rows + row) * c;
                    &m[at..at + c]
                };
                // Rows: s = A^T m, [2, 4].
                for j in 0..4 {
                    let (s0, s1) = t.split_at_mut(4 * c);
                    let r = j * c..(j + 1) * c;
                    for (((o, a), b), d) in s0[r.clone()]
                        .iter_mut()
                        .zip(mm(0, j))
                        .zip(mm(1, j))
                        .zip(mm(2, j))
                    {
                        *o = a + b + d;
                    }
                    for (((o, a), b), d) in
                        s1[r].iter_mut().zip(mm(1, j)).zip(mm(2, j)).zip(mm(3, j))
                    {
                        *o = a - b - d;
                    }
                }
                // Columns: Y = s A, then bias (+ residual) and ReLU.
                for a in 0..2 {
                    let y = 2 * ty + a;
                    if y >= h {
                        continue;
                    }
                    let s = |j: usize| &t[(a * 4 + j) * c..(a * 4 + j + 1) * c];
                    for b in 0..2 {
                        let xx = 2 * tx + b;
                        if xx >= w {
                            continue;
                        }
                        let at = (p * cells + y * w + xx) * c;
                        let o = &mut out[at..at + c];
                        if b == 0 {
                            for (((o, a), b), d) in o.iter_mut().zip(s(0)).zip(s(1)).zip(s(2)) {
                                *o = a + b + d;
                            }
                        } else {
                            for (((o, a), b), d) in o.iter_mut().zip(s(1)).zip(s(2)).zip(s(3)) {
                                *o = a - b - d;
                            }
                        }
                        match residual {
                            Some(r) => bias_residual_relu(o, &conv.bias, &r[at..at + c]),
                            None => bias_relu(o, &conv.bias),
                        }
                    }
                }
            }
        }
    }
}

/// `o = relu(o + bias)`.
#[inline(always)]
fn bias_relu(row: &mut [f32], bias: &[f32]) {
    for (o, &b) in row.iter_mut().zip(bias) {
        *o = (*o + b).max(0.0);
    }
}

/// `o = relu(o + bias + residual)`.
#[inline(always)]
fn bias_residual_relu(row: &mut [f32], bias: &[f32], residual: &[f32]) {
    for ((o, &b), &r) in row.iter_mut().zip(bias).zip(residual) {
        *o = (*o + b + r).max(0.0);
    }
}

/// KataGo's global pooling of `x` (`[n, cells, c]`, cell-major): each
/// channel's mean, the mean times the size factor and the maximum,
/// `[n, 3c]` (the burn graph's `global_pool`).
#[inline(always)]
fn global_pool(x: &[f32], n: usize, cells: usize, c: usize) -> Vec<f32> {
    let scale = super::model::pool_scale(cells);
    let mut out = vec![0f32; n * 3 * c];
    for (p, o) in out.chunks_exact_mut(3 * c).enumerate() {
        let (sum, rest) = o.split_at_mut(c);
        let (scaled, max) = rest.split_at_mut(c);
        max.fill(f32::NEG_INFINITY);
        for row in x[p * cells * c..(p + 1) * cells * c].chunks_exact(c) {
            for ((s, m), &v) in sum.iter_mut().zip(max.iter_mut()).zip(row) {
                *s += v;
                *m = m.max(v);
            }
        }
        for (s, sc) in sum.iter_mut().zip(scaled.iter_mut()) {
            *s /= cells as f32;
            *sc = *s * scale;
        }
    }
    out
}

/// `x = relu(x + bias)` with `bias` (`[n, c]`) added at every cell of `x`
/// (`[n, cells, c]`).
#[inline(always)]
fn add_bias_relu(x: &mut [f32], bias: &[f32], n: usize, cells: usize) {
    let c = bias.len() / n.max(1);
    for (p, b) in bias.chunks_exact(c).enumerate() {
        for row in x[p * cells * c..(p + 1) * cells * c].chunks_exact_mut(c) {
            bias_relu(row, b);
        }
    }
}

/// A block's global pooling bias on its middle activations `y`
/// (`[n, cells, c]`): `y = relu(y + fc(pool(y)))`.
#[inline(always)]
fn pooled_bias_relu(simd: Simd, fc: &Dense, y: &mut [f32], n: usize, cells: usize) {
    let g = global_pool(y, n, cells, fc.out);
    let bias = dense(simd, fc, &g, n, false);
    add_bias_relu(y, &bias, n, cells);
}

/// A dense layer on `n` rows, with an optional ReLU.
#[inline(always)]
fn dense(simd: Simd, d: &Dense, x: &[f32], n: usize, relu: bool) -> Vec<f32> {
    let mut out = vec![0f32; n * d.out];
    kernels::matmul(simd, &mut out, x, &d.weight, n, d.inp, d.out);
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
#[inline(always)]
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

/// `[n, c, cells]` planes -> `[n, cells, c]` in `out`.
#[inline(always)]
fn to_cell_major(planes: &[f32], n: usize, c: usize, cells: usize, out: &mut Vec<f32>) {
    out.resize(n * cells * c, 0.0);
    for p in 0..n {
        for ch in 0..c {
            for cell in 0..cells {
                out[(p * cells + cell) * c + ch] = planes[(p * c + ch) * cells + cell];
            }
        }
    }
}

/// `[n, cells, c]` -> `[n, c * cells]` (burn's `flatten(1, 3)` of NCHW).
#[inline(always)]
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

/// The SIMD level of the CPU path's matrix products on this CPU: wgzero's
/// own AVX-512F or AVX2 kernels ([`Simd::detect`], capped by `WGZERO_SIMD`),
/// else the `gemm` crate's run-time choice.
pub fn simd_level() -> &'static str {
    match Simd::detect() {
        Simd::Gemm => gemm_level(),
        s => s.name(),
    }
}

/// The SIMD level the `gemm` crate's kernels take on this CPU (with the
/// `x86-v4` feature this build turns on: AVX-512 where the CPU has it).
fn gemm_level() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "gemm crate, avx512f";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "gemm crate, avx2+fma";
        }
        "gemm crate, portable"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "gemm crate, neon"
    }
    #[cfg(target_arch = "wasm32")]
    {
        // gemm's wasm SIMD128 kernels (burn-flex's `simd` feature turns
        // them on; every current browser runs SIMD128).
        if gemm::get_wasm_simd128() {
            return "gemm crate, wasm simd128";
        }
        "gemm crate, scalar"
    }
    #[cfg(not(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "wasm32"
    )))]
    {
        "gemm crate, scalar"
    }
}
