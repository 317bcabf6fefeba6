//! Step 1: self-play with the best network (rollout MCTS for a random
//! network's first iteration), its games written to `games/iter-N.wgzr`.

use std::time::Instant;

use super::StepContext;
use crate::error::{Error, Result};
use crate::eval::Rollout;
use crate::game::{mix64, Game};
use crate::mcts::SearchConfig;
use crate::selfplay::records::GameRecord;
use crate::selfplay::{self as sp, SelfPlayConfig, SelfPlayReport};
use crate::train::metrics::{duplicate_share, SelfPlayMetrics};
use crate::train::store::{read_checkpoint, save_state, write_games, RunState, Step};

/// What the self-play step produced.
pub struct SelfPlayOutcome {
    /// The iteration's games (also in its game file).
    pub games: Vec<GameRecord>,
    pub metrics: SelfPlayMetrics,
}

/// Plays the iteration's games, writes them, and moves the state to training.
pub fn self_play_step<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &mut RunState,
    log: &mut dyn FnMut(&str),
) -> Result<SelfPlayOutcome> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let mut sp_cfg = ctx.cfg.selfplay.clone();
    sp_cfg.seed = mix64(ctx.cfg.run.seed ^ it);
    let total = sp_cfg.games;
    let bootstrap = bootstrap_games(ctx, state, total);
    let pb = ctx.bar(total, "games", format!("iter {it} self-play"));
    let mut games: Vec<GameRecord> = Vec::new();
    let mut reports: Vec<SelfPlayReport> = Vec::new();
    if bootstrap > 0 {
        let mut sink = |mut g: GameRecord| {
            g.game_id |= ((it << 24) | (1 << 23)) as u128;
            games.push(g);
        };
        reports.push(rollout_games(ctx, &sp_cfg, bootstrap, &pb, &mut sink)?);
    }
    if total > bootstrap {
        let mut sink = |mut g: GameRecord| {
            g.game_id |= (it << 24) as u128;
            games.push(g);
        };
        reports.push(network_games(
            ctx, state, &sp_cfg, bootstrap, &pb, &mut sink,
        )?);
    }
    pb.finish_and_clear();
    let cut_short = sp_cfg.max_seconds.is_some() || sp_cfg.max_moves.is_some();
    check_game_count(games.len(), total, cut_short)?;
    write_games(ctx.game, ctx.run, it, &games)?;
    let metrics = summarise(
        ctx.game,
        &games,
        &reports,
        bootstrap,
        t.elapsed().as_secs_f64(),
    );
    if metrics.duplicate_share > 0.10 {
        log(&format!(
            "warning: {:.1}% of iteration {it}'s positions are duplicates (by hash): self-play explores too little",
            100.0 * metrics.duplicate_share
        ));
    }
    state.pending.selfplay = Some(metrics.clone());
    state.next = Step::Train;
    save_state(ctx.run, state)?;
    log(&format!(
        "iter {it} self-play: {} games, {} positions ({} full searches), {:.0} evals/s, {:.0} s",
        metrics.games,
        metrics.positions,
        metrics.full_search_positions,
        metrics.evaluations_per_second,
        metrics.seconds
    ));
    let r = &metrics.resign;
    if r.resigned + r.would_have_resigned > 0 {
        log(&format!(
            "iter {it} resignation: {} games resigned; {} of {} played-through games would have resigned wrongly",
            r.resigned, r.false_resignations, r.would_have_resigned
        ));
    }
    Ok(SelfPlayOutcome { games, metrics })
}

/// An iteration's game file holds exactly the games its settings ask for
/// (fewer only when self-play has a time or move limit).
fn check_game_count(played: usize, asked: usize, cut_short: bool) -> Result<()> {
    if played == asked || (cut_short && played < asked) {
        Ok(())
    } else {
        Err(Error::Evaluator(format!(
            "self-play returned {played} games where {asked} were asked"
        )))
    }
}

/// Rollout games bootstrap a random network's first iteration only; a run
/// started from a trained model plays its own games from the start.
fn bootstrap_games<G: Game>(ctx: &StepContext<'_, G>, state: &RunState, total: usize) -> usize {
    if state.iteration == 0 && state.init_model.is_none() {
        (total as f64 * ctx.cfg.run.bootstrap_share).round() as usize
    } else {
        0
    }
}

/// `games` games of rollout MCTS (uniform priors, random playout values).
fn rollout_games<G: Game>(
    ctx: &StepContext<'_, G>,
    sp_cfg: &SelfPlayConfig,
    games: usize,
    pb: &indicatif::ProgressBar,
    sink: &mut dyn FnMut(GameRecord),
) -> Result<SelfPlayReport> {
    let mut cfg = sp_cfg.clone();
    cfg.games = games;
    cfg.simulations = ctx.cfg.run.bootstrap_simulations;
    cfg.full_search_prob = 1.0;
    cfg.leaves_per_game = 1;
    cfg.batch = 64;
    cfg.search = SearchConfig::selfplay().for_rollouts();
    let mut eval = Rollout::new(ctx.game.clone(), 1, sp_cfg.seed);
    sp::run_until(
        ctx.game,
        &mut eval,
        "rollout",
        &cfg,
        &mut |g| {
            sink(g);
            Ok(())
        },
        &mut |p| pb.set_position(p.games_done as u64),
        ctx.stop,
    )
}

/// The rest of the iteration's games, played by the best network; the
/// progress bar counts on from `done`.
fn network_games<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &RunState,
    sp_cfg: &SelfPlayConfig,
    done: usize,
    pb: &indicatif::ProgressBar,
    sink: &mut dyn FnMut(GameRecord),
) -> Result<SelfPlayReport> {
    let best = read_checkpoint(ctx.game, ctx.run, &state.best)?;
    let mut opened = best.source().evaluator_scored(
        ctx.game,
        ctx.device,
        ctx.precision,
        sp_cfg.search.score_utility,
    )?;
    let mut cfg = sp_cfg.clone();
    cfg.games = sp_cfg.games - done;
    sp::run_until(
        ctx.game,
        &mut opened.eval,
        &best.meta.model_id,
        &cfg,
        &mut |g| {
            sink(g);
            Ok(())
        },
        &mut |p| {
            pb.set_position((done + p.games_done) as u64);
            pb.set_message(format!(
                "{:.0} evals/s",
                p.evaluations as f64 / p.elapsed.max(1e-9)
            ));
        },
        ctx.stop,
    )
}

/// The step's figures from its games and the self-play reports.
pub(super) fn summarise<G: Game>(
    game: &G,
    games: &[GameRecord],
    reports: &[SelfPlayReport],
    bootstrap: usize,
    secs: f64,
) -> SelfPlayMetrics {
    let evaluations: u64 = reports.iter().map(|r| r.evaluations).sum();
    let batches: u64 = reports.iter().map(|r| r.batches).sum();
    SelfPlayMetrics {
        average_batch: evaluations as f64 / batches.max(1) as f64,
        bootstrap_games: bootstrap,
        draws: games.iter().filter(|g| g.outcome == 0).count(),
        duplicate_share: duplicate_share(game, games),
        evaluations,
        evaluations_per_second: evaluations as f64 / secs,
        first_player_wins: games.iter().filter(|g| g.outcome > 0).count(),
        full_search_positions: games.iter().map(GameRecord::full_searches).sum(),
        games: games.len(),
        games_per_second: games.len() as f64 / secs,
        positions: games.iter().map(|g| g.positions.len()).sum(),
        seconds: secs,
        resign: reports.iter().fold(Default::default(), |mut t, r| {
            t.add(&r.resign);
            t
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::check_game_count;

    #[test]
    fn an_iteration_keeps_exactly_the_games_asked() {
        assert!(check_game_count(64, 64, false).is_ok());
        assert!(check_game_count(63, 64, false).is_err());
        assert!(check_game_count(65, 64, true).is_err());
        assert!(check_game_count(10, 64, true).is_ok());
    }
}
