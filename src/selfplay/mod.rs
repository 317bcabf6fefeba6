//! Double-buffered, cross-game self-play.
//!
//! The games are split into two groups, each feeding its own batch buffer.
//! While the evaluator works on one group's batch, rayon threads absorb the
//! other group's results (expand + backup), play the moves whose searches are
//! done, and gather that group's next leaves (select) into its buffer; then
//! the roles swap. Each game's search has one owner at a time (its slot), so
//! no tree is shared between threads.
//!
//! This module knows nothing of networks: it drives any [`Evaluator`].

pub mod records;

use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::eval::{Batch, EvalStats, Evaluator};
use crate::game::{mix64, Game};
use crate::mcts::{Search, SearchConfig};
use records::{GameRecord, PositionRecord};

/// Self-play settings.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelfPlayConfig {
    /// Games to play in all. Default: 256.
    pub games: usize,
    /// Simulations per move. Default: 64.
    pub simulations: u32,
    /// Leaves one game adds to a batch at most. Default: 8.
    pub leaves_per_game: usize,
    /// Positions per batch at most; each of the two groups holds enough
    /// games to fill it ([`SelfPlayConfig::games_per_group`]). Default: 256.
    pub batch: usize,
    /// Games per group, as a multiple of the `batch / leaves_per_game` games
    /// that would just fill a batch; spare games top batches up when
    /// searches hand out fewer leaves. Default: 2.0.
    pub concurrency: f64,
    /// Stop starting new batches after this many seconds (unfinished games
    /// are dropped); `None`: play all games. Default: none.
    pub max_seconds: Option<f64>,
    /// Steady state: stop starting new batches once this many moves have
    /// been played in all; finished games restart at once (up to `games`),
    /// so every batch stays full, and the games still running at the end are
    /// dropped. `None`: play `games` whole games. Default: none.
    pub max_moves: Option<u64>,
    /// Worker threads for the search phases. 0 (the default): rayon's global
    /// pool, the one the CPU backend's network also runs on, so search and
    /// network share one thread per core instead of competing with twice
    /// as many; any other number builds a pool of its own.
    pub threads: usize,
    /// Seed: game `i` searches with a seed derived from it and `i`. Default: 0.
    pub seed: u64,
    /// Playout-cap randomisation (KataGo): each move is a full search of
    /// `simulations` with this probability, else a fast search of
    /// `fast_simulations` whose position gives no policy target. Default: 1.0
    /// (every search full).
    pub full_search_prob: f64,
    /// Simulations of a fast search. Default: 16.
    pub fast_simulations: u32,
    /// Share of games that begin with a random opening, so that training
    /// also sees positions self-play would not reach (off-book play, test
    /// positions from random games). Default: 0.
    pub random_opening_share: f64,
    /// Most moves of a random opening; each such game draws its length
    /// uniformly from `1..=random_opening_moves`, and never plays a move that
    /// ends the game. The opening's positions are recorded without a policy
    /// target (as fast searches are). Default: 0.
    pub random_opening_moves: usize,
    /// Resignation (KataGo, Leela Zero): the side to move resigns when its
    /// search's winning probability ((value + 1) / 2) is below this; the
    /// game is recorded as its loss. Default 0: never.
    pub resign_below: f32,
    /// Share of games that never resign, to measure false resignations:
    /// in them the first side that would have resigned is noted, and the
    /// report says how often it did not lose after all. Default 0.1.
    pub resign_playthrough: f64,
    /// Search settings (simulations and leaves per gather are taken from above).
    pub search: SearchConfig,
}

impl Default for SelfPlayConfig {
    fn default() -> Self {
        SelfPlayConfig {
            games: 256,
            simulations: 64,
            leaves_per_game: 8,
            batch: 256,
            concurrency: 2.0,
            max_seconds: None,
            max_moves: None,
            threads: 0,
            seed: 0,
            full_search_prob: 1.0,
            fast_simulations: 16,
            random_opening_share: 0.0,
            random_opening_moves: 0,
            resign_below: 0.0,
            resign_playthrough: 0.1,
            search: SearchConfig::selfplay(),
        }
    }
}

impl SelfPlayConfig {
    /// Games per group: `concurrency` times what it takes to fill a batch
    /// with `leaves_per_game` leaves each (rounded up), since searches often
    /// hand out fewer leaves (collisions in small trees, root evaluations,
    /// finished moves) and the spare games top the batch up. Never more than
    /// half the games (rounded up).
    pub fn games_per_group(&self) -> usize {
        let fill = self.batch as f64 / self.leaves_per_game.max(1) as f64;
        ((self.concurrency * fill).ceil() as usize).clamp(1, self.games.div_ceil(2).max(1))
    }

    fn validate(&self) -> Result<()> {
        if self.games == 0 || self.simulations == 0 || self.leaves_per_game == 0 || self.batch == 0
        {
            return Err(Error::Config(
                "games, simulations, leaves per game and batch must all be at least 1".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.full_search_prob) || self.fast_simulations == 0 {
            return Err(Error::Config(
                "full_search_prob must be in [0, 1] and fast_simulations at least 1".into(),
            ));
        }
        if !(self.concurrency.is_finite() && self.concurrency > 0.0 && self.concurrency <= 64.0) {
            return Err(Error::Config(format!(
                "concurrency must be a number in (0, 64], not {}",
                self.concurrency
            )));
        }
        if !((0.0..0.5).contains(&self.resign_below)
            && (0.0..=1.0).contains(&self.resign_playthrough))
        {
            return Err(Error::Config(
                "resign_below must be in [0, 0.5) and resign_playthrough in [0, 1]".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.random_opening_share) {
            return Err(Error::Config(
                "random_opening_share must be in [0, 1]".into(),
            ));
        }
        Ok(())
    }

    /// The random opening of game `id`: the state after it and its positions
    /// (recorded without policy targets). Empty for most games (see
    /// `random_opening_share`); seeded, so runs repeat.
    pub fn random_opening<G: Game>(&self, game: &G, id: u64) -> (G::State, Vec<PositionRecord>) {
        let mut state = game.initial();
        let mut positions = Vec::new();
        let mut h = mix64(self.seed ^ mix64(id.wrapping_mul(0x51_7cc1) ^ 0x0be_0f0e));
        let mut uniform = || {
            h = mix64(h);
            (h >> 11) as f64 / (1u64 << 53) as f64
        };
        if self.random_opening_moves == 0 || uniform() >= self.random_opening_share {
            return (state, positions);
        }
        let moves = 1 + (uniform() * self.random_opening_moves as f64) as usize;
        let mut legal = Vec::new();
        for _ in 0..moves.min(self.random_opening_moves) {
            game.legal_actions(&state, &mut legal);
            // Only moves that keep the game going.
            legal.retain(|&a| {
                let mut next = state.clone();
                game.apply(&mut next, a);
                game.terminal_value(&next).is_none()
            });
            if legal.is_empty() {
                break;
            }
            let a = legal[((uniform() * legal.len() as f64) as usize).min(legal.len() - 1)];
            let mut packed = vec![0u32; game.packed_words()];
            game.pack(&state, &mut packed);
            let mut policy = vec![0f32; game.num_actions()];
            policy[a] = 1.0;
            positions.push(PositionRecord {
                packed,
                to_move: game.to_move(&state),
                action: a as u16,
                value: 0.0,
                policy,
                full_search: false,
            });
            game.apply(&mut state, a);
        }
        (state, positions)
    }

    /// Whether game `id` may resign (the others play through; seeded).
    pub fn may_resign(&self, id: u64) -> bool {
        if self.resign_below <= 0.0 {
            return false;
        }
        let h = mix64(self.seed ^ mix64(id ^ 0x7265_7369_676e));
        ((h >> 11) as f64 / (1u64 << 53) as f64) >= self.resign_playthrough
    }

    /// Simulations for move `ply` of game `id`, and whether the search is
    /// full (playout-cap randomisation; seeded, so runs repeat).
    pub fn search_size(&self, id: u64, ply: usize) -> (u32, bool) {
        if self.full_search_prob >= 1.0 {
            return (self.simulations, true);
        }
        let h = mix64(self.seed ^ mix64(id.wrapping_mul(0x9e37) ^ mix64(ply as u64 + 7)));
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.full_search_prob {
            (self.simulations, true)
        } else {
            (self.fast_simulations.min(self.simulations), false)
        }
    }
}

/// Live figures, passed to the progress callback after every batch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub games_done: usize,
    /// Moves played in all (finished and running games).
    pub moves: u64,
    pub games_total: usize,
    pub evaluations: u64,
    pub batches: u64,
    pub elapsed: f64,
}

/// Final figures of a self-play run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SelfPlayReport {
    pub games: usize,
    pub positions: usize,
    pub evaluations: u64,
    pub simulations: u64,
    pub batches: u64,
    pub batch_target: usize,
    pub batch_mean: f64,
    pub batch_min: usize,
    pub batch_max: usize,
    /// Mean size of the batches gathered while every game slot of their
    /// group was playing (steady state: before the supply of games ran out).
    pub batch_mean_steady: f64,
    /// Number of those batches.
    pub steady_batches: u64,
    /// Evaluations per second over the steady-state batches (their sizes over
    /// the time between each one's collection and the previous collection).
    pub steady_evaluations_per_second: f64,
    /// Moves played, in finished and unfinished games.
    pub moves: u64,
    /// Moves per second over the whole run.
    pub moves_per_second: f64,
    /// Moves per second over the steady-state window: the batches of full
    /// groups after a warm-up of one move per game in flight.
    pub steady_moves_per_second: f64,
    /// Length of that window, in seconds.
    pub steady_seconds: f64,
    /// Per move played: evaluations asked of the network; simulations that
    /// the evaluation cache answered; simulations that ended in a terminal
    /// position; searches whose root came expanded from the previous move's
    /// tree (each saved one evaluation).
    pub evaluations_per_move: f64,
    pub cache_hits_per_move: f64,
    pub terminal_hits_per_move: f64,
    pub reused_roots_per_move: f64,
    /// Per move played: the network calls its search waited for (batches it
    /// sent positions in; fixed-width minimax: at most its depth + 1).
    pub network_calls_per_move: f64,
    pub wall_seconds: f64,
    /// CPU seconds of the whole process (search, network, everything) over
    /// wall seconds: the cores kept busy.
    pub cpu_cores: f64,
    pub games_per_second: f64,
    pub evaluations_per_second: f64,
    pub simulations_per_second: f64,
    /// Mean time the evaluator spent on one batch (encode + forward + readback).
    pub network_ms_per_batch: f64,
    /// Share of wall time the evaluator had a batch to work on.
    pub device_busy_fraction: f64,
    /// CPU seconds in the search phases, summed over threads.
    pub cpu_select_seconds: f64,
    pub cpu_absorb_seconds: f64,
    /// Positions sent to the evaluator == leaves requested by the searches
    /// (each leaf in exactly one batch).
    pub evaluated_exactly_once: bool,
    /// Resignation (`resign_below` > 0): what it did and how often it
    /// would have been wrong.
    pub resign: ResignStats,
}

/// Counts of self-play resignation.
#[derive(Clone, Copy, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
#[serde(default)]
pub struct ResignStats {
    /// Games that ended by a resignation.
    pub resigned: u64,
    /// Games that played through (never allowed to resign) and in which a
    /// side's winning probability fell below the threshold.
    pub would_have_resigned: u64,
    /// Of those, the games that side did not lose after all.
    pub false_resignations: u64,
    /// Moves those games played after the point of resignation.
    pub moves_after_resign_point: u64,
}

impl ResignStats {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &ResignStats) {
        self.resigned += o.resigned;
        self.would_have_resigned += o.would_have_resigned;
        self.false_resignations += o.false_resignations;
        self.moves_after_resign_point += o.moves_after_resign_point;
    }

    /// Share of would-be resignations that were wrong (0 when none).
    pub fn false_rate(&self) -> f64 {
        if self.would_have_resigned == 0 {
            0.0
        } else {
            self.false_resignations as f64 / self.would_have_resigned as f64
        }
    }

    /// Moves a resignation saves on average (from the games that played
    /// through), times the games resigned.
    pub fn moves_saved_estimate(&self) -> f64 {
        if self.would_have_resigned == 0 {
            0.0
        } else {
            self.resigned as f64 * self.moves_after_resign_point as f64
                / self.would_have_resigned as f64
        }
    }
}

/// A running game in a slot.
struct Running<G: Game> {
    id: u64,
    state: G::State,
    positions: Vec<PositionRecord>,
    /// Whether the current search is a full one.
    full: bool,
    /// Moves played.
    ply: usize,
    /// Whether it may resign (else it plays through).
    may_resign: bool,
    /// Playing through: the first side whose search fell below the
    /// resignation threshold, and the move number.
    would_resign: Option<(u8, usize)>,
}

/// One concurrent game: its search, its share of the current batch, its record.
struct Slot<G: Game> {
    search: Search<G>,
    local: Batch,
    offset: usize,
    game: Option<Running<G>>,
    finished: Option<GameRecord>,
    /// Moves this slot has played.
    moves: u64,
    resign: ResignStats,
    select_time: Duration,
    absorb_time: Duration,
}

impl<G: Game> Slot<G> {
    /// Plays the moves whose searches are done; records finished games.
    fn play_done_moves(&mut self, cfg: &SelfPlayConfig, model_id: &str) -> Result<()> {
        while self.game.is_some() && self.search.is_done() {
            let r = self.search.result()?;
            let game = self.search.game().clone();
            let run = self.game.as_mut().expect("checked");
            let mut packed = vec![0u32; game.packed_words()];
            game.pack(&run.state, &mut packed);
            run.positions.push(PositionRecord {
                packed,
                to_move: game.to_move(&run.state),
                action: r.action as u16,
                value: r.value,
                policy: r.policy,
                full_search: run.full,
            });
            run.ply += 1;
            self.moves += 1;
            let mover = game.to_move(&run.state);
            let losing = cfg.resign_below > 0.0 && (r.value + 1.0) / 2.0 < cfg.resign_below;
            if losing && run.may_resign {
                // The side to move resigns: its searched position is kept.
                let run = self.game.take().expect("checked");
                self.resign.resigned += 1;
                self.finished = Some(GameRecord {
                    game_id: run.id as u128,
                    model_id: model_id.to_string(),
                    outcome: if mover == 0 { -1 } else { 1 },
                    positions: run.positions,
                });
                continue;
            }
            if losing && run.would_resign.is_none() {
                run.would_resign = Some((mover, run.ply));
            }
            game.play(&mut run.state, r.action)?;
            self.search.advance(r.action)?;
            if let Some(v) = game.terminal_value(&run.state) {
                // v is for the side to move now; convert to the first player's view.
                let first = if game.to_move(&run.state) == 0 { v } else { -v };
                let run = self.game.take().expect("checked");
                if let Some((side, at)) = run.would_resign {
                    let theirs = if side == 0 { first } else { -first };
                    self.resign.would_have_resigned += 1;
                    self.resign.false_resignations += (theirs >= 0.0) as u64;
                    self.resign.moves_after_resign_point += (run.ply + 1 - at) as u64;
                }
                self.finished = Some(GameRecord {
                    game_id: run.id as u128,
                    model_id: model_id.to_string(),
                    outcome: first.round() as i8,
                    positions: run.positions,
                });
            } else {
                let (sims, full) = cfg.search_size(run.id, run.ply);
                run.full = full;
                self.search.begin(sims)?;
            }
        }
        Ok(())
    }

    /// Select phase: hands out up to `k` leaves into `self.local` (which is
    /// emptied first, even when `k` is 0).
    fn gather(&mut self, id: u64, k: usize, cfg: &SelfPlayConfig, model_id: &str) -> Result<()> {
        let t = Instant::now();
        self.local.clear();
        self.local.id = id;
        while self.game.is_some() && k > 0 {
            if self.search.gather(&mut self.local, k) > 0 {
                break;
            }
            // Everything was resolved without the evaluator: move on.
            self.play_done_moves(cfg, model_id)?;
        }
        self.select_time += t.elapsed();
        Ok(())
    }

    /// Absorb phase: takes this slot's results from `batch`, backs them up and
    /// plays finished moves.
    fn absorb(&mut self, batch: &Batch, cfg: &SelfPlayConfig, model_id: &str) -> Result<()> {
        let t = Instant::now();
        if !self.local.is_empty() {
            self.local.copy_results_from(batch, self.offset);
            self.search.absorb(&self.local)?;
        }
        self.play_done_moves(cfg, model_id)?;
        self.absorb_time += t.elapsed();
        Ok(())
    }
}

/// Runs `f` in `pool`, or in rayon's global pool.
fn install<R: Send>(pool: &Option<rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// The state of a self-play run: two groups of game slots and their buffers.
struct Driver<'a, G: Game> {
    game: &'a G,
    cfg: &'a SelfPlayConfig,
    model_id: &'a str,
    /// The search phases' own pool (`threads` > 0), else rayon's global one.
    pool: Option<rayon::ThreadPool>,
    groups: [Vec<Slot<G>>; 2],
    /// The batch buffers not in flight (two circulate).
    buffers: Vec<Batch>,
    started: usize,
    next_id: u64,
    /// Per submitted batch: its size, whether its group was full (steady
    /// state), when it was collected (seconds since the start), and the
    /// moves played in all once it was absorbed.
    sizes: Vec<usize>,
    full: Vec<bool>,
    collected_at: Vec<f64>,
    moves_at: Vec<u64>,
    done: usize,
    positions: usize,
}

impl<'a, G: Game> Driver<'a, G> {
    fn new(game: &'a G, cfg: &'a SelfPlayConfig, model_id: &'a str) -> Result<Self> {
        let pool = match cfg.threads {
            0 => None,
            n => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::Config(format!("thread pool: {e}")))?,
            ),
        };
        let search_cfg = SearchConfig {
            simulations: cfg.simulations,
            leaves_per_gather: cfg.leaves_per_game,
            ..cfg.search.clone()
        };
        let per_group = cfg.games_per_group();
        let mut groups: [Vec<Slot<G>>; 2] = [Vec::new(), Vec::new()];
        for (g, group) in groups.iter_mut().enumerate() {
            for i in 0..per_group {
                let seed = (g * per_group + i) as u64;
                group.push(Slot {
                    search: Search::new(game.clone(), search_cfg.clone(), seed)?,
                    local: Batch::new(game, cfg.leaves_per_game),
                    offset: 0,
                    game: None,
                    finished: None,
                    moves: 0,
                    resign: ResignStats::default(),
                    select_time: Duration::ZERO,
                    absorb_time: Duration::ZERO,
                });
            }
        }
        let capacity = per_group * cfg.leaves_per_game;
        Ok(Driver {
            game,
            cfg,
            model_id,
            pool,
            groups,
            buffers: (0..2).map(|_| Batch::new(game, capacity)).collect(),
            started: 0,
            next_id: 1,
            sizes: Vec::new(),
            full: Vec::new(),
            collected_at: Vec::new(),
            moves_at: Vec::new(),
            done: 0,
            positions: 0,
        })
    }

    /// Starts new games in group `g`'s idle slots while games remain.
    fn start_games(&mut self, g: usize) -> Result<()> {
        let cfg = self.cfg;
        for slot in self.groups[g].iter_mut() {
            if self.started >= cfg.games {
                break;
            }
            if slot.game.is_some() || slot.finished.is_some() {
                continue;
            }
            let id = self.started as u64;
            let (state, positions) = cfg.random_opening(self.game, id);
            let ply = positions.len();
            slot.search.reseed(mix64(cfg.seed ^ mix64(id + 1)));
            slot.search.reset(state.clone());
            let (sims, full) = cfg.search_size(id, ply);
            slot.search.begin(sims)?;
            slot.game = Some(Running {
                id,
                state,
                positions,
                full,
                ply,
                may_resign: self.cfg.may_resign(id),
                would_resign: None,
            });
            self.started += 1;
        }
        Ok(())
    }

    /// Select phase for group `g`: fills a buffer and submits it. Games that
    /// finish without the evaluator (every leaf resolved in the tree or the
    /// cache) go to `sink` and their slots take new games, so a group stops
    /// (returns `None`) only when it has no game left to play; otherwise
    /// returns the submitted batch's id.
    fn fill_and_submit<E: Evaluator>(
        &mut self,
        g: usize,
        eval: &mut E,
        sink: &mut dyn FnMut(GameRecord) -> Result<()>,
    ) -> Result<Option<u64>> {
        loop {
            if let Some(id) = self.try_fill_and_submit(g, eval)? {
                return Ok(Some(id));
            }
            // Each try with a game in play gives a batch or finishes a game
            // (the first game in order always has a leaf budget), so this ends.
            let finished = self.groups[g].iter().any(|s| s.finished.is_some());
            let playing = self.groups[g].iter().any(|s| s.game.is_some());
            self.drain_finished(sink)?;
            if !finished {
                if playing {
                    return Err(Error::Evaluator(
                        "a search neither handed out a leaf nor finished its move".into(),
                    ));
                }
                if self.started >= self.cfg.games {
                    return Ok(None);
                }
            }
        }
    }

    /// One select phase for group `g`: `None` when its batch came out empty.
    fn try_fill_and_submit<E: Evaluator>(&mut self, g: usize, eval: &mut E) -> Result<Option<u64>> {
        self.start_games(g)?;
        let (cfg, model_id) = (self.cfg, self.model_id);
        let id = self.next_id;
        self.next_id += 1;
        let group = &mut self.groups[g];
        let full = group.iter().all(|s| s.game.is_some());
        // Leaf budgets: K per game in a rotating order until the batch is
        // full, so no batch exceeds the target and every game gets its turn.
        let n = group.len();
        let order: Vec<usize> = (0..n).map(|i| (i + id as usize) % n).collect();
        let mut budgets = vec![0usize; n];
        let mut left = cfg.batch;
        for &i in &order {
            if group[i].game.is_some() {
                budgets[i] = cfg.leaves_per_game.min(left);
                left -= budgets[i];
            }
        }
        install(&self.pool, || {
            group
                .par_iter_mut()
                .zip(&budgets)
                .try_for_each(|(s, &b)| s.gather(id, b, cfg, model_id))
        })?;
        // Top up from the games that had no budget, when collisions or
        // finished searches left room.
        let mut total: usize = group.iter().map(|s| s.local.len()).sum();
        for &i in &order {
            if total >= cfg.batch {
                break;
            }
            if budgets[i] == 0 && group[i].game.is_some() {
                let b = cfg.leaves_per_game.min(cfg.batch - total);
                group[i].gather(id, b, cfg, model_id)?;
                total += group[i].local.len();
            }
        }
        let mut batch = self.buffers.pop().expect("two buffers circulate");
        batch.clear();
        batch.id = id;
        for slot in group.iter_mut() {
            slot.offset = batch.append(&slot.local);
        }
        if batch.is_empty() {
            self.buffers.push(batch);
            return Ok(None);
        }
        eval.submit(batch)?;
        self.full.push(full);
        Ok(Some(id))
    }

    /// Absorb phase for group `g`: expand + backup its results, play the
    /// moves whose searches are done.
    fn absorb(&mut self, g: usize, batch: Batch) -> Result<()> {
        let (cfg, model_id) = (self.cfg, self.model_id);
        let group = &mut self.groups[g];
        install(&self.pool, || {
            group
                .par_iter_mut()
                .try_for_each(|s| s.absorb(&batch, cfg, model_id))
        })?;
        self.buffers.push(batch);
        Ok(())
    }

    /// Hands finished games to `sink`.
    fn drain_finished(&mut self, sink: &mut dyn FnMut(GameRecord) -> Result<()>) -> Result<()> {
        for slot in self.groups.iter_mut().flatten() {
            if let Some(record) = slot.finished.take() {
                self.done += 1;
                self.positions += record.positions.len();
                sink(record)?;
            }
        }
        Ok(())
    }

    fn slots(&self) -> impl Iterator<Item = &Slot<G>> + Clone {
        self.groups.iter().flatten()
    }

    fn requests(&self) -> u64 {
        self.slots().map(|s| s.search.stats().requests).sum()
    }

    fn moves(&self) -> u64 {
        self.slots().map(|s| s.moves).sum()
    }

    /// The steady-state window: evaluations, moves and seconds over the
    /// batches of full groups, after a warm-up of one move per slot (the
    /// first searches start from empty trees). A batch's time is the gap
    /// since the previous collection.
    fn steady_window(&self) -> (usize, u64, f64) {
        let warm_up = self.slots().count() as u64;
        let (mut evals, mut moves, mut time) = (0usize, 0u64, 0f64);
        for i in 1..self.sizes.len().min(self.collected_at.len()) {
            if self.full[i] && self.moves_at[i - 1] >= warm_up {
                evals += self.sizes[i];
                moves += self.moves_at[i] - self.moves_at[i - 1];
                time += self.collected_at[i] - self.collected_at[i - 1];
            }
        }
        (evals, moves, time)
    }

    fn report(&self, wall: f64, cpu: f64, stats0: EvalStats, stats: EvalStats) -> SelfPlayReport {
        let sizes = &self.sizes;
        let requests = self.requests();
        let simulations: u64 = self.slots().map(|s| s.search.stats().simulations).sum();
        let steady: Vec<usize> = sizes
            .iter()
            .zip(&self.full)
            .filter(|(_, &f)| f)
            .map(|(&n, _)| n)
            .collect();
        let (steady_evals, steady_moves, steady_time) = self.steady_window();
        let moves = self.moves();
        let per_move = |x: u64| {
            if moves > 0 {
                x as f64 / moves as f64
            } else {
                0.0
            }
        };
        let sum = |f: fn(&crate::mcts::SearchStats) -> u64| -> u64 {
            self.slots().map(|s| f(s.search.stats())).sum()
        };
        let rate = |x: f64, t: f64| if t > 0.0 { x / t } else { 0.0 };
        let mean = |v: &[usize]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<usize>() as f64 / v.len() as f64
            }
        };
        let net_batches = stats.batches - stats0.batches;
        let busy = stats.busy_seconds - stats0.busy_seconds;
        SelfPlayReport {
            games: self.done,
            positions: self.positions,
            evaluations: requests,
            simulations,
            batches: sizes.len() as u64,
            batch_target: self.cfg.batch,
            batch_mean: mean(sizes),
            batch_min: sizes.iter().copied().min().unwrap_or(0),
            batch_max: sizes.iter().copied().max().unwrap_or(0),
            batch_mean_steady: mean(&steady),
            steady_batches: steady.len() as u64,
            steady_evaluations_per_second: rate(steady_evals as f64, steady_time),
            moves,
            moves_per_second: rate(moves as f64, wall),
            steady_moves_per_second: rate(steady_moves as f64, steady_time),
            steady_seconds: steady_time,
            evaluations_per_move: per_move(requests),
            cache_hits_per_move: per_move(sum(|s| s.cache_hits)),
            terminal_hits_per_move: per_move(sum(|s| s.terminal_hits)),
            reused_roots_per_move: per_move(sum(|s| s.reused_roots)),
            network_calls_per_move: per_move(sum(|s| s.batches)),
            wall_seconds: wall,
            cpu_cores: cpu / wall,
            games_per_second: self.done as f64 / wall,
            evaluations_per_second: requests as f64 / wall,
            simulations_per_second: simulations as f64 / wall,
            network_ms_per_batch: if net_batches > 0 {
                1e3 * busy / net_batches as f64
            } else {
                0.0
            },
            device_busy_fraction: busy / wall,
            cpu_select_seconds: self.slots().map(|s| s.select_time.as_secs_f64()).sum(),
            cpu_absorb_seconds: self.slots().map(|s| s.absorb_time.as_secs_f64()).sum(),
            evaluated_exactly_once: sizes.iter().sum::<usize>() as u64 == requests,
            resign: self.slots().fold(ResignStats::default(), |mut t, s| {
                t.add(&s.resign);
                t
            }),
        }
    }
}

/// Runs `cfg.games` self-play games of `game` with `eval`, handing every
/// finished game to `sink` and live figures to `progress`.
pub fn run<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    model_id: &str,
    cfg: &SelfPlayConfig,
    sink: &mut dyn FnMut(GameRecord) -> Result<()>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SelfPlayReport> {
    run_until(game, eval, model_id, cfg, sink, progress, &|| false)
}

/// [`run`], abandoned with [`Error::Interrupted`] as soon as `stop` says so
/// (checked after every batch; games in progress are dropped).
pub fn run_until<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    model_id: &str,
    cfg: &SelfPlayConfig,
    sink: &mut dyn FnMut(GameRecord) -> Result<()>,
    progress: &mut dyn FnMut(&Progress),
    stop: &dyn Fn() -> bool,
) -> Result<SelfPlayReport> {
    cfg.validate()?;
    if eval.in_flight() > 0 {
        return Err(Error::Evaluator(format!(
            "{} batch(es) already in flight before self-play started",
            eval.in_flight()
        )));
    }
    let mut d = Driver::new(game, cfg, model_id)?;
    let start = Instant::now();
    let cpu0 = crate::process::cpu_seconds();
    let stats0 = eval.stats();
    let played = play_batches(&mut d, eval, sink, progress, stop, start);
    if played.is_err() {
        // Take back what is still being evaluated, so that the evaluator
        // starts clean for whoever uses it next.
        for _ in 0..eval.in_flight() {
            let _ = eval.collect();
        }
    }
    played?;
    // Games that finished in a select phase (resolved without the evaluator).
    d.drain_finished(sink)?;
    let cut_short = cfg.max_seconds.is_some() || cfg.max_moves.is_some();
    if d.done != cfg.games && !cut_short {
        return Err(Error::Evaluator(format!(
            "self-play finished {} of {} games",
            d.done, cfg.games
        )));
    }
    let cpu = crate::process::cpu_seconds() - cpu0;
    Ok(d.report(start.elapsed().as_secs_f64(), cpu, stats0, eval.stats()))
}

/// The batch loop of [`run_until`]: both buffers go out first; then, each
/// time one comes back (in the order submitted, checked by id), its group is
/// absorbed and refilled while the other buffer is being evaluated.
fn play_batches<G: Game, E: Evaluator>(
    d: &mut Driver<'_, G>,
    eval: &mut E,
    sink: &mut dyn FnMut(GameRecord) -> Result<()>,
    progress: &mut dyn FnMut(&Progress),
    stop: &dyn Fn() -> bool,
    start: Instant,
) -> Result<()> {
    let cfg = d.cfg;
    // The (group, batch id) pairs in flight, oldest first.
    let mut order = std::collections::VecDeque::new();
    for g in 0..2 {
        if let Some(id) = d.fill_and_submit(g, eval, sink)? {
            order.push_back((g, id));
        }
    }
    while let Some((g, id)) = order.pop_front() {
        if stop() {
            return Err(Error::Interrupted);
        }
        let batch = eval.collect()?;
        if batch.id != id {
            return Err(Error::Evaluator(format!(
                "the evaluator returned batch {} where batch {id} was due (batches must come back in the order submitted)",
                batch.id
            )));
        }
        d.sizes.push(batch.len());
        d.collected_at.push(start.elapsed().as_secs_f64());
        d.absorb(g, batch)?;
        let moves = d.moves();
        d.moves_at.push(moves);
        d.drain_finished(sink)?;
        progress(&Progress {
            games_done: d.done,
            moves,
            games_total: cfg.games,
            evaluations: d.requests(),
            batches: d.sizes.len() as u64,
            elapsed: start.elapsed().as_secs_f64(),
        });
        let out_of_time = cfg
            .max_seconds
            .is_some_and(|m| start.elapsed().as_secs_f64() >= m);
        let out_of_moves = cfg.max_moves.is_some_and(|m| moves >= m);
        if !out_of_time && !out_of_moves {
            if let Some(id) = d.fill_and_submit(g, eval, sink)? {
                order.push_back((g, id));
            }
        }
    }
    Ok(())
}
