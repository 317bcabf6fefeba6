//! `wgzero agent`: an Oh Hell player for outside harnesses, one JSON line in
//! (the hand so far), one JSON line out (the action). See
//! `wgzero::cards::agent` and docs/cards.md for the protocol.

use std::io::{BufRead, Write};

use anyhow::Result;
use clap::Args;

use super::{CardArgs, DeviceArgs};
use wgzero::cards::agent::answer;
use wgzero::cards::search::PimcSearch;

#[derive(Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub cards: CardArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn agent(args: &AgentArgs) -> Result<()> {
    let game = args.cards.game()?;
    let cfg = args.cards.search_config()?;
    let mut search = PimcSearch::new(game.clone(), cfg, args.cards.seed)?;
    let mut eval = match &args.cards.model {
        Some(_) => args.cards.evaluator(&game, &args.device.select()?)?,
        None => None,
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = answer(
            &game,
            &mut search,
            eval.as_mut().map(|e| e as &mut dyn wgzero::eval::Evaluator),
            args.cards.batch,
            &line,
        );
        let text = match reply {
            Ok(r) => serde_json::to_string(&r)?,
            Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
        };
        writeln!(out, "{text}")?;
        out.flush()?;
    }
    Ok(())
}
