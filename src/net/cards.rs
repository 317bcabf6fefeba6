//! The card game's network: a residual MLP over the information-state
//! features (there is no board to convolve), with a policy head over every
//! action (cards and bids) and a value head with one value per seat,
//! counted from the player to move.
//!
//! A model is a folder with `config.json` ([`CardNetConfig`]) and
//! `model.bpk` (burnpack), like the board games' models. Inference runs in
//! burn on the device, or on a CPU device through wgzero's own matrix
//! kernels ([`super::kernels`]: the same products as the board networks'
//! fast path); the two agree (tests/cards_net.rs).

use std::path::Path;
use std::sync::OnceLock;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, relu, tanh};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::evaluator::BatchModel;
use super::kernels::{matmul, Simd};
use super::network::{load_record, model_id, read_weights, CONFIG_FILE, WEIGHTS_FILE};
use super::trainer::{optimizer_bytes, optimizer_from_bytes};
use crate::cards::ImperfectGame;
use crate::error::{Error, Result};
use crate::eval::Batch;
use crate::files::write_atomic;

/// Version of the card model config written by this build.
pub const CARD_CONFIG_VERSION: u32 = 2;

/// Shape of a card network and the rules it plays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardNetConfig {
    /// Format version ([`CARD_CONFIG_VERSION`]).
    pub version: u32,
    /// The game's name (`ohhell`).
    pub game: String,
    /// The rules' parameters (OpenSpiel's string, plus `blob`).
    pub rules: String,
    /// Input features ([`ImperfectGame::info_len`]).
    pub inputs: usize,
    /// Policy outputs ([`ImperfectGame::num_actions`]).
    pub actions: usize,
    /// Value outputs: one per player.
    pub players: usize,
    /// Width of the hidden layers.
    pub hidden: usize,
    /// Residual blocks (two dense layers each).
    pub blocks: usize,
}

impl CardNetConfig {
    /// The default network for `game`: 256 wide, 3 blocks.
    pub fn for_game<G: ImperfectGame>(game: &G) -> Self {
        CardNetConfig {
            version: CARD_CONFIG_VERSION,
            game: game.name(),
            rules: game.rules(),
            inputs: game.info_len(),
            actions: game.num_actions(),
            players: game.num_players(),
            hidden: 256,
            blocks: 3,
        }
    }

    /// Checks the ranges and that the network fits `game`.
    pub fn check<G: ImperfectGame>(&self, game: &G) -> Result<()> {
        if self.version != CARD_CONFIG_VERSION {
            return Err(Error::Model(format!(
                "card model config version {} is not supported (this build reads {CARD_CONFIG_VERSION})",
                self.version
            )));
        }
        if !(1..=8192).contains(&self.hidden) || self.blocks > 64 {
            return Err(Error::Model(format!(
                "unreasonable size: {} wide, {} blocks",
                self.hidden, self.blocks
            )));
        }
        if self.game != game.name()
            || self.rules != game.rules()
            || self.inputs != game.info_len()
            || self.actions != game.num_actions()
            || self.players != game.num_players()
        {
            return Err(Error::Model(format!(
                "the model plays {} ({}: {} inputs, {} actions, {} players), not these rules ({}: {} inputs, {} actions, {} players)",
                self.game,
                self.rules,
                self.inputs,
                self.actions,
                self.players,
                game.rules(),
                game.info_len(),
                game.num_actions(),
                game.num_players()
            )));
        }
        Ok(())
    }

    /// Trainable parameters.
    pub fn num_params(&self) -> usize {
        let h = self.hidden;
        (self.inputs + 1) * h
            + self.blocks * 2 * (h + 1) * h
            + (h + 1) * self.actions
            + (h + 1) * self.players
    }
}

/// Two dense layers with a skip connection.
#[derive(Module, Debug)]
pub struct CardBlock {
    fc1: Linear,
    fc2: Linear,
}

/// The residual MLP in burn.
#[derive(Module, Debug)]
pub struct CardNet {
    stem: Linear,
    blocks: Vec<CardBlock>,
    policy: Linear,
    value: Linear,
}

impl CardNet {
    /// A randomly initialised network of shape `cfg`.
    pub fn new(cfg: &CardNetConfig, device: &Device) -> Self {
        let h = cfg.hidden;
        CardNet {
            stem: LinearConfig::new(cfg.inputs, h).init(device),
            blocks: (0..cfg.blocks)
                .map(|_| CardBlock {
                    fc1: LinearConfig::new(h, h).init(device),
                    fc2: LinearConfig::new(h, h).init(device),
                })
                .collect(),
            policy: LinearConfig::new(h, cfg.actions).init(device),
            value: LinearConfig::new(h, cfg.players).init(device),
        }
    }

    /// `[N, F]` features -> (`[N, A]` policy logits, `[N, P]` values in [-1, 1]).
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let mut h = relu(self.stem.forward(x));
        for b in &self.blocks {
            let y = relu(b.fc1.forward(h.clone()));
            h = relu(b.fc2.forward(y) + h);
        }
        (self.policy.forward(h.clone()), tanh(self.value.forward(h)))
    }

    fn cpu(&self) -> CpuCardNet {
        CpuCardNet {
            stem: dense(&self.stem),
            blocks: self
                .blocks
                .iter()
                .map(|b| [dense(&b.fc1), dense(&b.fc2)])
                .collect(),
            policy: dense(&self.policy),
            value: dense(&self.value),
            simd: Simd::detect(),
        }
    }
}

/// A dense layer as arrays: weight `[in, out]`, bias `[out]`.
struct Layer {
    inp: usize,
    out: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn dense(l: &Linear) -> Layer {
    let [inp, out] = l.weight.dims();
    let weight = l
        .weight
        .val()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 weights");
    let bias = match &l.bias {
        Some(b) => b
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 bias"),
        None => vec![0.0; out],
    };
    Layer {
        inp,
        out,
        weight,
        bias,
    }
}

impl Layer {
    /// `out [n, self.out] = x [n, self.inp] W + b`, then ReLU if asked
    /// (with `skip` added before it).
    fn forward(
        &self,
        simd: Simd,
        x: &[f32],
        n: usize,
        out: &mut Vec<f32>,
        skip: Option<&[f32]>,
        relu: bool,
    ) {
        out.clear();
        out.resize(n * self.out, 0.0);
        matmul(simd, out, x, &self.weight, n, self.inp, self.out);
        for row in out.chunks_exact_mut(self.out).enumerate() {
            let (i, row) = row;
            for (j, v) in row.iter_mut().enumerate() {
                let mut y = *v + self.bias[j];
                if let Some(s) = skip {
                    y += s[i * self.out + j];
                }
                *v = if relu { y.max(0.0) } else { y };
            }
        }
    }
}

/// The network as plain arrays for the CPU path.
struct CpuCardNet {
    stem: Layer,
    blocks: Vec<[Layer; 2]>,
    policy: Layer,
    value: Layer,
    simd: Simd,
}

impl CpuCardNet {
    fn forward(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut h, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
        self.stem.forward(self.simd, x, n, &mut h, None, true);
        for [fc1, fc2] in &self.blocks {
            fc1.forward(self.simd, &h, n, &mut y, None, true);
            fc2.forward(self.simd, &y, n, &mut z, Some(&h), true);
            std::mem::swap(&mut h, &mut z);
        }
        let mut logits = Vec::new();
        self.policy
            .forward(self.simd, &h, n, &mut logits, None, false);
        let mut values = Vec::new();
        self.value
            .forward(self.simd, &h, n, &mut values, None, false);
        values.iter_mut().for_each(|v| *v = v.tanh());
        (logits, values)
    }
}

/// A card network for one game on one device.
pub struct CardNetwork<G: ImperfectGame> {
    game: G,
    config: CardNetConfig,
    model: CardNet,
    device: Device,
    /// Run inference through the CPU path (a CPU device); false: the device
    /// is a wgpu one (the game's WGSL kernel encodes the inputs).
    cpu_path: bool,
    cpu: OnceLock<CpuCardNet>,
    id: String,
}

impl<G: ImperfectGame> CardNetwork<G> {
    /// A randomly initialised network (seeded).
    pub fn random(
        game: G,
        config: CardNetConfig,
        device: Device,
        cpu_path: bool,
        seed: u64,
    ) -> Result<Self> {
        config.check(&game)?;
        device.seed(seed);
        let model = CardNet::new(&config, &device);
        Ok(Self::assemble(
            game,
            config,
            model,
            device,
            cpu_path,
            format!("random-{seed}"),
        ))
    }

    fn assemble(
        game: G,
        config: CardNetConfig,
        model: CardNet,
        device: Device,
        cpu_path: bool,
        id: String,
    ) -> Self {
        CardNetwork {
            game,
            config,
            model,
            device,
            cpu_path,
            cpu: OnceLock::new(),
            id,
        }
    }

    /// Loads a model folder (`config.json` + `model.bpk`).
    pub fn load(game: G, dir: &Path, device: Device, cpu_path: bool) -> Result<Self> {
        let text = crate::files::read_model_text(&dir.join(CONFIG_FILE))?;
        let weights = crate::files::read_model_bytes(&dir.join(WEIGHTS_FILE))?;
        Self::from_parts(game, &text, weights, device, cpu_path)
            .map_err(|e| e.in_model(dir.display()))
    }

    /// A model from its config JSON and burnpack bytes.
    pub fn from_parts(
        game: G,
        config_json: &str,
        weights: Vec<u8>,
        device: Device,
        cpu_path: bool,
    ) -> Result<Self> {
        let config: CardNetConfig = serde_json::from_str(config_json)
            .map_err(|e| Error::Model(format!("{CONFIG_FILE} is not a card model config: {e}")))?;
        config.check(&game)?;
        let id = model_id(&weights);
        let record = read_weights(weights, config.num_params())?;
        let model = load_record(CardNet::new(&config, &device), record)?;
        Ok(Self::assemble(game, config, model, device, cpu_path, id))
    }

    /// Writes `config.json` and `model.bpk` into `dir`, each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(&self.config).expect("config serialises");
        write_atomic(&dir.join(CONFIG_FILE), json.as_bytes())?;
        write_atomic(&dir.join(WEIGHTS_FILE), &self.weights_bytes()?)
    }

    /// The weights in burnpack format.
    pub fn weights_bytes(&self) -> Result<Vec<u8>> {
        self.model
            .clone()
            .into_record()
            .into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| Error::Model(format!("cannot serialise weights: {e}")))
    }

    pub fn game(&self) -> &G {
        &self.game
    }
    pub fn config(&self) -> &CardNetConfig {
        &self.config
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn model(&self) -> &CardNet {
        &self.model
    }
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Replaces the weights (after training).
    pub fn set_model(&mut self, model: CardNet, id: String) {
        self.model = model;
        self.cpu = OnceLock::new();
        self.id = id;
    }

    /// Whether inference takes the CPU path.
    pub fn with_cpu_path(mut self, on: bool) -> Self {
        self.cpu_path = on;
        self
    }

    /// Features of packed information states `[n, W]` (the CPU reference encoding).
    pub fn features(&self, words: &[u32]) -> Vec<f32> {
        let (w, f) = (self.game.info_words(), self.game.info_len());
        let n = words.len() / w.max(1);
        let mut x = vec![0.0; n * f];
        for (row, s) in x.chunks_exact_mut(f).zip(words.chunks_exact(w)) {
            self.game.encode_info(s, row);
        }
        x
    }

    /// Policy logits `[n, A]` and values `[n, P]` of packed information
    /// states: on the CPU path from the reference encoding; on a wgpu
    /// device from the game's WGSL kernel (only the packed words are
    /// uploaded); otherwise through burn from the reference encoding.
    pub fn forward(&self, words: &[u32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = words.len() / self.game.info_words().max(1);
        if self.cpu_path {
            let x = self.features(words);
            let net = self.cpu.get_or_init(|| self.model.cpu());
            return Ok(net.forward(&x, n));
        }
        if self.game.info_kernel().is_some() {
            let x = super::encode::encode_info_wgpu(&self.game, words, &self.device)?;
            return self.forward_tensor(x);
        }
        self.forward_burn(self.features(words), n)
    }

    /// The same through burn on the device (the reference of the CPU path).
    pub fn forward_burn(&self, x: Vec<f32>, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let f = self.config.inputs;
        self.forward_tensor(Tensor::from_data(TensorData::new(x, [n, f]), &self.device))
    }

    fn forward_tensor(&self, t: Tensor<2>) -> Result<(Vec<f32>, Vec<f32>)> {
        let (logits, values) = self.model.forward(t);
        let read = |t: Tensor<2>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Device(format!("reading outputs: {e:?}")))
        };
        Ok((read(logits)?, read(values)?))
    }

    /// Features of packed states through burn, for parity tests.
    pub fn forward_features_cpu(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        self.model.cpu().forward(x, n)
    }
}

impl<G: ImperfectGame> BatchModel for CardNetwork<G> {
    fn evaluate_batch(&self, batch: &mut Batch) -> Result<()> {
        batch.prepare_results();
        if batch.is_empty() {
            return Ok(());
        }
        let (logits, values) = self.forward(&batch.states)?;
        super::network::write_outputs(batch, &logits, &values)
    }
}

/// Training examples: packed information states `[n, W]`, policy targets
/// `[n, A]`, value targets `[n, P]` (seats from the player to move, scaled).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CardTrainBatch {
    pub packed: Vec<u32>,
    pub policy: Vec<f32>,
    pub value: Vec<f32>,
}

/// Losses of one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct CardStepStats {
    pub policy_loss: f32,
    pub value_loss: f32,
}

/// AdamW on a copy of a card network's weights.
pub struct CardTrainer<G: ImperfectGame> {
    game: G,
    model: CardNet,
    optim: ModuleOptimizer,
    device: Device,
    learning_rate: f64,
    weight_decay: f32,
    steps: u64,
}

impl<G: ImperfectGame> CardTrainer<G> {
    pub fn new(network: &CardNetwork<G>, learning_rate: f64, weight_decay: f32) -> Self {
        let device = network.device().clone().autodiff();
        CardTrainer {
            game: network.game().clone(),
            model: network.model().clone().fork(&device).train(),
            optim: AdamWConfig::new().with_weight_decay(weight_decay).init(),
            device,
            learning_rate,
            weight_decay,
            steps: 0,
        }
    }

    pub fn game(&self) -> &G {
        &self.game
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.learning_rate = lr;
    }

    fn losses(&self, model: &CardNet, b: &CardTrainBatch) -> Result<(Tensor<1>, Tensor<1>)> {
        let (w, f, a, p) = (
            self.game.info_words(),
            self.game.info_len(),
            self.game.num_actions(),
            self.game.num_players(),
        );
        let n = b.packed.len() / w.max(1);
        if n == 0 || b.packed.len() != n * w || b.policy.len() != n * a || b.value.len() != n * p {
            return Err(Error::Config(format!(
                "a card training batch of {n} examples has inconsistent shapes"
            )));
        }
        let mut x = vec![0.0; n * f];
        for (row, s) in x.chunks_exact_mut(f).zip(b.packed.chunks_exact(w)) {
            self.game.encode_info(s, row);
        }
        let x = Tensor::from_data(TensorData::new(x, [n, f]), &self.device);
        let pt = Tensor::from_data(TensorData::new(b.policy.clone(), [n, a]), &self.device);
        let vt = Tensor::from_data(TensorData::new(b.value.clone(), [n, p]), &self.device);
        let (logits, v) = model.forward(x);
        let policy_loss = (pt * log_softmax(logits, 1)).sum_dim(1).mean().neg();
        let value_loss = (v - vt).powi_scalar(2).mean();
        Ok((policy_loss, value_loss))
    }

    /// One step; returns the losses before it.
    pub fn step(&mut self, b: &CardTrainBatch, value_weight: f32) -> Result<CardStepStats> {
        let (pl, vl) = self.losses(&self.model, b)?;
        let loss = pl.clone() + vl.clone().mul_scalar(value_weight);
        let stats = CardStepStats {
            policy_loss: scalar(pl)?,
            value_loss: scalar(vl)?,
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.learning_rate, self.model.clone(), grads);
        self.steps += 1;
        Ok(stats)
    }

    /// Losses without training (held-out data).
    pub fn evaluate(&self, b: &CardTrainBatch) -> Result<CardStepStats> {
        let model = self.model.valid();
        let (pl, vl) = self.losses(&model, b)?;
        Ok(CardStepStats {
            policy_loss: scalar(pl)?,
            value_loss: scalar(vl)?,
        })
    }

    /// The trained weights for inference.
    pub fn model(&self) -> CardNet {
        self.model.valid()
    }

    pub fn optimizer_bytes(&self) -> Result<Vec<u8>> {
        optimizer_bytes(&self.optim)
    }

    pub fn load_optimizer(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.optim = optimizer_from_bytes(self.weight_decay, bytes)?;
        Ok(())
    }
}

fn scalar(t: Tensor<1>) -> Result<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .ok_or_else(|| Error::Device("reading a loss failed".into()))
}
