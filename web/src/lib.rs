//! wgzero in a web browser: the shipped Connect Four and 9x9 Go networks
//! on the browser's GPU through WebGPU (or wgzero's CPU path compiled to
//! wasm), a game against them, the benchmark, and the checks the browser
//! tests run. The page (`web/www/`) runs all of it in a Web Worker.
//!
//! The JavaScript side sees one [`Engine`] per game; every method that
//! touches the device returns a `Promise` that resolves to JSON text.
#![cfg(target_arch = "wasm32")]

mod bench;
mod board;
mod checks;
mod session;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use wgzero::game::{Connect4, Go, Gomoku, TicTacToe};
use wgzero::mcts::SearchConfig;
use wgzero::net::browser::{open_cpu, open_webgpu};
use wgzero::net::{Network, Selected};

use board::BoardView;
use session::Session;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(text: &str);
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The module's linear memory in MiB: wasm memory only grows, so this is
/// the peak (the browser's counterpart of a process's peak RSS).
pub(crate) fn memory_mib() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()) / (1024.0 * 1024.0))
}

/// Milliseconds on the page's (or worker's) monotonic clock.
pub(crate) fn now_ms() -> f64 {
    performance_now()
}

/// Panics reach the browser's console with their message (a wasm panic
/// otherwise reads only "unreachable").
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("wgzero panicked: {info}"))
    }));
}

/// The games the page plays: those with a shipped network and a board.
// One per page, held for its life: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Connect4(Session<Connect4>),
    Go(Session<Go>),
}

/// Runs `$body` with `$s` bound to the session, whatever its game.
macro_rules! with_session {
    ($inner:expr, $s:ident => $body:expr) => {
        match $inner {
            Inner::Connect4($s) => $body,
            Inner::Go($s) => $body,
        }
    };
}

/// The session, held in turn by the engine and by the request that runs
/// (a request in progress has taken it out, so an overlapping one is told
/// the engine is busy instead of running on half-updated state).
type Cell = Rc<RefCell<Option<Inner>>>;

/// The session taken out of its [`Cell`] for one request, put back when
/// dropped (also when the request's future is dropped half-way).
struct Taken {
    cell: Cell,
    inner: Option<Inner>,
}

impl Taken {
    fn from(cell: &Cell) -> Result<Self, JsValue> {
        let inner = cell.try_borrow_mut().ok().and_then(|mut c| c.take());
        match inner {
            Some(inner) => Ok(Taken {
                cell: cell.clone(),
                inner: Some(inner),
            }),
            None => Err(busy()),
        }
    }

    fn session(&mut self) -> &mut Inner {
        self.inner.as_mut().expect("held until dropped")
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        *self.cell.borrow_mut() = self.inner.take();
    }
}

/// A game against a shipped network on one device.
#[wasm_bindgen]
pub struct Engine {
    inner: Cell,
    device: Value,
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Opens `game` (`connect4` or `go9`) with its shipped network on
/// `backend`: `webgpu` (the browser's adapter) or `cpu` (wgzero's gemm
/// path in wasm). The page checks WebGPU's presence and its
/// `timestamp-query` feature first and asks for `cpu` without them.
#[wasm_bindgen]
pub async fn open(game: String, backend: String) -> Result<Engine, JsValue> {
    let selected = match backend.as_str() {
        "webgpu" => webgpu().await?,
        "cpu" => open_cpu("asked for the CPU"),
        other => {
            return Err(js_error(format!(
                "unknown backend {other:?}: webgpu or cpu"
            )))
        }
    };
    let inner = match game.as_str() {
        "connect4" => Inner::Connect4(session(Connect4, &selected)?),
        "go9" => Inner::Go(session(Go::default(), &selected)?),
        other => return Err(js_error(format!("no page for {other:?}: connect4 or go9"))),
    };
    let device = json!({
        "backend": if selected.is_wgpu { "webgpu" } else { "cpu" },
        "chosen": selected.report.chosen,
        "reason": selected.report.reason,
        "cpu_path": selected.report.cpu_backend,
    });
    Ok(Engine {
        inner: Rc::new(RefCell::new(Some(inner))),
        device,
    })
}

/// A WGSL encoding kernel on WebGPU against the CPU reference: `game`
/// (`connect4`, `go9`, `gomoku15` or `tictactoe`: every board kernel) on
/// `n` random positions from `seed` (JSON with the mismatches).
#[wasm_bindgen]
pub async fn check_kernel(game: String, n: usize, seed: u32) -> Result<String, JsValue> {
    let selected = webgpu().await?;
    let seed = u64::from(seed);
    let out = match game.as_str() {
        "connect4" => checks::kernel(&Connect4, &selected, n, seed).await,
        "go9" => checks::kernel(&Go::default(), &selected, n, seed).await,
        "gomoku15" => checks::kernel(&Gomoku::default(), &selected, n, seed).await,
        "tictactoe" => checks::kernel(&TicTacToe, &selected, n, seed).await,
        other => return Err(js_error(format!("no kernel check for {other:?}"))),
    };
    Ok(out.map_err(js_error)?.to_string())
}

thread_local! {
    /// The WebGPU device, opened once: burn's runtime cannot be set up twice.
    static WEBGPU: RefCell<Option<Selected>> = const { RefCell::new(None) };
}

/// The browser's WebGPU device (opened at the first call).
async fn webgpu() -> Result<Selected, JsValue> {
    if let Some(selected) = WEBGPU.with(|w| w.borrow().clone()) {
        return Ok(selected);
    }
    let selected = open_webgpu().await.map_err(js_error)?;
    WEBGPU.with(|w| *w.borrow_mut() = Some(selected.clone()));
    Ok(selected)
}

/// A session of `game` against its shipped network on `selected`.
fn session<G: BoardView>(game: G, selected: &Selected) -> Result<Session<G>, JsValue> {
    let (config, weights) = wgzero::models::shipped(&game.name())
        .ok_or_else(|| js_error(format!("no shipped network for {}", game.name())))?;
    let net = Network::from_parts(
        game.clone(),
        config,
        weights.to_vec(),
        selected.device.clone(),
        selected.is_wgpu,
    )
    .map_err(js_error)?;
    Session::new(game, net, SearchConfig::default()).map_err(js_error)
}

#[wasm_bindgen]
impl Engine {
    /// The device the network runs on (JSON: backend, adapter, why).
    pub fn device(&self) -> String {
        self.device.to_string()
    }

    /// The position as the page draws it (JSON, see `Session::view`).
    pub fn view(&self) -> Result<String, JsValue> {
        let mut taken = Taken::from(&self.inner)?;
        Ok(with_session!(taken.session(), s => s.view()).to_string())
    }

    /// Plays `action` (checked).
    pub fn play(&self, action: usize) -> Result<(), JsValue> {
        let mut taken = Taken::from(&self.inner)?;
        with_session!(taken.session(), s => s.play(action)).map_err(js_error)
    }

    /// Plays the move of a click on (`row`, `col`); returns its action.
    pub fn play_at(&self, row: usize, col: usize) -> Result<usize, JsValue> {
        let mut taken = Taken::from(&self.inner)?;
        with_session!(taken.session(), s => s.play_at(row, col)).map_err(js_error)
    }

    /// Takes back the last `n` moves.
    pub fn undo(&self, n: usize) -> Result<(), JsValue> {
        let mut taken = Taken::from(&self.inner)?;
        with_session!(taken.session(), s => s.undo(n));
        Ok(())
    }

    /// Starts a new game.
    pub fn new_game(&self) -> Result<(), JsValue> {
        let mut taken = Taken::from(&self.inner)?;
        with_session!(taken.session(), s => s.new_game());
        Ok(())
    }

    /// The engine's move after `simulations` simulations, with its visit
    /// distribution, the network's prior and the values (JSON).
    pub fn think(&self, simulations: u32) -> js_sys::Promise {
        self.run(move |inner| async move {
            let mut taken = Taken::from(&inner)?;
            with_session!(taken.session(), s => s.think(simulations).await).map_err(js_error)
        })
    }

    /// The network's policy and value for the side to move (JSON).
    pub fn evaluate(&self) -> js_sys::Promise {
        self.run(|inner| async move {
            let mut taken = Taken::from(&inner)?;
            with_session!(taken.session(), s => s.evaluate().await).map_err(js_error)
        })
    }

    /// Forward evaluations/s over the benchmark's batch sizes, on the
    /// native benchmark's network (the game's default shape, random
    /// weights, seed 0) (JSON).
    pub fn bench_forward(&self, seconds: f64) -> js_sys::Promise {
        self.run(move |inner| async move {
            let mut taken = Taken::from(&inner)?;
            with_session!(taken.session(), s => bench::forward(s.network(), seconds).await)
                .map_err(js_error)
        })
    }

    /// Self-play moves/s and evaluations/s: `games` games in flight at
    /// `simulations` a move, the quick native suite's settings otherwise
    /// (JSON).
    pub fn bench_selfplay(&self, games: usize, simulations: u32, seconds: f64) -> js_sys::Promise {
        let plan = bench::SelfPlayPlan {
            games: games.clamp(1, 1024),
            simulations: simulations.clamp(1, session::MAX_SIMULATIONS),
            ..bench::SelfPlayPlan::default()
        };
        self.run(move |inner| async move {
            let mut taken = Taken::from(&inner)?;
            with_session!(taken.session(), s => bench::selfplay(s.network(), &plan, seconds).await)
                .map_err(js_error)
        })
    }

    /// The network's logits and values on positions given as move lists,
    /// one a line (JSON).
    pub fn outputs(&self, lines: String) -> js_sys::Promise {
        self.run(move |inner| async move {
            let mut taken = Taken::from(&inner)?;
            with_session!(taken.session(), s => checks::outputs(s.network(), &lines).await)
                .map_err(js_error)
        })
    }
}

impl Engine {
    /// A promise of `work`'s JSON, given the session.
    fn run<F, Fut>(&self, work: F) -> js_sys::Promise
    where
        F: FnOnce(Cell) -> Fut,
        Fut: Future<Output = Result<Value, JsValue>> + 'static,
    {
        let fut = work(self.inner.clone());
        future_to_promise(async move { fut.await.map(|v| JsValue::from_str(&v.to_string())) })
    }
}

/// A second call while one is running (the page sends one at a time).
fn busy() -> JsValue {
    js_error("the engine is busy with another request")
}
