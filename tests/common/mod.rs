//! Helpers shared by the integration tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgzero::game::Game;

/// A random non-terminal position reached by `moves` random moves (retrying
/// until one exists).
pub fn random_position<G: Game>(game: &G, moves: usize, rng: &mut ChaCha8Rng) -> G::State {
    let mut actions = Vec::new();
    'retry: loop {
        let mut s = game.initial();
        for _ in 0..moves {
            game.legal_actions(&s, &mut actions);
            if actions.is_empty() {
                continue 'retry;
            }
            game.apply(&mut s, actions[rng.random_range(0..actions.len())]);
        }
        if game.terminal_value(&s).is_none() {
            return s;
        }
    }
}

/// `n` random non-terminal positions of `game`, packed (`[n, W]` words),
/// with 0, 1, 2, ... random moves played.
pub fn random_states<G: Game>(game: &G, n: usize, seed: u64) -> Vec<u32> {
    let mut r = rng(seed);
    let mut words = vec![0u32; game.packed_words()];
    let mut out = Vec::new();
    let max_moves = (game.num_actions() - 1).min(40);
    for i in 0..n {
        let s = random_position(game, i % max_moves, &mut r);
        game.pack(&s, &mut words);
        out.extend_from_slice(&words);
    }
    out
}

/// The largest difference between `a` and `b`, relative to 1 + |x|.
pub fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs().max(y.abs())))
        .fold(0.0, f32::max)
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A plain Connect Four on a 2-D array, written independently of the
/// bitboard code, used as a reference.
#[derive(Clone)]
pub struct NaiveC4 {
    pub cells: [[u8; 6]; 7], // [col][height], 0 empty, 1 first player, 2 second
    pub moves: usize,
}

impl NaiveC4 {
    pub fn new() -> Self {
        NaiveC4 {
            cells: [[0; 6]; 7],
            moves: 0,
        }
    }
    pub fn from_moves(text: &str) -> Self {
        let mut p = Self::new();
        for ch in text.chars() {
            let c = ch.to_digit(10).unwrap() as usize - 1;
            assert!(p.can_play(c) && !p.last_won());
            p.play(c);
        }
        p
    }
    pub fn can_play(&self, c: usize) -> bool {
        self.cells[c][5] == 0
    }
    pub fn play(&mut self, c: usize) {
        let h = self.cells[c].iter().position(|&x| x == 0).unwrap();
        self.cells[c][h] = 1 + (self.moves % 2) as u8;
        self.moves += 1;
    }
    /// Whether the player who just moved has four in a row.
    pub fn last_won(&self) -> bool {
        if self.moves == 0 {
            return false;
        }
        let p = 1 + ((self.moves - 1) % 2) as u8;
        for c in 0..7i32 {
            for h in 0..6i32 {
                for (dc, dh) in [(1, 0), (0, 1), (1, 1), (1, -1)] {
                    if (0..4).all(|k| {
                        let (cc, hh) = (c + k * dc, h + k * dh);
                        (0..7).contains(&cc)
                            && (0..6).contains(&hh)
                            && self.cells[cc as usize][hh as usize] == p
                    }) {
                        return true;
                    }
                }
            }
        }
        false
    }
    pub fn perft(&self, depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        if self.last_won() || self.moves == 42 {
            return 0;
        }
        (0..7)
            .filter(|&c| self.can_play(c))
            .map(|c| {
                let mut q = self.clone();
                q.play(c);
                q.perft(depth - 1)
            })
            .sum()
    }
    /// Exact score (solver convention) by plain alpha-beta, no table.
    pub fn score(&self, mut alpha: i32, beta: i32) -> i32 {
        for c in 0..7 {
            if self.can_play(c) {
                let mut q = self.clone();
                q.play(c);
                if q.last_won() {
                    return (43 - self.moves as i32) / 2;
                }
            }
        }
        if self.moves == 42 {
            return 0;
        }
        let mut best = -100;
        for c in [3, 2, 4, 1, 5, 0, 6] {
            if self.can_play(c) {
                let mut q = self.clone();
                q.play(c);
                let s = if q.moves == 42 {
                    0
                } else {
                    -q.score(-beta, -alpha)
                };
                best = best.max(s);
                alpha = alpha.max(s);
                if alpha >= beta {
                    break;
                }
            }
        }
        best
    }
}

/// A fresh, empty folder under the system's temporary folder for one test.
pub fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wgzero-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the `wgzero` binary with `args`; returns its standard output and
/// error and whether it succeeded.
pub fn wgzero(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`wgzero`] that must succeed (its output shown otherwise); its standard
/// output and error.
pub fn wgzero_ok(args: &[&str]) -> (String, String) {
    let (ok, out, err) = wgzero(args);
    assert!(ok, "wgzero {}:\n{out}{err}", args.join(" "));
    (out, err)
}

/// A local nats-server for a test (its store in a temporary folder), or
/// `None` with a note when nats-server is missing; with
/// WGZERO_REQUIRE_NATS=1 (set by `.ci/run`) a missing server fails the test.
pub fn nats_server(test: &str) -> Option<wgzero::transport::server::NatsServer> {
    nats_server_with(test, "")
}

/// [`nats_server`] with `extra` in the server's configuration.
pub fn nats_server_with(test: &str, extra: &str) -> Option<wgzero::transport::server::NatsServer> {
    let store = tempdir(&format!("nats-{test}"));
    match wgzero::transport::server::NatsServer::start_with(&store, None, extra) {
        Ok(s) => Some(s),
        Err(e) => {
            if std::env::var("WGZERO_REQUIRE_NATS").is_ok_and(|v| v == "1") {
                panic!("{test}: WGZERO_REQUIRE_NATS=1 but nats-server cannot start: {e}");
            }
            println!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// A Python that imports pyspiel, or None (with the reason printed).
pub fn openspiel(test: &str) -> Option<String> {
    let python = std::env::var("WGZERO_OPENSPIEL_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import pyspiel"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let why = format!("{python} cannot import pyspiel (pip install open-spiel==2.0.2)");
    if std::env::var("WGZERO_REQUIRE_OPENSPIEL").is_ok_and(|v| v == "1") {
        panic!("{test}: WGZERO_REQUIRE_OPENSPIEL=1 but {why}");
    }
    println!("SKIPPED {test}: {why}");
    None
}

/// The outside brain: `WGZERO_PBRAIN_FIGRID` (`.ci/run` installs
/// pbrain-figrid and sets it, with WGZERO_REQUIRE_FIGRID=1, which makes a
/// missing one a failure), else `pbrain-figrid` on the PATH; elsewhere the
/// test says why it skips.
pub fn figrid(test: &str) -> Option<String> {
    let candidate = std::env::var("WGZERO_PBRAIN_FIGRID").unwrap_or("pbrain-figrid".into());
    let works = std::process::Command::new(&candidate)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(|mut c| {
            let _ = c.kill();
            let _ = c.wait();
        })
        .is_ok();
    if works {
        return Some(candidate);
    }
    if std::env::var("WGZERO_REQUIRE_FIGRID").is_ok_and(|v| v == "1") {
        panic!("{test}: WGZERO_REQUIRE_FIGRID=1 but {candidate} cannot be started (cargo install --locked --version 1.2.0 figrid-board --features embed-weights)");
    }
    println!("SKIPPED {test}: pbrain-figrid is not installed");
    None
}

/// An evaluator that counts the batches and positions it is asked to
/// evaluate, passing them on to `inner`.
pub struct Counting<E> {
    pub inner: E,
    pub positions: u64,
    pub batches: u64,
}

impl<E: wgzero::eval::Evaluator> wgzero::eval::Evaluator for Counting<E> {
    fn submit(&mut self, batch: wgzero::eval::Batch) -> wgzero::Result<()> {
        self.positions += batch.len() as u64;
        self.batches += 1;
        self.inner.submit(batch)
    }
    fn collect(&mut self) -> wgzero::Result<wgzero::eval::Batch> {
        self.inner.collect()
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
}

pub fn counting<E>(inner: E) -> Counting<E> {
    Counting {
        inner,
        positions: 0,
        batches: 0,
    }
}
