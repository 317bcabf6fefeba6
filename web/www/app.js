// The page: draws the board and the engine's analysis, and sends every
// request to the engine's Web Worker (worker.js), which runs wgzero.

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const waiting = new Map();

worker.onmessage = (event) => {
  const { id, ok, result, error } = event.data;
  const pending = waiting.get(id);
  waiting.delete(id);
  if (pending) ok ? pending.resolve(result) : pending.reject(new Error(error));
};
worker.onerror = (event) => {
  showMessage(`The engine's worker failed to start: ${event.message || "see the console"}`, true);
  document.body.dataset.state = "error";
};

// One request to the worker; resolves to its result.
function call(cmd, args = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, cmd, args });
  });
}

const page = { game: "connect4", backend: "auto", view: null, thought: null, busy: false };
// For scripted use (the browser tests): requests, and what the page shows.
window.wgzero = { call, page };

function showMessage(text, isError = false) {
  const m = $("message");
  m.hidden = !text;
  m.textContent = text || "";
  m.classList.toggle("error", isError);
}

function args(extra = {}) {
  return { game: page.game, backend: page.backend, ...extra };
}

function moveName(view, action) {
  if (view.pass !== null && action === view.pass) return "pass";
  if (view.game === "connect4") return String(action + 1);
  const letters = "ABCDEFGHJKLMNOPQRST";
  const row = Math.floor(action / view.cols), col = action % view.cols;
  return `${letters[col]}${view.rows - row}`;
}

function render() {
  const view = page.view;
  if (!view) return;
  const board = $("board");
  board.className = view.game;
  board.style.gridTemplateColumns = `repeat(${view.cols}, auto)`;
  board.replaceChildren();
  const policy = page.thought ? page.thought.policy : null;
  const top = policy ? Math.max(...policy) : 0;
  for (let r = 0; r < view.rows; r++) {
    for (let c = 0; c < view.cols; c++) {
      const cell = document.createElement("div");
      cell.className = "cell";
      cell.dataset.row = r;
      cell.dataset.col = c;
      const owner = view.cells[r * view.cols + c];
      const action = view.game === "connect4" ? c : r * view.cols + c;
      if (owner >= 0) {
        const stone = document.createElement("div");
        stone.className = `stone p${owner}`;
        // The last stone: Go's point, or the top stone of Connect Four's column.
        const lastCell = view.last === action &&
          (view.game === "go9" || r === 0 || view.cells[(r - 1) * view.cols + c] < 0);
        if (lastCell) stone.classList.add("last");
        cell.append(stone);
      } else if (policy && top > 0 && (view.game === "go9" || r === 0) && policy[action] > 0.005) {
        const heat = document.createElement("div");
        heat.className = "heat";
        heat.style.opacity = (0.15 + 0.85 * policy[action] / top).toFixed(2);
        const label = document.createElement("span");
        label.className = "heat-label";
        label.textContent = `${Math.round(100 * policy[action])}%`;
        cell.append(heat, label);
      }
      cell.addEventListener("click", () => humanMove(r, c));
      board.append(cell);
    }
  }
  $("pass").hidden = view.game !== "go9";
  renderAnalysis();
}

function renderAnalysis() {
  const view = page.view, thought = page.thought;
  const names = ["Red", "Yellow"];
  const goNames = ["Black", "White"];
  const who = (p) => (view.game === "go9" ? goNames[p] : names[p]);
  let status;
  if (view.result) {
    status = view.result.winner === null ? "Draw." : `${who(view.result.winner)} wins.`;
    if (view.score !== null && view.game === "go9") status += ` Black's margin ${view.score}.`;
  } else {
    status = `${who(view.to_move)} to move${page.busy ? " — the engine is thinking…" : "."}`;
  }
  $("status").textContent = status;
  $("moves").textContent = view.moves.length ? `Moves: ${view.moves.join(" ")}` : "";
  const list = $("policy");
  list.replaceChildren();
  if (thought) {
    // The value is for the side that was to move when the engine searched.
    const v = thought.value;
    $("value-bar").style.width = `${(50 + 50 * v).toFixed(1)}%`;
    $("value-text").textContent = `${v >= 0 ? "+" : ""}${v.toFixed(3)} (net ${thought.net_value.toFixed(3)}) for ${who(thought.mover)}`;
    $("policy-title").textContent = `Engine played ${thought.move} after ${thought.simulations} simulations in ${thought.ms.toFixed(0)} ms: visits (prior)`;
    const ranked = thought.policy.map((p, a) => [p, a]).filter(([p]) => p > 0).sort((x, y) => y[0] - x[0]).slice(0, 8);
    for (const [p, a] of ranked) {
      const li = document.createElement("li");
      const bar = document.createElement("span");
      bar.className = "p";
      bar.style.width = `${Math.max(2, 160 * p)}px`;
      li.append(`${moveName(view, a)} `, bar, ` ${(100 * p).toFixed(1)}% (${(100 * thought.prior[a]).toFixed(1)}%)`);
      list.append(li);
    }
  } else {
    $("value-bar").style.width = "50%";
    $("value-text").textContent = "–";
    $("policy-title").textContent = "Policy";
  }
}

function setBusy(busy) {
  page.busy = busy;
  document.body.dataset.state = busy ? "thinking" : "ready";
  for (const id of ["new-game", "undo", "engine-move", "pass", "run-bench", "game", "backend"]) $(id).disabled = busy;
  renderAnalysis();
}

async function guarded(work) {
  if (page.busy) return;
  setBusy(true);
  try {
    await work();
    if (!$("message").classList.contains("error") && $("message").dataset.keep !== "1") showMessage("");
  } catch (e) {
    showMessage(e.message, true);
  } finally {
    setBusy(false);
    render();
  }
}

async function engineMove() {
  if (page.view.result) return;
  const mover = page.view.to_move;
  const simulations = Number($("simulations").value);
  const { thought, view } = await call("think", args({ simulations }));
  page.thought = { ...thought, mover };
  page.view = view;
}

function humanMove(row, col) {
  guarded(async () => {
    if (page.view.result) return;
    page.view = await call("play_at", args({ row, col }));
    page.thought = null;
    render();
    await engineMove();
  });
}

async function start() {
  page.game = $("game").value;
  page.backend = $("backend").value;
  document.body.dataset.state = "loading";
  $("device").textContent = "Starting the engine…";
  try {
    const opened = await call("open", args());
    const d = opened.device;
    $("device").textContent = d.backend === "webgpu"
      ? `Device: WebGPU — ${d.chosen.replace(/^webgpu: /, "")}`
      : `Device: CPU fallback (wgzero's gemm path in WebAssembly)`;
    $("device").dataset.backend = d.backend;
    if (opened.note) {
      showMessage(`Running on the CPU: ${opened.note}.`);
      $("message").dataset.keep = "1";
    } else {
      showMessage("");
      $("message").dataset.keep = "";
    }
    page.view = await call("new_game", args());
    page.thought = null;
    document.body.dataset.state = "ready";
    render();
    if ($("engine-first").checked) await guarded(engineMove);
  } catch (e) {
    document.body.dataset.state = "error";
    $("device").textContent = "The engine could not start.";
    showMessage(`${e.message}. Choose "CPU (wasm)" as the device to play without WebGPU.`, true);
  }
}

async function runBench() {
  await guarded(async () => {
    $("run-bench").textContent = "Measuring…";
    const result = await call("bench", args({ seconds: 0.6 }));
    const rows = result.forward.points.map((p) => [`forward, batch ${p.batch}`, `${p.evals_per_s.toFixed(0)} evaluations/s (${p.ms_per_batch.toFixed(2)} ms a batch)`]);
    const s = result.selfplay;
    rows.push([`self-play, ${s.games_in_flight} games, ${s.simulations} simulations a move`, `${s.moves_per_s.toFixed(1)} moves/s, ${s.evals_per_s.toFixed(0)} evaluations/s, mean batch ${s.mean_batch.toFixed(1)}`]);
    rows.unshift(["device", result.device.chosen], ["network", result.forward.network]);
    rows.push(["module memory (peak)", `${s.wasm_memory_mib.toFixed(0)} MiB`]);
    const body = $("bench-table").querySelector("tbody");
    body.replaceChildren(...rows.map(([k, v]) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"), b = document.createElement("td");
      a.textContent = k;
      b.textContent = v;
      tr.append(a, b);
      return tr;
    }));
    result.user_agent = navigator.userAgent;
    $("bench-table").hidden = false;
    $("bench-json").hidden = false;
    $("copy-bench").hidden = false;
    $("bench-json").value = JSON.stringify(result, null, 2);
    window.wgzero.bench = result;
  });
  $("run-bench").textContent = "Run benchmark";
}

$("new-game").addEventListener("click", () => guarded(async () => {
  page.view = await call("new_game", args());
  page.thought = null;
  render();
  if ($("engine-first").checked) await engineMove();
}));
$("undo").addEventListener("click", () => guarded(async () => {
  // Back to the human's last turn: the engine's reply and the human's move.
  const n = page.view.moves.length >= 2 ? 2 : page.view.moves.length;
  page.view = await call("undo", args({ n }));
  page.thought = null;
}));
$("engine-move").addEventListener("click", () => guarded(engineMove));
$("pass").addEventListener("click", () => guarded(async () => {
  page.view = await call("play", args({ action: page.view.pass }));
  page.thought = null;
  render();
  await engineMove();
}));
$("run-bench").addEventListener("click", runBench);
$("copy-bench").addEventListener("click", () => navigator.clipboard.writeText($("bench-json").value));
$("game").addEventListener("change", start);
$("backend").addEventListener("change", start);

const params = new URLSearchParams(location.search);
if (params.get("game")) $("game").value = params.get("game");
if (params.get("backend")) $("backend").value = params.get("backend");
start();
