//! The replay buffer and the held-out positions of a run, filled from its
//! game files: a share of games (by id) is held out of training for the
//! held-out losses.

use std::path::Path;

use super::store::games_file;
use super::ReplayBuffer;
use crate::config::RunConfig;
use crate::error::Result;
use crate::game::{mix64, Game};
use crate::selfplay::records::{read_records, GameId, GameRecord};

/// The positions trained on and the positions held out.
pub struct Buffers<G: Game> {
    pub train: ReplayBuffer<G>,
    pub held: ReplayBuffer<G>,
}

impl<G: Game> Buffers<G> {
    /// Empty buffers of `cfg`'s sizes.
    pub fn new(game: &G, cfg: &RunConfig) -> Self {
        Buffers {
            train: ReplayBuffer::new(game.clone(), cfg.replay_window)
                .with_value_search_weight(cfg.value_search_weight as f32)
                .with_merging(cfg.merge_duplicates),
            held: ReplayBuffer::new(game.clone(), cfg.held_out_positions),
        }
    }

    /// Adds a game's positions to the training buffer or the held-out one.
    pub fn push_game(&mut self, g: &GameRecord, cfg: &RunConfig) -> Result<()> {
        if is_held_out(g.game_id, cfg) {
            self.held.push_game(g)
        } else {
            self.train.push_game(g)
        }
    }
}

/// Whether a game is held out of training (a fixed share, by its id).
pub fn is_held_out(game_id: u128, cfg: &RunConfig) -> bool {
    let u = (mix64(GameId::fold(game_id) ^ 0x4e1d) >> 11) as f64 / (1u64 << 53) as f64;
    u < cfg.held_out_share
}

/// The replay buffer and held-out positions from the newest game files of
/// iterations up to `upto`: files are read newest first until both buffers
/// are full, counting only the positions they keep (full searches, split by
/// game as in [`Buffers::push_game`]), so a resumed run has the same buffer
/// as one that never stopped. With merged duplicates a window holds more
/// positions than entries, so up to twice the window is read (a resumed
/// buffer then holds the same positions, its oldest entries' averages
/// over fewer sightings).
pub fn load_buffers<G: Game>(
    game: &G,
    run: &Path,
    cfg: &RunConfig,
    upto: u64,
) -> Result<Buffers<G>> {
    let mut files = Vec::new();
    let (mut train_kept, mut held_kept) = (0usize, 0usize);
    for it in (1..=upto).rev() {
        let path = games_file(run, it);
        if !path.exists() {
            continue;
        }
        let (header, games) = read_records(&path)?;
        header.check(game, &path)?;
        for g in &games {
            if is_held_out(g.game_id, cfg) {
                held_kept += g.full_searches();
            } else {
                train_kept += g.full_searches();
            }
        }
        files.push(games);
        // The held-out set may fill slowly (a small share of games); stop
        // waiting for it once twice the window has been read.
        let wanted = if cfg.merge_duplicates {
            2 * cfg.replay_window
        } else {
            cfg.replay_window
        };
        let train_full = train_kept >= wanted;
        if train_full && (held_kept >= cfg.held_out_positions || train_kept >= 2 * wanted) {
            break;
        }
    }
    let mut buffers = Buffers::new(game, cfg);
    for games in files.into_iter().rev() {
        for g in &games {
            buffers.push_game(g, cfg)?;
        }
    }
    Ok(buffers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Connect4;
    use crate::selfplay::records::{write_records, PositionRecord, RecordsHeader};
    use crate::train::store::games_file;

    /// A game of `n` positions, every other one a fast search (no target).
    fn record(game_id: u128, n: usize) -> GameRecord {
        let game = Connect4;
        let mut s = game.initial();
        let positions = (0..n)
            .map(|i| {
                let mut packed = vec![0; game.packed_words()];
                game.pack(&s, &mut packed);
                let action = i % 7;
                game.apply(&mut s, action);
                PositionRecord {
                    packed,
                    to_move: (i % 2) as u8,
                    action: action as u16,
                    value: 0.0,
                    policy: vec![1.0 / 7.0; 7],
                    full_search: i % 2 == 0,
                }
            })
            .collect();
        GameRecord {
            game_id,
            model_id: "test".into(),
            outcome: 0,
            positions,
        }
    }

    /// Resuming fills the buffer to the window even when most positions are
    /// fast searches, which the buffer skips (it used to count them and load
    /// too few files).
    #[test]
    fn resumed_buffer_counts_only_kept_positions() {
        let run = std::env::temp_dir().join(format!("wgzero-buffers-{}", std::process::id()));
        std::fs::create_dir_all(run.join("games")).unwrap();
        let game = Connect4;
        let header = RecordsHeader {
            game: game.name(),
            words: game.packed_words(),
            actions: game.num_actions(),
        };
        // 10 iterations of 20 games x 6 positions (3 full searches each).
        for it in 1..=10u64 {
            let games: Vec<_> = (0..20).map(|g| record((it * 100 + g) as u128, 6)).collect();
            write_records(&games_file(&run, it), &header, &games).unwrap();
        }
        let cfg = RunConfig {
            replay_window: 200,
            held_out_share: 0.1,
            held_out_positions: 10,
            merge_duplicates: false,
            ..RunConfig::default()
        };
        let b = load_buffers(&game, &run, &cfg, 10).unwrap();
        std::fs::remove_dir_all(&run).unwrap();
        assert_eq!(b.train.len(), 200, "the window is full after resuming");
        assert_eq!(b.held.len(), 10);
    }
}
