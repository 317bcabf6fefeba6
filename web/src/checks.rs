//! Checks run in the browser by the tests (tests/browser.rs): the WGSL
//! encoding kernels against the CPU reference, and the networks' outputs
//! on given positions (compared there with the native CPU path).

use serde_json::{json, Value};
use wgzero::eval::{random_batch, Batch};
use wgzero::game::Game;
use wgzero::net::browser::encode_on_gpu;
use wgzero::net::encode::cpu_planes;
use wgzero::net::{Network, Selected};
use wgzero::Result;

/// `game`'s WGSL kernel on the WebGPU device `selected` on `n` random
/// positions (seeded) against the CPU reference encoding, value by value,
/// bit for bit.
pub async fn kernel<G: Game>(game: &G, selected: &Selected, n: usize, seed: u64) -> Result<Value> {
    let states = random_batch(game, n, seed).states;
    let gpu = encode_on_gpu(game, &states, selected).await?;
    let cpu = cpu_planes(game, &states);
    let mismatches = gpu
        .iter()
        .zip(&cpu)
        .filter(|(g, c)| g.to_bits() != c.to_bits())
        .count()
        + gpu.len().abs_diff(cpu.len());
    Ok(json!({
        "game": game.name(),
        "positions": n,
        "values": cpu.len(),
        "mismatches": mismatches,
    }))
}

/// The network's raw outputs (policy logits and value) on the positions of
/// `lines`, one move list a line in the game's notation.
pub async fn outputs<G: Game>(net: &Network<G>, lines: &str) -> Result<Value> {
    let game = net.game();
    let mut batch = Batch::new(game, 8);
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let state = game.parse_position(line)?;
        batch.push(game, &state);
    }
    let (logits, values) = net.forward_async(&batch.states).await?;
    Ok(json!({ "positions": batch.len(), "logits": logits, "values": values }))
}
