//! Step 1 of a trainer with a broker (`wgzero train --broker`): instead of
//! playing, take the iteration's `selfplay.games` games from the transport.
//! Each game is checked against the rules, stored in `games/incoming/`
//! (atomically) and only then acknowledged; ids already stored are dropped
//! (the broker's deduplication window is finite). When the iteration has
//! its games they become `games/iter-N.wgzr`, the state moves on, and the
//! incoming files go.
//!
//! Delivery follows the stream's order and a restarted trainer resumes at
//! the oldest unacknowledged game, so a trainer killed at any moment stores
//! the same games in the same iterations as one that never stopped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::selfplay::{summarise, SelfPlayOutcome};
use super::StepContext;
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::game::Game;
use crate::selfplay::records::{decode_game, encode_game, read_records, GameId, GameRecord};
use crate::train::buffers::is_held_out;
use crate::train::store::{save_state, write_games, RunState, Step};
use crate::transport::Transport;

/// The trainer's memory of what it stored: every game id in the run's game
/// files and incoming folder, and counts for the log.
pub struct Ingest {
    pub ids: HashSet<u128>,
    pub rejected: u64,
    pub duplicates: u64,
}

const INCOMING: &str = "games/incoming";

fn incoming_dir(run: &Path) -> PathBuf {
    run.join(INCOMING)
}

impl Ingest {
    /// Reads the ids of every game stored in `run` (game files and incoming).
    pub fn load<G: Game>(game: &G, run: &Path) -> Result<Self> {
        let mut ids = HashSet::new();
        if let Ok(entries) = std::fs::read_dir(run.join("games")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("iter-") && name.ends_with(".wgzr") {
                    let (header, games) = read_records(&e.path())?;
                    header.check(game, &e.path())?;
                    ids.extend(games.iter().map(|g| g.game_id));
                }
            }
        }
        for (_, g) in read_incoming(game, run)? {
            ids.insert(g.game_id);
        }
        Ok(Ingest {
            ids,
            rejected: 0,
            duplicates: 0,
        })
    }
}

/// The incoming games (`NNNNNN-<id>.wgzr`), in arrival order.
fn read_incoming<G: Game>(game: &G, run: &Path) -> Result<Vec<(PathBuf, GameRecord)>> {
    let dir = incoming_dir(run);
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n.ends_with(".wgzr"))
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let path = dir.join(&n);
        let (header, mut games) = read_records(&path)?;
        header.check(game, &path)?;
        if let Some(g) = games.pop() {
            out.push((path, g));
        }
    }
    Ok(out)
}

/// Whether the games collected so far complete the iteration: `quota`
/// games, and when the replay buffer has nothing to train on yet
/// (`need_training`), at least one full-search position in a game that is
/// not held out. Without that a small iteration of mostly random openings
/// and fast searches could leave the first training step nothing to learn
/// from; the iteration then takes games until it has some.
fn complete(stored: &[GameRecord], quota: usize, need_training: bool, cfg: &RunConfig) -> bool {
    stored.len() >= quota
        && (!need_training
            || stored
                .iter()
                .any(|g| g.full_searches() > 0 && !is_held_out(g.game_id, cfg)))
}

/// Takes the iteration's games from `broker` (see [`complete`]), writes the
/// iteration's game file and moves the state to training.
pub fn collect_step<G: Game>(
    ctx: &StepContext<'_, G>,
    state: &mut RunState,
    broker: &mut dyn Transport,
    ingest: &mut Ingest,
    need_training: bool,
    log: &mut dyn FnMut(&str),
) -> Result<SelfPlayOutcome> {
    let it = state.iteration + 1;
    let t = Instant::now();
    let quota = ctx.cfg.selfplay.games;
    std::fs::create_dir_all(incoming_dir(ctx.run))?;
    let mut stored: Vec<GameRecord> = read_incoming(ctx.game, ctx.run)?
        .into_iter()
        .map(|(_, g)| g)
        .collect();
    let pb = ctx.bar(quota, "games", format!("iter {it} collect"));
    pb.set_position(stored.len() as u64);
    let mut quiet_since = Instant::now();
    let mut broker_error = false;
    let mut extended = false;
    let done = |stored: &[GameRecord]| complete(stored, quota, need_training, &ctx.cfg.run);
    while !done(&stored) {
        if stored.len() >= quota && !extended {
            log(&format!(
                "iter {it}: no full-search position to train on in its {quota} games; taking more"
            ));
            extended = true;
        }
        if (ctx.stop)() {
            pb.finish_and_clear();
            return Err(Error::Interrupted);
        }
        let batch = match broker.fetch_games(
            quota.saturating_sub(stored.len()).max(1),
            Duration::from_secs(1),
        ) {
            Ok(b) => {
                if broker_error {
                    log("the broker is back");
                    broker_error = false;
                }
                b
            }
            Err(e) => {
                if !broker_error {
                    log(&format!("warning: {e}; retrying"));
                    broker_error = true;
                }
                std::thread::sleep(Duration::from_millis(500));
                // After a broker restart the consumer may need recreating.
                let _ = broker.open_games();
                continue;
            }
        };
        if batch.is_empty() && quiet_since.elapsed() > Duration::from_secs(60) {
            log(&format!(
                "iter {it}: {} of {quota} games after {:.0} s; waiting for workers on {}",
                stored.len(),
                t.elapsed().as_secs_f64(),
                broker.describe()
            ));
            quiet_since = Instant::now();
        }
        for inc in batch {
            quiet_since = Instant::now();
            if done(&stored) {
                break; // the rest stay unacknowledged: delivered again next iteration
            }
            match decode_game(ctx.game, &inc.payload) {
                Err(why) => {
                    ingest.rejected += 1;
                    log(&format!(
                        "rejected message {} (id {}): {why}",
                        inc.sequence,
                        inc.id.as_deref().unwrap_or("none")
                    ));
                }
                Ok(g) if ingest.ids.contains(&g.game_id) => ingest.duplicates += 1,
                Ok(g) => {
                    let name = format!("{:06}-{}.wgzr", stored.len(), GameId::hex(g.game_id));
                    write_atomic(
                        &incoming_dir(ctx.run).join(name),
                        &encode_game(ctx.game, &g),
                    )?;
                    ingest.ids.insert(g.game_id);
                    stored.push(g);
                    pb.set_position(stored.len() as u64);
                }
            }
            if let Err(e) = broker.ack_game(&inc) {
                // Stored: a redelivery is dropped as a duplicate.
                log(&format!("warning: acknowledgement failed ({e})"));
            }
        }
    }
    pb.finish_and_clear();
    write_games(ctx.game, ctx.run, it, &stored)?;
    let metrics = summarise(ctx.game, &stored, &[], 0, t.elapsed().as_secs_f64());
    state.pending.selfplay = Some(metrics.clone());
    state.next = Step::Train;
    save_state(ctx.run, state)?;
    clear_incoming(ctx.run);
    let models: HashSet<&str> = stored.iter().map(|g| g.model_id.as_str()).collect();
    log(&format!(
        "iter {it} collect: {} games from the broker ({} positions, {} networks), {:.0} s; {} duplicates and {} rejected so far",
        metrics.games,
        metrics.positions,
        models.len(),
        metrics.seconds,
        ingest.duplicates,
        ingest.rejected
    ));
    Ok(SelfPlayOutcome {
        games: stored,
        metrics,
    })
}

/// Removes the incoming files once their iteration's file and state are
/// written.
pub(crate) fn clear_incoming(run: &Path) {
    let _ = std::fs::remove_dir_all(incoming_dir(run));
}

/// At start: incoming files of an iteration whose games are already written
/// (the state has moved past self-play; a trainer killed between saving the
/// state and removing them) are removed.
pub fn clear_stale(run: &Path, state: &RunState) {
    if state.next != Step::SelfPlay {
        clear_incoming(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selfplay::records::PositionRecord;

    fn game(id: u128, full: &[bool]) -> GameRecord {
        GameRecord {
            game_id: id,
            model_id: "test".into(),
            outcome: 0,
            positions: full
                .iter()
                .map(|&full_search| PositionRecord {
                    packed: vec![0],
                    to_move: 0,
                    action: 0,
                    value: 0.0,
                    policy: vec![1.0],
                    full_search,
                })
                .collect(),
        }
    }

    /// An iteration whose games hold nothing to train on stays open while
    /// the buffer is empty (a small run of random openings and fast
    /// searches: the first training step used to fail on it), and closes at
    /// the quota once the buffer has positions.
    #[test]
    fn the_first_iteration_waits_for_a_position_to_train_on() {
        let cfg = RunConfig {
            held_out_share: 0.5,
            ..RunConfig::default()
        };
        let ids: Vec<u128> = (1..200).collect();
        let mut kept_ids = ids.iter().copied().filter(|&i| !is_held_out(i, &cfg));
        let (kept, kept2) = (kept_ids.next().unwrap(), kept_ids.next().unwrap());
        let held = *ids.iter().find(|&&i| is_held_out(i, &cfg)).unwrap();
        let fast = vec![game(kept, &[false, false]), game(held, &[true, false])];
        assert!(!complete(&fast[..1], 2, true, &cfg), "under the quota");
        assert!(!complete(&fast, 2, true, &cfg), "only a held-out position");
        assert!(complete(&fast, 2, false, &cfg), "the buffer has positions");
        let mut more = fast.clone();
        more.push(game(kept2, &[false, true]));
        assert!(complete(&more, 2, true, &cfg));
    }
}
