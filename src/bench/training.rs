//! Step 5: training steps at the default batch size.

use std::time::Instant;

use rand::SeedableRng;

use super::TrainingBench;
use crate::error::{Error, Result};
use crate::game::Game;
use crate::net::trainer::{StepStats, TrainConfig, Trainer};
use crate::net::{NetConfig, Network, Selected};
use crate::selfplay::records::GameRecord;
use crate::train::ReplayBuffer;

/// Step 5: samples/s of training steps at the default batch size, on the
/// self-play positions of step 4.
pub fn training<G: Game>(
    game: &G,
    sel: &Selected,
    records: &[GameRecord],
    steps: u64,
    seed: u64,
) -> Result<TrainingBench> {
    let mut buffer = ReplayBuffer::new(game.clone(), 1 << 20);
    for r in records {
        buffer.push_game(r)?;
    }
    let cfg = TrainConfig::default();
    let network = Network::random(
        game.clone(),
        NetConfig::for_game(game),
        sel.device.clone(),
        false,
        seed,
    )?;
    let mut trainer = Trainer::new(&network, cfg.clone());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let batch = buffer.sample(cfg.batch_size, true, &mut rng)?;
    let check = |s: StepStats| -> Result<()> {
        if s.policy_loss.is_finite() && s.value_loss.is_finite() {
            Ok(())
        } else {
            Err(Error::Device("training produced a non-finite loss".into()))
        }
    };
    check(trainer.step(&batch)?)?; // warm-up; reading the losses waits for the device
    let start = Instant::now();
    for _ in 0..steps {
        check(trainer.step(&batch)?)?;
    }
    let t = start.elapsed().as_secs_f64();
    Ok(TrainingBench {
        batch_size: cfg.batch_size,
        steps,
        samples_per_second: (steps as usize * cfg.batch_size) as f64 / t,
        ms_per_step: 1e3 * t / steps as f64,
    })
}
