//! Step 3: the arena (the candidate against the best network, promoted
//! above the threshold when the run is gated; ungated, every candidate
//! becomes the best), games against the baselines, and the iteration's
//! line of `metrics.jsonl`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::StepContext;
use crate::arena::{play_match, Contestant, MatchConfig, MatchResult};
use crate::config::RunConfig;
use crate::error::Result;
use crate::eval::Evaluator;
use crate::game::{mix64, Game};
use crate::mcts::SearchConfig;
use crate::players::{Heuristic, PlayerSpec};
use crate::train::metrics::{memory_mb, ArenaMetrics, BaselineMetrics, IterationMetrics};
use crate::train::store::{append_metrics, read_checkpoint, save_state, RunState, Step};

/// What the arena step decided and measured.
pub struct ArenaOutcome {
    pub promoted: bool,
    /// The iteration's line of `metrics.jsonl`.
    pub metrics: IterationMetrics,
}

/// The search the arena and the baseline games use: PUCT, no noise.
pub fn arena_search(cfg: &RunConfig, leaves: usize) -> SearchConfig {
    SearchConfig {
        simulations: cfg.arena_simulations,
        leaves_per_gather: leaves,
        ..SearchConfig::default()
    }
}

/// Plays the candidate (the latest checkpoint) against the best when
/// `arena_games` > 0, promotes it (above the threshold, or always when the
/// run is ungated), plays the baselines, writes the metrics line and ends
/// the iteration.
pub fn arena_step<G: Game + Heuristic>(
    ctx: &StepContext<'_, G>,
    state: &mut RunState,
    metrics: &mut Vec<serde_json::Value>,
    log: &mut dyn FnMut(&str),
) -> Result<ArenaOutcome> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let best = read_checkpoint(ctx.game, ctx.run, &state.best)?;
    let mut cand = read_checkpoint(ctx.game, ctx.run, &state.latest)?;
    let mut best_eval = best
        .source()
        .evaluator(ctx.game, ctx.device, ctx.precision)?;
    let result = if ctx.cfg.run.arena_games > 0 {
        let mut cand_eval = cand
            .source()
            .evaluator(ctx.game, ctx.device, ctx.precision)?;
        Some(candidate_match(
            ctx,
            it,
            &mut cand_eval.eval,
            &mut best_eval.eval,
        )?)
    } else {
        None
    };
    let arena_secs = t.elapsed().as_secs_f64();
    let promoted = match (ctx.cfg.run.promote_threshold, &result) {
        (Some(threshold), Some(r)) => r.score() > threshold,
        _ => true,
    };
    if promoted {
        cand.mark_promoted()?;
        state.best = state.latest.clone();
        state.promotions += 1;
        // The evaluator of the new best plays the baselines.
        best_eval = cand
            .source()
            .evaluator(ctx.game, ctx.device, ctx.precision)?;
    }
    log(&arena_line(it, result.as_ref(), promoted));
    let tb = Instant::now();
    let baselines = baseline_matches(ctx, it, &mut best_eval.eval, log)?;
    let arena = result.map(|result| ArenaMetrics {
        elo: result.elo().elo.clamp(-2000.0, 2000.0),
        promoted,
        score: result.score(),
        result,
        seconds: arena_secs,
    });
    let line = iteration_line(state, arena, baselines, tb.elapsed().as_secs_f64());
    // Metrics first, then the state.
    append_metrics(ctx.run, metrics, &line)?;
    state.iteration = it;
    state.next = Step::SelfPlay;
    save_state(ctx.run, state)?;
    Ok(ArenaOutcome {
        promoted,
        metrics: line,
    })
}

/// The log line of the arena's decision.
fn arena_line(it: u64, result: Option<&MatchResult>, promoted: bool) -> String {
    match result {
        Some(r) => format!(
            "iter {it} arena: candidate {}-{}-{} against best, score {:.3} -> {}",
            r.wins,
            r.draws,
            r.losses,
            r.score(),
            if promoted {
                "promoted"
            } else {
                "kept the best"
            }
        ),
        None => format!("iter {it}: the candidate is the new best (ungated)"),
    }
}

/// The candidate against the best, half the games with each colour.
fn candidate_match<G: Game + Heuristic>(
    ctx: &StepContext<'_, G>,
    it: u64,
    cand: &mut dyn Evaluator,
    best: &mut dyn Evaluator,
) -> Result<MatchResult> {
    let run = &ctx.cfg.run;
    let search = arena_search(run, 4);
    let mcfg = MatchConfig {
        games: run.arena_games,
        opening_moves: run.arena_opening_moves,
        openings: Vec::new(),
        concurrency: run.arena_games,
        seed: mix64(run.seed ^ it ^ 0xa7e4a),
    };
    let pb = ctx.bar(mcfg.games, "games", format!("iter {it} arena"));
    let result = play_match(
        ctx.game,
        Contestant::Search {
            name: "candidate".into(),
            search: search.clone(),
            eval: cand,
        },
        Contestant::Search {
            name: "best".into(),
            search,
            eval: best,
        },
        &mcfg,
        &mut |done, _| pb.set_position(done as u64),
        ctx.stop,
    )?;
    pb.finish_and_clear();
    Ok(result)
}

/// The best network against each baseline (every `baseline_every` iterations).
fn baseline_matches<G: Game + Heuristic>(
    ctx: &StepContext<'_, G>,
    it: u64,
    best: &mut dyn Evaluator,
    log: &mut dyn FnMut(&str),
) -> Result<BTreeMap<String, BaselineMetrics>> {
    let run = &ctx.cfg.run;
    let mut baselines = BTreeMap::new();
    if run.baseline_every == 0 || !it.is_multiple_of(run.baseline_every as u64) {
        return Ok(baselines);
    }
    for (k, b) in run.baselines.iter().enumerate() {
        let spec: PlayerSpec = b.parse()?;
        let bcfg = MatchConfig {
            games: run.baseline_games,
            opening_moves: 0,
            openings: Vec::new(),
            concurrency: run.baseline_games,
            seed: mix64(run.seed ^ it ^ (k as u64 + 1) << 40),
        };
        let pb = ctx.bar(bcfg.games, "games", format!("iter {it} vs {b}"));
        let r = play_match(
            ctx.game,
            Contestant::Search {
                name: "best".into(),
                search: arena_search(run, 4),
                eval: &mut *best,
            },
            Contestant::Baseline(spec),
            &bcfg,
            &mut |done, _| pb.set_position(done as u64),
            ctx.stop,
        )?;
        pb.finish_and_clear();
        log(&format!(
            "iter {it} best vs {b}: {}-{}-{}, score {:.3}",
            r.wins,
            r.draws,
            r.losses,
            r.score()
        ));
        let score = r.score();
        baselines.insert(b.clone(), BaselineMetrics { result: r, score });
    }
    Ok(baselines)
}

/// The finished iteration's metrics: the pending steps' records, the arena,
/// the baselines and the memory in use.
fn iteration_line(
    state: &mut RunState,
    arena: Option<ArenaMetrics>,
    baselines: BTreeMap<String, BaselineMetrics>,
    baseline_seconds: f64,
) -> IterationMetrics {
    let (peak, rss) = memory_mb();
    let pending = std::mem::take(&mut state.pending);
    IterationMetrics {
        arena,
        baseline_seconds,
        baselines,
        best: state.best.clone(),
        held_out: pending.held_out,
        iteration: state.iteration + 1,
        peak_rss_mb: peak,
        promotions: state.promotions,
        rss_mb: rss,
        selfplay: pending.selfplay,
        train: pending.train,
    }
}
