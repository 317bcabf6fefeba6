//! [`super::Transport`] over NATS JetStream (`--broker nats://HOST:PORT`).
//!
//! For run `R`:
//! - stream `WGZERO_R_GAMES` (subject `wgzero.R.games`, file storage,
//!   work-queue retention: a game is removed once the trainer acknowledges
//!   it), deduplicated by the `Nats-Msg-Id` header (the game id) within the
//!   stream's duplicate window (2 minutes by default);
//! - durable pull consumer `trainer` (explicit acknowledgements); the trainer
//!   recreates it when it starts, so delivery resumes at the oldest
//!   unacknowledged game, in stream order, at once (no wait for the
//!   acknowledgement timeout of games the killed trainer held);
//! - key-value bucket `WGZERO_R` (keys `settings`, `best`) and object store
//!   `WGZERO_R_NETS` (one object per network).
//!
//! The client (async-nats) runs on a small tokio runtime owned by the
//! transport; every trait call blocks on it. The client reconnects by
//! itself after the server restarts; calls made meanwhile fail with
//! [`Error::Transport`] and are retried by their callers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::{
    decode_network, encode_network, from_json, newer_best, split_credentials, to_json, Incoming,
    NetworkInfo, Published, RunSettings, Transport,
};
use crate::error::{Error, Result};
use crate::net::ModelBytes;

/// How to connect and, for the trainer, what to create.
#[derive(Clone, Debug)]
pub struct NatsOptions {
    /// Create the run's stream and buckets (the trainer); else wait for them.
    pub create: bool,
    /// Stream replicas (1 on a single server; 3 on a 3-node cluster).
    pub replicas: usize,
    /// How long a publish or request waits for the server. Default: 10 s.
    pub timeout: Duration,
    /// The stream's duplicate window. Default: 2 minutes (JetStream's).
    pub duplicate_window: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            create: false,
            replicas: 1,
            timeout: Duration::from_secs(10),
            duplicate_window: Duration::from_secs(120),
        }
    }
}

struct Names {
    stream: String,
    subject: String,
    bucket: String,
    objects: String,
}

impl Names {
    fn of(run: &str) -> Self {
        Names {
            stream: format!("WGZERO_{run}_GAMES"),
            subject: format!("wgzero.{run}.games"),
            bucket: format!("WGZERO_{run}"),
            objects: format!("WGZERO_{run}_NETS"),
        }
    }
}

const CONSUMER: &str = "trainer";

pub struct NatsTransport {
    rt: tokio::runtime::Runtime,
    url: String,
    run: String,
    opts: NatsOptions,
    names: Names,
    js: jetstream::Context,
    consumer: Option<consumer::PullConsumer>,
    pending: HashMap<u64, jetstream::Message>,
    next_token: u64,
    /// Set by the `best` watch task; taken by `poll_best`.
    watched: Arc<Mutex<Option<NetworkInfo>>>,
    watching: bool,
    last_best: Option<NetworkInfo>,
    /// Publish-to-acknowledgement time of each game of the last
    /// `publish_games` call (for the broker benchmark).
    pub last_latencies: Vec<Duration>,
    /// The server's last "Permissions Violation for Publish" error (it
    /// comes as an asynchronous event; the publish itself only times out).
    denied: Arc<Mutex<Option<String>>>,
    /// Whether this connection holds the run's trainer lease.
    claimed: bool,
}

/// The run's trainer lease in its bucket: one trainer consumes a run's
/// games (a second would recreate, and so steal, the durable consumer).
const TRAINER_KEY: &str = "trainer";
/// A lease not renewed for this long is free (the holder died elsewhere).
const LEASE: Duration = Duration::from_secs(20);
/// How often the holder renews it.
const LEASE_RENEW: Duration = Duration::from_secs(5);

/// Who holds the trainer lease, and when it last said so.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct TrainerClaim {
    host: String,
    pid: u32,
    /// Milliseconds since the Unix epoch.
    beat_ms: u64,
}

impl TrainerClaim {
    fn mine() -> Self {
        TrainerClaim {
            host: crate::process::host_name(),
            pid: std::process::id(),
            beat_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Whether `self` (read from the bucket) still holds the lease against
    /// `me`: not ours, renewed recently, and not a dead process of this host.
    fn blocks(&self, me: &TrainerClaim) -> bool {
        let same_host = self.host == me.host;
        if same_host && self.pid == me.pid {
            return false;
        }
        if same_host && !crate::process::is_alive(self.pid) {
            return false;
        }
        me.beat_ms.saturating_sub(self.beat_ms) < LEASE.as_millis() as u64
    }
}

/// A failed publish as a typed error: [`Error::Rejected`] where retrying
/// cannot help (over the payload limit, forbidden, refused by the stream
/// for its size), else [`Error::Transport`].
fn publish_error(
    what: &str,
    e: &jetstream::context::PublishError,
    denied: Option<&str>,
    subject: &str,
) -> Error {
    use jetstream::context::PublishErrorKind as K;
    let text = format!("{what}: {e}");
    let source = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    match e.kind() {
        K::MaxPayloadExceeded => Error::Rejected(format!("{text} ({source})")),
        K::Other if source.contains("maximum message size") || source.contains("10054") => {
            Error::Rejected(format!("{text} ({source})"))
        }
        K::TimedOut | K::Other if denied.is_some_and(|d| d.contains(subject)) => {
            Error::Rejected(format!(
                "the broker forbids this user to publish to {subject} ({})",
                denied.unwrap_or_default()
            ))
        }
        _ => Error::Transport(text),
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("{what}: {e}"))
}

impl NatsTransport {
    /// Connects to `url` for run `run` (creating the run's stream and
    /// buckets when `opts.create`).
    pub fn connect(url: &str, run: &str, opts: &NatsOptions) -> Result<Self> {
        super::check_run_name(run)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wgzero-nats")
            .enable_all()
            .build()
            .map_err(|e| err("tokio runtime", e))?;
        let timeout = opts.timeout;
        let (url, creds) = split_credentials(url);
        let url = url.as_str();
        let denied: Arc<Mutex<Option<String>>> = Arc::default();
        let seen = denied.clone();
        let mut options = async_nats::ConnectOptions::new().event_callback(move |event| {
            let seen = seen.clone();
            async move {
                if let async_nats::Event::ServerError(async_nats::ServerError::Other(m)) = event {
                    if m.to_ascii_lowercase()
                        .contains("permissions violation for publish")
                    {
                        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
                    }
                }
            }
        });
        match creds {
            Some((user, Some(pass))) => options = options.user_and_password(user, pass),
            Some((token, None)) => options = options.token(token),
            None => {}
        }
        let client = rt.block_on(async {
            let connect = options
                .name(format!("wgzero {run}"))
                .connection_timeout(timeout)
                .request_timeout(Some(timeout))
                .max_reconnects(None)
                .connect(url);
            tokio::time::timeout(timeout + Duration::from_secs(1), connect)
                .await
                .map_err(|_| err(&format!("cannot reach the broker at {url}"), "timed out"))?
                .map_err(|e| err(&format!("cannot reach the broker at {url}"), e))
        })?;
        // The context spawns a task: inside the runtime.
        let mut js = {
            let _entered = rt.enter();
            jetstream::new(client)
        };
        js.set_timeout(timeout);
        let t = NatsTransport {
            rt,
            url: url.to_string(), // without credentials
            run: run.to_string(),
            opts: opts.clone(),
            names: Names::of(run),
            js,
            consumer: None,
            pending: HashMap::new(),
            next_token: 1,
            watched: Arc::new(Mutex::new(None)),
            watching: false,
            last_best: None,
            last_latencies: Vec::new(),
            denied,
            claimed: false,
        };
        if opts.create {
            t.create()?;
        }
        Ok(t)
    }

    /// Creates (or checks) the run's stream, bucket and object store.
    fn create(&self) -> Result<()> {
        let n = &self.names;
        let replicas = self.opts.replicas;
        let window = self.opts.duplicate_window;
        self.rt.block_on(async {
            self.js
                .get_or_create_stream(stream::Config {
                    name: n.stream.clone(),
                    subjects: vec![n.subject.clone()],
                    retention: stream::RetentionPolicy::WorkQueue,
                    storage: stream::StorageType::File,
                    num_replicas: replicas,
                    duplicate_window: window,
                    ..Default::default()
                })
                .await
                .map_err(|e| err(&format!("creating stream {}", n.stream), e))?;
            if self.js.get_key_value(&n.bucket).await.is_err() {
                self.js
                    .create_key_value(kv::Config {
                        bucket: n.bucket.clone(),
                        history: 8,
                        num_replicas: replicas,
                        storage: stream::StorageType::File,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| err(&format!("creating bucket {}", n.bucket), e))?;
            }
            if self.js.get_object_store(&n.objects).await.is_err() {
                self.js
                    .create_object_store(object_store::Config {
                        bucket: n.objects.clone(),
                        num_replicas: replicas,
                        storage: stream::StorageType::File,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| err(&format!("creating object store {}", n.objects), e))?;
            }
            Ok(())
        })
    }

    fn kv(&self) -> Result<kv::Store> {
        self.rt.block_on(async {
            self.js
                .get_key_value(&self.names.bucket)
                .await
                .map_err(|e| {
                    err(
                        &format!(
                            "run {:?} on {} (bucket {}; has its trainer started?)",
                            self.run, self.url, self.names.bucket
                        ),
                        e,
                    )
                })
        })
    }

    fn objects(&self) -> Result<object_store::ObjectStore> {
        self.rt.block_on(async {
            self.js
                .get_object_store(&self.names.objects)
                .await
                .map_err(|e| err(&format!("object store {}", self.names.objects), e))
        })
    }

    /// Takes the run's trainer lease (the `trainer` key of its bucket), or
    /// refuses naming the trainer that holds it; then renews it in the
    /// background for as long as this connection lives.
    fn claim_trainer(&mut self) -> Result<()> {
        if self.claimed {
            return Ok(());
        }
        let store = self.kv()?;
        let me = TrainerClaim::mine();
        let (run, url) = (self.run.clone(), self.url.clone());
        self.rt.block_on(async {
            let entry = store
                .entry(TRAINER_KEY)
                .await
                .map_err(|e| err("reading the trainer lease", e))?;
            let taken = |why: String| {
                Error::Config(format!(
                    "run {run:?} on {url} already has a trainer ({why}); stop it first, or give this run another name"
                ))
            };
            let value = to_json(&me);
            match entry {
                Some(e) => {
                    if e.operation == kv::Operation::Put {
                        if let Ok(held) = serde_json::from_slice::<TrainerClaim>(&e.value) {
                            if held.blocks(&me) {
                                return Err(taken(format!(
                                    "pid {} on {}, seen {:.0} s ago",
                                    held.pid,
                                    held.host,
                                    me.beat_ms.saturating_sub(held.beat_ms) as f64 / 1e3
                                )));
                            }
                        }
                    }
                    store
                        .update(TRAINER_KEY, value.into(), e.revision)
                        .await
                        .map_err(|e| taken(format!("another one claimed it just now: {e}")))?;
                }
                None => {
                    store
                        .create(TRAINER_KEY, value.into())
                        .await
                        .map_err(|e| taken(format!("another one claimed it just now: {e}")))?;
                }
            }
            Ok::<_, Error>(())
        })?;
        self.rt.spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEW).await;
                let _ = store
                    .put(TRAINER_KEY, to_json(&TrainerClaim::mine()).into())
                    .await;
            }
        });
        self.claimed = true;
        Ok(())
    }

    /// Starts the task that follows `best` (a watch on the key).
    fn start_watch(&mut self) -> Result<()> {
        let store = self.kv()?;
        let slot = self.watched.clone();
        self.rt.spawn(async move {
            loop {
                if let Ok(mut w) = store.watch("best").await {
                    while let Some(Ok(entry)) = w.next().await {
                        if entry.operation == kv::Operation::Put {
                            if let Ok(info) = serde_json::from_slice::<NetworkInfo>(&entry.value) {
                                *slot.lock().expect("not poisoned") = Some(info);
                            }
                        }
                    }
                }
                // The watch ended (server restart): watch again.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        self.watching = true;
        Ok(())
    }
}

impl Transport for NatsTransport {
    fn publish_games(&mut self, games: &[(String, Vec<u8>)]) -> Vec<Result<Published>> {
        let subject = self.names.subject.clone();
        let js = &self.js;
        let latencies = &mut self.last_latencies;
        latencies.clear();
        let results = self.rt.block_on(async {
            // Send all, then wait for every acknowledgement (they come back
            // in order, so each is timed from its own send).
            let mut acks = Vec::with_capacity(games.len());
            for (id, payload) in games {
                let msg = jetstream::message::PublishMessage::build()
                    .payload(payload.clone().into())
                    .message_id(id);
                let sent = std::time::Instant::now();
                acks.push((sent, js.send_publish(subject.clone(), msg).await));
            }
            let mut out = Vec::with_capacity(games.len());
            for (sent, ack) in acks {
                let r = match ack {
                    Ok(fut) => fut
                        .await
                        .map(|a| Published {
                            duplicate: a.duplicate,
                        })
                        .map_err(|e| ("publish not acknowledged", e)),
                    Err(e) => Err(("publish", e)),
                };
                latencies.push(sent.elapsed());
                out.push(r);
            }
            out
        });
        let denied = self
            .denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        results
            .into_iter()
            .map(|r| r.map_err(|(what, e)| publish_error(what, &e, denied.as_deref(), &subject)))
            .collect()
    }

    fn open_games(&mut self) -> Result<()> {
        self.claim_trainer()?;
        let n = &self.names;
        let js = &self.js;
        let c = self.rt.block_on(async {
            let s = js
                .get_stream(&n.stream)
                .await
                .map_err(|e| err(&format!("games stream {}", n.stream), e))?;
            // A fresh consumer: delivery starts at the oldest unacknowledged
            // game, in stream order.
            let _ = s.delete_consumer(CONSUMER).await;
            s.create_consumer(consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 10_000,
                ..Default::default()
            })
            .await
            .map_err(|e| err("creating the trainer's consumer", e))
        })?;
        self.pending.clear();
        self.consumer = Some(c);
        Ok(())
    }

    fn fetch_games(&mut self, max: usize, wait: Duration) -> Result<Vec<Incoming>> {
        let Some(c) = &self.consumer else {
            return Err(Error::Transport("fetch before open_games".into()));
        };
        let batch = self.rt.block_on(async {
            let mut msgs = c
                .fetch()
                .max_messages(max.max(1))
                .expires(wait.max(Duration::from_millis(10)))
                .messages()
                .await
                .map_err(|e| err("fetching games", e))?;
            let mut out = Vec::new();
            while let Some(m) = msgs.next().await {
                match m {
                    Ok(m) => out.push(m),
                    Err(e) => {
                        if out.is_empty() {
                            return Err(err("fetching games", e));
                        }
                        break;
                    }
                }
            }
            Ok(out)
        })?;
        let mut out = Vec::with_capacity(batch.len());
        for m in batch {
            let (sequence, deliveries) = m
                .info()
                .map(|i| (i.stream_sequence, i.delivered as u64))
                .unwrap_or((0, 1));
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string());
            let token = self.next_token;
            self.next_token += 1;
            out.push(Incoming {
                payload: m.payload.to_vec(),
                id,
                sequence,
                deliveries,
                token,
            });
            self.pending.insert(token, m);
        }
        Ok(out)
    }

    fn backlog(&mut self) -> Result<u64> {
        // Work-queue retention: the stream holds exactly the games not yet
        // acknowledged.
        self.rt.block_on(async {
            let mut s = self
                .js
                .get_stream(&self.names.stream)
                .await
                .map_err(|e| err("games stream", e))?;
            Ok(s.info()
                .await
                .map_err(|e| err("games stream", e))?
                .state
                .messages)
        })
    }

    fn ack_game(&mut self, game: &Incoming) -> Result<()> {
        let Some(m) = self.pending.remove(&game.token) else {
            return Err(Error::Transport(
                "acknowledging a game not handed out".into(),
            ));
        };
        self.rt
            .block_on(m.double_ack())
            .map_err(|e| err("acknowledging a game", e))
    }

    fn put_best(&mut self, info: &NetworkInfo, model: &ModelBytes) -> Result<()> {
        let objects = self.objects()?;
        let store = self.kv()?;
        let blob = encode_network(model);
        let name = info.object_name();
        self.rt.block_on(async {
            let mut reader: &[u8] = &blob;
            objects
                .put(name.as_str(), &mut reader)
                .await
                .map_err(|e| err(&format!("storing network {name}"), e))?;
            store
                .put("best", to_json(info).into())
                .await
                .map_err(|e| err("putting best", e))?;
            Ok(())
        })
    }

    fn best(&mut self) -> Result<Option<NetworkInfo>> {
        let store = self.kv()?;
        let v = self
            .rt
            .block_on(store.get("best"))
            .map_err(|e| err("reading best", e))?;
        v.map(|b| from_json("best", &b)).transpose()
    }

    fn poll_best(&mut self) -> Result<Option<NetworkInfo>> {
        if !self.watching {
            self.start_watch()?;
        }
        let seen = self.watched.lock().expect("not poisoned").take();
        // The watch gives updates; a read covers the first call and any
        // update missed while the connection was down.
        let now = match seen {
            Some(info) => Some(info),
            None => self.best()?,
        };
        Ok(newer_best(&mut self.last_best, now))
    }

    fn get_network(&mut self, info: &NetworkInfo) -> Result<ModelBytes> {
        let objects = self.objects()?;
        let name = info.object_name();
        let bytes = self.rt.block_on(async {
            let mut obj = objects
                .get(name.as_str())
                .await
                .map_err(|e| err(&format!("network {name}"), e))?;
            let mut bytes = Vec::new();
            // The client checks the object's SHA-256 digest as it reads.
            obj.read_to_end(&mut bytes)
                .await
                .map_err(|e| err(&format!("reading network {name}"), e))?;
            Ok::<_, Error>(bytes)
        })?;
        decode_network(&bytes, info)
    }

    fn put_settings(&mut self, settings: &RunSettings) -> Result<()> {
        let store = self.kv()?;
        self.rt
            .block_on(store.put("settings", to_json(settings).into()))
            .map_err(|e| err("putting settings", e))?;
        Ok(())
    }

    fn settings(&mut self) -> Result<Option<RunSettings>> {
        let Ok(store) = self.kv() else {
            return Ok(None);
        };
        let v = self
            .rt
            .block_on(store.get("settings"))
            .map_err(|e| err("reading settings", e))?;
        v.map(|b| from_json("settings", &b)).transpose()
    }

    fn describe(&self) -> String {
        format!("NATS {} (run {})", self.url, self.run)
    }
}

impl Drop for NatsTransport {
    /// A trainer that stops cleanly frees its lease at once (a killed one's
    /// lapses: at once for a restart on the same machine, after the lease
    /// time elsewhere).
    fn drop(&mut self) {
        if self.claimed {
            if let Ok(store) = self.kv() {
                let _ = self.rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(2), store.delete(TRAINER_KEY)).await
                });
            }
        }
    }
}
