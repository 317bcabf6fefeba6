//! `wgzero grow`: more capacity for a run's network, keeping what it has
//! learnt.

use std::path::Path;

use super::store::{self, read_checkpoint, save_checkpoint, CheckpointMeta};
use crate::error::{Error, Result};
use crate::game::Game;
use crate::net::Selected;

/// The shape [`grow_run`] grows a run's network to; `None` keeps that part.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrowTo {
    /// Residual blocks (more than it has).
    pub blocks: Option<usize>,
    /// Value-head channels (more than it has).
    pub value_channels: Option<usize>,
}

/// What [`grow_run`] did.
#[derive(Debug, Default)]
pub struct Grown {
    /// Residual blocks before and after.
    pub from_blocks: usize,
    pub to_blocks: usize,
    /// Value-head channels before and after.
    pub from_value_channels: usize,
    pub to_value_channels: usize,
    /// The new checkpoints (relative to the run folder) of the best and the
    /// latest network (one when they are the same).
    pub checkpoints: Vec<String>,
}

/// Grows a run's network, keeping what it has learnt: the best and the
/// latest checkpoint each get identity-initialised residual blocks appended
/// ([`crate::net::Network::deepened`]) and/or a wider value head
/// ([`crate::net::Network::value_widened`]), both with the same outputs, and
/// are saved as new checkpoints (`<name>-b<blocks>`, `-v<channels>` added
/// for a value head wider than 1; no optimiser state, so the optimiser
/// restarts), then `state.json` points to them. Games, replay buffer,
/// metrics and settings are kept; the next `wgzero train` on the run resumes
/// with the grown network. Written like every other step: new folders
/// first, then the state file atomically, so an interruption leaves the run
/// as it was.
pub fn grow_run<G: Game>(game: &G, run: &Path, to: GrowTo, selected: &Selected) -> Result<Grown> {
    if to.blocks.is_none() && to.value_channels.is_none() {
        return Err(Error::Config(
            "nothing to grow: give more residual blocks, value channels, or both".into(),
        ));
    }
    let mut state = store::check_game(game, run, store::load_state(run)?)?;
    let _lock = store::lock_run(run)?;
    let mut grown = Grown::default();
    let mut renamed: Vec<(String, String)> = Vec::new();
    for rel in [state.best.clone(), state.latest.clone()] {
        if renamed.iter().any(|(old, _)| *old == rel) {
            continue;
        }
        let new = grow_checkpoint(game, run, &rel, to, selected, &mut grown)?;
        renamed.push((rel, new));
    }
    let lookup = |rel: &String| {
        renamed
            .iter()
            .find(|(old, _)| old == rel)
            .map_or_else(|| rel.clone(), |(_, new)| new.clone())
    };
    state.best = lookup(&state.best);
    state.latest = lookup(&state.latest);
    store::save_state(run, &state)?;
    grown.checkpoints = renamed.into_iter().map(|(_, new)| new).collect();
    Ok(grown)
}

/// Grows the checkpoint `rel` and saves it under its grown name; returns
/// the new checkpoint and records the shapes in `grown`.
fn grow_checkpoint<G: Game>(
    game: &G,
    run: &Path,
    rel: &str,
    to: GrowTo,
    selected: &Selected,
    grown: &mut Grown,
) -> Result<String> {
    let ck = read_checkpoint(game, run, rel)?;
    let mut net = ck.network(game, selected)?;
    let (blocks, channels) = (net.config().blocks, net.config().value_channels);
    grown.from_blocks = grown.from_blocks.max(blocks);
    grown.from_value_channels = grown.from_value_channels.max(channels);
    if let Some(want) = to.blocks {
        if want <= blocks {
            return Err(Error::Config(format!(
                "{}: the network already has {blocks} residual blocks; --blocks must be more",
                ck.dir.display()
            )));
        }
        net = net.deepened(want - blocks)?;
    }
    if let Some(want) = to.value_channels {
        net = net
            .value_widened(want)
            .map_err(|e| Error::Config(format!("{}: {e}", ck.dir.display())))?;
    }
    grown.to_blocks = net.config().blocks;
    grown.to_value_channels = net.config().value_channels;
    let meta = CheckpointMeta {
        model_id: net.id().to_string(),
        ..ck.meta
    };
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let base = name.split("-b").next().unwrap_or(name);
    let name = if grown.to_value_channels > 1 {
        format!("{base}-b{}-v{}", grown.to_blocks, grown.to_value_channels)
    } else {
        format!("{base}-b{}", grown.to_blocks)
    };
    save_checkpoint(run, &name, &net, None, &meta)
}
