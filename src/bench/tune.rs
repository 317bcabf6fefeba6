//! Step 6: auto-tune: self-play evaluations/s over batch size x leaves per
//! game x concurrency; the best settings are written for `--config`.

use std::path::Path;

use super::TunePoint;
use crate::error::Result;
use crate::eval::Evaluator;
use crate::files::write_atomic;
use crate::game::Game;
use crate::selfplay::{self, SelfPlayConfig};

/// Step 6: self-play evaluations/s over batch size x leaves per game x
/// concurrency, a few seconds per point; the best settings.
pub fn tune<G: Game, E: Evaluator>(
    game: &G,
    eval: &mut E,
    quick: bool,
    seed: u64,
    log: &mut dyn FnMut(&str),
) -> Result<(Vec<TunePoint>, SelfPlayConfig)> {
    let (batches, leaves, concurrency, secs): (&[usize], &[usize], &[f64], f64) = if quick {
        (&[64, 128], &[4, 8], &[2.0], 4.0)
    } else {
        (&[64, 128, 256, 512], &[4, 8, 16], &[1.5, 2.0, 3.0], 6.0)
    };
    let mut points = Vec::new();
    let mut best: Option<(f64, SelfPlayConfig)> = None;
    for &batch in batches {
        for &k in leaves {
            for &c in concurrency {
                let cfg = SelfPlayConfig {
                    games: 100_000,
                    simulations: 32,
                    batch,
                    leaves_per_game: k,
                    concurrency: c,
                    max_seconds: Some(secs),
                    seed,
                    ..SelfPlayConfig::default()
                };
                let r = selfplay::run(game, eval, "tune", &cfg, &mut |_| Ok(()), &mut |_| {})?;
                let rate = if r.steady_evaluations_per_second > 0.0 {
                    r.steady_evaluations_per_second
                } else {
                    r.evaluations_per_second
                };
                log(&format!("  batch {batch:>4} leaves {k:>2} concurrency {c:.1}: {rate:.0} evals/s (mean batch {:.1})", r.batch_mean));
                points.push(TunePoint {
                    batch,
                    leaves_per_game: k,
                    concurrency: c,
                    games_in_flight: 2 * cfg.games_per_group(),
                    evaluations_per_second: rate,
                    batch_mean: r.batch_mean,
                });
                if best.as_ref().is_none_or(|(b, _)| rate > *b) {
                    best = Some((
                        rate,
                        SelfPlayConfig {
                            max_seconds: None,
                            games: SelfPlayConfig::default().games,
                            ..cfg
                        },
                    ));
                }
            }
        }
    }
    Ok((points, best.expect("at least one point").1))
}

/// Writes the tuned keys only, so that the file overlays any other settings
/// (`selfplay --config`, `train --config`).
pub fn write_tuned<G: Game>(
    path: &Path,
    game: &G,
    device: &str,
    tuned: &SelfPlayConfig,
) -> Result<()> {
    let file = format!(
        "[selfplay]\nbatch = {}\nleaves_per_game = {}\nconcurrency = {:?}\n",
        tuned.batch, tuned.leaves_per_game, tuned.concurrency
    );
    let header = format!(
        "# Self-play settings tuned by `wgzero bench` for {} on {}.\n# Use with: wgzero selfplay --config FILE or wgzero train --config FILE (flags override).\n",
        game.name(),
        device
    );
    write_atomic(path, format!("{header}{file}").as_bytes())
}
