//! Double-buffered cross-game self-play, on the CPU evaluators and on the
//! network (CPU backend, and wgpu where an adapter exists).

mod common;

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use wgzero::eval::{Batch, EvalStats, Evaluator, Uniform};
use wgzero::game::{Connect4, Game, TicTacToe};
use wgzero::net::{self, BackendChoice, NetConfig, NetEvaluator, Network};
use wgzero::selfplay::records::{decode_records, encode_records, GameRecord, RecordsHeader};
use wgzero::selfplay::{self, SelfPlayConfig, SelfPlayReport};
use wgzero::Result;

fn play<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    cfg: &SelfPlayConfig,
) -> (SelfPlayReport, Vec<GameRecord>) {
    let mut games = Vec::new();
    let report = selfplay::run(
        game,
        eval,
        "test",
        cfg,
        &mut |r| {
            games.push(r);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    (report, games)
}

/// Replays every record: positions follow from the moves, every move is
/// legal, the game ends where the record ends, with the recorded outcome.
fn check_games<G: Game>(game: &G, games: &[GameRecord], expected: usize) {
    assert_eq!(games.len(), expected);
    let mut ids: Vec<u128> = games.iter().map(|g| g.game_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "game ids are unique");
    let mut words = vec![0u32; game.packed_words()];
    for g in games {
        let mut s = game.initial();
        for p in &g.positions {
            game.pack(&s, &mut words);
            assert_eq!(p.packed, words);
            assert_eq!(p.to_move, game.to_move(&s));
            assert!(game.is_legal(&s, p.action as usize));
            let total: f32 = p.policy.iter().sum();
            assert!((total - 1.0).abs() < 1e-4, "policy sums to {total}");
            game.play(&mut s, p.action as usize).unwrap();
        }
        let v = game
            .terminal_value(&s)
            .expect("the record ends at the end of the game");
        let first = if game.to_move(&s) == 0 { v } else { -v };
        assert_eq!(first as i8, g.outcome);
    }
}

fn small(games: usize, sims: u32, batch: usize, leaves: usize) -> SelfPlayConfig {
    SelfPlayConfig {
        games,
        simulations: sims,
        batch,
        leaves_per_game: leaves,
        threads: 2,
        ..SelfPlayConfig::default()
    }
}

#[test]
fn selfplay_with_a_cpu_evaluator_plays_legal_games_that_round_trip() {
    let game = Connect4;
    let cfg = small(40, 32, 64, 8);
    let (report, games) = play(&game, &mut Uniform::new(), &cfg);
    check_games(&game, &games, 40);
    assert!(report.evaluated_exactly_once);
    assert!(report.batch_mean > 1.0 && report.batch_max <= 64 * 5 / 4 + 8);
    assert_eq!(
        report.positions,
        games.iter().map(|g| g.positions.len()).sum::<usize>()
    );
    let header = RecordsHeader {
        game: game.name(),
        words: game.packed_words(),
        actions: game.num_actions(),
    };
    let bytes = encode_records(&header, &games);
    let (h, back) = decode_records(&bytes).unwrap();
    assert_eq!((h, back), (header, games));
    // corrupt files are refused, not misread
    assert!(decode_records(&bytes[..bytes.len() - 3]).is_err());
    assert!(decode_records(b"WGZX").is_err());
}

#[test]
fn random_openings_are_legal_untrained_and_only_in_their_share() {
    let game = Connect4;
    let cfg = SelfPlayConfig {
        random_opening_share: 0.5,
        random_opening_moves: 6,
        ..small(40, 16, 64, 8)
    };
    let (_, games) = play(&game, &mut Uniform::new(), &cfg);
    check_games(&game, &games, 40);
    let mut with_opening = 0;
    for g in &games {
        // The opening: leading positions without a policy target, each a
        // one-hot policy on the move played, at most 6 of them.
        let opening = g.positions.iter().take_while(|p| !p.full_search).count();
        assert!(
            opening <= 6,
            "game {}: opening of {opening} moves",
            g.game_id
        );
        for p in &g.positions[..opening] {
            assert_eq!(p.policy[p.action as usize], 1.0);
        }
        if opening > 0 {
            with_opening += 1;
        }
        // After it, self-play as usual (every search full with this config).
        assert!(g.positions[opening..].iter().all(|p| p.full_search));
    }
    assert!(
        (8..=32).contains(&with_opening),
        "{with_opening} of 40 games opened at random, expected about half"
    );
    // Seeded: the same openings again.
    let (_, again) = play(&game, &mut Uniform::new(), &cfg);
    let firsts = |gs: &[GameRecord]| {
        let mut v: Vec<(u128, u16)> = gs
            .iter()
            .map(|g| (g.game_id, g.positions[0].action))
            .collect();
        v.sort();
        v
    };
    assert_eq!(firsts(&games), firsts(&again));
    // Off by default.
    let (_, plain) = play(&game, &mut Uniform::new(), &small(10, 16, 64, 8));
    assert!(plain
        .iter()
        .all(|g| g.positions.iter().all(|p| p.full_search)));
}

#[test]
fn the_same_seed_gives_the_same_games() {
    let cfg = small(12, 24, 32, 4);
    let (_, a) = play(&TicTacToe, &mut Uniform::new(), &cfg);
    let (_, b) = play(&TicTacToe, &mut Uniform::new(), &cfg);
    let key = |v: &Vec<GameRecord>| {
        let mut v: Vec<_> = v
            .iter()
            .map(|g| {
                (
                    g.game_id,
                    g.positions.iter().map(|p| p.action).collect::<Vec<_>>(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&a), key(&b));
}

/// (batch id, event, when): events are "submit" and "done".
type EventLog = Arc<Mutex<Vec<(u64, &'static str, Instant)>>>;

/// An evaluator that works on a thread of its own for a fixed time per batch
/// and records when batches were submitted and when their evaluation ended.
struct Slow {
    tx: Sender<Batch>,
    rx: Receiver<Batch>,
    in_flight: usize,
    log: EventLog,
}

impl Slow {
    fn new(delay: Duration) -> Self {
        let (tx, jobs) = channel::<Batch>();
        let (done, rx) = channel::<Batch>();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            let mut inner = Uniform::new();
            for b in jobs {
                std::thread::sleep(delay);
                let b = inner.evaluate(b).unwrap();
                l.lock().unwrap().push((b.id, "done", Instant::now()));
                if done.send(b).is_err() {
                    return;
                }
            }
        });
        Slow {
            tx,
            rx,
            in_flight: 0,
            log,
        }
    }
}

impl Evaluator for Slow {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.log
            .lock()
            .unwrap()
            .push((batch.id, "submit", Instant::now()));
        self.in_flight += 1;
        self.tx.send(batch).unwrap();
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        self.in_flight -= 1;
        Ok(self.rx.recv().unwrap())
    }
    fn in_flight(&self) -> usize {
        self.in_flight
    }
    fn stats(&self) -> EvalStats {
        EvalStats::default()
    }
}

#[test]
fn the_double_buffer_overlaps_search_and_evaluation() {
    let mut eval = Slow::new(Duration::from_millis(15));
    let log = eval.log.clone();
    let (report, games) = play(&Connect4, &mut eval, &small(16, 16, 32, 4));
    assert_eq!(games.len(), 16);
    let log = log.lock().unwrap();
    let time = |id: u64, what: &str| log.iter().find(|e| e.0 == id && e.1 == what).map(|e| e.2);
    // Batch k+1 is filled and submitted while batch k is still being evaluated.
    let overlapped = (1..report.batches)
        .filter(|&k| match (time(k + 1, "submit"), time(k, "done")) {
            (Some(s), Some(d)) => s < d,
            _ => false,
        })
        .count();
    assert!(
        overlapped as f64 >= 0.8 * (report.batches - 1) as f64,
        "only {overlapped} of {} batches overlapped",
        report.batches
    );
}

fn network_selfplay(
    device: Device,
    gpu: bool,
    games: usize,
    sims: u32,
) -> (SelfPlayReport, Vec<GameRecord>, EvalStats) {
    let game = Connect4;
    let mut eval = NetEvaluator::spawn(move || {
        Network::random(
            game,
            NetConfig::for_game(&game).with_size(1, 16),
            device,
            gpu,
            9,
        )
    })
    .unwrap();
    let (report, records) = play(&game, &mut eval, &small(games, sims, 32, 4));
    (report, records, eval.stats())
}

#[test]
fn selfplay_on_the_cpu_backend() {
    let (report, games, stats) = network_selfplay(Device::flex(), false, 6, 8);
    check_games(&Connect4, &games, 6);
    assert_eq!(
        stats.positions, report.evaluations,
        "every requested leaf evaluated once"
    );
    assert!(report.evaluated_exactly_once);
    assert!(
        report.batch_mean > 1.0,
        "average batch {}",
        report.batch_mean
    );
    assert!(report.device_busy_fraction > 0.0 && report.network_ms_per_batch > 0.0);
}

#[test]
fn selfplay_on_wgpu() {
    let s = match net::select(BackendChoice::Gpu) {
        Ok(s) => s,
        Err(e) => {
            if std::env::var("WGZERO_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("WGZERO_REQUIRE_GPU=1 but no wgpu adapter: {e}");
            }
            println!("SKIPPED selfplay_on_wgpu: no wgpu adapter ({e})");
            return;
        }
    };
    let (report, games, stats) = network_selfplay(s.device, true, 2, 4);
    check_games(&Connect4, &games, 2);
    assert_eq!(stats.positions, report.evaluations);
    assert!(report.batch_mean > 1.0);
}

/// Game files of version 2 (64-bit ids; the committed run folders hold
/// them) still load, with the same ids; files written now are version 3 and
/// keep 128-bit ids whole.
#[test]
fn version_2_game_files_still_load_and_128_bit_ids_round_trip() {
    use wgzero::selfplay::records::{read_records, GameId, RECORDS_VERSION};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/go9/training/run/games/iter-000276.wgzr"
    );
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[4..8], &2u32.to_le_bytes(), "a version 2 file");
    let (header, games) = read_records(std::path::Path::new(path)).unwrap();
    assert_eq!(header.game, "go9");
    assert!(!games.is_empty());
    // The single-process loop's ids: iteration << 24 | game number.
    assert!(games.iter().all(|g| GameId::origin(g.game_id) == 0));
    assert!(games.iter().all(|g| g.game_id >> 24 == 276));
    // Version 3: a worker's id in the high half survives a round trip.
    assert_eq!(RECORDS_VERSION, 3);
    let mut g = games[0].clone();
    g.game_id = GameId::from_parts(0xdead_beef_0123_4567, 42);
    let header = RecordsHeader {
        game: header.game,
        words: header.words,
        actions: header.actions,
    };
    let (_, back) = decode_records(&encode_records(&header, std::slice::from_ref(&g))).unwrap();
    assert_eq!(back[0], g);
    assert_eq!(GameId::origin(back[0].game_id), 0xdead_beef_0123_4567);
    assert_eq!(GameId::counter(back[0].game_id), 42);
    // Folding keeps 64-bit ids as they were (held-out choices unchanged).
    assert_eq!(GameId::fold(7), 7);
}

#[test]
fn every_game_asked_is_played_even_when_searches_need_no_evaluator() {
    // Tic-tac-toe with 2,000 simulations: late in a game the whole subtree
    // is in the tree, so moves (and whole game ends) are resolved in the
    // select phase without a leaf for the evaluator. With one game per group
    // (batch 1, 2 leaves per game), such a group's batch comes out empty;
    // its games must still be played, not dropped.
    let game = TicTacToe;
    for (games, sims, batch, leaves) in [(10, 2000, 1, 2), (9, 800, 2, 4), (7, 3000, 1, 1)] {
        let cfg = small(games, sims, batch, leaves);
        let (report, records) = play(&game, &mut Uniform::new(), &cfg);
        check_games(&game, &records, games);
        assert_eq!(report.games, games);
    }
}

#[test]
fn a_failed_run_leaves_no_batch_in_the_evaluator() {
    let mut eval = Uniform::new();
    let r = selfplay::run(
        &Connect4,
        &mut eval,
        "test",
        &small(8, 16, 32, 4),
        &mut |_| Err(wgzero::Error::Interrupted),
        &mut |_| {},
    );
    assert!(r.is_err());
    assert_eq!(eval.in_flight(), 0, "a batch was left in the evaluator");
    // The evaluator is fit for the next run.
    let (_, records) = play(&Connect4, &mut eval, &small(4, 8, 16, 4));
    assert_eq!(records.len(), 4);
}

/// Returns the two batches in flight in the wrong order.
struct Swapped {
    inner: Uniform,
    held: Vec<Batch>,
}

impl Evaluator for Swapped {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.held.push(self.inner.evaluate(batch)?);
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        let i = if self.held.len() >= 2 { 1 } else { 0 };
        Ok(self.held.remove(i))
    }
    fn in_flight(&self) -> usize {
        self.held.len()
    }
}

#[test]
fn batches_that_come_back_out_of_order_are_refused() {
    let mut eval = Swapped {
        inner: Uniform::new(),
        held: Vec::new(),
    };
    let r = selfplay::run(
        &Connect4,
        &mut eval,
        "test",
        &small(8, 16, 32, 4),
        &mut |_| Ok(()),
        &mut |_| {},
    );
    let e = r.expect_err("out-of-order batches must be refused");
    assert!(e.to_string().contains("order"), "{e}");
    assert_eq!(eval.in_flight(), 0);
}

/// An evaluator that records the size of every batch it sees.
struct Sizes {
    inner: Uniform,
    seen: Vec<usize>,
}

impl Evaluator for Sizes {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.seen.push(batch.len());
        self.inner.submit(batch)
    }
    fn collect(&mut self) -> Result<Batch> {
        self.inner.collect()
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
    fn stats(&self) -> EvalStats {
        self.inner.stats()
    }
}

#[test]
fn concurrency_sets_the_games_in_flight() {
    let games_per_group = |c: f64| {
        SelfPlayConfig {
            games: 10_000,
            batch: 64,
            leaves_per_game: 8,
            concurrency: c,
            ..SelfPlayConfig::default()
        }
        .games_per_group()
    };
    // 64 / 8 = 8 games fill a batch; concurrency multiplies (rounded up).
    assert_eq!(games_per_group(1.0), 8);
    assert_eq!(games_per_group(1.5), 12);
    assert_eq!(games_per_group(2.0), 16);
    assert_eq!(games_per_group(3.0), 24);
    assert_eq!(games_per_group(0.1), 1);
    // In play: with one game's worth of leaves per group member and
    // concurrency 1, no batch can exceed what 8 games hand out; the first
    // batch of a group is every game's root (one leaf each).
    for (c, roots) in [(1.0, 8), (3.0, 24)] {
        let cfg = SelfPlayConfig {
            concurrency: c,
            ..small(200, 16, 64, 8)
        };
        let mut eval = Sizes {
            inner: Uniform::new(),
            seen: Vec::new(),
        };
        let (report, games) = play(&Connect4, &mut eval, &cfg);
        check_games(&Connect4, &games, 200);
        assert!(report.evaluated_exactly_once);
        assert_eq!(eval.seen[0], roots, "concurrency {c}: first batch");
    }
    // Nonsense is refused.
    for c in [0.0, -1.0, f64::NAN, 1000.0] {
        let cfg = SelfPlayConfig {
            concurrency: c,
            ..small(4, 8, 16, 4)
        };
        let err = selfplay::run(
            &Connect4,
            &mut Uniform::new(),
            "t",
            &cfg,
            &mut |_| Ok(()),
            &mut |_| {},
        );
        assert!(err.is_err(), "concurrency {c} accepted");
    }
}

#[test]
fn steady_state_plays_the_moves_asked_with_full_batches() {
    let cfg = SelfPlayConfig {
        games: usize::MAX / 2,
        max_moves: Some(3_000),
        ..small(0, 16, 64, 8)
    };
    let (report, games) = play(&Connect4, &mut Uniform::new(), &cfg);
    // Stops within one batch's moves of the target: at most a move per game in flight.
    let in_flight = 2 * cfg.games_per_group() as u64;
    assert!(
        report.moves >= 3_000 && report.moves < 3_000 + 2 * in_flight,
        "{} moves",
        report.moves
    );
    // Finished games restarted: more games than slots finished, all legal.
    assert!(games.len() as u64 > in_flight, "{} games", games.len());
    check_games(&Connect4, &games, games.len());
    let recorded: usize = games.iter().map(|g| g.positions.len()).sum();
    assert!(recorded as u64 <= report.moves);
    assert!(report.evaluated_exactly_once);
    // Every group stays full, so the steady window covers most of the run:
    // counted in moves, not seconds (a test binary runs its tests side by
    // side, and the warm-up's share of the wall time varies with the load).
    assert_eq!(report.steady_batches, report.batches);
    let steady_moves = report.steady_moves_per_second * report.steady_seconds;
    assert!(
        steady_moves > 0.5 * report.moves as f64,
        "{steady_moves:.0} of {} moves in the steady window",
        report.moves
    );
    assert!(report.steady_moves_per_second > 0.0);
    assert!(
        report.batch_mean_steady > 0.9 * 64.0,
        "{}",
        report.batch_mean_steady
    );
    // Per-move figures add up: the root's evaluation is saved by tree reuse
    // on most moves, and evaluations per move stay within the budget.
    assert!(
        report.evaluations_per_move <= 17.0,
        "{}",
        report.evaluations_per_move
    );
    assert!(report.reused_roots_per_move > 0.5 && report.reused_roots_per_move <= 1.0);
    assert!(report.cpu_cores > 0.0);
}

/// Values that say the first player is winning: +0.95 for the side to
/// move when it is the first player, -0.95 otherwise; uniform priors.
struct FirstWins {
    game: TicTacToe,
    inner: Uniform,
}

impl Evaluator for FirstWins {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.inner.submit(batch)
    }
    fn collect(&mut self) -> Result<Batch> {
        let mut b = self.inner.collect()?;
        for i in 0..b.len() {
            let s = self.game.unpack(b.state(i))?;
            b.value[i] = if self.game.to_move(&s) == 0 {
                0.95
            } else {
                -0.95
            };
        }
        Ok(b)
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
}

#[test]
fn resignation_ends_lost_games_and_playthroughs_measure_it() {
    let game = TicTacToe;
    let mut eval = FirstWins {
        game,
        inner: Uniform::new(),
    };
    // Every game may resign: the second player resigns at its first move
    // (its search sees a winning probability near 0.025).
    let cfg = SelfPlayConfig {
        resign_below: 0.1,
        resign_playthrough: 0.0,
        ..small(40, 32, 64, 8)
    };
    let (report, games) = play(&game, &mut eval, &cfg);
    assert_eq!(games.len(), 40);
    for g in &games {
        assert_eq!(
            g.positions.len(),
            2,
            "the first move and the resigned position"
        );
        assert_eq!(g.outcome, 1, "a loss for the second player");
    }
    assert_eq!(report.resign.resigned, 40);
    assert_eq!(report.resign.would_have_resigned, 0);
    // Every game plays through: none resigns, each notes where the second
    // player would have, and whether it lost after all.
    let cfg = SelfPlayConfig {
        resign_playthrough: 1.0,
        ..cfg
    };
    let (report, games) = play(&game, &mut eval, &cfg);
    check_games(&game, &games, 40);
    let r = report.resign;
    assert_eq!((r.resigned, r.would_have_resigned), (0, 40));
    let not_lost = games.iter().filter(|g| g.outcome <= 0).count() as u64;
    assert_eq!(r.false_resignations, not_lost);
    let moves: usize = games.iter().map(|g| g.positions.len() - 1).sum();
    assert_eq!(r.moves_after_resign_point, moves as u64);
    assert!((r.false_rate() - not_lost as f64 / 40.0).abs() < 1e-12);
    // Out of range: refused.
    for (below, share) in [(0.6, 0.1), (-0.1, 0.1), (0.1, 1.5)] {
        let bad = SelfPlayConfig {
            resign_below: below,
            resign_playthrough: share,
            ..small(4, 8, 8, 4)
        };
        let e = selfplay::run(
            &game,
            &mut Uniform::new(),
            "t",
            &bad,
            &mut |_| Ok(()),
            &mut |_| {},
        );
        assert!(e.is_err(), "{below} {share}");
    }
}
