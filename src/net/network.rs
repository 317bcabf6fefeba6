//! A policy/value network for one game on one device: forward passes on
//! batches of packed states, and model files.
//!
//! A model is a folder with `config.json` ([`NetConfig`]) and `model.bpk`
//! (burn's burnpack format). Loading checks the game, the config and the
//! weights' shapes and fails with an error naming the file.

use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType, Device, FloatDType, Tensor, Transaction};

use super::config::NetConfig;
use super::cpu::{ConvAlgo, CpuNet, CpuPrecision};
use super::encode;
use super::kernels::Simd;
use super::model::PolicyValueNet;
use crate::error::{Error, Result};
use crate::eval::ScoreUtility;
use crate::eval::{Batch, FinalView};
use crate::files::write_atomic;
use crate::game::Game;

/// File names inside a model folder.
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.bpk";

/// Floating-point precision of inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f16 where the device is a real GPU that supports it, else f32.
    Auto,
    F32,
    F16,
}

/// Casts every float tensor of a module (parameters and running statistics).
struct CastTo(FloatDType);

impl ModuleMapper for CastTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// How a network on the CPU backend runs inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuPath {
    /// wgzero's own path ([`super::cpu`]: folded batch norm, im2col + gemm).
    Gemm,
    /// burn's graph on the `flex` backend (as training runs).
    Flex,
}

impl CpuPath {
    /// The default: `Gemm`, unless the environment variable
    /// `WGZERO_CPU_PATH=flex` asks for burn's graph.
    pub fn from_env() -> Self {
        match std::env::var("WGZERO_CPU_PATH").as_deref() {
            Ok("flex") => CpuPath::Flex,
            _ => CpuPath::Gemm,
        }
    }

    /// What `wgzero info` and `bench` report.
    pub fn describe(self) -> String {
        match self {
            CpuPath::Gemm => format!(
                "wgzero gemm path ({} 3x3 convolutions, {}{}; training on flex)",
                ConvAlgo::from_env().name(),
                super::cpu::simd_level(),
                if CpuPrecision::from_env().in_use(Simd::detect()) {
                    ", bf16 products"
                } else {
                    ""
                }
            ),
            CpuPath::Flex => "flex".into(),
        }
    }
}

/// A network ready to evaluate positions of `G`.
pub struct Network<G: Game> {
    game: G,
    config: NetConfig,
    model: PolicyValueNet,
    device: Device,
    gpu_encode: bool,
    id: String,
    f16: bool,
    cpu_path: CpuPath,
    /// How the CPU path computes 3x3 convolutions, and its SIMD kernels.
    conv_algo: ConvAlgo,
    simd: Simd,
    cpu_precision: CpuPrecision,
    /// The value the search gets: the value head's, or blended with the
    /// score head's ([`Network::with_score_utility`]).
    score_utility: Option<ScoreUtility>,
    /// The CPU path's arrays, built at the first forward pass.
    cpu_net: std::sync::OnceLock<CpuNet>,
}

/// The burnpack record of `weights` for a network of `params` parameters,
/// refused before any network of that shape is allocated when the file is
/// too short to hold it (2 bytes per parameter at the least, f16).
pub(crate) fn read_weights(weights: Vec<u8>, params: usize) -> Result<ModuleRecord> {
    let need = params.saturating_mul(2);
    if weights.len() < need {
        return Err(Error::Model(format!(
            "{WEIGHTS_FILE} holds {} bytes, but {CONFIG_FILE}'s shape has {params} parameters (at least {need} bytes): the files do not belong together",
            weights.len()
        )));
    }
    // Each tensor is loaded in the dtype of the parameter it fills: the
    // record's own dtype is whatever the file says, and burn panics on a
    // float parameter given integer data (a fuzzed file found it).
    Ok(ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
        .map_err(|e| {
            Error::Model(format!(
                "{WEIGHTS_FILE} cannot be read (truncated or not burnpack?): {e}"
            ))
        })?
        .cast_to_module_dtype())
}

/// `model` with `record`'s weights, or why they do not fit it.
pub(crate) fn load_record<M: Module>(model: M, record: ModuleRecord) -> Result<M> {
    model
        .try_load_record(record)
        .map_err(|e| Error::Model(format!("{WEIGHTS_FILE} does not match {CONFIG_FILE}: {e}")))
}

/// The id of a model's weights: 64-bit FNV-1a of its burnpack bytes, in hex.
pub fn model_id(weights: &[u8]) -> String {
    format!("{:016x}", crate::files::fnv1a(weights))
}

impl<G: Game> Network<G> {
    /// A randomly initialised network (seeded) of shape `config`.
    /// `gpu_encode`: encode inputs with the WGSL kernels (wgpu devices only).
    pub fn random(
        game: G,
        config: NetConfig,
        device: Device,
        gpu_encode: bool,
        seed: u64,
    ) -> Result<Self> {
        config.validate()?;
        let config = config.for_board(&game)?;
        device.seed(seed);
        let model = PolicyValueNet::new(&config, &device);
        Ok(Self::assemble(
            game,
            config,
            model,
            device,
            gpu_encode,
            format!("random-{seed}"),
        ))
    }

    fn assemble(
        game: G,
        config: NetConfig,
        model: PolicyValueNet,
        device: Device,
        gpu_encode: bool,
        id: String,
    ) -> Self {
        Network {
            game,
            config,
            model,
            device,
            gpu_encode,
            id,
            f16: false,
            cpu_path: CpuPath::from_env(),
            conv_algo: ConvAlgo::from_env(),
            simd: Simd::detect(),
            cpu_precision: CpuPrecision::from_env(),
            score_utility: None,
            cpu_net: std::sync::OnceLock::new(),
        }
    }

    /// Loads the model folder `dir` (see the module docs).
    pub fn load(game: G, dir: &Path, device: Device, gpu_encode: bool) -> Result<Self> {
        let text = crate::files::read_model_text(&dir.join(CONFIG_FILE))?;
        let weights = crate::files::read_model_bytes(&dir.join(WEIGHTS_FILE))?;
        Self::from_parts(game, &text, weights, device, gpu_encode)
            .map_err(|e| e.in_model(dir.display()))
    }

    /// A model from its config JSON and burnpack bytes (e.g. from `include_bytes!`).
    pub fn from_parts(
        game: G,
        config_json: &str,
        weights: Vec<u8>,
        device: Device,
        gpu_encode: bool,
    ) -> Result<Self> {
        let config: NetConfig = serde_json::from_str(config_json)
            .map_err(|e| Error::Model(format!("{CONFIG_FILE} is not a valid model config: {e}")))?;
        config.validate()?;
        let config = config.for_board(&game)?;
        let id = model_id(&weights);
        let record = read_weights(weights, config.num_params())?;
        let model = load_record(PolicyValueNet::new(&config, &device), record)?;
        Ok(Self::assemble(game, config, model, device, gpu_encode, id))
    }

    /// Runs inference in `precision` (`Auto` resolves with `real_gpu`: f16 on a
    /// real GPU that supports it). Fails if f16 is asked for and unsupported.
    pub fn with_precision(mut self, precision: Precision, real_gpu: bool) -> Result<Self> {
        let supported = self.gpu_encode && self.device.supports_dtype(DType::F16);
        let f16 = match precision {
            Precision::F32 => false,
            Precision::Auto => supported && real_gpu,
            Precision::F16 if supported => true,
            Precision::F16 => {
                return Err(Error::Device(
                    "--precision f16: this device does not support f16 (needs a wgpu adapter with SHADER_F16)".into(),
                ))
            }
        };
        if f16 != self.f16 {
            let dtype = if f16 {
                FloatDType::F16
            } else {
                FloatDType::F32
            };
            self.model = self.model.map(&mut CastTo(dtype));
            self.f16 = f16;
            self.cpu_net = std::sync::OnceLock::new();
        }
        Ok(self)
    }

    /// This network with `extra` residual blocks appended, each initialised
    /// as the identity: the same outputs, more capacity to train (Net2Net-style
    /// deepening). Fails if the result is not a valid size.
    pub fn deepened(self, extra: usize) -> Result<Self> {
        let mut config = self.config.clone();
        config.blocks += extra;
        self.reshaped(config, |model, device| model.deepened(extra, device))
    }

    /// This network with a value head `channels` wide (its 1x1 convolution's
    /// outputs), the new channels reaching the value through zero weights:
    /// the same outputs, more value features to train (Net2Net-style
    /// widening). Fails unless `channels` is more than it has and valid.
    pub fn value_widened(self, channels: usize) -> Result<Self> {
        let have = self.config.value_channels;
        if self.config.global_pooling {
            return Err(Error::Config(
                "a network with global pooling cannot be widened this way (its value head reads pooled features)".into(),
            ));
        }
        if channels <= have {
            return Err(Error::Config(format!(
                "the value head already has {have} channels; the new width must be more"
            )));
        }
        let mut config = self.config.clone();
        config.value_channels = channels;
        self.reshaped(config, |model, device| {
            model.value_widened(channels, device)
        })
    }

    /// Applies a function-preserving change of shape to the f32 model.
    fn reshaped(
        mut self,
        config: NetConfig,
        change: impl FnOnce(PolicyValueNet, &Device) -> PolicyValueNet,
    ) -> Result<Self> {
        config.validate()?;
        let mut model = self.model;
        if self.f16 {
            model = model.map(&mut CastTo(FloatDType::F32));
        }
        model = change(model, &self.device);
        if self.f16 {
            model = model.map(&mut CastTo(FloatDType::F16));
        }
        self.model = model;
        self.config = config;
        self.cpu_net = std::sync::OnceLock::new();
        self.id = model_id(&self.weights_bytes()?);
        Ok(self)
    }

    /// Whether inference runs in f16.
    pub fn is_f16(&self) -> bool {
        self.f16
    }

    /// Writes `config.json` and `model.bpk` into `dir` (created if needed),
    /// each atomically: written to a temporary file, synced, renamed.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        write_atomic(&dir.join(CONFIG_FILE), self.config_json().as_bytes())?;
        write_atomic(&dir.join(WEIGHTS_FILE), &self.weights_bytes()?)
    }

    /// The config as written to `config.json`.
    pub fn config_json(&self) -> String {
        serde_json::to_string_pretty(&self.config).expect("config serialises")
    }

    /// The weights in burnpack format (f32), as written to `model.bpk`.
    pub fn weights_bytes(&self) -> Result<Vec<u8>> {
        let model = if self.f16 {
            self.model.clone().map(&mut CastTo(FloatDType::F32))
        } else {
            self.model.clone()
        };
        model
            .into_record()
            .into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| Error::Model(format!("cannot serialise weights: {e}")))
    }

    pub fn game(&self) -> &G {
        &self.game
    }
    pub fn config(&self) -> &NetConfig {
        &self.config
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn model(&self) -> &PolicyValueNet {
        &self.model
    }
    /// Replaces the weights (after training); `id` names the new weights.
    pub fn set_model(&mut self, model: PolicyValueNet, id: String) {
        self.model = model;
        self.id = id;
        self.cpu_net = std::sync::OnceLock::new();
    }
    /// Chooses the CPU backend's inference path (default: [`CpuPath::from_env`]).
    pub fn with_cpu_path(mut self, path: CpuPath) -> Self {
        self.cpu_path = path;
        self
    }
    /// The same network with the CPU path's 3x3 convolutions computed by
    /// `algo` (the default comes from [`ConvAlgo::from_env`]).
    pub fn with_conv_algo(mut self, algo: ConvAlgo) -> Self {
        self.conv_algo = algo;
        self.cpu_net = std::sync::OnceLock::new();
        self
    }
    /// How the CPU path computes 3x3 convolutions.
    pub fn conv_algo(&self) -> ConvAlgo {
        self.conv_algo
    }
    /// The same network with the CPU path's Winograd products in
    /// `precision` (bf16 only where the CPU has AVX512-BF16 and the AVX-512
    /// kernels are in use; f32 otherwise).
    pub fn with_cpu_precision(mut self, precision: CpuPrecision) -> Self {
        self.cpu_precision = precision;
        self.cpu_net = std::sync::OnceLock::new();
        self
    }
    /// The same network with the CPU path's matrix products on `simd`'s
    /// kernels (the default: [`Simd::detect`]); a level the CPU lacks is
    /// lowered to one it has.
    pub fn with_simd(mut self, simd: Simd) -> Self {
        self.simd = Simd::available()
            .into_iter()
            .find(|&s| s == simd)
            .unwrap_or(Simd::Gemm);
        self.cpu_net = std::sync::OnceLock::new();
        self
    }

    /// The same network with values blended with its score head's margin
    /// by KataGo's score utility of weight `factor` ([`ScoreUtility`]; 0 =
    /// the value head alone). Refused for a network without a score head
    /// or a game without a board to score.
    pub fn with_score_utility(mut self, factor: f32) -> Result<Self> {
        if factor > 0.0 && !self.model.has_aux() {
            return Err(Error::Config(format!(
                "a score utility needs a network with a score head (the auxiliary heads, Go): {} has none",
                self.game.name()
            )));
        }
        self.score_utility = ScoreUtility::for_board(factor, self.game.ownership_cells())?;
        self.cpu_net = std::sync::OnceLock::new();
        Ok(self)
    }

    /// Whether inputs are encoded by the WGSL kernels.
    pub fn gpu_encode(&self) -> bool {
        self.gpu_encode
    }
    /// Identifies the weights (hash of the loaded file, or `random-<seed>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Forward pass on `states` (`[n, W]` packed words): policy logits
    /// `[n, A]` and values `[n]`, read back to the host (waits for the device).
    pub fn forward(&self, states: &[u32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = self.count_states(states)?;
        if !self.gpu_encode && !self.f16 && self.cpu_path == CpuPath::Gemm {
            return Ok(self.forward_gemm(states));
        }
        let (logits, value) = self.forward_on_device(states)?;
        let data = Transaction::default()
            .register(logits)
            .register(value)
            .try_execute()
            .map_err(|e| Error::Device(format!("reading results: {e:?}")))?;
        let (logits, values) = read_outputs(data)?;
        debug_assert_eq!(logits.len(), n * self.config.actions);
        debug_assert_eq!(values.len(), n);
        Ok((logits, values))
    }

    /// What the auxiliary heads expect of each of `states`' end (`None` for
    /// a network without them): the burn network in f32, the CPU
    /// reference encoding (analysis output, a few positions at a time).
    pub fn final_views(&self, states: &[u32]) -> Result<Option<Vec<FinalView>>> {
        let n = self.count_states(states)?;
        let cells = self.game.ownership_cells();
        if !self.model.has_aux() || cells == 0 {
            return Ok(None);
        }
        let model = if self.f16 {
            self.model.clone().map(&mut CastTo(FloatDType::F32))
        } else {
            self.model.clone()
        };
        let planes = encode::encode_cpu(&self.game, states, &self.device);
        let (_, _, aux) = model.forward_aux(planes);
        let aux = aux.ok_or_else(|| Error::Model("the auxiliary heads gave nothing".into()))?;
        let read = |t: Tensor<2>| -> Result<Vec<f32>> {
            t.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| Error::Device(format!("reading the auxiliary heads: {e:?}")))
        };
        let ownership = read(aux.ownership)?;
        let score = read(aux.score)?;
        Ok(Some(
            (0..n)
                .map(|i| FinalView {
                    // The expected owner: 2 sigmoid(u) - 1 = tanh(u / 2).
                    ownership: ownership[i * cells..(i + 1) * cells]
                        .iter()
                        .map(|u| (u / 2.0).tanh())
                        .collect(),
                    score: score[i] * cells as f32,
                })
                .collect(),
        ))
    }

    /// The number of states in `states` (`[n, W]` packed words), or why it
    /// is not a whole, non-zero number of them.
    pub(crate) fn count_states(&self, states: &[u32]) -> Result<usize> {
        let words = self.game.packed_words();
        if states.is_empty() || !states.len().is_multiple_of(words) {
            return Err(Error::Evaluator(format!(
                "{} words is not a whole number of {words}-word states",
                states.len()
            )));
        }
        Ok(states.len() / words)
    }

    /// The burn network's outputs for `states` on the device, not yet read
    /// back: the input encoding (WGSL kernel on wgpu, CPU reference
    /// otherwise), the network in f32 or f16, the outputs in f32.
    pub(crate) fn forward_on_device(&self, states: &[u32]) -> Result<(Tensor<2>, Tensor<2>)> {
        let planes = if self.gpu_encode {
            encode::encode_wgpu(&self.game, states, &self.device)?
        } else {
            encode::encode_cpu(&self.game, states, &self.device)
        };
        let planes = if self.f16 {
            planes.cast(FloatDType::F16)
        } else {
            planes
        };
        let (logits, value) = self.model.forward_with(planes, self.score_utility);
        Ok(if self.f16 {
            (logits.cast(FloatDType::F32), value.cast(FloatDType::F32))
        } else {
            (logits, value)
        })
    }

    /// [`Network::forward`] on the CPU path: the game's CPU encoding, then
    /// [`CpuNet::forward`].
    fn forward_gemm(&self, states: &[u32]) -> (Vec<f32>, Vec<f32>) {
        let net = self.cpu_net.get_or_init(|| {
            self.model.cpu_net(
                &self.config,
                self.conv_algo,
                self.simd,
                self.cpu_precision,
                self.score_utility,
            )
        });
        net.forward(&encode::cpu_planes(&self.game, states))
    }
}

/// The policy logits and values of a transaction that read
/// [`Network::forward_on_device`]'s two outputs, in that order.
pub(crate) fn read_outputs(data: Vec<burn::tensor::TensorData>) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut it = data.into_iter();
    let logits: Vec<f32> = it
        .next()
        .and_then(|d| d.try_into_vec::<f32>().ok())
        .ok_or_else(|| Error::Device("policy readback failed".into()))?;
    let values: Vec<f32> = it
        .next()
        .and_then(|d| d.try_into_vec::<f32>().ok())
        .ok_or_else(|| Error::Device("value readback failed".into()))?;
    Ok((logits, values))
}

/// Softmax of `logits` over the actions whose `mask` is non-zero; 0 elsewhere.
pub fn masked_softmax(logits: &[f32], mask: &[u8], out: &mut [f32]) {
    let max = logits
        .iter()
        .zip(mask)
        .filter(|(_, &m)| m != 0)
        .map(|(&l, _)| l)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for ((o, &l), &m) in out.iter_mut().zip(logits).zip(mask) {
        *o = if m != 0 { (l - max).exp() } else { 0.0 };
        total += *o;
    }
    if total > 0.0 && total.is_finite() {
        out.iter_mut().for_each(|o| *o /= total);
    }
}

/// Writes a network's outputs into `batch` (results prepared): the softmax
/// of `logits` over each position's legal actions, and `values` as they are.
pub(crate) fn write_outputs(batch: &mut Batch, logits: &[f32], values: &[f32]) -> Result<()> {
    let a = batch.actions();
    for i in 0..batch.len() {
        let (legal, policy) = (
            &batch.legal[i * a..(i + 1) * a],
            &mut batch.policy[i * a..(i + 1) * a],
        );
        masked_softmax(&logits[i * a..(i + 1) * a], legal, policy);
    }
    batch.value.copy_from_slice(values);
    batch.check_results()
}
