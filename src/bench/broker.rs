//! `wgzero bench --broker`: games through a real NATS JetStream broker. A
//! local nats-server is started in a temporary folder; 1, 2, 4 and 8
//! publishing processes (`wgzero bench-publisher`, each its own connection)
//! send real game records of two sizes (a Connect Four game, a 15x15 Gomoku
//! game) to one consumer that acknowledges each game as the trainer does
//! (a confirmed acknowledgement per game). Then a spool of 10,000 games is
//! drained after a broker restart. The figures are set beside this machine's
//! self-play rate (games/s), which the broker must exceed at least 50-fold.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::Uniform;
use crate::game::{Connect4, Game, Gomoku};
use crate::selfplay::records::{encode_game, GameId, GameRecord};
use crate::selfplay::{self as sp, SelfPlayConfig};
use crate::transport::server::NatsServer;
use crate::transport::{NatsOptions, NatsTransport, Transport};
use crate::worker::spool::Spool;

/// What one publishing process reports (one JSON line on its stdout).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublisherReport {
    pub games: usize,
    /// Wall clock (ms since the epoch) of its first send and last ack.
    pub start_ms: f64,
    pub end_ms: f64,
    /// Publish-to-acknowledgement of every game, ms.
    pub latencies_ms: Vec<f64>,
}

/// One row: a payload size and a number of publishers.
#[derive(Clone, Debug, Serialize)]
pub struct BrokerRow {
    pub payload: String,
    pub bytes_per_game: usize,
    pub publishers: usize,
    pub games: usize,
    pub seconds: f64,
    pub games_per_second: f64,
    pub mb_per_second: f64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
}

/// Draining a spool after a broker restart.
#[derive(Clone, Debug, Serialize)]
pub struct DrainResult {
    pub games: usize,
    /// From the broker's restart to an empty spool.
    pub seconds: f64,
    pub games_per_second: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BrokerReport {
    pub nats_server: String,
    pub rows: Vec<BrokerRow>,
    pub drain: DrainResult,
    /// This machine's self-play (Connect Four, default network and
    /// settings, CPU), games/s.
    pub selfplay_games_per_second: f64,
    /// The lowest broker games/s over the rows, over self-play games/s.
    pub headroom: f64,
}

/// What to run.
pub struct BrokerBenchOptions {
    /// The `wgzero` binary (publishers are its `bench-publisher` command).
    pub exe: PathBuf,
    /// Scratch folder (broker store, spool).
    pub dir: PathBuf,
    pub publishers: Vec<usize>,
    /// Connect Four games per publisher (Gomoku: a tenth).
    pub games: usize,
    pub spool_games: usize,
    /// Self-play games/s of this machine (measured by the caller).
    pub selfplay_games_per_second: f64,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One real game of `game` (uniform search), encoded.
pub fn sample_game<G: Game>(game: &G, sims: u32) -> Result<Vec<u8>> {
    let cfg = SelfPlayConfig {
        games: 1,
        simulations: sims,
        batch: 8,
        leaves_per_game: 1,
        threads: 1,
        ..SelfPlayConfig::default()
    };
    let mut out: Vec<GameRecord> = Vec::new();
    sp::run(
        game,
        &mut Uniform::new(),
        "bench",
        &cfg,
        &mut |g| {
            out.push(g);
            Ok(())
        },
        &mut |_| {},
    )?;
    Ok(encode_game(game, &out[0]))
}

/// A publishing process: `games` copies of `payload` under fresh ids, in
/// windows of 64 pipelined publishes.
pub fn publisher(
    url: &str,
    run: &str,
    payload: &[u8],
    games: usize,
    origin: u64,
) -> Result<PublisherReport> {
    let mut t = NatsTransport::connect(url, run, &NatsOptions::default())?;
    let start_ms = now_ms();
    let mut latencies_ms = Vec::with_capacity(games);
    let mut next = 0;
    while next < games {
        let n = (games - next).min(64);
        let msgs: Vec<(String, Vec<u8>)> = (next..next + n)
            .map(|i| {
                (
                    GameId::hex(GameId::from_parts(origin, i as u64)),
                    payload.to_vec(),
                )
            })
            .collect();
        for r in t.publish_games(&msgs) {
            r?;
        }
        latencies_ms.extend(t.last_latencies.iter().map(|d| d.as_secs_f64() * 1000.0));
        next += n;
    }
    Ok(PublisherReport {
        games,
        start_ms,
        end_ms: now_ms(),
        latencies_ms,
    })
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Runs the benchmark; `log` gets a line per row.
pub fn run(opts: &BrokerBenchOptions, log: &mut dyn FnMut(&str)) -> Result<BrokerReport> {
    let _ = std::fs::remove_dir_all(&opts.dir);
    let mut server = NatsServer::start(&opts.dir.join("broker"), None)?;
    let version = Command::new(crate::transport::server::server_binary())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let payloads = [
        ("connect4", sample_game(&Connect4, 16)?, opts.games),
        (
            "gomoku15",
            sample_game(&Gomoku::new(15)?, 4)?,
            (opts.games / 10).max(1),
        ),
    ];
    let mut rows = Vec::new();
    let mut round = 0;
    for (name, payload, games) in &payloads {
        let file = opts.dir.join(format!("{name}.wgzr"));
        std::fs::write(&file, payload)?;
        for &p in &opts.publishers {
            round += 1;
            let run = format!("bench{round}");
            let row = one_row(
                opts,
                &server.url(),
                &run,
                name,
                &file,
                payload.len(),
                *games,
                p,
            )?;
            log(&format!(
                "{name:>9} ({:>6} B/game), {p} publishers: {:>7.0} games/s, {:>6.1} MB/s, ack p50 {:.2} ms, p99 {:.2} ms",
                row.bytes_per_game, row.games_per_second, row.mb_per_second, row.ack_p50_ms, row.ack_p99_ms
            ));
            rows.push(row);
        }
    }
    let drain = drain_after_restart(opts, &mut server, &payloads[0].1)?;
    log(&format!(
        "spool of {} games drained {:.1} s after the broker restarted ({:.0} games/s)",
        drain.games, drain.seconds, drain.games_per_second
    ));
    server.stop();
    let slowest = rows
        .iter()
        .map(|r| r.games_per_second)
        .fold(f64::INFINITY, f64::min);
    Ok(BrokerReport {
        nats_server: version,
        rows,
        drain,
        selfplay_games_per_second: opts.selfplay_games_per_second,
        headroom: slowest / opts.selfplay_games_per_second.max(1e-9),
    })
}

/// `publishers` processes send `games` games each; one consumer takes and
/// acknowledges them all.
#[allow(clippy::too_many_arguments)]
fn one_row(
    opts: &BrokerBenchOptions,
    url: &str,
    run: &str,
    name: &str,
    payload_file: &Path,
    bytes: usize,
    games: usize,
    publishers: usize,
) -> Result<BrokerRow> {
    let mut consumer = NatsTransport::connect(
        url,
        run,
        &NatsOptions {
            create: true,
            ..NatsOptions::default()
        },
    )?;
    consumer.open_games()?;
    let total = games * publishers;
    let children: Vec<_> = (0..publishers)
        .map(|i| {
            Command::new(&opts.exe)
                .args(["bench-publisher", "--url", url, "--run", run, "--games"])
                .arg(games.to_string())
                .arg("--payload")
                .arg(payload_file)
                .args(["--origin", &(i + 1).to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| Error::Transport(format!("starting a publisher: {e}")))
        })
        .collect::<Result<_>>()?;
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while received < total {
        for g in consumer.fetch_games(1000, Duration::from_millis(200))? {
            consumer.ack_game(&g)?;
            received += 1;
        }
        if Instant::now() > deadline {
            return Err(Error::Transport(format!(
                "only {received} of {total} games arrived"
            )));
        }
    }
    let end_ms = now_ms();
    let mut start_ms = f64::INFINITY;
    let mut lat = Vec::new();
    for c in children {
        let out = c
            .wait_with_output()
            .map_err(|e| Error::Transport(format!("publisher: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let r: PublisherReport = serde_json::from_str(text.trim())
            .map_err(|e| Error::Transport(format!("publisher report {text:?}: {e}")))?;
        start_ms = start_ms.min(r.start_ms);
        lat.extend(r.latencies_ms);
    }
    lat.sort_by(f64::total_cmp);
    let seconds = (end_ms - start_ms) / 1000.0;
    Ok(BrokerRow {
        payload: name.to_string(),
        bytes_per_game: bytes,
        publishers,
        games: total,
        seconds,
        games_per_second: total as f64 / seconds,
        mb_per_second: (total * bytes) as f64 / seconds / 1e6,
        ack_p50_ms: percentile(&lat, 0.50),
        ack_p99_ms: percentile(&lat, 0.99),
    })
}

/// Fills a spool with `spool_games` games while the broker is down, starts
/// the broker again, and times the worker's publisher draining it.
fn drain_after_restart(
    opts: &BrokerBenchOptions,
    server: &mut NatsServer,
    payload: &[u8],
) -> Result<DrainResult> {
    let run = "benchdrain";
    drop(NatsTransport::connect(
        &server.url(),
        run,
        &NatsOptions {
            create: true,
            ..NatsOptions::default()
        },
    )?);
    let spool = Spool::open(&opts.dir.join("spool"))?;
    for i in 0..opts.spool_games {
        spool.put(&GameId::hex(GameId::from_parts(0xd1, i as u64)), payload)?;
    }
    let (port, store) = (server.port, server.store.clone());
    server.kill();
    let url = format!("nats://127.0.0.1:{port}");
    // Restart the broker and drain the spool with the worker's publisher.
    *server = NatsServer::start(&store, Some(port))?;
    let t = Instant::now();
    let transport = NatsTransport::connect(&url, run, &NatsOptions::default())?;
    let left = crate::worker::drain_spool(Box::new(transport), &spool, Duration::from_secs(600))?;
    let seconds = t.elapsed().as_secs_f64();
    if left > 0 {
        return Err(Error::Transport(format!("{left} games left in the spool")));
    }
    Ok(DrainResult {
        games: opts.spool_games,
        seconds,
        games_per_second: opts.spool_games as f64 / seconds,
    })
}
