//! Step 4: self-play with a random network and its pipeline efficiency
//! against the network alone at the same batch size.

use super::{ForwardPoint, SelfPlayBench};
use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::game::Game;
use crate::selfplay::records::GameRecord;
use crate::selfplay::{self as sp, SelfPlayConfig, SelfPlayReport};

/// Self-play runs of step 4 (the same games each time); the best is kept.
const SELFPLAY_ROUNDS: usize = 2;

/// Step 4: the same games (same seed) in [`SELFPLAY_ROUNDS`] rounds, the
/// better round kept, as the forward sweep keeps its best round. Returns the
/// first round's games too (step 5 trains on them).
pub fn selfplay<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    forward: &[ForwardPoint],
    quick: bool,
    batch: usize,
    seed: u64,
) -> Result<(SelfPlayBench, Vec<GameRecord>)> {
    let cfg = SelfPlayConfig {
        games: if quick { 96 } else { 384 },
        simulations: if quick { 16 } else { 32 },
        batch,
        seed,
        ..SelfPlayConfig::default()
    };
    let mut records = Vec::new();
    let mut best: Option<SelfPlayReport> = None;
    for round in 0..SELFPLAY_ROUNDS {
        let mut sink = |r| {
            if round == 0 {
                records.push(r);
            }
            Ok(())
        };
        let report = sp::run(game, eval, "bench", &cfg, &mut sink, &mut |_| {})?;
        if !report.evaluated_exactly_once {
            return Err(Error::Evaluator(
                "self-play evaluated some leaf twice or not at all".into(),
            ));
        }
        if best
            .as_ref()
            .is_none_or(|b| report.steady_evaluations_per_second > b.steady_evaluations_per_second)
        {
            best = Some(report);
        }
    }
    let report = best.expect("at least one round");
    let fwd = forward
        .iter()
        .find(|p| p.precision == "f32" && p.batch == batch)
        .map_or(0.0, |p| p.evaluations_per_second);
    let bench = SelfPlayBench {
        pipeline_efficiency: report.steady_evaluations_per_second / fwd,
        forward_evaluations_per_second: fwd,
        config: cfg,
        report,
    };
    Ok((bench, records))
}
