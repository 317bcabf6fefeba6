//! `wgzero new-model`: a randomly initialised model folder.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::GameArgs;
use wgzero::game::Game;
use wgzero::net::{self, BackendChoice, ModelSource, NetConfig};

#[derive(Args)]
pub struct NewModelArgs {
    #[command(flatten)]
    pub game: GameArgs,
    /// Folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Residual blocks (default: the game's default network).
    #[arg(long)]
    blocks: Option<usize>,
    /// Channels (default: the game's default network).
    #[arg(long)]
    channels: Option<usize>,
    /// With KataGo's auxiliary heads (ownership, score, the opponent's
    /// reply: Go only); `kata-analyze` then reports score leads and
    /// ownership.
    #[arg(long)]
    aux_heads: bool,
    /// With KataGo's global pooling (Go only): the same weights play every
    /// board size 5-19.
    #[arg(long)]
    global_pooling: bool,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn new_model<G: Game>(game: G, args: &NewModelArgs) -> Result<()> {
    let default = NetConfig::for_game(&game);
    let mut cfg = default.clone().with_size(
        args.blocks.unwrap_or(default.blocks),
        args.channels.unwrap_or(default.channels),
    );
    cfg.aux_heads = args.aux_heads;
    if args.global_pooling {
        cfg = cfg.with_global_pooling();
    }
    let params = cfg.num_params();
    let source = ModelSource::Random {
        config: Some(cfg),
        seed: args.seed,
    };
    let net = source.open(game, &net::select(BackendChoice::Cpu)?)?;
    net.save(&args.out)?;
    println!("wrote {} ({} parameters)", args.out.display(), params);
    Ok(())
}
