//! Step 2: training steps on the replay buffer, the held-out losses, and a
//! checkpoint of the trained weights with the optimiser state.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::StepContext;
use crate::error::{Error, Result};
use crate::game::Game;
use crate::net::network::model_id;
use crate::net::trainer::{StepStats, Trainer};
use crate::train::buffers::Buffers;
use crate::train::metrics::{AuxMetrics, HeldOutMetrics, TrainMetrics};
use crate::train::store::{
    checkpoint_name, read_checkpoint, save_checkpoint, save_state, CheckpointMeta, RunState, Step,
};
use crate::train::ReplayBuffer;

/// Held-out positions measured after training, at most.
const HELD_OUT_SAMPLE: usize = 1024;

/// A spread of held-out value predictions below this: a dead value head.
const DEAD_VALUE_STD: f64 = 0.01;

/// What the training step did.
pub struct TrainOutcome {
    pub metrics: TrainMetrics,
    /// `None` while nothing is held out yet.
    pub held_out: Option<HeldOutMetrics>,
    /// The new checkpoint, relative to the run folder (the run's latest).
    pub checkpoint: String,
}

/// Trains on the buffer in proportion to the iteration's new positions,
/// saves the checkpoint, and moves the state to the arena.
pub fn train_step<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &mut RunState,
    trainer: &mut Trainer<G>,
    buffers: &Buffers<G>,
    rng: &mut ChaCha8Rng,
    log: &mut dyn FnMut(&str),
) -> Result<TrainOutcome> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let steps = steps_for(ctx, state);
    if buffers.train.is_empty() {
        return Err(Error::Config(
            "the replay buffer is empty: self-play produced no full-search positions".into(),
        ));
    }
    let mean = train_steps(ctx, it, trainer, &buffers.train, steps, rng)?;
    let train_secs = t.elapsed().as_secs_f64();
    let held_out = held_out_stats(trainer, &buffers.held)?;
    let checkpoint = save_trained(ctx, state, trainer)?;
    let batch = ctx.cfg.train.batch_size;
    let metrics = TrainMetrics {
        buffer_positions: buffers.train.len(),
        learning_rate: ctx.cfg.run.learning_rate(trainer.steps()),
        policy_accuracy: mean.policy_accuracy as f64,
        policy_loss: mean.policy_loss as f64,
        samples_per_second: (steps * batch) as f64 / train_secs,
        seconds: t.elapsed().as_secs_f64(),
        steps,
        total_steps: trainer.steps(),
        value_loss: mean.value_loss as f64,
        aux: trainer.has_aux().then_some(AuxMetrics {
            ownership_loss: mean.ownership_loss as f64,
            score_loss: mean.score_loss as f64,
            reply_loss: mean.reply_loss as f64,
        }),
    };
    state.latest = checkpoint.clone();
    state.train_steps = trainer.steps();
    state.pending.train = Some(metrics.clone());
    if held_out.is_some() {
        state.pending.held_out = held_out;
    }
    state.next = Step::Arena;
    save_state(ctx.run, state)?;
    if let Some(h) = held_out.filter(|h| h.value_std < DEAD_VALUE_STD) {
        log(&format!(
            "warning: iteration {it}'s network gives nearly the same value to every held-out \
             position (spread {:.4}): its value head may be dead; lower the learning rate or \
             the regularisation",
            h.value_std
        ));
    }
    log(&format!(
        "iter {it} training: {steps} steps, policy loss {:.3}, value loss {:.3}, accuracy {:.2}{}{}, {:.0} s",
        mean.policy_loss,
        mean.value_loss,
        mean.policy_accuracy,
        metrics.aux.map_or(String::new(), |a| format!(
            ", ownership {:.3}, score {:.4}, reply {:.3}",
            a.ownership_loss, a.score_loss, a.reply_loss
        )),
        held_out.map_or(String::new(), |h| format!(
            " (held out: accuracy {:.2}, value MSE {:.3})",
            h.policy_accuracy, h.value_mse
        )),
        t.elapsed().as_secs_f64()
    ));
    Ok(TrainOutcome {
        metrics,
        held_out,
        checkpoint,
    })
}

/// Training steps for the iteration's new full-search positions:
/// `samples_per_position` samples each, within `[min_steps, max_steps]`.
fn steps_for<G: Game>(ctx: &StepContext<'_, G>, state: &RunState) -> usize {
    let new_positions = state
        .pending
        .selfplay
        .as_ref()
        .map_or(0, |s| s.full_search_positions) as f64;
    let run = &ctx.cfg.run;
    let batch = ctx.cfg.train.batch_size as f64;
    ((new_positions * run.samples_per_position / batch).ceil() as usize)
        .clamp(run.min_steps, run.max_steps)
}

/// Runs `steps` optimiser steps on samples of `buffer` at the scheduled
/// learning rate; the losses averaged over them.
fn train_steps<G: Game>(
    ctx: &StepContext<'_, G>,
    it: u64,
    trainer: &mut Trainer<G>,
    buffer: &ReplayBuffer<G>,
    steps: usize,
    rng: &mut ChaCha8Rng,
) -> Result<StepStats> {
    let pb = ctx.bar(steps, "steps", format!("iter {it} training"));
    let mut sum = StepStats::default();
    for _ in 0..steps {
        if (ctx.stop)() {
            pb.finish_and_clear();
            return Err(Error::Interrupted);
        }
        trainer.set_learning_rate(ctx.cfg.run.learning_rate(trainer.steps()));
        let batch = buffer.sample(ctx.cfg.train.batch_size, ctx.cfg.run.augment, rng)?;
        let s = trainer.step(&batch)?;
        if !(s.policy_loss.is_finite() && s.value_loss.is_finite()) {
            return Err(Error::Model(format!(
                "training diverged at step {} (loss not finite); lower the learning rate",
                trainer.steps()
            )));
        }
        sum.policy_loss += s.policy_loss / steps as f32;
        sum.value_loss += s.value_loss / steps as f32;
        sum.policy_accuracy += s.policy_accuracy / steps as f32;
        sum.ownership_loss += s.ownership_loss / steps as f32;
        sum.score_loss += s.score_loss / steps as f32;
        sum.reply_loss += s.reply_loss / steps as f32;
        pb.inc(1);
        pb.set_message(format!(
            "policy {:.3} value {:.3}",
            s.policy_loss, s.value_loss
        ));
    }
    pb.finish_and_clear();
    Ok(sum)
}

/// The trained network on a fixed sample of the held-out positions.
fn held_out_stats<G: Game>(
    trainer: &Trainer<G>,
    held: &ReplayBuffer<G>,
) -> Result<Option<HeldOutMetrics>> {
    if held.is_empty() {
        return Ok(None);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = held.len().min(HELD_OUT_SAMPLE);
    let s = trainer.evaluate(&held.sample(n, false, &mut rng)?)?;
    Ok(Some(HeldOutMetrics {
        policy_accuracy: s.policy_accuracy as f64,
        policy_loss: s.policy_loss as f64,
        positions: n,
        value_mse: s.value_loss as f64,
        value_std: s.value_std as f64,
    }))
}

/// Saves the trained weights and the optimiser state as the iteration's
/// checkpoint; returns its folder relative to the run.
fn save_trained<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    trainer: &Trainer<G>,
) -> Result<String> {
    let it = state.iteration + 1;
    let mut net =
        read_checkpoint(ctx.game, ctx.run, &state.latest)?.network(ctx.game, ctx.device)?;
    net.set_model(trainer.model(), format!("iter-{it}"));
    let meta = CheckpointMeta {
        game: ctx.game.name(),
        iteration: it,
        train_steps: trainer.steps(),
        promoted: false,
        model_id: model_id(&net.weights_bytes()?),
    };
    let opt = trainer.optimizer_bytes()?;
    save_checkpoint(ctx.run, &checkpoint_name(it), &net, Some(&opt), &meta)
}
