//! Step 4: self-play with a random network: the pipeline efficiency in
//! interleaved rounds against the network alone at the same batch size, and
//! the whole-games figure beside it.
//!
//! Each round times the network alone (`forward`), then steady-state
//! self-play (finished games restart at once, so every batch is full) for
//! as long; the last round is followed by one more forward window. A
//! round's efficiency is its self-play evaluations/s over the fastest
//! forward window of the whole run (the strictest yardstick: load from
//! elsewhere only ever slows a window down, so a slow forward window is not
//! mistaken for a pipeline faster than its network). The figures are the
//! medians of the rounds, with their spread; beside them the share of wall
//! time the network was computing during self-play, which cannot exceed 1.
//! `wgzero bench` interleaves these rounds with the forward sweep's.

use serde::Serialize;

use super::forward::{forward_rate, median_spread};
use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::game::Game;
use crate::selfplay::records::GameRecord;
use crate::selfplay::{self as sp, SelfPlayConfig, SelfPlayReport};

/// One round of the efficiency measurement.
#[derive(Clone, Debug, Serialize)]
pub struct EfficiencyRound {
    /// The network alone at the self-play batch, before and after.
    pub forward_before: f64,
    pub forward_after: f64,
    /// Steady-state self-play evaluations/s and moves/s.
    pub selfplay_evaluations_per_second: f64,
    pub selfplay_moves_per_second: f64,
    pub batch_mean_steady: f64,
    pub cpu_cores: f64,
    /// Share of the self-play window's wall time the network was computing.
    pub network_busy: f64,
    /// Self-play over the fastest forward window of the run.
    pub efficiency: f64,
}

/// Self-play and its efficiency against the network alone.
#[derive(Clone, Debug, Serialize)]
pub struct SelfPlayBench {
    /// The steady-state rounds' settings.
    pub config: SelfPlayConfig,
    pub rounds: Vec<EfficiencyRound>,
    /// Medians over the rounds, and spreads (`(max - min) / median`).
    pub steady_evaluations_per_second: f64,
    pub steady_moves_per_second: f64,
    pub moves_spread: f64,
    /// The fastest forward window of the run: the yardstick.
    pub forward_evaluations_per_second: f64,
    pub pipeline_efficiency: f64,
    /// Median share of self-play's wall time the network was computing.
    pub network_busy: f64,
    pub efficiency_spread: f64,
    pub cpu_cores: f64,
    /// The last round's report (evaluations saved per move and the rest).
    pub steady: SelfPlayReport,
    /// Whole games from the start: the same settings playing
    /// `whole_games.games` games to their end, ramp-up and tail included.
    pub whole_games: SelfPlayReport,
}

/// How step 4 runs.
#[derive(Clone, Debug)]
pub struct SelfPlayPlan {
    pub batch: usize,
    pub simulations: u32,
    /// Seconds of each forward and each self-play window.
    pub secs: f64,
    /// Games of the whole-games run.
    pub whole_games: usize,
    pub seed: u64,
}

/// Step 4's steady-state rounds, run one at a time (interleaved with the
/// forward sweep's rounds by the caller).
pub struct Rounds {
    plan: SelfPlayPlan,
    cfg: SelfPlayConfig,
    rounds: Vec<EfficiencyRound>,
    /// The forward window before the next round.
    before: Option<f64>,
    last: Option<SelfPlayReport>,
}

impl Rounds {
    pub fn new(plan: SelfPlayPlan) -> Self {
        let cfg = SelfPlayConfig {
            games: usize::MAX / 2,
            max_seconds: Some(plan.secs),
            ..base_config(&plan)
        };
        Rounds {
            plan,
            cfg,
            rounds: Vec::new(),
            before: None,
            last: None,
        }
    }

    /// One round: a forward window (unless the previous round's closing
    /// window stands before it), a steady self-play window, a closing
    /// forward window.
    pub fn round<G: Game, E: Evaluator>(&mut self, game: &G, eval: &mut E) -> Result<()> {
        let plan = &self.plan;
        let before = match self.before.take() {
            Some(b) => b,
            None => forward_rate(game, eval, plan.batch, plan.secs, plan.seed)?,
        };
        let cfg = SelfPlayConfig {
            seed: plan.seed + self.rounds.len() as u64,
            ..self.cfg.clone()
        };
        let report = sp::run(game, eval, "bench", &cfg, &mut |_| Ok(()), &mut |_| {})?;
        check(&report)?;
        let after = forward_rate(game, eval, plan.batch, plan.secs, plan.seed)?;
        let s = report.steady_evaluations_per_second;
        self.rounds.push(EfficiencyRound {
            forward_before: before,
            forward_after: after,
            selfplay_evaluations_per_second: s,
            selfplay_moves_per_second: report.steady_moves_per_second,
            batch_mean_steady: report.batch_mean_steady,
            cpu_cores: report.cpu_cores,
            network_busy: report.device_busy_fraction,
            // Set in `finish`, against the fastest window of all rounds.
            efficiency: 0.0,
        });
        self.before = Some(after);
        self.last = Some(report);
        Ok(())
    }

    /// The whole-games run, then the figures. Returns the whole-games
    /// run's records too (step 5 trains on them).
    pub fn finish<G: Game, E: Evaluator>(
        self,
        game: &G,
        eval: &mut E,
    ) -> Result<(SelfPlayBench, Vec<GameRecord>)> {
        let whole_cfg = SelfPlayConfig {
            games: self.plan.whole_games,
            ..base_config(&self.plan)
        };
        let mut records = Vec::new();
        let whole_games = sp::run(
            game,
            eval,
            "bench",
            &whole_cfg,
            &mut |r| {
                records.push(r);
                Ok(())
            },
            &mut |_| {},
        )?;
        check(&whole_games)?;
        let mut rounds = self.rounds;
        let fastest = rounds
            .iter()
            .map(|r| r.forward_before.max(r.forward_after))
            .fold(0.0, f64::max);
        for r in &mut rounds {
            r.efficiency = r.selfplay_evaluations_per_second / fastest;
        }
        let of = |f: fn(&EfficiencyRound) -> f64| {
            median_spread(&rounds.iter().map(f).collect::<Vec<_>>())
        };
        let (efficiency, efficiency_spread) = of(|r| r.efficiency);
        let (moves, moves_spread) = of(|r| r.selfplay_moves_per_second);
        let bench = SelfPlayBench {
            config: self.cfg,
            steady_evaluations_per_second: of(|r| r.selfplay_evaluations_per_second).0,
            steady_moves_per_second: moves,
            moves_spread,
            forward_evaluations_per_second: fastest,
            network_busy: of(|r| r.network_busy).0,
            pipeline_efficiency: efficiency,
            efficiency_spread,
            cpu_cores: of(|r| r.cpu_cores).0,
            rounds,
            steady: self
                .last
                .ok_or_else(|| Error::Evaluator("no self-play round was run".into()))?,
            whole_games,
        };
        Ok((bench, records))
    }
}

fn base_config(plan: &SelfPlayPlan) -> SelfPlayConfig {
    SelfPlayConfig {
        simulations: plan.simulations,
        batch: plan.batch,
        seed: plan.seed,
        ..SelfPlayConfig::default()
    }
}

fn check(report: &SelfPlayReport) -> Result<()> {
    if !report.evaluated_exactly_once {
        return Err(Error::Evaluator(
            "self-play evaluated some leaf twice or not at all".into(),
        ));
    }
    if report.steady_seconds <= 0.0 {
        return Err(Error::Evaluator(
            "self-play had no steady-state window (too short a round?)".into(),
        ));
    }
    Ok(())
}
