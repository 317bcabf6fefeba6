//! Step 2: input encoding, the WGSL kernel (packed states uploaded) against
//! CPU encoding and an f32-plane upload.

use std::time::Instant;

use super::forward::random_batch;
use super::EncodingReport;
use crate::error::{Error, Result};
use crate::game::Game;
use crate::net::encode::{self, EncodePath};
use crate::net::Selected;

/// Step 2: the WGSL kernel against CPU encoding + f32 upload, `n` positions
/// per call for about `secs` each.
pub fn encoding<G: Game>(game: &G, sel: &Selected, n: usize, secs: f64) -> Result<EncodingReport> {
    let states = random_batch(game, n, 3).states;
    let expected = encode::reference_checksum(game, &states);
    let (packed, planes) = encode::upload_bytes(game);
    let time = |path| positions_per_second(game, &states, sel, path, expected, secs);
    let cpu = time(EncodePath::Cpu)?;
    let (kernel, note) = if sel.is_wgpu {
        (
            Some(time(EncodePath::Kernel)?),
            "both on the chosen wgpu device".to_string(),
        )
    } else {
        (
            None,
            "no wgpu device in use: the CPU backend encodes on the CPU, the WGSL kernel is not run"
                .to_string(),
        )
    };
    Ok(EncodingReport {
        positions: n,
        kernel_positions_per_second: kernel,
        kernel_bytes_per_position: packed,
        cpu_positions_per_second: cpu,
        cpu_bytes_per_position: planes,
        note,
    })
}

/// Positions/s of one encoding path: each timed call reads the planes' sum
/// back (so the device has finished) and checks it against `expected`.
fn positions_per_second<G: Game>(
    game: &G,
    states: &[u32],
    sel: &Selected,
    path: EncodePath,
    expected: f32,
    secs: f64,
) -> Result<f64> {
    let n = states.len() / game.packed_words();
    let run = || -> Result<()> {
        let got = encode::encode_checksum(game, states, sel, path)?;
        if got != expected {
            return Err(Error::Device(format!(
                "encoding check failed: {got} stones, expected {expected}"
            )));
        }
        Ok(())
    };
    run()?; // warm-up
    let start = Instant::now();
    let mut calls = 0;
    while calls < 3 || start.elapsed().as_secs_f64() < secs {
        run()?;
        calls += 1;
    }
    Ok((calls * n) as f64 / start.elapsed().as_secs_f64())
}
