//! The training loop's steps as library functions, on the tiny network (CPU
//! backend), without spawning the binary: each step writes what it owns and
//! moves the run's state on.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use wgzero::config::{training_defaults, ConfigFile};
use wgzero::game::Connect4;
use wgzero::net::{self, BackendChoice, Precision, Selected};
use wgzero::train::buffers::load_buffers;
use wgzero::train::run::open_trainer;
use wgzero::train::steps::{arena_step, self_play_step, train_step, StepContext, TrainOutcome};
use wgzero::train::store::{self, create_run, games_file, RunState, Step};

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");

fn temp_run(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wgzero-steps-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn tiny_config() -> ConfigFile {
    ConfigFile::load_over(Path::new(TINY), &training_defaults()).unwrap()
}

fn context<'a>(
    run: &'a Path,
    cfg: &'a ConfigFile,
    device: &'a Selected,
    stop: &'a dyn Fn() -> bool,
) -> StepContext<'a, Connect4> {
    StepContext {
        game: &Connect4,
        run,
        cfg,
        device,
        precision: Precision::F32,
        progress: false,
        stop,
    }
}

/// A new tiny run and its first self-play step.
fn run_after_self_play(run: &Path, ctx: &StepContext<'_, Connect4>) -> RunState {
    let mut state = create_run(&Connect4, run, ctx.cfg, ctx.device, None).unwrap();
    self_play_step(ctx, &mut state, &mut |_| {}).unwrap();
    state
}

/// The train step on the run's buffers, as the loop runs it after self-play.
fn train_once(ctx: &StepContext<'_, Connect4>, state: &mut RunState) -> TrainOutcome {
    let buffers = load_buffers(&Connect4, ctx.run, &ctx.cfg.run, 1).unwrap();
    assert!(!buffers.train.is_empty());
    let mut trainer = open_trainer(ctx, state).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    train_step(ctx, state, &mut trainer, &buffers, &mut rng, &mut |_| {}).unwrap()
}

#[test]
fn the_self_play_step_writes_its_games_and_moves_to_training() {
    let run = temp_run("selfplay");
    let (cfg, device) = (tiny_config(), net::select(BackendChoice::Cpu).unwrap());
    let never = || false;
    let ctx = context(&run, &cfg, &device, &never);
    let mut state = create_run(&Connect4, &run, &cfg, &device, None).unwrap();
    let mut lines = Vec::new();
    let out = self_play_step(&ctx, &mut state, &mut |l| lines.push(l.to_string())).unwrap();
    assert_eq!(out.games.len(), 8);
    assert_eq!(out.metrics.games, 8);
    // A random network's first iteration is bootstrapped by rollout games.
    assert_eq!(out.metrics.bootstrap_games, 8);
    let positions: usize = out.games.iter().map(|g| g.positions.len()).sum();
    assert_eq!(out.metrics.positions, positions);
    assert!(out.metrics.full_search_positions > 0);
    assert!(games_file(&run, 1).exists());
    let saved = store::load_state(&run).unwrap();
    assert_eq!(saved.next, Step::Train);
    assert_eq!(saved.iteration, 0);
    // Compared through the same JSON text (serde_json's default float
    // parsing may differ from the value in the last bit).
    let through_json = serde_json::from_str(&serde_json::to_string(&out.metrics).unwrap()).unwrap();
    assert_eq!(saved.pending.selfplay, Some(through_json));
    assert!(lines
        .iter()
        .any(|l| l.contains("iter 1 self-play: 8 games")));
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn the_train_step_saves_a_checkpoint_and_moves_to_the_arena() {
    let run = temp_run("train");
    let (cfg, device) = (tiny_config(), net::select(BackendChoice::Cpu).unwrap());
    let never = || false;
    let ctx = context(&run, &cfg, &device, &never);
    let mut state = run_after_self_play(&run, &ctx);
    let out = train_once(&ctx, &mut state);
    // Between min_steps (2) and max_steps (4) of the tiny config.
    assert!(
        (2..=4).contains(&out.metrics.steps),
        "{}",
        out.metrics.steps
    );
    assert_eq!(out.metrics.total_steps, out.metrics.steps as u64);
    assert!(out.metrics.policy_loss.is_finite() && out.metrics.value_loss.is_finite());
    assert_eq!(out.checkpoint, "checkpoints/iter-000001");
    let saved = store::load_state(&run).unwrap();
    assert_eq!(saved.next, Step::Arena);
    assert_eq!(saved.latest, out.checkpoint);
    assert_eq!(saved.best, "checkpoints/iter-000000");
    assert_eq!(saved.train_steps, out.metrics.total_steps);
    let ck = store::read_checkpoint(&Connect4, &run, &out.checkpoint).unwrap();
    assert!(ck.optimizer.is_some(), "the optimiser state is saved");
    assert_eq!(ck.meta.iteration, 1);
    ck.network(&Connect4, &device).unwrap();
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn the_arena_step_ends_the_iteration_with_a_metrics_line() {
    let run = temp_run("arena");
    let (cfg, device) = (tiny_config(), net::select(BackendChoice::Cpu).unwrap());
    let never = || false;
    let ctx = context(&run, &cfg, &device, &never);
    let mut state = run_after_self_play(&run, &ctx);
    train_once(&ctx, &mut state);
    let mut metrics = Vec::new();
    let out = arena_step(&ctx, &mut state, &mut metrics, &mut |_| {}).unwrap();
    let line = &out.metrics;
    assert_eq!(line.iteration, 1);
    let arena = line.arena.as_ref().expect("the tiny run plays arena games");
    assert_eq!(arena.result.games, 4);
    assert_eq!(arena.promoted, out.promoted);
    assert_eq!(
        out.promoted,
        arena.score > cfg.run.promote_threshold.expect("the tiny run is gated")
    );
    // The tiny config plays its one baseline every iteration.
    assert_eq!(line.baselines["random"].result.games, 2);
    assert!(line.selfplay.is_some() && line.train.is_some());
    let saved = store::load_state(&run).unwrap();
    assert_eq!((saved.iteration, saved.next), (1, Step::SelfPlay));
    assert_eq!(
        saved.pending,
        Default::default(),
        "the pending metrics went to the line"
    );
    let expected_best = if out.promoted {
        "checkpoints/iter-000001"
    } else {
        "checkpoints/iter-000000"
    };
    assert_eq!(saved.best, expected_best);
    // The file holds exactly the line the step returned.
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(text, format!("{}\n", line.to_json()));
    assert_eq!(metrics, vec![line.to_json()]);
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn a_step_stops_when_asked() {
    let run = temp_run("stop");
    let (cfg, device) = (tiny_config(), net::select(BackendChoice::Cpu).unwrap());
    let always = || true;
    let ctx = context(&run, &cfg, &device, &always);
    let mut state = create_run(&Connect4, &run, &cfg, &device, None).unwrap();
    let e = self_play_step(&ctx, &mut state, &mut |_| {})
        .err()
        .expect("stopped");
    assert!(matches!(e, wgzero::Error::Interrupted), "{e}");
    assert_eq!(store::load_state(&run).unwrap().next, Step::SelfPlay);
    let _ = std::fs::remove_dir_all(&run);
}

/// Ungated and without arena games (the defaults), every trained network
/// becomes the best at once and the line has no arena match.
#[test]
fn an_ungated_run_promotes_every_candidate() {
    let run = temp_run("ungated");
    let mut cfg = tiny_config();
    cfg.run.arena_games = 0;
    cfg.run.promote_threshold = None;
    let device = net::select(BackendChoice::Cpu).unwrap();
    let never = || false;
    let ctx = context(&run, &cfg, &device, &never);
    let mut state = run_after_self_play(&run, &ctx);
    train_once(&ctx, &mut state);
    let mut metrics = Vec::new();
    let out = arena_step(&ctx, &mut state, &mut metrics, &mut |_| {}).unwrap();
    assert!(out.promoted);
    assert!(out.metrics.arena.is_none(), "no arena games were played");
    assert_eq!(out.metrics.promotions, 1);
    assert_eq!(state.best, "checkpoints/iter-000001");
    assert!(!metrics[0].as_object().unwrap().contains_key("arena"));
    let _ = std::fs::remove_dir_all(&run);
}
