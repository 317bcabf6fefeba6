//! The browser build in a real browser: headless Chromium driven through
//! chromedriver (WebDriver), the page served by `wgzero serve`.
//!
//! Needs the built page (`bash web/build.sh`), `chromium` and
//! `chromedriver` (Debian packages of those names; other paths through
//! `WGZERO_CHROMIUM` and `WGZERO_CHROMEDRIVER`). Without them the tests
//! say so and pass, unless `WGZERO_REQUIRE_BROWSER=1` (CI sets it): then a
//! missing part fails them. Screenshots go to `target/browser-screenshots/`
//! (or `$WGZERO_SCREENSHOTS`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use wgzero::game::{Connect4, Game, Go};
use wgzero::net::cpu::CpuPrecision;
use wgzero::net::{select, BackendChoice, Network};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn required() -> bool {
    std::env::var("WGZERO_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// `var`'s path, else the first of `names` on PATH.
fn find_program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Where screenshots and figures go (created).
fn artifacts() -> PathBuf {
    let dir = std::env::var_os("WGZERO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/browser-screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Kills a child process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session on headless Chromium, with the page's server.
struct Browser {
    base: String,
    session: String,
    page: String,
    _driver: Killed,
    _server: Killed,
    _profile: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn post(url: &str, body: &Value) -> Value {
    let mut response = ureq::post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let text = response.body_mut().read_to_string().expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: {e}: {text}"))
}

fn get(url: &str) -> Option<Value> {
    let mut response = ureq::get(url).call().ok()?;
    let text = response.body_mut().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}

impl Browser {
    /// Chromium on the page with its engine started, or `None` (after
    /// saying why) when a part is missing and CI does not require it.
    fn started(query: &str) -> Option<Browser> {
        Self::started_with(query, true)
    }

    /// [`Browser::open_with`], then waits until the page's engine has
    /// started and checks that it did.
    fn started_with(query: &str, webgpu: bool) -> Option<Browser> {
        let b = Self::open_with(query, webgpu)?;
        assert_eq!(b.ready(), "ready", "{}", b.text("message"));
        Some(b)
    }

    /// Chromium on the page, with WebGPU on offer or not (`webgpu` false:
    /// Chromium's WebGPU switched off, as in a browser without it).
    fn open_with(query: &str, webgpu: bool) -> Option<Browser> {
        let missing = |what: String| {
            assert!(!required(), "WGZERO_REQUIRE_BROWSER=1 but {what}");
            eprintln!("skipping the browser test: {what}");
            None
        };
        let www = repo().join("web/www");
        if !www.join("pkg/wgzero_web_bg.wasm").is_file() {
            return missing("the page is not built (bash web/build.sh)".into());
        }
        let Some(chromium) = find_program("WGZERO_CHROMIUM", &["chromium", "chromium-browser"])
        else {
            return missing("chromium is not installed".into());
        };
        let Some(chromedriver) = find_program("WGZERO_CHROMEDRIVER", &["chromedriver"]) else {
            return missing("chromedriver is not installed".into());
        };

        // The page's server on a free loopback port: its first line names it.
        let mut server = Killed(
            Command::new(env!("CARGO_BIN_EXE_wgzero"))
                .args(["serve", "--port", "0", "--dir"])
                .arg(&www)
                .stdout(Stdio::piped())
                .spawn()
                .expect("wgzero serve starts"),
        );
        let mut line = String::new();
        BufReader::new(server.0.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("wgzero serve says where");
        let page = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();

        let port = free_port();
        let driver = Killed(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(&format!("{base}/status")).is_none_or(|s| s["value"]["ready"] != true) {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile =
            std::env::temp_dir().join(format!("wgzero-chromium-{}-{}", std::process::id(), port));
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            if webgpu {
                "--enable-unsafe-webgpu".into()
            } else {
                "--disable-features=WebGPU,WebGPUService".into()
            },
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !webgpu {
            args.push("--disable-gpu".into());
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let created = post(&format!("{base}/session"), &caps);
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        let browser = Browser {
            base,
            session,
            page,
            _driver: driver,
            _server: server,
            _profile: profile,
        };
        browser.command(
            "timeouts",
            &json!({ "script": 600_000, "pageLoad": 60_000 }),
        );
        browser.command("url", &json!({ "url": format!("{}{query}", browser.page) }));
        Some(browser)
    }

    fn command(&self, what: &str, body: &Value) -> Value {
        let out = post(
            &format!("{}/session/{}/{what}", self.base, self.session),
            body,
        );
        if let Some(e) = out["value"]["error"].as_str() {
            panic!("WebDriver {what}: {e}: {}", out["value"]["message"]);
        }
        out["value"].clone()
    }

    /// Runs `script` in the page; it ends by calling `done(value)`.
    fn run(&self, script: &str, args: Value) -> Value {
        let script = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.command("execute/async", &json!({ "script": script, "args": args }))
    }

    /// Waits until the page's engine has started (or failed) and returns
    /// the page's state.
    fn ready(&self) -> String {
        self.wait("document.body.dataset.state !== 'loading' && document.body.dataset.state !== 'thinking' && document.body.dataset.state", 300)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Polls the JavaScript expression `cond` until it is truthy (its
    /// value) or `secs` pass (panics).
    fn wait(&self, cond: &str, secs: u64) -> Value {
        let out = self.run(
            "const [cond, ms] = arguments; const t0 = Date.now();
             (function poll() {
               let v = null;
               try { v = eval(cond); } catch (e) {}
               if (v) return done({ ok: true, value: v });
               if (Date.now() - t0 > ms) return done({ ok: false });
               setTimeout(poll, 50);
             })();",
            json!([cond, secs * 1000]),
        );
        assert_eq!(
            out["ok"],
            true,
            "waited {secs} s for {cond}: {}",
            self.text("message")
        );
        out["value"].clone()
    }

    /// A request to the page's engine worker (`window.wgzero.call`).
    fn call(&self, cmd: &str, args: Value) -> Result<Value, String> {
        let out = self.run(
            "const [cmd, args] = arguments;
             window.wgzero.call(cmd, args).then(
               (result) => done({ ok: true, result }),
               (e) => done({ ok: false, problem: String(e.message || e) }));",
            json!([cmd, args]),
        );
        match out["ok"].as_bool() {
            Some(true) => Ok(out["result"].clone()),
            _ => Err(out["problem"].as_str().unwrap_or("no answer").to_string()),
        }
    }

    fn text(&self, id: &str) -> String {
        let out = self.run(
            "const e = document.getElementById(arguments[0]); done(e ? e.textContent : '');",
            json!([id]),
        );
        out.as_str().unwrap_or("").to_string()
    }

    fn click(&self, css: &str) {
        let found = self.command("element", &json!({ "using": "css selector", "value": css }));
        let id = found[ELEMENT].as_str().expect("an element id").to_string();
        self.command(&format!("element/{id}/click"), &json!({}));
    }

    /// Saves a screenshot of the page as `name`.png and returns its path.
    fn screenshot(&self, name: &str) -> PathBuf {
        let out = get(&format!(
            "{}/session/{}/screenshot",
            self.base, self.session
        ))
        .expect("a screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(out["value"].as_str().expect("base64"))
            .expect("valid base64");
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

/// Fixed positions of each game (move lists), the same on both sides.
const CONNECT4_POSITIONS: &str = "\n4\n44\n4453\n1234567\n4444331\n12121233\n";
const GO9_POSITIONS: &str =
    "\nE5\nE5 D4\nC3 G7 E5 pass\nE5 E4 D4 D5 F5 F4\nA1 B2 C3 D4 E5 F6 G7 H8 J9\n";

/// The native CPU path's outputs (logits, values) of the shipped network
/// of `game` on `lines`, in f32 (not the bf16 products it picks on CPUs
/// with AVX512-BF16): the golden values.
fn native_outputs<G: Game>(game: G, lines: &str) -> (Vec<f32>, Vec<f32>) {
    let (config, weights) = wgzero::models::shipped(&game.name()).expect("shipped network");
    let cpu = select(BackendChoice::Cpu).expect("the CPU backend");
    let net = Network::from_parts(game.clone(), config, weights.to_vec(), cpu.device, false)
        .expect("the shipped network opens")
        .with_cpu_precision(CpuPrecision::F32);
    let mut states = vec![];
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let s = game.parse_position(line).expect("a valid position");
        let mut words = vec![0; game.packed_words()];
        game.pack(&s, &mut words);
        states.extend(words);
    }
    net.forward(&states).expect("native forward")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "output lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn webgpu_opens_and_the_encoding_kernels_equal_the_cpu_reference() {
    let Some(b) = Browser::started("?game=connect4&backend=webgpu") else {
        return;
    };
    let opened = b
        .call("open", json!({ "game": "connect4", "backend": "webgpu" }))
        .expect("WebGPU opens");
    assert_eq!(opened["device"]["backend"], "webgpu", "{opened}");
    for game in ["connect4", "go9", "gomoku15", "tictactoe"] {
        for seed in [1, 2] {
            let check = b
                .call(
                    "check_kernel",
                    json!({ "game": game, "n": 200, "seed": seed }),
                )
                .unwrap_or_else(|e| panic!("{game}: {e}"));
            assert_eq!(check["positions"], 200);
            assert!(check["values"].as_u64().unwrap() > 0);
            assert_eq!(check["mismatches"], 0, "{game}: {check}");
        }
    }
    let err = b
        .call(
            "check_kernel",
            json!({ "game": "chess", "n": 4, "seed": 1 }),
        )
        .expect_err("no chess kernel");
    assert!(err.contains("no kernel check"), "{err}");
}

#[test]
fn without_webgpu_the_page_runs_on_the_cpu_and_says_why() {
    let Some(b) = Browser::started_with("?game=connect4&backend=auto", false) else {
        return;
    };
    assert_eq!(
        b.wait("document.getElementById('device').dataset.backend", 10),
        "cpu"
    );
    let message = b.text("message");
    assert!(message.starts_with("Running on the CPU: "), "{message}");
    eprintln!("without WebGPU the page says: {message}");
    // The engine plays on the CPU.
    b.click(".cell[data-row='5'][data-col='3']");
    b.wait(
        "window.wgzero.page.thought && document.body.dataset.state === 'ready'",
        300,
    );
    // Asking for WebGPU by name gives the reason, not a blank page.
    b.command(
        "url",
        &json!({ "url": format!("{}?game=go9&backend=webgpu", b.page) }),
    );
    assert_eq!(b.ready(), "error");
    let message = b.text("message");
    assert!(message.contains("CPU (wasm)"), "{message}");
    assert!(b.text("device").contains("could not start"));
    b.screenshot("no-webgpu-asked-for-webgpu");
}

#[test]
fn shipped_networks_in_the_browser_match_the_native_cpu_path() {
    let Some(b) = Browser::started("?game=connect4&backend=cpu") else {
        return;
    };
    let c4 = native_outputs(Connect4, CONNECT4_POSITIONS);
    let go = native_outputs(Go::default(), GO9_POSITIONS);
    for backend in ["webgpu", "cpu"] {
        for (game, lines, (logits, values)) in [
            ("connect4", CONNECT4_POSITIONS, &c4),
            ("go9", GO9_POSITIONS, &go),
        ] {
            let out = b
                .call(
                    "outputs",
                    json!({ "game": game, "backend": backend, "lines": lines }),
                )
                .unwrap_or_else(|e| panic!("{game} on {backend}: {e}"));
            let (dl, dv) = (
                max_diff(&floats(&out["logits"]), logits),
                max_diff(&floats(&out["values"]), values),
            );
            eprintln!("{game} on {backend}: max |logit diff| {dl:.2e}, |value diff| {dv:.2e}");
            assert!(dl <= 1e-4 && dv <= 1e-4, "{game} on {backend}: {dl} {dv}");
        }
    }
}

#[test]
fn a_search_in_the_browser_returns_a_legal_move_and_bad_requests_are_refused() {
    let Some(b) = Browser::started("?game=go9&backend=cpu") else {
        return;
    };
    for backend in ["webgpu", "cpu"] {
        for game in ["connect4", "go9"] {
            let args = json!({ "game": game, "backend": backend });
            let view = b.call("new_game", args.clone()).expect("a new game");
            let legal = view["legal"].as_array().expect("legal moves").clone();
            let mut think = args.clone();
            think["simulations"] = json!(32);
            let out = b.call("think", think).expect("a search");
            let action = &out["thought"]["action"];
            assert!(
                legal.contains(action),
                "{game} on {backend}: {action} not in {legal:?}"
            );
            assert_eq!(out["view"]["moves"].as_array().unwrap().len(), 1);
            // Malformed requests give errors, not a dead worker.
            let mut bad = args.clone();
            bad["simulations"] = json!(0);
            assert!(b.call("think", bad).is_err());
            let mut bad = args.clone();
            bad["row"] = json!(40);
            bad["col"] = json!(0);
            assert!(b.call("play_at", bad).is_err());
            assert!(b.call("nonsense", args.clone()).is_err());
            b.call("undo", json!({ "game": game, "backend": backend, "n": 1 }))
                .expect("undo");
        }
    }
    let err = b
        .call("open", json!({ "game": "chess", "backend": "cpu" }))
        .expect_err("no chess");
    assert!(err.contains("connect4 or go9"), "{err}");
}

/// Plays a whole game on the page: the human side clicks the first legal
/// cell (Connect Four) or the engine plays both sides with the "Engine
/// move" button (Go), until the page shows a result.
fn whole_game(game: &str, backend: &str) {
    let Some(b) = Browser::started(&format!("?game={game}&backend={backend}")) else {
        return;
    };
    assert_eq!(
        b.wait("document.getElementById('device').dataset.backend", 10),
        backend
    );
    b.run(
        "document.getElementById('simulations').value = '16'; done(true);",
        json!([]),
    );
    // The first move by a click: the engine answers, the page shows its
    // policy and value.
    let first = if game == "connect4" {
        ".cell[data-row='0'][data-col='3']"
    } else {
        ".cell[data-row='4'][data-col='4']"
    };
    b.click(first);
    b.wait(
        "window.wgzero.page.thought && document.body.dataset.state === 'ready'",
        300,
    );
    let moves = b.wait("window.wgzero.page.view.moves.length", 10);
    assert_eq!(moves, 2, "a click and the engine's reply");
    assert!(b.text("policy").contains('%'), "no policy shown");
    assert!(b.text("value-text").contains("for"), "no value shown");
    b.screenshot(&format!("{game}-{backend}-first-move"));
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let view = b.wait("window.wgzero.page.view", 10);
        if !view["result"].is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{game} on {backend}: no result in time"
        );
        if game == "connect4" {
            let col = view["legal"][0].as_u64().expect("a legal move");
            b.click(&format!(".cell[data-row='0'][data-col='{col}']"));
        } else {
            b.click("#engine-move");
        }
        b.wait("document.body.dataset.state === 'ready'", 300);
        let message = b.text("message");
        assert!(message.is_empty(), "{game} on {backend}: {message}");
    }
    let status = b.text("status");
    assert!(
        status.contains("wins") || status.contains("Draw"),
        "{status}"
    );
    let path = b.screenshot(&format!("{game}-{backend}-end"));
    eprintln!("{game} on {backend}: {status} ({})", path.display());
}

#[test]
fn the_page_plays_a_whole_connect4_game_on_webgpu() {
    whole_game("connect4", "webgpu");
}

#[test]
fn the_page_plays_a_whole_connect4_game_on_the_cpu_fallback() {
    whole_game("connect4", "cpu");
}

#[test]
fn the_page_plays_a_whole_go_game_on_webgpu() {
    whole_game("go9", "webgpu");
}

#[test]
fn the_page_plays_a_whole_go_game_on_the_cpu_fallback() {
    whole_game("go9", "cpu");
}

#[test]
fn the_page_runs_its_benchmark() {
    let Some(b) = Browser::started("?game=connect4&backend=cpu") else {
        return;
    };
    b.click("#run-bench");
    b.wait(
        "window.wgzero.bench && document.body.dataset.state === 'ready'",
        300,
    );
    let shown = b.run(
        "done(document.getElementById('bench-json').value);",
        json!([]),
    );
    let out: Value =
        serde_json::from_str(shown.as_str().expect("the JSON shown")).expect("valid JSON");
    let forward = out["forward"]["points"].as_array().expect("forward points");
    assert_eq!(forward.len(), 5);
    assert!(forward
        .iter()
        .all(|p| p["evals_per_s"].as_f64().unwrap() > 0.0));
    assert!(out["selfplay"]["moves_per_s"].as_f64().unwrap() > 0.0);
    assert!(out["selfplay"]["wasm_memory_mib"].as_f64().unwrap() > 1.0);
    assert_eq!(out["device"]["backend"], "cpu");
    assert!(b.text("bench-table").contains("evaluations/s"));
    b.screenshot("connect4-cpu-benchmark");
}

/// The browser's benchmark figures on both devices, for the docs:
/// `cargo test --release --test browser -- --ignored --nocapture
/// browser_benchmark_figures` (with `wgzero bench --quick` beside it for
/// the native figures of the same machine). Writes
/// `bench-<game>-<device>.json` beside the screenshots.
#[test]
#[ignore = "a measurement, not a check: run it on its own"]
fn browser_benchmark_figures() {
    let Some(b) = Browser::started("?game=connect4&backend=cpu") else {
        return;
    };
    for game in ["connect4", "go9"] {
        for backend in ["webgpu", "cpu"] {
            let out = b
                .call(
                    "bench",
                    json!({ "game": game, "backend": backend, "seconds": 0.6 }),
                )
                .unwrap_or_else(|e| panic!("{game} on {backend}: {e}"));
            let path = artifacts().join(format!("bench-{game}-{backend}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
            println!("{game} on {backend}: {out}");
        }
    }
}
