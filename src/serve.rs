//! `wgzero serve`: the browser page (`web/www/`, built by `web/build.sh`)
//! served over HTTP on the loopback interface, so that a browser can load
//! its WebAssembly module and Web Worker (browsers refuse both from
//! `file://` pages).

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// What to serve and where.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The page's folder (default `web/www`); it must hold `index.html` and
    /// the built module `pkg/wgzero_web_bg.wasm`.
    pub dir: PathBuf,
    /// Address to listen on (default `127.0.0.1:8080`; port 0 picks a free one).
    pub addr: SocketAddr,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            dir: PathBuf::from("web/www"),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

/// The built module a page folder must hold.
pub const MODULE: &str = "pkg/wgzero_web_bg.wasm";

/// A listening server; [`Server::run`] answers requests until the process ends.
pub struct Server {
    http: tiny_http::Server,
    dir: PathBuf,
}

/// Checks the page folder and starts listening.
pub fn bind(cfg: &ServeConfig) -> Result<Server> {
    if !cfg.dir.join("index.html").is_file() {
        return Err(Error::Config(format!(
            "{} holds no index.html: give the page's folder (web/www in the repository)",
            cfg.dir.display()
        )));
    }
    if !cfg.dir.join(MODULE).is_file() {
        return Err(Error::Config(format!(
            "{} is missing: build the browser module first with `bash web/build.sh`",
            cfg.dir.join(MODULE).display()
        )));
    }
    let http = tiny_http::Server::http(cfg.addr)
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", cfg.addr)))?;
    Ok(Server {
        http,
        dir: cfg.dir.clone(),
    })
}

impl Server {
    /// The address it listens on (with the port chosen for port 0).
    pub fn addr(&self) -> Result<SocketAddr> {
        self.http
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::Config("the server has no IP address".into()))
    }

    /// Answers requests (GET and HEAD of the folder's files) until the
    /// process ends.
    pub fn run(self) -> Result<()> {
        for request in self.http.incoming_requests() {
            let response = respond(&self.dir, request.method(), request.url());
            // A client that went away is not the server's failure.
            let _ = request.respond(response);
        }
        Ok(())
    }
}

/// The response to `method url` from the files of `dir`.
fn respond(
    dir: &Path,
    method: &tiny_http::Method,
    url: &str,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    use tiny_http::{Header, Method, Response};
    let text = |code: u16, body: &str| {
        Response::from_string(body)
            .with_status_code(code)
            .with_header(
                Header::from_bytes("Content-Type", "text/plain; charset=utf-8")
                    .expect("valid header"),
            )
    };
    if !matches!(method, Method::Get | Method::Head) {
        return text(405, "only GET and HEAD");
    }
    let Some(path) = file_for(dir, url) else {
        return text(404, "not found");
    };
    match std::fs::read(&path) {
        Ok(body) => Response::from_data(body)
            .with_header(
                Header::from_bytes("Content-Type", content_type(&path)).expect("valid header"),
            )
            .with_header(Header::from_bytes("Cache-Control", "no-cache").expect("valid header")),
        Err(_) => text(404, "not found"),
    }
}

/// The file of `dir` that `url` names (`/` is `index.html`), or `None` for
/// a path that leaves the folder or names no file.
fn file_for(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = if path.ends_with('/') || path.is_empty() {
        dir.join(rel).join("index.html")
    } else {
        dir.join(rel)
    };
    full.is_file().then_some(full)
}

/// The Content-Type of a page file (browsers compile WebAssembly as it
/// streams only as `application/wasm`, and load module workers only as
/// JavaScript).
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let dir = std::env::temp_dir().join(format!("wgzero-serve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("pkg/a.wasm"), [0u8, 97, 115, 109]).unwrap();
        assert_eq!(file_for(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(file_for(&dir, "/?game=go9"), Some(dir.join("index.html")));
        assert_eq!(file_for(&dir, "/pkg/a.wasm"), Some(dir.join("pkg/a.wasm")));
        assert_eq!(file_for(&dir, "/../Cargo.toml"), None);
        assert_eq!(file_for(&dir, "/pkg/../../x"), None);
        assert_eq!(file_for(&dir, "/missing.js"), None);
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("worker.js")),
            "text/javascript; charset=utf-8"
        );
        let r = respond(&dir, &tiny_http::Method::Post, "/");
        assert_eq!(r.status_code().0, 405);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_without_the_page_or_its_module_is_refused() {
        let dir = std::env::temp_dir().join(format!("wgzero-serve-bind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = ServeConfig {
            dir: dir.clone(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let err = bind(&cfg).err().expect("no index.html").to_string();
        assert!(err.contains("no index.html"), "{err}");
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        let err = bind(&cfg).err().expect("no module").to_string();
        assert!(err.contains("bash web/build.sh"), "{err}");
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join(MODULE), [0u8, 97, 115, 109]).unwrap();
        let server = bind(&cfg).expect("binds");
        assert_ne!(server.addr().unwrap().port(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
