//! How games and networks travel between the processes of a run: workers
//! publish finished games, the trainer fetches and acknowledges them, the
//! trainer puts promoted networks and workers watch for the best one.
//!
//! One trait, [`Transport`], two implementations:
//! - [`FolderTransport`] (`dir:PATH`): a shared folder, one file per game
//!   (written atomically, deleted when acknowledged); for one machine or a
//!   shared file system;
//! - [`NatsTransport`] (`nats://HOST:PORT`): NATS JetStream: a work-queue
//!   stream of games (deduplicated by game id), a key-value bucket for the
//!   run's settings and the `best` pointer, an object store for networks.
//!
//! Both keep the same contract (tests/transport.rs runs one suite against
//! each): a game published once is delivered until it is acknowledged; a game
//! published twice under one id is kept once (within the broker's
//! deduplication window; the trainer also drops ids it already stored); a
//! network is stored before `best` names it; `best` reads back what was put.
//!
//! The single-process `wgzero train --run DIR` uses none of this.

mod folder;
mod nats;
pub mod server;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use folder::FolderTransport;
pub use nats::{NatsOptions, NatsTransport};

use crate::error::{Error, Result};
use crate::net::ModelBytes;

/// A game fetched from the transport, to be acknowledged once stored.
#[derive(Debug)]
pub struct Incoming {
    /// The game (a one-game record file, [`crate::selfplay::records::encode_game`]).
    pub payload: Vec<u8>,
    /// The game id the publisher gave (message id), if any.
    pub id: Option<String>,
    /// Position in the transport's order (stream sequence; 0 for a folder).
    pub sequence: u64,
    /// How many times it has been delivered (1 the first time).
    pub deliveries: u64,
    /// The transport's handle for [`Transport::ack_game`].
    pub(crate) token: u64,
}

/// What the transport said about a published game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// The transport already held a game with this id (kept once).
    pub duplicate: bool,
}

/// A network the trainer put: `best` points at one of these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// [`crate::net::network::model_id`] of its weights (checked on fetch).
    pub model_id: String,
    /// The training iteration that produced it (0: the first network).
    pub iteration: u64,
}

impl NetworkInfo {
    /// The network's object name in the store.
    pub fn object_name(&self) -> String {
        format!("net-{}", self.model_id)
    }
}

/// What a worker needs to play a run's games: the game and the run's
/// settings (`config.toml`), put by the trainer when it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// [`crate::game::Game::name`] (`connect4`, `gomoku15`, `go9`, ...).
    pub game: String,
    /// Komi, for Go.
    pub komi: Option<f32>,
    /// The run's effective settings file (TOML).
    pub config_toml: String,
}

/// The operations of a run's transport. Every call blocks until done; a
/// publish returns only once the game is stored by the transport (for NATS:
/// the stream's acknowledgement).
pub trait Transport: Send {
    /// Publishes finished games, each under its id (32 hex digits),
    /// pipelined; one result per game, in order.
    fn publish_games(&mut self, games: &[(String, Vec<u8>)]) -> Vec<Result<Published>>;

    /// Publishes one game.
    fn publish_game(&mut self, id: &str, payload: Vec<u8>) -> Result<Published> {
        self.publish_games(&[(id.to_string(), payload)])
            .pop()
            .expect("one result per game")
    }

    /// Starts (or restarts) consuming games: delivery begins at the oldest
    /// game not yet acknowledged, in publication order. Games handed out
    /// before and not acknowledged are delivered again.
    fn open_games(&mut self) -> Result<()>;

    /// Up to `max` games, waiting up to `wait` for the first.
    fn fetch_games(&mut self, max: usize, wait: Duration) -> Result<Vec<Incoming>>;

    /// Games published and not yet acknowledged (the trainer's backlog).
    fn backlog(&mut self) -> Result<u64>;

    /// Acknowledges a fetched game: it will not be delivered again.
    fn ack_game(&mut self, game: &Incoming) -> Result<()>;

    /// Stores a network, then points `best` at it.
    fn put_best(&mut self, info: &NetworkInfo, model: &ModelBytes) -> Result<()>;

    /// The network `best` points at, if any.
    fn best(&mut self) -> Result<Option<NetworkInfo>>;

    /// A `best` newer than the last one this returned (the first call
    /// returns the current one): cheap, for calling between batches.
    fn poll_best(&mut self) -> Result<Option<NetworkInfo>>;

    /// The network's weights and config, checked against its model id.
    fn get_network(&mut self, info: &NetworkInfo) -> Result<ModelBytes>;

    /// Puts the run's settings (the trainer, when it starts).
    fn put_settings(&mut self, settings: &RunSettings) -> Result<()>;

    /// The run's settings, if a trainer has put them.
    fn settings(&mut self) -> Result<Option<RunSettings>>;

    /// Where it connects, for messages.
    fn describe(&self) -> String;
}

/// Opens the transport a `--broker` value names for run `run`:
/// `nats://HOST:PORT` (or `tls://`), or `dir:PATH` (a shared folder).
/// `create`: the trainer creates the run's stream and buckets; a worker
/// only opens them (and says so while they do not exist yet).
pub fn connect(url: &str, run: &str, create: bool) -> Result<Box<dyn Transport>> {
    connect_with(
        url,
        run,
        &NatsOptions {
            create,
            ..NatsOptions::default()
        },
    )
}

/// [`connect`] with NATS options (stream replicas for a JetStream cluster).
pub fn connect_with(url: &str, run: &str, opts: &NatsOptions) -> Result<Box<dyn Transport>> {
    check_run_name(run)?;
    if let Some(path) = url.strip_prefix("dir:") {
        if path.is_empty() {
            return Err(Error::Config("--broker dir:PATH needs a folder".into()));
        }
        return Ok(Box::new(FolderTransport::open(
            std::path::Path::new(path),
            run,
        )?));
    }
    if url.starts_with("nats://") || url.starts_with("tls://") {
        return Ok(Box::new(NatsTransport::connect(url, run, opts)?));
    }
    Err(Error::Config(format!(
        "--broker {url:?}: give nats://HOST:PORT (NATS JetStream) or dir:PATH (a shared folder)"
    )))
}

/// `scheme://user:pass@host:port` -> (`scheme://host:port`, (user, pass));
/// `scheme://token@host` -> (..., (token, None)). The client takes
/// credentials as options, not from the URL; messages show the URL
/// without them.
pub(crate) fn split_credentials(url: &str) -> (String, Option<(String, Option<String>)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let creds = match userinfo.split_once(':') {
        Some((u, p)) => (u.to_string(), Some(p.to_string())),
        None => (userinfo.to_string(), None),
    };
    (format!("{scheme}://{host}"), Some(creds))
}

/// A `--broker` value fit to print: without a password or token.
pub fn redact(url: &str) -> String {
    match split_credentials(url) {
        (clean, Some(_)) => clean.replacen("://", "://***@", 1),
        (clean, None) => clean,
    }
}

/// `now` if it is a `best` other than `last` (which it then becomes): the
/// rule of [`Transport::poll_best`].
fn newer_best(last: &mut Option<NetworkInfo>, now: Option<NetworkInfo>) -> Option<NetworkInfo> {
    if now.is_some() && now != *last {
        last.clone_from(&now);
        return now;
    }
    None
}

/// A run name usable in stream, bucket and subject names: letters, digits,
/// `-` and `_`, at most 64 characters.
pub fn check_run_name(run: &str) -> Result<()> {
    let ok = !run.is_empty() && run.len() <= 64 && run.chars().all(name_char);
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "run name {run:?}: use 1-64 letters, digits, '-' or '_'"
        )))
    }
}

/// A character allowed in a run name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The run name a run folder gets on the broker: its last path component
/// with other characters replaced by `_`.
pub fn run_name_of(folder: &std::path::Path) -> String {
    let name = folder
        .canonicalize()
        .unwrap_or_else(|_| folder.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let clean: String = name
        .chars()
        .map(|c| if name_char(c) { c } else { '_' })
        .take(64)
        .collect();
    if clean.is_empty() {
        "run".into()
    } else {
        clean
    }
}

const NET_MAGIC: &[u8; 4] = b"WGZN";

/// A network as one blob: magic, config length (u32 LE), config JSON, weights.
pub fn encode_network(model: &ModelBytes) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + model.config_json.len() + model.weights.len());
    out.extend_from_slice(NET_MAGIC);
    out.extend_from_slice(&(model.config_json.len() as u32).to_le_bytes());
    out.extend_from_slice(model.config_json.as_bytes());
    out.extend_from_slice(&model.weights);
    out
}

/// Reads a blob of [`encode_network`] and checks it is `info`'s network.
pub fn decode_network(bytes: &[u8], info: &NetworkInfo) -> Result<ModelBytes> {
    let bad = |why: &str| Error::Model(format!("network {}: {why}", info.model_id));
    if bytes.len() < 8 || &bytes[..4] != NET_MAGIC {
        return Err(bad("not a wgzero network blob"));
    }
    let n = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    if 8 + n > bytes.len() {
        return Err(bad("truncated"));
    }
    let config_json =
        String::from_utf8(bytes[8..8 + n].to_vec()).map_err(|_| bad("config is not UTF-8"))?;
    let model = ModelBytes {
        label: format!("network {} (iteration {})", info.model_id, info.iteration),
        config_json,
        weights: bytes[8 + n..].to_vec(),
    };
    if model.model_id() != info.model_id {
        return Err(bad(&format!(
            "the weights' id is {}, not the one `best` names",
            model.model_id()
        )));
    }
    Ok(model)
}

fn json_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("{what}: {e}"))
}

/// `T` from JSON bytes a transport holds.
fn from_json<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| json_err(what, e))
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("serialises")
}
