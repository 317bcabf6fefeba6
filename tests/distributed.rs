//! Distributed self-play through a real nats-server on 127.0.0.1: the trainer
//! (`wgzero train --broker`) and workers (`wgzero worker`) as processes, on
//! tic-tac-toe with a tiny network. SIGKILL of a worker, of the trainer and
//! of the broker; duplicates; malformed messages.
//!
//! `.ci/run` installs nats-server and sets WGZERO_REQUIRE_NATS=1: a missing
//! server then fails these tests instead of skipping them.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use wgzero::eval::Uniform;
use wgzero::game::{Connect4, TicTacToe};
use wgzero::net::ModelBytes;
use wgzero::selfplay::records::{encode_game, read_records, GameId, GameRecord};
use wgzero::selfplay::{self, SelfPlayConfig};
use wgzero::transport::server::NatsServer;
use wgzero::transport::{connect, NetworkInfo, RunSettings, Transport};

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_broker.toml");
const EXE: &str = env!("CARGO_BIN_EXE_wgzero");

/// A process with its output in a log file.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn start(args: &[&str], log: &Path) -> Proc {
        let f = std::fs::File::create(log).unwrap();
        let child = Command::new(EXE)
            .args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        Proc {
            child,
            log: log.to_path_buf(),
        }
    }
    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    fn interrupt(&self) {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
    }
    /// Waits for exit (panics after `limit`); whether it succeeded.
    fn wait(&mut self, limit: Duration) -> bool {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.success();
            }
            if t.elapsed() > limit {
                self.kill9();
                panic!("process did not end within {limit:?}:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// Waits until the log contains `needle` `times` times.
    fn wait_for(&self, needle: &str, times: usize, limit: Duration) {
        let t = Instant::now();
        while self.text().matches(needle).count() < times {
            assert!(
                t.elapsed() < limit,
                "no {needle:?} x{times} within {limit:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn trainer_args<'a>(run: &'a str, url: &'a str, iterations: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--game",
        "tictactoe",
        "--run",
        run,
        "--broker",
        url,
        "--config",
        TINY,
        "--iterations",
        iterations,
        "--backend",
        "cpu",
    ]
}

fn worker_args<'a>(url: &'a str, run: &'a str, spool: &'a str, cache: &'a str) -> Vec<&'a str> {
    vec![
        "worker",
        "--broker",
        url,
        "--run",
        run,
        "--spool",
        spool,
        "--cache",
        cache,
        "--threads",
        "1",
        "--chunk",
        "4",
        "--backend",
        "cpu",
        "--drain",
        "20",
        "-v",
    ]
}

/// Ids (hex) a worker's log says it spooled / the broker acknowledged.
fn logged(text: &str, what: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(what))
        .map(|s| s.trim().to_string())
        .collect()
}

/// Ids of every game stored in a run folder's game files (in order).
fn stored_ids(run: &Path) -> Vec<u128> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.join("games"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgzr"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| read_records(p).unwrap().1)
        .map(|g| g.game_id)
        .collect()
}

/// Every game left in the run's stream (read by a fresh consumer).
fn left_in_stream(url: &str, run: &str) -> Vec<GameRecord> {
    let mut t = connect(url, run, false).unwrap();
    t.open_games().unwrap();
    let mut out = Vec::new();
    loop {
        let got = t.fetch_games(200, Duration::from_millis(500)).unwrap();
        if got.is_empty() {
            return out;
        }
        for g in got {
            let (_, mut games) = wgzero::selfplay::records::decode_records(&g.payload).unwrap();
            out.push(games.pop().unwrap());
        }
    }
}

/// `n` legal tic-tac-toe games (uniform search), ids from `origin`.
fn games(n: usize, origin: u64, seed: u64) -> Vec<GameRecord> {
    let cfg = SelfPlayConfig {
        games: n,
        simulations: 8,
        batch: 16,
        leaves_per_game: 2,
        threads: 1,
        seed,
        ..SelfPlayConfig::default()
    };
    let mut out = Vec::new();
    selfplay::run(
        &TicTacToe,
        &mut Uniform::new(),
        "uniform",
        &cfg,
        &mut |mut g| {
            g.game_id = GameId::from_parts(origin, out.len() as u64);
            out.push(g);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    out
}

fn publish(t: &mut dyn Transport, games: &[GameRecord]) {
    let msgs: Vec<(String, Vec<u8>)> = games
        .iter()
        .map(|g| (GameId::hex(g.game_id), encode_game(&TicTacToe, g)))
        .collect();
    for r in t.publish_games(&msgs) {
        r.unwrap();
    }
}

/// The streams, bucket and object store of `run` (as a trainer creates them).
fn create_run(url: &str, run: &str) -> Box<dyn Transport> {
    connect(url, run, true).unwrap()
}

/// Checks the ids of one worker process: a prefix 0..k of its counter, no
/// gaps (a finished game is never lost), no repeats.
fn check_prefixes(ids: &[u128]) {
    let mut by_worker: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &id in ids {
        by_worker
            .entry(GameId::origin(id))
            .or_default()
            .push(GameId::counter(id));
    }
    for (w, mut c) in by_worker {
        c.sort();
        let expected: Vec<u64> = (0..c.len() as u64).collect();
        assert_eq!(c, expected, "worker {w:016x}: games lost or repeated");
    }
}

#[test]
fn trainer_and_two_workers_end_to_end() {
    let Some(server) = common::nats_server("dist-e2e") else {
        return;
    };
    let dir = common::tempdir("dist-e2e");
    let run = dir.join("e2e");
    let url = server.url();
    let run_s = run.to_str().unwrap();
    let mut trainer = Proc::start(&trainer_args(run_s, &url, "3"), &dir.join("trainer.log"));
    let cache = dir.join("cache");
    let mut workers: Vec<Proc> = (0..2)
        .map(|i| {
            let spool = dir.join(format!("spool{i}"));
            Proc::start(
                &worker_args(
                    &url,
                    "e2e",
                    spool.to_str().unwrap(),
                    cache.to_str().unwrap(),
                ),
                &dir.join(format!("worker{i}.log")),
            )
        })
        .collect();
    assert!(
        trainer.wait(Duration::from_secs(240)),
        "trainer failed:\n{}",
        trainer.text()
    );
    // A promotion (iteration 1's network, published when iteration 2
    // began) reached both workers.
    for w in &workers {
        w.wait_for("switched to network", 1, Duration::from_secs(60));
    }
    for w in &workers {
        w.interrupt();
    }
    let mut spooled = Vec::new();
    for w in &mut workers {
        assert!(
            w.wait(Duration::from_secs(60)),
            "worker failed:\n{}",
            w.text()
        );
        spooled.extend(logged(&w.text(), "spooled "));
        assert!(w.text().contains("0 left in the spool"), "{}", w.text());
        // Its summary: every game it played was published.
        let line = w
            .text()
            .lines()
            .find(|l| l.contains("games played"))
            .unwrap()
            .to_string();
        let n: Vec<u64> = line
            .split(": ")
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect();
        assert!(n[0] > 0 && n[0] == n[1], "played, published: {line}");
    }
    // Every game arrived exactly once: stored by the trainer or still in
    // the stream, never both, never twice.
    let stored = stored_ids(&run);
    let left: Vec<u128> = left_in_stream(&url, "e2e")
        .iter()
        .map(|g| g.game_id)
        .collect();
    assert_eq!(stored.len(), 24, "3 iterations of 8 games");
    let all: Vec<u128> = stored.iter().chain(&left).copied().collect();
    let unique: BTreeSet<u128> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a game arrived twice");
    let spooled: BTreeSet<u128> = spooled
        .iter()
        .map(|h| u128::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(unique, spooled, "arrived == spooled");
    check_prefixes(&all);
    // Each game records the network that played it: one the workers used.
    let used: HashSet<String> = workers
        .iter()
        .flat_map(|w| {
            w.text()
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("playing with network ")
                        .or_else(|| l.strip_prefix("switched to network "))
                        .map(|r| r.split(' ').next().unwrap().to_string())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let models: HashSet<String> = (1..=3)
        .flat_map(|it| {
            read_records(&run.join(format!("games/iter-{it:06}.wgzr")))
                .unwrap()
                .1
        })
        .map(|g| g.model_id)
        .collect();
    assert!(used.len() >= 2, "{used:?}");
    assert!(models.is_subset(&used), "{models:?} not in {used:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A worker paused on the trainer's backlog still switches to a network
/// promoted meanwhile (before, it looked only between batches, so a worker
/// paused when the trainer finished kept the old network for good).
#[test]
fn a_paused_worker_switches_to_a_network_promoted_meanwhile() {
    let Some(server) = common::nats_server("dist-paused-switch") else {
        return;
    };
    let dir = common::tempdir("dist-paused-switch");
    let url = server.url();
    let mut t = seed_run(&url, "ps", &dir);
    let (spool, cache) = (dir.join("spool"), dir.join("cache"));
    // No trainer: after its first batch of 4 the backlog stays at 4.
    let mut args = worker_args(&url, "ps", spool.to_str().unwrap(), cache.to_str().unwrap());
    args.extend(["--max-backlog", "4"]);
    let mut w = Proc::start(&args, &dir.join("worker.log"));
    w.wait_for("pausing", 1, Duration::from_secs(60));
    let m = new_model(&dir.join("model2"), "2");
    let info = NetworkInfo {
        model_id: m.model_id(),
        iteration: 1,
    };
    t.put_best(&info, &m).unwrap();
    w.wait_for(
        &format!("switched to network {}", info.model_id),
        1,
        Duration::from_secs(30),
    );
    // Still paused after the switch: no batch played with it.
    let batches = w.text().matches("batch ").count();
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(w.text().matches("batch ").count(), batches, "{}", w.text());
    w.interrupt();
    assert!(
        w.wait(Duration::from_secs(60)),
        "worker failed:\n{}",
        w.text()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A random tiny tic-tac-toe network (`wgzero new-model`).
fn new_model(out: &Path, seed: &str) -> ModelBytes {
    let (ok, stdout, err) = common::wgzero(&[
        "new-model",
        "--game",
        "tictactoe",
        "--out",
        out.to_str().unwrap(),
        "--blocks",
        "1",
        "--channels",
        "8",
        "--seed",
        seed,
    ]);
    assert!(ok, "{stdout}{err}");
    ModelBytes {
        label: "test".into(),
        config_json: std::fs::read_to_string(out.join("config.json")).unwrap(),
        weights: std::fs::read(out.join("model.bpk")).unwrap(),
    }
}

/// Puts settings and a random tiny network, as a trainer would.
fn seed_run(url: &str, run: &str, dir: &Path) -> Box<dyn Transport> {
    let mut t = create_run(url, run);
    let m = new_model(&dir.join("model"), "1");
    t.put_settings(&RunSettings {
        game: "tictactoe".into(),
        komi: None,
        config_toml: std::fs::read_to_string(TINY).unwrap(),
    })
    .unwrap();
    t.put_best(
        &NetworkInfo {
            model_id: m.model_id(),
            iteration: 0,
        },
        &m,
    )
    .unwrap();
    t
}

#[test]
fn a_worker_killed_at_random_moments_loses_only_games_in_progress() {
    let Some(server) = common::nats_server("dist-worker-kill") else {
        return;
    };
    let dir = common::tempdir("dist-worker-kill");
    let url = server.url();
    let _t = seed_run(&url, "wk", &dir);
    let (spool, cache) = (dir.join("spool"), dir.join("cache"));
    // No trainer here: the backlog only grows, so no pausing.
    let mut args = worker_args(&url, "wk", spool.to_str().unwrap(), cache.to_str().unwrap());
    args.extend(["--max-backlog", "0"]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut spooled = Vec::new();
    for round in 0..5 {
        let mut w = Proc::start(&args, &dir.join(format!("worker{round}.log")));
        w.wait_for("spooled ", 1, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
        w.kill9();
        spooled.extend(logged(&w.text(), "spooled "));
    }
    // A last worker resends the spool, plays on (until a game of its own,
    // not only a resent one, is published), and stops cleanly.
    let mut w = Proc::start(&args, &dir.join("last.log"));
    w.wait_for("worker ", 1, Duration::from_secs(60));
    let own = logged(&w.text(), "worker ")[0].clone();
    let t = Instant::now();
    while !logged(&w.text(), "published ")
        .iter()
        .any(|h| h.starts_with(&own))
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no game of its own published:\n{}",
            w.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    w.interrupt();
    assert!(w.wait(Duration::from_secs(60)), "{}", w.text());
    spooled.extend(logged(&w.text(), "spooled "));
    assert!(w.text().contains("0 left in the spool"), "{}", w.text());
    let arrived: Vec<u128> = left_in_stream(&url, "wk")
        .iter()
        .map(|g| g.game_id)
        .collect();
    let unique: BTreeSet<u128> = arrived.iter().copied().collect();
    assert_eq!(unique.len(), arrived.len(), "no game arrives twice");
    for h in &spooled {
        assert!(
            unique.contains(&u128::from_str_radix(h, 16).unwrap()),
            "spooled game {h} never arrived"
        );
    }
    check_prefixes(&arrived);
    assert_eq!(
        unique
            .iter()
            .map(|&i| GameId::origin(i))
            .collect::<BTreeSet<_>>()
            .len(),
        6,
        "games from all six worker processes"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_trainer_killed_at_random_moments_stores_what_an_uninterrupted_one_does() {
    // Twenty iterations of 8 games from a stream of 200.
    let Some(server) = common::nats_server("dist-trainer-kill") else {
        return;
    };
    let dir = common::tempdir("dist-trainer-kill");
    let url = server.url();
    let published = games(200, 0xabc, 3);
    for name in ["steady", "killed"] {
        publish(create_run(&url, name).as_mut(), &published);
    }
    let steady = dir.join("steady");
    let mut p = Proc::start(
        &trainer_args(steady.to_str().unwrap(), &url, "20"),
        &dir.join("steady.log"),
    );
    assert!(p.wait(Duration::from_secs(240)), "{}", p.text());
    let killed = dir.join("killed");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut kills = 0;
    for round in 0.. {
        let mut p = Proc::start(
            &trainer_args(killed.to_str().unwrap(), &url, "20"),
            &dir.join(format!("killed{round}.log")),
        );
        std::thread::sleep(Duration::from_millis(rng.random_range(30..400)));
        if p.child.try_wait().unwrap().is_some() {
            assert!(p.wait(Duration::from_secs(1)), "{}", p.text());
            break;
        }
        p.kill9();
        kills += 1;
        assert!(round < 200, "the killed trainer never finished");
    }
    println!("the trainer was killed {kills} times");
    assert!(kills >= 3, "killed {kills} times");
    let ids = stored_ids(&killed);
    assert_eq!(ids, stored_ids(&steady), "stored ids (and their order)");
    let expected: Vec<u128> = published[..160].iter().map(|g| g.game_id).collect();
    assert_eq!(
        ids, expected,
        "stored == published, in order, no duplicates"
    );
    for it in 1..=20 {
        let f = format!("games/iter-{it:06}.wgzr");
        assert_eq!(
            std::fs::read(steady.join(&f)).unwrap(),
            std::fs::read(killed.join(&f)).unwrap(),
            "{f}: the replay buffer's games differ"
        );
    }
    assert!(!killed.join("games/incoming").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicates_and_redeliveries_are_stored_once() {
    let Some(server) = common::nats_server("dist-dup") else {
        return;
    };
    let dir = common::tempdir("dist-dup");
    let url = server.url();
    let g = games(12, 0xd0, 5);
    let mut t = create_run(&url, "dup");
    publish(t.as_mut(), &g[..4]);
    // The same game again under the same id: the broker keeps one.
    publish(t.as_mut(), &g[1..2]);
    // The same game under another message id (as after the broker's
    // deduplication window): the trainer drops it by game id.
    t.publish_game("ffff0000", encode_game(&TicTacToe, &g[2]))
        .unwrap();
    // A consumer takes games without acknowledging them (as a trainer that
    // dies would); they are delivered again to the trainer.
    t.open_games().unwrap();
    assert!(!t.fetch_games(3, Duration::from_secs(1)).unwrap().is_empty());
    drop(t);
    let mut t = connect(&url, "dup", false).unwrap();
    publish(t.as_mut(), &g[4..]);
    let run = dir.join("dup");
    let mut p = Proc::start(
        &trainer_args(run.to_str().unwrap(), &url, "1"),
        &dir.join("t.log"),
    );
    assert!(p.wait(Duration::from_secs(120)), "{}", p.text());
    let ids = stored_ids(&run);
    let expected: Vec<u128> = g[..8].iter().map(|g| g.game_id).collect();
    assert_eq!(ids, expected);
    assert!(p.text().contains("1 duplicates"), "{}", p.text());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_messages_are_rejected_and_the_trainer_goes_on() {
    let Some(server) = common::nats_server("dist-bad") else {
        return;
    };
    let dir = common::tempdir("dist-bad");
    let url = server.url();
    let g = games(8, 0xbad, 9);
    let mut t = create_run(&url, "bad");
    t.publish_game("01", b"not a record at all".to_vec())
        .unwrap();
    publish(t.as_mut(), &g[..3]);
    // Another game's record.
    let mut c4 = Vec::new();
    selfplay::run(
        &Connect4,
        &mut Uniform::new(),
        "uniform",
        &SelfPlayConfig {
            games: 1,
            simulations: 4,
            batch: 8,
            leaves_per_game: 1,
            threads: 1,
            ..SelfPlayConfig::default()
        },
        &mut |r| {
            c4.push(r);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    t.publish_game("02", encode_game(&Connect4, &c4[0]))
        .unwrap();
    // A tic-tac-toe game with a lie in it: an illegal move, a wrong outcome,
    // a policy that is not finite, a truncated record.
    let mut illegal = g[3].clone();
    illegal.game_id = GameId::from_parts(0xbad, 100);
    illegal.positions[1].action = illegal.positions[0].action;
    t.publish_game("03", encode_game(&TicTacToe, &illegal))
        .unwrap();
    let mut outcome = g[3].clone();
    outcome.game_id = GameId::from_parts(0xbad, 101);
    outcome.outcome = if outcome.outcome == 1 { -1 } else { 1 };
    t.publish_game("04", encode_game(&TicTacToe, &outcome))
        .unwrap();
    let mut nan = g[3].clone();
    nan.game_id = GameId::from_parts(0xbad, 102);
    nan.positions[0].policy[0] = f32::NAN;
    t.publish_game("05", encode_game(&TicTacToe, &nan)).unwrap();
    let bytes = encode_game(&TicTacToe, &g[3]);
    t.publish_game("06", bytes[..bytes.len() - 7].to_vec())
        .unwrap();
    publish(t.as_mut(), &g[3..]);
    let run = dir.join("bad");
    let mut p = Proc::start(
        &trainer_args(run.to_str().unwrap(), &url, "1"),
        &dir.join("t.log"),
    );
    assert!(p.wait(Duration::from_secs(120)), "{}", p.text());
    let text = p.text();
    assert_eq!(text.matches("rejected message").count(), 6, "{text}");
    for why in [
        "bad magic",
        "not tictactoe",
        "illegal move",
        "outcome",
        "not finite",
        "truncated",
    ] {
        assert!(text.contains(why), "no {why:?} in:\n{text}");
    }
    assert_eq!(
        stored_ids(&run),
        g.iter().map(|g| g.game_id).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_broker_killed_and_restarted_loses_nothing_acknowledged() {
    let Some(mut server) = common::nats_server("dist-broker-kill") else {
        return;
    };
    let dir = common::tempdir("dist-broker-kill");
    let url = server.url();
    let (port, store) = (server.port, server.store.clone());
    let run = dir.join("bk");
    let mut trainer = Proc::start(
        &trainer_args(run.to_str().unwrap(), &url, "4"),
        &dir.join("t.log"),
    );
    let (spool, cache) = (dir.join("spool"), dir.join("cache"));
    let mut w = Proc::start(
        &worker_args(&url, "bk", spool.to_str().unwrap(), cache.to_str().unwrap()),
        &dir.join("w.log"),
    );
    trainer.wait_for("iter 1 collect", 1, Duration::from_secs(120));
    w.wait_for("published ", 12, Duration::from_secs(120));
    server.kill();
    // Games finished meanwhile wait in the spool.
    let before = w.text().matches("spooled ").count();
    w.wait_for("spooled ", before + 4, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    let mut server = NatsServer::start(&store, Some(port)).unwrap();
    assert!(trainer.wait(Duration::from_secs(240)), "{}", trainer.text());
    w.interrupt();
    assert!(w.wait(Duration::from_secs(60)), "{}", w.text());
    let text = w.text();
    assert!(text.contains("0 left in the spool"), "{text}");
    let acknowledged: BTreeSet<u128> = logged(&text, "published ")
        .iter()
        .map(|h| u128::from_str_radix(h, 16).unwrap())
        .collect();
    let stored = stored_ids(&run);
    let left: Vec<u128> = left_in_stream(&url, "bk")
        .iter()
        .map(|g| g.game_id)
        .collect();
    let arrived: BTreeSet<u128> = stored.iter().chain(&left).copied().collect();
    assert_eq!(arrived.len(), stored.len() + left.len(), "no duplicates");
    for id in &acknowledged {
        assert!(arrived.contains(id), "acknowledged game {id:032x} was lost");
    }
    check_prefixes(&arrived.iter().copied().collect::<Vec<_>>());
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cluster_runs_resumes_and_stops_cleanly_on_ctrl_c() {
    if common::nats_server("dist-cluster").is_none() {
        return;
    }
    let dir = common::tempdir("dist-cluster");
    let run = dir.join("cl");
    let run_s = run.to_str().unwrap();
    let base = [
        "cluster",
        "--game",
        "tictactoe",
        "--run",
        run_s,
        "--workers",
        "2",
        "--config",
        TINY,
    ];
    // To a limit, then resumed to a further one.
    let mut p = Proc::start(
        &[&base[..], &["--iterations", "2"]].concat(),
        &dir.join("a.log"),
    );
    assert!(p.wait(Duration::from_secs(180)), "{}", p.text());
    assert!(p.text().contains("cluster stopped"), "{}", p.text());
    let mut p = Proc::start(
        &[&base[..], &["--iterations", "3"]].concat(),
        &dir.join("b.log"),
    );
    assert!(p.wait(Duration::from_secs(180)), "{}", p.text());
    assert!(p.text().contains("resuming"), "{}", p.text());
    assert_eq!(stored_ids(&run).len(), 24);
    // Ctrl-C in the middle: everything stops, nothing is left in the spools.
    let p = Proc::start(
        &[&base[..], &["--iterations", "1000"]].concat(),
        &dir.join("c.log"),
    );
    p.wait_for("iter 6 collect", 1, Duration::from_secs(180));
    p.interrupt();
    let mut p = p;
    assert!(p.wait(Duration::from_secs(90)), "{}", p.text());
    let text = p.text();
    assert!(text.contains("cluster stopped"), "{text}");
    assert_eq!(text.matches("0 left in the spool").count(), 2, "{text}");
    for w in ["worker-0", "worker-1"] {
        let left = std::fs::read_dir(run.join("spool").join(w))
            .unwrap()
            .count();
        assert_eq!(left, 0, "{w}'s spool");
    }
    // The run is consistent: its state names complete game files.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("state.json")).unwrap()).unwrap();
    let done = state["iteration"].as_u64().unwrap();
    assert!(done >= 5, "{state}");
    let ids = stored_ids(&run);
    let unique: BTreeSet<u128> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    // SIGKILL of the cluster process itself: nats-server, the trainer and
    // the workers must not run on (Linux: they die with their parent).
    let mut p = Proc::start(
        &[&base[..], &["--iterations", "1000"]].concat(),
        &dir.join("d.log"),
    );
    p.wait_for("collect", 1, Duration::from_secs(180));
    let store = run.join("broker").canonicalize().unwrap();
    let store = store.to_str().unwrap();
    assert!(
        processes_mentioning(run_s).len() >= 3,
        "the cluster's processes: {:?}",
        processes_mentioning(run_s)
    );
    p.kill9();
    let t = Instant::now();
    while !(processes_mentioning(run_s).is_empty() && processes_mentioning(store).is_empty()) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "still running 30 s after the cluster was killed: {:?}",
            processes_mentioning(run_s)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Processes (other than this test) whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == me || !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        // A zombie (exited, not yet reaped) has an empty command line.
        if cmd.contains(text) {
            found.push(format!("{name}: {cmd}"));
        }
    }
    found
}

/// docs/distributed.md's publish-only workers: with the users of
/// tests/data/nats-users.conf, a worker plays and publishes, follows
/// promotions, and can neither move `best` nor consume games.
#[test]
fn workers_with_publish_only_rights_play_but_cannot_change_the_run() {
    let users = include_str!("data/nats-users.conf");
    let Some(server) = common::nats_server_with("dist-perm", users) else {
        return;
    };
    let dir = common::tempdir("dist-perm");
    let run = dir.join("perm");
    let trainer_url = format!("nats://trainer:trainerpw@127.0.0.1:{}", server.port);
    let worker_url = format!("nats://worker:workerpw@127.0.0.1:{}", server.port);
    let mut trainer = Proc::start(
        &trainer_args(run.to_str().unwrap(), &trainer_url, "2"),
        &dir.join("t.log"),
    );
    let (spool, cache) = (dir.join("spool"), dir.join("cache"));
    let mut w = Proc::start(
        &worker_args(
            &worker_url,
            "perm",
            spool.to_str().unwrap(),
            cache.to_str().unwrap(),
        ),
        &dir.join("w.log"),
    );
    assert!(trainer.wait(Duration::from_secs(120)), "{}", trainer.text());
    w.wait_for("switched to network", 1, Duration::from_secs(60));
    w.interrupt();
    assert!(w.wait(Duration::from_secs(60)), "{}", w.text());
    assert!(w.text().contains("0 left in the spool"), "{}", w.text());
    // No password in what either prints.
    assert!(!trainer.text().contains("trainerpw") && !w.text().contains("workerpw"));
    assert_eq!(stored_ids(&run).len(), 16);
    // With the worker's rights: no new best, no consuming.
    let mut t = connect(&worker_url, "perm", false).unwrap();
    let best = t.best().unwrap().unwrap();
    let model = t.get_network(&best).unwrap();
    let forged = NetworkInfo {
        model_id: model.model_id(),
        iteration: 99,
    };
    assert!(t.put_best(&forged, &model).is_err(), "a worker moved best");
    assert_eq!(t.best().unwrap(), Some(best));
    assert!(t.open_games().is_err(), "a worker consumed games");
    // Wrong password: a clear error.
    let bad = format!("nats://worker:nope@127.0.0.1:{}", server.port);
    let e = connect(&bad, "perm", false).err().unwrap().to_string();
    assert!(e.contains("authorization"), "{e}");
    assert!(!e.contains("nope"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two trainers for one run on one broker (two folders of the same name):
/// the second is refused while the first runs, naming it; once the first
/// stops cleanly, a trainer may take the run again.
#[test]
fn a_second_trainer_of_a_broker_run_is_refused() {
    let Some(server) = common::nats_server("dist-lease") else {
        return;
    };
    let url = server.url();
    let dir = common::tempdir("dist-lease");
    let (a, b) = (dir.join("a").join("lease"), dir.join("b").join("lease"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let first = Proc::start(&trainer_args(a, &url, "1000"), &dir.join("first.log"));
    first.wait_for("taking games from", 1, Duration::from_secs(120));
    let mut second = Proc::start(&trainer_args(b, &url, "1000"), &dir.join("second.log"));
    assert!(!second.wait(Duration::from_secs(60)), "{}", second.text());
    let text = second.text();
    assert!(text.contains("already has a trainer"), "{text}");
    assert!(
        text.contains(&format!("pid {}", first.child.id())),
        "{text}"
    );
    // A clean stop frees the run at once.
    first.interrupt();
    let mut first = first;
    assert!(first.wait(Duration::from_secs(60)), "{}", first.text());
    let third = Proc::start(&trainer_args(b, &url, "1000"), &dir.join("third.log"));
    third.wait_for("taking games from", 1, Duration::from_secs(120));
    drop(third);
    std::fs::remove_dir_all(&dir).unwrap();
}
