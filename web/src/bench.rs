//! The in-browser benchmark: the figures of `wgzero bench --quick`'s steps
//! 1 (network forward) and 4 (self-play), measured the same way on the
//! browser's device (WebGPU or the CPU fallback).

use serde_json::{json, Value};
use wgzero::eval::{random_batch, Batch};
use wgzero::game::Game;
use wgzero::mcts::{Search, SearchConfig};
use wgzero::net::browser::evaluate_batch;
use wgzero::net::{NetConfig, Network};
use wgzero::Result;

use crate::{memory_mib, now_ms};

/// Batch sizes of the forward sweep (the native quick suite's).
pub const BATCH_SIZES: [usize; 5] = [1, 16, 64, 128, 256];

/// The native benchmark's seed (`wgzero bench --seed`'s default): the same
/// random network and positions.
pub const SEED: u64 = 0;

/// The network the native benchmark measures: the game's default shape
/// with random weights (seeded), on `like`'s device.
fn bench_network<G: Game>(like: &Network<G>) -> Result<Network<G>> {
    let game = like.game().clone();
    let config = NetConfig::for_game(&game);
    Network::random(game, config, like.device().clone(), like.gpu_encode(), SEED)
}

/// Evaluations per second over [`BATCH_SIZES`]: for each size, random
/// positions (the native benchmark's), two warm-up batches, then batches
/// one after another for at least `seconds` and 4 batches. The browser is
/// single-threaded: one batch is in flight at a time (natively two are,
/// so the device never waits for the host).
pub async fn forward<G: Game>(like: &Network<G>, seconds: f64) -> Result<Value> {
    let net = bench_network(like)?;
    let mut points = Vec::new();
    for &n in &BATCH_SIZES {
        let mut batch = random_batch(net.game(), n, SEED);
        for _ in 0..2 {
            evaluate_batch(&net, &mut batch).await?;
        }
        let start = now_ms();
        let mut batches = 0u64;
        while batches < 4 || now_ms() - start < seconds * 1e3 {
            evaluate_batch(&net, &mut batch).await?;
            batches += 1;
        }
        let secs = (now_ms() - start) / 1e3;
        points.push(json!({
            "batch": n,
            "evals_per_s": (batches * n as u64) as f64 / secs,
            "ms_per_batch": 1e3 * secs / batches as f64,
        }));
    }
    Ok(json!({
        "network": format!("{} blocks x {} channels, random (seed {SEED})",
            net.config().blocks, net.config().channels),
        "points": points,
        "wasm_memory_mib": memory_mib(),
    }))
}

/// One game in the self-play benchmark.
struct Slot<G: Game> {
    search: Search<G>,
    state: G::State,
    local: Batch,
    offset: Option<usize>,
}

/// The self-play settings of the native quick suite's step 4.
pub struct SelfPlayPlan {
    pub games: usize,
    pub simulations: u32,
    pub leaves: usize,
    pub batch: usize,
}

impl Default for SelfPlayPlan {
    fn default() -> Self {
        SelfPlayPlan {
            games: 32,
            simulations: 16,
            leaves: 8,
            batch: 64,
        }
    }
}

/// Self-play with the benchmark network: `plan.games` games in flight,
/// each search gathering `plan.leaves` leaves at a time, their leaves
/// filling batches of up to `plan.batch` positions, for at least `seconds`
/// after a warm-up; moves/s and evaluations/s.
pub async fn selfplay<G: Game>(
    like: &Network<G>,
    plan: &SelfPlayPlan,
    seconds: f64,
) -> Result<Value> {
    let net = bench_network(like)?;
    let game = net.game().clone();
    let cfg = SearchConfig {
        leaves_per_gather: plan.leaves,
        ..SearchConfig::selfplay()
    };
    let mut slots = Vec::with_capacity(plan.games);
    for g in 0..plan.games {
        let mut search = Search::new(game.clone(), cfg.clone(), SEED + g as u64)?;
        let state = game.initial();
        search.reset(state.clone());
        search.begin(plan.simulations)?;
        slots.push(Slot {
            search,
            state,
            local: Batch::new(&game, plan.leaves),
            offset: None,
        });
    }
    let mut big = Batch::new(&game, plan.batch + plan.leaves);
    let (mut moves, mut evals, mut batches) = (0u64, 0u64, 0u64);
    let warm_up_ms = 1e3 * seconds / 4.0;
    let mut start = now_ms();
    let mut warm = true;
    let mut round = 0usize;
    loop {
        let now = now_ms();
        if warm && now - start >= warm_up_ms {
            (warm, start, moves, evals, batches) = (false, now, 0, 0, 0);
        } else if !warm && now - start >= seconds * 1e3 && batches >= 4 {
            break;
        }
        big.clear();
        let n = slots.len();
        for k in 0..n {
            let slot = &mut slots[(round + k) % n];
            slot.offset = None;
            if big.len() >= plan.batch {
                continue;
            }
            moves += finish_moves(&game, slot, plan.simulations)?;
            if slot.search.gather_next(&mut slot.local, plan.leaves)? {
                slot.offset = Some(big.append(&slot.local));
            }
        }
        round += 1;
        if big.is_empty() {
            continue;
        }
        evaluate_batch(&net, &mut big).await?;
        evals += big.len() as u64;
        batches += 1;
        for slot in &mut slots {
            if let Some(offset) = slot.offset {
                slot.local.copy_results_from(&big, offset);
                slot.search.absorb(&slot.local)?;
            }
        }
    }
    let secs = (now_ms() - start) / 1e3;
    Ok(json!({
        "games_in_flight": plan.games,
        "simulations": plan.simulations,
        "leaves_per_game": plan.leaves,
        "batch": plan.batch,
        "moves_per_s": moves as f64 / secs,
        "evals_per_s": evals as f64 / secs,
        "mean_batch": if batches > 0 { evals as f64 / batches as f64 } else { 0.0 },
        "wasm_memory_mib": memory_mib(),
    }))
}

/// Plays the moves of `slot`'s finished searches (starting a new game
/// after a finished one) and begins the next search; the moves played.
fn finish_moves<G: Game>(game: &G, slot: &mut Slot<G>, simulations: u32) -> Result<u64> {
    let mut played = 0;
    while slot.search.is_done() {
        let action = slot.search.result()?.action;
        game.apply(&mut slot.state, action);
        played += 1;
        if game.terminal_value(&slot.state).is_some() {
            slot.state = game.initial();
            slot.search.reset(slot.state.clone());
        } else {
            slot.search.advance(action)?;
        }
        slot.search.begin(simulations)?;
    }
    Ok(played)
}
