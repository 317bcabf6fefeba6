// The engine's Web Worker: wgzero (wasm) runs here so that the page never
// blocks. Requests arrive as {id, cmd, args} and are answered, one at a
// time and in order, as {id, ok, result} or {id, ok: false, error}.
import init, { check_kernel, open } from "./pkg/wgzero_web.js";

const ready = init();
const engines = new Map(); // "game/backend" -> Engine
let backendChosen = null; // {backend, note} once the first open decided
let adapterName = null; // what the browser says of its WebGPU adapter

// The engine's device, with the adapter's description from the browser
// where wgpu has no name for it.
function deviceOf(engine) {
  const device = JSON.parse(engine.device());
  if (device.backend === "webgpu" && adapterName && device.chosen.includes("gives no name")) {
    device.chosen = `webgpu: ${adapterName}`;
  }
  return device;
}

// The browser's words for its WebGPU adapter (GPUAdapter.info), for the
// device line where wgpu has no name for it.
function describe(adapter) {
  const info = adapter.info || {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || null;
}

// Why WebGPU cannot be used here, or null if it can.
async function webgpuProblem() {
  if (!self.navigator || !self.navigator.gpu) {
    return "this browser offers no WebGPU (navigator.gpu is missing)";
  }
  let adapter = null;
  try {
    adapter = await self.navigator.gpu.requestAdapter();
  } catch (e) {
    return `requesting a WebGPU adapter failed: ${e}`;
  }
  if (!adapter) return "WebGPU offers no adapter";
  adapterName = describe(adapter);
  if (!adapter.features.has("timestamp-query")) {
    return "the WebGPU adapter lacks timestamp-query, which wgzero's GPU runtime needs";
  }
  return null;
}

// The engine for `game` on `backend` ("auto", "webgpu" or "cpu"). "auto"
// takes WebGPU when it is usable and its encoding kernel gives the CPU
// reference's planes (a shader that failed to compile gives zeros
// silently), else the CPU, saying why.
async function engineFor(game, backend) {
  await ready;
  if (backend === "auto") {
    if (!backendChosen) {
      const problem = await webgpuProblem();
      backendChosen = problem ? { backend: "cpu", note: problem } : { backend: "webgpu", note: null };
      if (!problem) {
        try {
          const check = JSON.parse(await check_kernel("connect4", 16, 7));
          if (check.mismatches !== 0) {
            backendChosen = {
              backend: "cpu",
              note: `WebGPU computed wrong input planes (${check.mismatches} of ${check.values} values): a shader failed`,
            };
          }
        } catch (e) {
          backendChosen = { backend: "cpu", note: `WebGPU failed: ${e.message || e}` };
        }
      }
    }
    const engine = await engineFor(game, backendChosen.backend);
    return engine;
  }
  const key = `${game}/${backend}`;
  if (backend === "webgpu" && adapterName === null && self.navigator.gpu) {
    const adapter = await self.navigator.gpu.requestAdapter().catch(() => null);
    if (adapter) adapterName = describe(adapter);
  }
  if (!engines.has(key)) engines.set(key, await open(game, backend));
  return engines.get(key);
}

const handlers = {
  async open({ game, backend }) {
    const engine = await engineFor(game, backend || "auto");
    return {
      device: deviceOf(engine),
      note: backend === "auto" || !backend ? backendChosen.note : null,
      view: JSON.parse(engine.view()),
    };
  },
  async view({ game, backend }) {
    return JSON.parse((await engineFor(game, backend)).view());
  },
  async play_at({ game, backend, row, col }) {
    const engine = await engineFor(game, backend);
    engine.play_at(row, col);
    return JSON.parse(engine.view());
  },
  async play({ game, backend, action }) {
    const engine = await engineFor(game, backend);
    engine.play(action);
    return JSON.parse(engine.view());
  },
  async undo({ game, backend, n }) {
    const engine = await engineFor(game, backend);
    engine.undo(n);
    return JSON.parse(engine.view());
  },
  async new_game({ game, backend }) {
    const engine = await engineFor(game, backend);
    engine.new_game();
    return JSON.parse(engine.view());
  },
  async think({ game, backend, simulations }) {
    const engine = await engineFor(game, backend);
    const thought = JSON.parse(await engine.think(simulations));
    engine.play(thought.action);
    return { thought, view: JSON.parse(engine.view()) };
  },
  async evaluate({ game, backend }) {
    return JSON.parse(await (await engineFor(game, backend)).evaluate());
  },
  async bench({ game, backend, seconds, games, simulations }) {
    const engine = await engineFor(game, backend);
    const forward = JSON.parse(await engine.bench_forward(seconds));
    const selfplay = JSON.parse(await engine.bench_selfplay(games || 32, simulations || 16, seconds * 4));
    return { game, device: deviceOf(engine), forward, selfplay };
  },
  async check_kernel({ game, n, seed }) {
    await ready;
    return JSON.parse(await check_kernel(game, n, seed));
  },
  async outputs({ game, backend, lines }) {
    return JSON.parse(await (await engineFor(game, backend)).outputs(lines));
  },
};

let queue = Promise.resolve();
self.onmessage = (event) => {
  const { id, cmd, args } = event.data;
  queue = queue.then(async () => {
    try {
      const handler = handlers[cmd];
      if (!handler) throw new Error(`unknown request ${cmd}`);
      self.postMessage({ id, ok: true, result: await handler(args || {}) });
    } catch (e) {
      self.postMessage({ id, ok: false, error: String((e && e.message) || e) });
    }
  });
};
