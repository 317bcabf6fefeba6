//! The optimisation step: burn autodiff on the same device as inference,
//! AdamW (decoupled weight decay), loss = policy cross-entropy + value MSE
//! (+ an optional L2 penalty on the convolution and dense weights).

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::encode;
use super::model::{AuxOutputs, PolicyValueNet};
use super::network::Network;
use crate::error::{Error, Result};
use crate::game::Game;

/// A batch of training positions, shapes `[n, W]`, `[n, A]`, `[n]`, and for
/// games with auxiliary targets ([`Game::ownership_cells`] `C > 0`) the
/// final ownership `[n, C]` and score `[n]` (where `ownership_mask` `[n]`
/// is 1) and the opponent's reply one-hot `[n, A]` (where `reply_mask` is
/// 1); those are empty for other games.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainBatch {
    pub packed: Vec<u32>,
    pub policy: Vec<f32>,
    pub value: Vec<f32>,
    pub ownership: Vec<f32>,
    pub score: Vec<f32>,
    pub ownership_mask: Vec<f32>,
    pub reply: Vec<f32>,
    pub reply_mask: Vec<f32>,
}

impl TrainBatch {
    pub fn len(&self) -> usize {
        self.value.len()
    }
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Optimiser settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Positions per step. Default: 256.
    pub batch_size: usize,
    /// AdamW learning rate. Default: 1e-3.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay: each step shrinks every weight by
    /// `learning_rate x weight_decay` of itself (at 2e-3 and 0.05, 1e-4 a
    /// step, about 18% over 2,000 steps; the old 1e-4 shrank them by 0.1% over
    /// a whole run). Default: 0.05.
    pub weight_decay: f32,
    /// L2 penalty added to the loss: this times the sum of squares of the
    /// convolution and dense weights (batch norm and biases excluded), as in
    /// AlphaZero and AlphaZero.jl. Off by default: with Adam, weights whose
    /// loss gradient is small move toward zero at the full learning rate,
    /// and at 1e-4 it killed the value head of a 6 x 64 network with a
    /// 32-channel value head within the first iteration (a constant value
    /// for every position; docs/training.md). Default: 0.
    pub l2: f32,
    /// Weight of the value loss against the policy loss. Default: 1.0.
    pub value_weight: f32,
    /// Networks with auxiliary heads ([`crate::net::NetConfig::aux_heads`]):
    /// weight of the ownership loss, the cross-entropy of each cell's final
    /// owner averaged over the cells (KataGo: 1.5 / cells x the sum over
    /// them). Default: 1.5.
    pub ownership_weight: f32,
    /// Weight of the final-score loss: squared error of the margin over the
    /// cells (a 9x9 margin of 9 points is 0.11). Default: 1.0.
    pub score_weight: f32,
    /// Weight of the opponent's-reply policy loss (cross-entropy against
    /// the game's next move; KataGo's 0.15). Default: 0.15.
    pub reply_weight: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: 256,
            learning_rate: 1e-3,
            weight_decay: 0.05,
            l2: 0.0,
            value_weight: 1.0,
            ownership_weight: 1.5,
            score_weight: 1.0,
            reply_weight: 0.15,
        }
    }
}

/// Losses and accuracy of one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct StepStats {
    /// Cross-entropy of the policy against the search policy.
    pub policy_loss: f32,
    /// Mean squared error of the value against the game result.
    pub value_loss: f32,
    /// Share of positions whose most likely move is the target's most likely move.
    pub policy_accuracy: f32,
    /// Standard deviation of the predicted values over the batch: near 0,
    /// the value head says the same for every position (a dead head).
    pub value_std: f32,
    /// With auxiliary heads (else 0): the ownership cross-entropy per cell,
    /// the score's squared error and the reply's cross-entropy, over the
    /// positions that have those targets.
    pub ownership_loss: f32,
    pub score_loss: f32,
    pub reply_loss: f32,
}

/// Trains a copy of a network's weights.
pub struct Trainer<G: Game> {
    game: G,
    model: PolicyValueNet,
    optim: ModuleOptimizer,
    device: Device,
    cfg: TrainConfig,
    steps: u64,
}

impl<G: Game> Trainer<G> {
    /// A trainer starting from `network`'s weights, on its device (with autodiff).
    pub fn new(network: &Network<G>, cfg: TrainConfig) -> Self {
        let device = network.device().clone().autodiff();
        Trainer {
            game: network.game().clone(),
            model: network.model().clone().fork(&device).train(),
            optim: AdamWConfig::new()
                .with_weight_decay(cfg.weight_decay)
                .init(),
            device,
            cfg,
            steps: 0,
        }
    }

    /// Whether the network trains auxiliary heads.
    pub fn has_aux(&self) -> bool {
        self.model.has_aux()
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Sets the step counter (when resuming from a checkpoint).
    pub fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }

    /// Sets the learning rate of the following steps (a schedule).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.learning_rate = lr;
    }

    fn tensors(&self, batch: &TrainBatch) -> Result<(Tensor<4>, Tensor<2>, Tensor<2>)> {
        let n = batch.len();
        let a = self.game.num_actions();
        if n == 0
            || batch.policy.len() != n * a
            || batch.packed.len() != n * self.game.packed_words()
        {
            return Err(Error::Config(format!(
                "a training batch of {n} positions has inconsistent shapes"
            )));
        }
        let planes = encode::encode_cpu(&self.game, &batch.packed, &self.device);
        let policy = Tensor::from_data(TensorData::new(batch.policy.clone(), [n, a]), &self.device);
        let value = Tensor::from_data(TensorData::new(batch.value.clone(), [n, 1]), &self.device);
        Ok((planes, policy, value))
    }

    /// Outputs and losses of `model` on the batch.
    fn losses(&self, model: &PolicyValueNet, batch: &TrainBatch) -> Result<Outputs> {
        let (planes, policy_t, value_t) = self.tensors(batch)?;
        let (logits, value, aux) = model.forward_aux(planes);
        let policy_loss = (policy_t.clone() * log_softmax(logits.clone(), 1))
            .sum_dim(1)
            .mean()
            .neg();
        let value_loss = (value.clone() - value_t).powi_scalar(2).mean();
        let aux = match aux {
            Some(a) => Some(self.aux_losses(a, batch)?),
            None => None,
        };
        Ok(Outputs {
            policy_loss,
            value_loss,
            aux,
            logits,
            policy_t,
            value,
        })
    }

    /// The auxiliary losses (each a masked mean over the positions that
    /// have the target; 0 where none has it).
    fn aux_losses(&self, out: AuxOutputs, batch: &TrainBatch) -> Result<AuxLosses> {
        let n = batch.len();
        let (cells, a) = (self.game.ownership_cells(), self.game.num_actions());
        if batch.ownership.len() != n * cells
            || batch.score.len() != n
            || batch.ownership_mask.len() != n
            || batch.reply.len() != n * a
            || batch.reply_mask.len() != n
        {
            return Err(Error::Config(format!(
                "a training batch of {n} positions lacks the auxiliary targets of its network"
            )));
        }
        let d = &self.device;
        let column = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, 1]), d);
        let masked_mean = |per: Tensor<2>, mask: &[f32]| {
            let count: f32 = mask.iter().sum();
            (per * column(mask)).sum().div_scalar(count.max(1.0))
        };
        let owner = Tensor::<2>::from_data(TensorData::new(batch.ownership.clone(), [n, cells]), d);
        let q = owner.add_scalar(1.0).div_scalar(2.0);
        let u = out.ownership;
        let per_cell = (q.clone() * log_sigmoid(u.clone())
            + q.neg().add_scalar(1.0) * log_sigmoid(u.neg()))
        .neg();
        let ownership = masked_mean(per_cell.mean_dim(1), &batch.ownership_mask);
        let score = masked_mean(
            (out.score - column(&batch.score)).powi_scalar(2),
            &batch.ownership_mask,
        );
        let reply_t = Tensor::<2>::from_data(TensorData::new(batch.reply.clone(), [n, a]), d);
        let reply = masked_mean(
            (reply_t * log_softmax(out.reply, 1)).sum_dim(1).neg(),
            &batch.reply_mask,
        );
        Ok(AuxLosses {
            ownership,
            score,
            reply,
        })
    }

    /// One AdamW step on `batch`; returns the batch's losses before the step.
    pub fn step(&mut self, batch: &TrainBatch) -> Result<StepStats> {
        let out = self.losses(&self.model, batch)?;
        let mut loss =
            out.policy_loss.clone() + out.value_loss.clone().mul_scalar(self.cfg.value_weight);
        if let Some(aux) = &out.aux {
            loss = loss
                + aux.ownership.clone().mul_scalar(self.cfg.ownership_weight)
                + aux.score.clone().mul_scalar(self.cfg.score_weight)
                + aux.reply.clone().mul_scalar(self.cfg.reply_weight);
        }
        if self.cfg.l2 > 0.0 {
            loss = loss + self.model.l2_penalty().mul_scalar(self.cfg.l2);
        }
        let stats = read_stats(out)?;
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.cfg.learning_rate, self.model.clone(), grads);
        self.steps += 1;
        Ok(stats)
    }

    /// Losses of the current weights on `batch` without training (held-out data).
    pub fn evaluate(&self, batch: &TrainBatch) -> Result<StepStats> {
        let model = self.model.valid();
        read_stats(self.losses(&model, batch)?)
    }

    /// The trained weights, for inference (no autodiff, batch norm in inference mode).
    pub fn model(&self) -> PolicyValueNet {
        self.model.valid()
    }

    /// The optimiser state (for checkpoints).
    pub fn optimizer_bytes(&self) -> Result<Vec<u8>> {
        optimizer_bytes(&self.optim)
    }

    /// Restores an optimiser state saved by [`Trainer::optimizer_bytes`].
    pub fn load_optimizer(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.optim = optimizer_from_bytes(self.cfg.weight_decay, bytes)?;
        Ok(())
    }
}

/// An AdamW state as bytes (for checkpoints).
pub(crate) fn optimizer_bytes(optim: &ModuleOptimizer) -> Result<Vec<u8>> {
    optim
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| Error::Model(format!("cannot serialise the optimiser state: {e}")))
}

/// An AdamW with `weight_decay` and the state [`optimizer_bytes`] saved.
pub(crate) fn optimizer_from_bytes(weight_decay: f32, bytes: Vec<u8>) -> Result<ModuleOptimizer> {
    AdamWConfig::new()
        .with_weight_decay(weight_decay)
        .init()
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| Error::Model(format!("optimiser state cannot be read: {e}")))
}

/// A batch's outputs and losses, as tensors.
struct Outputs {
    /// Policy cross-entropy, `[1]`.
    policy_loss: Tensor<1>,
    /// Value MSE, `[1]`.
    value_loss: Tensor<1>,
    /// With auxiliary heads.
    aux: Option<AuxLosses>,
    /// `[n, A]`
    logits: Tensor<2>,
    /// `[n, A]` policy targets.
    policy_t: Tensor<2>,
    /// `[n, 1]` predicted values.
    value: Tensor<2>,
}

/// The auxiliary heads' losses, `[1]` each.
struct AuxLosses {
    ownership: Tensor<1>,
    score: Tensor<1>,
    reply: Tensor<1>,
}

fn read_stats(out: Outputs) -> Result<StepStats> {
    let Outputs {
        policy_loss,
        value_loss,
        aux,
        logits,
        policy_t,
        value,
    } = out;
    let hits = logits.argmax(1).equal(policy_t.argmax(1)).float().mean();
    let value = value.detach();
    let centred = value.clone() - value.mean().unsqueeze::<2>();
    let value_var = centred.powi_scalar(2).mean();
    let read = |t: Tensor<1>| -> Result<f32> {
        t.into_data()
            .try_into_vec::<f32>()
            .ok()
            .and_then(|v| v.first().copied())
            .ok_or_else(|| Error::Device("reading a loss failed".into()))
    };
    let (ownership_loss, score_loss, reply_loss) = match aux {
        Some(a) => (
            read(a.ownership.detach())?,
            read(a.score.detach())?,
            read(a.reply.detach())?,
        ),
        None => (0.0, 0.0, 0.0),
    };
    Ok(StepStats {
        policy_loss: read(policy_loss)?,
        value_loss: read(value_loss)?,
        policy_accuracy: read(hits)?,
        value_std: read(value_var)?.max(0.0).sqrt(),
        ownership_loss,
        score_loss,
        reply_loss,
    })
}
