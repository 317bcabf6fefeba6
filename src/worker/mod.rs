//! `wgzero worker`: self-play for a run whose trainer is elsewhere. It reads
//! the run's settings and its `best` network from the transport (the network
//! checked by its id and cached locally), plays games with the usual
//! double-buffered driver, writes each finished game to the [`spool`] and
//! publishes it from a second thread, deleting it once acknowledged. It
//! polls `best` between batches (and while paused on the trainer's backlog)
//! and switches networks there; every game records the model that played it.
//!
//! Game ids are [`GameId`]s with a random 64-bit worker id drawn at start;
//! the self-play seeds derive from it, so two workers never play the same
//! games.

pub mod spool;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ConfigFile;
use crate::error::{Error, Result};
use crate::game::{mix64, Game};
use crate::net::{ModelBytes, ModelSource, NetEvaluator, Precision, Selected};
use crate::selfplay::records::{encode_game, GameId, GameRecord};
use crate::selfplay::{self as sp};
use crate::transport::{decode_network, encode_network, NetworkInfo, Transport};
use spool::{Spool, Spooled};

/// A log sink usable from the publishing thread.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// How a worker runs.
pub struct WorkerOptions<'a> {
    /// Where finished games wait for the broker's acknowledgement.
    pub spool: PathBuf,
    /// Where fetched networks are cached (by model id).
    pub cache: PathBuf,
    pub device: Selected,
    pub precision: Precision,
    /// Search threads (0: all cores).
    pub threads: usize,
    /// Games per self-play batch (between two looks at `best`);
    /// 0: the run's `selfplay.games`.
    pub chunk: usize,
    /// Stop after playing this many games (then drain the spool).
    pub max_games: Option<u64>,
    /// Pause while the trainer has at least this many games waiting (so
    /// that workers do not run ahead of it with stale networks); 0: never.
    pub max_backlog: u64,
    /// Set by Ctrl-C.
    pub interrupt: &'a AtomicBool,
    /// How long to keep publishing the spool after stopping.
    pub drain: Duration,
    /// Log every game spooled and published (by id).
    pub verbose: bool,
}

/// What a worker did.
#[derive(Debug, Default)]
pub struct WorkerSummary {
    pub worker_id: u64,
    pub games: u64,
    pub published: u64,
    /// Games still in the spool at exit (sent by the next worker to start).
    pub left_in_spool: usize,
    pub networks: Vec<String>,
}

/// Runs a worker: `connect` opens a transport (called twice: one for the
/// self-play thread, one for the publisher).
pub fn run_worker<G: Game>(
    game: &G,
    cfg: &ConfigFile,
    connect: &dyn Fn() -> Result<Box<dyn Transport>>,
    opts: &WorkerOptions<'_>,
    log: Log,
) -> Result<WorkerSummary> {
    let worker_id = loop {
        let id: u64 = rand::random();
        if id != 0 {
            break id;
        }
    };
    log(&format!("worker {worker_id:016x}"));
    let spool = Spool::open(&opts.spool)?;
    let mut transport = connect()?;
    let (tx, rx) = mpsc::channel::<Spooled>();
    let published = Arc::new(AtomicU64::new(0));
    let draining = Arc::new(AtomicBool::new(false));
    let publisher = {
        let t = connect()?;
        let spool = Spool::open(&opts.spool)?;
        let (published, draining, log) = (published.clone(), draining.clone(), log.clone());
        let (verbose, drain) = (opts.verbose, opts.drain);
        std::thread::Builder::new()
            .name("wgzero-publish".into())
            .spawn(move || publish_loop(t, spool, rx, &published, &draining, drain, verbose, &log))
            .map_err(|e| Error::Transport(format!("publisher thread: {e}")))?
    };
    let mut summary = WorkerSummary {
        worker_id,
        ..WorkerSummary::default()
    };
    let played = play_loop(
        game,
        cfg,
        transport.as_mut(),
        &spool,
        &tx,
        worker_id,
        opts,
        &log,
        &mut summary,
    );
    drop(tx);
    draining.store(true, Ordering::SeqCst);
    let left = publisher.join().unwrap_or(0);
    summary.published = published.load(Ordering::SeqCst);
    summary.left_in_spool = left;
    played.map(|()| summary)
}

/// Self-play batches until stopped, switching networks between batches.
#[allow(clippy::too_many_arguments)]
fn play_loop<G: Game>(
    game: &G,
    cfg: &ConfigFile,
    transport: &mut dyn Transport,
    spool: &Spool,
    tx: &mpsc::Sender<Spooled>,
    worker_id: u64,
    opts: &WorkerOptions<'_>,
    log: &Log,
    summary: &mut WorkerSummary,
) -> Result<()> {
    let stop = || opts.interrupt.load(Ordering::SeqCst);
    let Some(mut info) = wait_for_best(transport, &stop, log)? else {
        return Ok(());
    };
    let utility = cfg.selfplay.search.score_utility;
    let mut eval = open_network(game, transport, &info, opts, utility)?;
    log(&format!(
        "playing with network {} (iteration {})",
        info.model_id, info.iteration
    ));
    summary.networks.push(info.model_id.clone());
    let mut counter = 0u64;
    let mut chunk = 0u64;
    // A newer best not yet switched to (its fetch failed: retried).
    let mut wanted: Option<NetworkInfo> = None;
    loop {
        if stop() || opts.max_games.is_some_and(|m| counter >= m) {
            return Ok(());
        }
        match transport.poll_best() {
            Ok(Some(new)) => wanted = Some(new),
            Ok(None) => {}
            Err(e) => log(&format!("warning: cannot read best ({e}); playing on")),
        }
        if let Some(w) = wanted.take() {
            if w.model_id != info.model_id {
                match open_network(game, transport, &w, opts, utility) {
                    Ok(e) => {
                        eval = e;
                        info = w;
                        log(&format!(
                            "switched to network {} (iteration {})",
                            info.model_id, info.iteration
                        ));
                        summary.networks.push(info.model_id.clone());
                    }
                    Err(e) => {
                        log(&format!(
                            "warning: cannot fetch network {} ({e}); playing on with {}",
                            w.model_id, info.model_id
                        ));
                        wanted = Some(w); // retried after the next batch
                    }
                }
            }
        }
        match wait_for_trainer(transport, opts, &info.model_id, &stop, log) {
            Paused::Play => {}
            Paused::Stopped => return Ok(()),
            // A promotion while paused: switch now (above), then wait on.
            Paused::NewBest(w) => {
                wanted = Some(w);
                continue;
            }
        }
        let mut sp_cfg = cfg.selfplay.clone();
        let remaining = opts.max_games.map_or(u64::MAX, |m| m - counter);
        let per_chunk = if opts.chunk > 0 {
            opts.chunk
        } else {
            sp_cfg.games
        };
        sp_cfg.games = (per_chunk as u64).min(remaining) as usize;
        sp_cfg.seed = mix64(worker_id ^ mix64(chunk));
        sp_cfg.threads = opts.threads;
        chunk += 1;
        let mut sink = |mut g: GameRecord| -> Result<()> {
            g.game_id = GameId::from_parts(worker_id, counter);
            counter += 1;
            let id = GameId::hex(g.game_id);
            let s = spool.put(&id, &encode_game(game, &g))?;
            if opts.verbose {
                log(&format!("spooled {id}"));
            }
            let _ = tx.send(s);
            Ok(())
        };
        let played = sp::run_until(
            game,
            &mut eval,
            &info.model_id,
            &sp_cfg,
            &mut sink,
            &mut |_| {},
            &stop,
        );
        summary.games = counter;
        match played {
            Ok(r) => log(&format!(
                "batch {chunk}: {} games, {} positions, {:.1} games/s ({} games in all, network {})",
                r.games,
                r.positions,
                r.games as f64 / r.wall_seconds.max(1e-9),
                counter,
                info.model_id
            )),
            Err(Error::Interrupted) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// How a wait for the trainer ended.
enum Paused {
    /// The backlog is below the limit (or cannot be read): play.
    Play,
    /// Stopped meanwhile.
    Stopped,
    /// The trainer promoted a network other than `current` meanwhile: the
    /// worker switches to it before waiting on, so that a worker paused
    /// when the trainer finishes still ends on the latest network.
    NewBest(NetworkInfo),
}

/// Waits while the trainer's backlog is at `opts.max_backlog` or more. A
/// backlog that cannot be read (broker away) does not stop play: the spool
/// holds the games.
fn wait_for_trainer(
    transport: &mut dyn Transport,
    opts: &WorkerOptions<'_>,
    current: &str,
    stop: &dyn Fn() -> bool,
    log: &Log,
) -> Paused {
    if opts.max_backlog == 0 {
        return Paused::Play;
    }
    let mut said = false;
    loop {
        match transport.backlog() {
            Ok(n) if n >= opts.max_backlog => {
                if !said {
                    log(&format!("the trainer has {n} games waiting; pausing"));
                    said = true;
                }
            }
            _ => return Paused::Play,
        }
        if stop() {
            return Paused::Stopped;
        }
        if let Ok(Some(new)) = transport.poll_best() {
            if new.model_id != current {
                return Paused::NewBest(new);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The current `best`, waiting (and saying so) until the trainer puts one;
/// `None` when stopped meanwhile.
fn wait_for_best(
    transport: &mut dyn Transport,
    stop: &dyn Fn() -> bool,
    log: &Log,
) -> Result<Option<NetworkInfo>> {
    let mut said = false;
    loop {
        match transport.poll_best() {
            Ok(Some(info)) => return Ok(Some(info)),
            Ok(None) => {}
            Err(e) if !said => log(&format!("waiting for the broker: {e}")),
            Err(_) => {}
        }
        if !said {
            log(&format!(
                "waiting for a network from the trainer on {}",
                transport.describe()
            ));
            said = true;
        }
        if stop() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The network `info` names, from the local cache or the transport (then
/// cached), as an evaluator with a score utility of weight `score_utility`.
fn open_network<G: Game>(
    game: &G,
    transport: &mut dyn Transport,
    info: &NetworkInfo,
    opts: &WorkerOptions<'_>,
    score_utility: f32,
) -> Result<NetEvaluator> {
    let model = cached_network(transport, info, &opts.cache)?;
    let opened = ModelSource::Bytes(model).evaluator_scored(
        game,
        &opts.device,
        opts.precision,
        score_utility,
    )?;
    Ok(opened.eval)
}

/// `info`'s network: the cached copy if it checks out, else fetched (the
/// transport checks its digest, [`decode_network`] its model id) and cached.
pub fn cached_network(
    transport: &mut dyn Transport,
    info: &NetworkInfo,
    cache: &Path,
) -> Result<ModelBytes> {
    let path = cache.join(format!("{}.wgzn", info.object_name()));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(model) = decode_network(&bytes, info) {
            return Ok(model);
        }
    }
    let model = transport.get_network(info)?;
    std::fs::create_dir_all(cache)?;
    crate::files::write_atomic(&path, &encode_network(&model))?;
    Ok(model)
}

/// Publishes everything in `spool` with the worker's publisher (retrying
/// while the broker is away) for up to `limit`; the games left.
pub fn drain_spool(t: Box<dyn Transport>, spool: &Spool, limit: Duration) -> Result<usize> {
    let (tx, rx) = mpsc::channel::<Spooled>();
    drop(tx);
    let published = AtomicU64::new(0);
    let draining = AtomicBool::new(true);
    let log: Log = Arc::new(|_: &str| {});
    let spool = Spool::open(spool.dir())?;
    Ok(publish_loop(
        t, spool, rx, &published, &draining, limit, false, &log,
    ))
}

/// The publishing thread: sends what the spool holds (at start) and every
/// game spooled after, in pipelined batches; deletes each game once
/// acknowledged; retries with backoff while the broker is away. After the
/// self-play side stops (channel closed) it keeps going for up to `drain`.
/// Returns the number of games left in the spool.
#[allow(clippy::too_many_arguments)]
fn publish_loop(
    mut t: Box<dyn Transport>,
    spool: Spool,
    rx: mpsc::Receiver<Spooled>,
    published: &AtomicU64,
    draining: &AtomicBool,
    drain: Duration,
    verbose: bool,
    log: &Log,
) -> usize {
    let mut queue: std::collections::VecDeque<Spooled> = spool.list().unwrap_or_default().into();
    if !queue.is_empty() {
        log(&format!(
            "resending {} games found in the spool",
            queue.len()
        ));
    }
    let mut closed = false;
    let mut backoff = Duration::from_millis(100);
    let mut drain_until: Option<Instant> = None;
    let mut failing_since: Option<Instant> = None;
    loop {
        // Take what has arrived (wait a little when there is nothing to do).
        if queue.is_empty() && !closed {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(s) => queue.push_back(s),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => closed = true,
            }
        }
        while let Ok(s) = rx.try_recv() {
            queue.push_back(s);
        }
        if draining.load(Ordering::SeqCst) && drain_until.is_none() {
            drain_until = Some(Instant::now() + drain);
        }
        if queue.is_empty() {
            if closed {
                return 0;
            }
            continue;
        }
        if drain_until.is_some_and(|d| Instant::now() >= d) {
            log(&format!(
                "{} games left in the spool {} (sent when a worker starts with it)",
                queue.len(),
                spool.dir().display()
            ));
            return queue.len();
        }
        let n = queue.len().min(256);
        let batch: Vec<Spooled> = queue.drain(..n).collect();
        let mut msgs = Vec::with_capacity(batch.len());
        let mut sent = Vec::with_capacity(batch.len());
        for s in batch {
            // A file already gone was sent by another worker sharing the spool.
            if let Ok(bytes) = std::fs::read(&s.path) {
                msgs.push((s.id.clone(), bytes));
                sent.push(s);
            }
        }
        let results = t.publish_games(&msgs);
        let mut failed = Vec::new();
        let mut first_error = None;
        for (s, r) in sent.into_iter().zip(results) {
            match r {
                Ok(_) => {
                    let _ = spool.remove(&s);
                    published.fetch_add(1, Ordering::SeqCst);
                    if verbose {
                        log(&format!("published {}", s.id));
                    }
                }
                Err(Error::Rejected(why)) => match spool.reject(&s, &why) {
                    Ok(to) => log(&format!(
                        "game {} rejected by the broker for good ({why}): moved to {}, not retried",
                        s.id,
                        to.display()
                    )),
                    Err(e) => {
                        log(&format!(
                            "game {} rejected ({why}), and could not be moved aside: {e}",
                            s.id
                        ));
                        failed.push(s);
                    }
                },
                Err(e) => {
                    first_error.get_or_insert(e);
                    failed.push(s);
                }
            }
        }
        let failed_count = failed.len();
        for s in failed.into_iter().rev() {
            queue.push_front(s);
        }
        if failed_count > 0 {
            if failing_since.is_none() {
                log(&format!(
                    "warning: the broker did not take {failed_count} games ({}); they stay in the spool and are retried",
                    first_error.map(|e| e.to_string()).unwrap_or_default()
                ));
                failing_since = Some(Instant::now());
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        } else {
            if let Some(since) = failing_since.take() {
                log(&format!(
                    "the broker is back after {:.1} s",
                    since.elapsed().as_secs_f64()
                ));
            }
            backoff = Duration::from_millis(100);
        }
    }
}
