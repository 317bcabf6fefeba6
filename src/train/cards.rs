//! The card game's training loop (`wgzero train --game ohhell`): self-play
//! with the determinized search and the current network -> a replay window
//! of decisions with per-player value targets -> AdamW steps -> the next
//! network, in iterations, in a run folder that survives being killed.
//!
//! The run folder:
//! - `settings.json`: the [`CardTrainSettings`] (fixed for the run);
//! - `games/iter-NNNN.jsonl`: each iteration's hands ([`HandRecord`]s),
//!   written atomically before training on them;
//! - `latest/`: the network after the last finished iteration, with
//!   `optimizer.bin` and `state.json` (iterations and steps done) written
//!   last: a run resumes from the last complete iteration, and an
//!   iteration whose games were written but not trained on reuses them;
//! - `metrics.jsonl`: one line per iteration (self-play figures, losses).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cards::search::LeafEval;
use crate::cards::selfplay::{self, CardSelfPlayConfig, CardSelfPlayReport, HandRecord};
use crate::cards::ImperfectGame;
use crate::error::{Error, Result};
use crate::eval::Uniform;
use crate::files::write_atomic;
use crate::net::cards::{CardNetConfig, CardNetwork, CardStepStats, CardTrainBatch, CardTrainer};
use crate::net::{NetEvaluator, Selected};

/// Settings of a card training run, with their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardTrainSettings {
    /// Hands of self-play per iteration (default 1000).
    pub hands_per_iteration: usize,
    /// Optimiser steps per iteration (default 300).
    pub steps_per_iteration: usize,
    /// Examples per step (default 256).
    pub batch_size: usize,
    /// AdamW learning rate (default 1e-3).
    pub learning_rate: f64,
    /// AdamW decoupled weight decay (default 0.01).
    pub weight_decay: f32,
    /// Weight of the value loss (default 1.0).
    pub value_weight: f32,
    /// Iterations of games the replay window holds (default 4).
    pub window_iterations: usize,
    /// Network width (default 256).
    pub hidden: usize,
    /// Residual blocks (default 3).
    pub blocks: usize,
    /// Self-play (hands is replaced by `hands_per_iteration`).
    pub selfplay: CardSelfPlayConfig,
    /// The first iterations' self-play searches with random rollouts
    /// instead of the (still random) network (default 3): the network's
    /// first targets come from a search as strong as OpenSpiel's ISMCTS.
    pub bootstrap_iterations: usize,
    /// Simulations a decision of the rollout search (default 1000).
    pub bootstrap_simulations: u32,
    /// Relabels every training example by a random symmetry of the rules
    /// (for Oh Hell one of the 24 permutations of the suits): more data
    /// for the value head, which otherwise learns hands by heart
    /// (default true).
    pub augment: bool,
}

impl Default for CardTrainSettings {
    fn default() -> Self {
        CardTrainSettings {
            hands_per_iteration: 1000,
            steps_per_iteration: 300,
            batch_size: 256,
            learning_rate: 1e-3,
            weight_decay: 0.01,
            value_weight: 1.0,
            window_iterations: 4,
            hidden: 256,
            blocks: 3,
            selfplay: CardSelfPlayConfig::default(),
            bootstrap_iterations: 3,
            bootstrap_simulations: 1000,
            augment: true,
        }
    }
}

/// What is saved after each iteration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CardRunState {
    pub iterations: usize,
    pub steps: u64,
    /// The rules (checked on resume).
    pub rules: String,
}

/// One iteration's metrics line.
#[derive(Clone, Debug, Serialize)]
pub struct CardIteration {
    pub iteration: usize,
    pub selfplay: CardSelfPlayReport,
    pub examples: usize,
    pub train: CardStepStats,
    /// The losses of the network before this iteration's training on this
    /// iteration's own hands (data it has never trained on): the honest
    /// measure of how well it generalises.
    pub held_out: CardStepStats,
    pub seconds: f64,
}

/// A run folder.
pub struct CardRun {
    dir: PathBuf,
}

impl CardRun {
    pub fn new(dir: &Path) -> Self {
        CardRun {
            dir: dir.to_path_buf(),
        }
    }
    fn settings_path(&self) -> PathBuf {
        self.dir.join("settings.json")
    }
    fn latest(&self) -> PathBuf {
        self.dir.join("latest")
    }
    fn games(&self, iteration: usize) -> PathBuf {
        self.dir
            .join("games")
            .join(format!("iter-{iteration:04}.jsonl"))
    }

    /// The saved state, if the run has finished an iteration.
    pub fn state(&self) -> Result<Option<CardRunState>> {
        let p = self.latest().join("state.json");
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: {e}", p.display())))
    }

    /// The run's settings: those saved (a resumed run) or `given`, saved now.
    pub fn settings(&self, given: &CardTrainSettings, explicit: bool) -> Result<CardTrainSettings> {
        let p = self.settings_path();
        // A run folder put together by hand (a committed checkpoint and its
        // settings) may lack the games folder.
        std::fs::create_dir_all(self.dir.join("games"))?;
        if p.exists() {
            let text = std::fs::read_to_string(&p)?;
            let saved: CardTrainSettings = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?;
            if explicit && &saved != given {
                return Err(Error::Config(format!(
                    "{} holds a run with other settings; resume it without settings flags or use a new --run",
                    self.dir.display()
                )));
            }
            return Ok(saved);
        }
        write_atomic(
            &p,
            serde_json::to_string_pretty(given)
                .expect("settings serialise")
                .as_bytes(),
        )?;
        Ok(given.clone())
    }

    fn read_games(&self, iteration: usize) -> Result<Option<Vec<HandRecord>>> {
        let p = self.games(iteration);
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p)?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// One training example: packed information state, sparse policy target,
/// value targets by seat from the decider.
pub type Example = (Vec<u32>, Vec<(u16, f32)>, Vec<f32>);

/// Training examples of hands: every decision's information state, policy
/// target and the final scores seen from the decider's seat.
pub fn examples<G: ImperfectGame>(game: &G, hands: &[HandRecord]) -> Vec<Example> {
    let players = game.num_players();
    let scale = game.value_scale();
    let mut out = Vec::new();
    for h in hands {
        for d in &h.decisions {
            let value = (0..players)
                .map(|seat| h.returns[(d.player as usize + seat) % players] / scale)
                .collect();
            out.push((d.info.clone(), d.policy.clone(), value));
        }
    }
    out
}

/// A training batch of examples: packed states, dense policy targets,
/// value targets; each example relabelled by a random symmetry of the game
/// when `augment` has a generator.
fn train_batch<'a, G: ImperfectGame>(
    game: &G,
    rows: impl Iterator<Item = &'a Example>,
    mut augment: Option<&mut ChaCha8Rng>,
) -> CardTrainBatch {
    let (actions, symmetries) = (game.num_actions(), game.symmetries());
    let mut b = CardTrainBatch::default();
    for (info, policy, value) in rows {
        let sym = match augment.as_deref_mut() {
            Some(rng) if symmetries > 1 => rng.random_range(0..symmetries),
            _ => 0,
        };
        let at = b.packed.len();
        b.packed.extend_from_slice(info);
        game.transform_info(sym, &mut b.packed[at..]);
        let at = b.policy.len();
        b.policy.resize(at + actions, 0.0);
        for &(act, share) in policy {
            b.policy[at + game.transform_action(sym, act as usize)] = share;
        }
        debug_assert_eq!(value.len(), game.num_players());
        b.value.extend_from_slice(value);
    }
    b
}

/// The trainer's mean losses over `ex` without training on them.
fn held_out_losses<G: ImperfectGame>(
    trainer: &CardTrainer<G>,
    ex: &[Example],
    batch_size: usize,
) -> Result<CardStepStats> {
    let mut total = CardStepStats::default();
    for chunk in ex.chunks(batch_size.max(1)) {
        let s = trainer.evaluate(&train_batch(trainer.game(), chunk.iter(), None))?;
        let share = chunk.len() as f32 / ex.len() as f32;
        total.policy_loss += s.policy_loss * share;
        total.value_loss += s.value_loss * share;
    }
    Ok(total)
}

/// Runs (or resumes) the loop until `iterations` iterations are done, or
/// `stop()` says so between steps.
#[allow(clippy::too_many_arguments)]
pub fn run<G: ImperfectGame>(
    game: &G,
    rules: &str,
    dir: &Path,
    given: &CardTrainSettings,
    explicit: bool,
    iterations: usize,
    selected: &Selected,
    stop: &(dyn Fn() -> bool + Sync),
    progress: &mut dyn FnMut(&CardIteration),
) -> Result<CardRunState> {
    let run = CardRun::new(dir);
    let settings = run.settings(given, explicit)?;
    let cpu_path = !selected.is_wgpu;
    let (mut network, mut state) = match run.state()? {
        Some(st) => {
            if st.rules != rules {
                return Err(Error::Config(format!(
                    "the run plays rules {:?}, not {rules:?}",
                    st.rules
                )));
            }
            let net = CardNetwork::load(
                game.clone(),
                &run.latest(),
                selected.device.clone(),
                cpu_path,
            )?;
            (net, st)
        }
        None => {
            let mut cfg = CardNetConfig::for_game(game);
            cfg.hidden = settings.hidden;
            cfg.blocks = settings.blocks;
            let net = CardNetwork::random(
                game.clone(),
                cfg,
                selected.device.clone(),
                cpu_path,
                settings.selfplay.seed,
            )?;
            (
                net,
                CardRunState {
                    iterations: 0,
                    steps: 0,
                    rules: rules.to_string(),
                },
            )
        }
    };
    let mut trainer = CardTrainer::new(&network, settings.learning_rate, settings.weight_decay);
    trainer.set_steps(state.steps);
    let opt = run.latest().join("optimizer.bin");
    if opt.exists() {
        trainer.load_optimizer(std::fs::read(&opt)?)?;
    }
    let mut window: VecDeque<Vec<HandRecord>> = VecDeque::new();
    let first = state
        .iterations
        .saturating_sub(settings.window_iterations.saturating_sub(1))
        + 1;
    for it in first..=state.iterations {
        if let Some(g) = run.read_games(it)? {
            window.push_back(g);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.selfplay.seed ^ state.iterations as u64);
    while state.iterations < iterations {
        if stop() {
            return Err(Error::Interrupted);
        }
        let it = state.iterations + 1;
        let t0 = Instant::now();
        // Self-play (or the games an interrupted iteration already wrote).
        let (hands, report) = match run.read_games(it)? {
            Some(h) => (h, CardSelfPlayReport::default()),
            None => {
                let mut cfg = settings.selfplay.clone();
                cfg.hands = settings.hands_per_iteration;
                cfg.seed = settings.selfplay.seed.wrapping_add(it as u64 * 7919);
                let mut hands = Vec::new();
                let mut sink = |h| {
                    hands.push(h);
                    Ok(())
                };
                let report = if it <= settings.bootstrap_iterations {
                    cfg.search.leaf = LeafEval::Rollout;
                    cfg.search.simulations = settings.bootstrap_simulations;
                    cfg.search.c_explore = 0.7;
                    selfplay::run(game, &cfg, &mut Uniform::new(), &mut sink, stop)?
                } else {
                    let bytes = network.weights_bytes()?;
                    let json = serde_json::to_string(network.config()).expect("config serialises");
                    let (g, device) = (game.clone(), selected.device.clone());
                    let mut eval = NetEvaluator::spawn_model(move || {
                        CardNetwork::from_parts(g, &json, bytes, device, cpu_path)
                    })?;
                    selfplay::run(game, &cfg, &mut eval, &mut sink, stop)?
                };
                let text: String = hands
                    .iter()
                    .map(|h| serde_json::to_string(h).expect("records serialise") + "\n")
                    .collect();
                write_atomic(&run.games(it), text.as_bytes())?;
                (hands, report)
            }
        };
        let held_out = held_out_losses(&trainer, &examples(game, &hands), settings.batch_size)?;
        window.push_back(hands);
        while window.len() > settings.window_iterations.max(1) {
            window.pop_front();
        }
        // Training on the window.
        let all: Vec<HandRecord> = window.iter().flatten().cloned().collect();
        let mut ex = examples(game, &all);
        let mut stats = CardStepStats::default();
        for step in 0..settings.steps_per_iteration {
            if stop() {
                return Err(Error::Interrupted);
            }
            if step % (ex.len() / settings.batch_size).max(1) == 0 {
                ex.shuffle(&mut rng);
            }
            let start = (step * settings.batch_size) % ex.len().max(1);
            let rows = (0..settings.batch_size.min(ex.len())).map(|k| &ex[(start + k) % ex.len()]);
            let b = train_batch(game, rows, settings.augment.then_some(&mut rng));
            let s = trainer.step(&b, settings.value_weight)?;
            stats.policy_loss += s.policy_loss / settings.steps_per_iteration as f32;
            stats.value_loss += s.value_loss / settings.steps_per_iteration as f32;
        }
        let weights = trainer.model();
        let id = format!("iter-{it}");
        network.set_model(weights, id);
        // Save: weights, optimiser, then the state (the commit point).
        let latest = run.latest();
        network.save(&latest)?;
        write_atomic(&latest.join("optimizer.bin"), &trainer.optimizer_bytes()?)?;
        state.iterations = it;
        state.steps = trainer.steps();
        write_atomic(
            &latest.join("state.json"),
            serde_json::to_string_pretty(&state)
                .expect("state serialises")
                .as_bytes(),
        )?;
        let line = CardIteration {
            iteration: it,
            selfplay: report,
            examples: ex.len(),
            train: stats,
            held_out,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let mut metrics = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("metrics.jsonl"))?;
        use std::io::Write;
        writeln!(
            metrics,
            "{}",
            serde_json::to_string(&line).expect("metrics serialise")
        )?;
        progress(&line);
    }
    Ok(state)
}
