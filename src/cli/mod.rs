//! The binary's command layer: one file per command, each its argument
//! struct and one function that builds the library's config structs and
//! calls the library. Shared argument groups and clap wrappers live here.

mod agent;
mod bench;
mod cards;
mod curve;
mod eval;
mod gen_positions;
mod grow;
mod gtp;
mod info;
mod new_model;
mod pbrain;
mod perft;
mod play;
mod selfplay;
mod serve;
mod solve;
mod train;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wgzero::eval::{FinalView, SymmetryAverage};
use wgzero::game::Game;
use wgzero::mcts::{Algorithm, SearchConfig};
use wgzero::net::{BackendChoice, ModelSource, NetEvaluator, Precision, Selected};
use wgzero::players::{Player, SearchPlayer};

/// AlphaZero-style self-play engine for any vendor's GPU (wgpu) or a plain CPU.
#[derive(Parser)]
#[command(name = "wgzero", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Play a game against the engine in the terminal.
    ///
    /// Type moves in the game's notation: a column 1-7 for Connect Four, a cell
    /// such as h8 for Gomoku, a point such as E5 or `pass` for Go, a cell 1-9
    /// for tic-tac-toe. `help` lists the commands, `quit` ends the game.
    Play(play::PlayArgs),
    /// Solve a Connect Four position exactly and print the score of every move.
    ///
    /// Scores: 0 draw; positive, the side to move wins and will have
    /// 22 - score stones on the board when it wins; negative, the opponent does.
    Solve(solve::SolveArgs),
    /// Count the move sequences of a given length (checks move generation).
    Perft(perft::PerftArgs),
    /// Self-play with the network: many games at once, leaves batched across
    /// games, two batches in flight; writes game records to --out.
    Selfplay(selfplay::SelfplayArgs),
    /// Serve the browser page (play and benchmark on WebGPU) on
    /// http://127.0.0.1:8080; build it first with `bash web/build.sh`.
    Serve(serve::ServeArgs),
    /// Show every GPU adapter wgpu sees, the device wgzero would use and why.
    Info(info::InfoArgs),
    /// Write a randomly initialised model folder (config.json + model.bpk).
    NewModel(new_model::NewModelArgs),
    /// Benchmark this machine (network forward, encoding, search, self-play,
    /// training) and write tuned self-play settings for `--config`.
    Bench(bench::BenchArgs),
    /// Train a network: self-play -> replay buffer -> training -> arena, in
    /// iterations, in a run folder. Run the same command again to resume.
    Train(train::TrainArgs),
    /// Grow a run's network: append residual blocks that start as the
    /// identity and/or widen its value head, in its best and latest
    /// checkpoints (same play, more capacity), keeping its games; `wgzero
    /// train` on the run then resumes with it.
    Grow(grow::GrowArgs),
    /// Measure a model: a match against a baseline or another model, or
    /// (Connect Four) the share of solver-judged wrong moves on test positions.
    Eval(eval::EvalArgs),
    /// Write Connect Four test positions for `eval --positions`, judged by the solver.
    GenPositions(gen_positions::GenPositionsArgs),
    /// Go engine over GTP (Go Text Protocol version 2) on standard input
    /// and output, for Go GUIs (Sabaki, GoGui) and tournament tools.
    Gtp(gtp::GtpArgs),
    /// Gomoku brain over the Gomocup protocol (piskvork's pbrain) on
    /// standard input and output, for Gomoku managers and GUIs.
    Pbrain(pbrain::PbrainArgs),
    /// Learning-curve benchmark: train runs from scratch for a fixed budget
    /// and/or take existing runs, and chart strength (Connect Four: move
    /// errors on a validation file; Go: the score against a fixed opponent)
    /// against self-play evaluations and wall time.
    Curve(curve::CurveArgs),
    /// Self-play for a trainer elsewhere: reads the run's settings and best
    /// network from the broker, publishes every finished game (spooled on
    /// disk until the broker acknowledges it), follows promotions.
    Worker(worker::WorkerArgs),
    /// Try a distributed run on this machine: starts nats-server on
    /// loopback, the trainer (`train --broker`) and N workers; Ctrl-C stops
    /// them all. The same command resumes.
    Cluster(cluster::ClusterArgs),
    /// Play Oh Hell for an outside harness: reads the hand so far as JSON
    /// lines on standard input (OpenSpiel action ids, other players' cards
    /// hidden as -1) and answers each with the action to play.
    Agent(agent::AgentArgs),
    /// One publishing process of `bench --broker` (internal).
    #[command(hide = true)]
    BenchPublisher(BenchPublisherArgs),
}

#[derive(Args)]
pub struct BenchPublisherArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    run: String,
    #[arg(long)]
    games: usize,
    #[arg(long)]
    payload: std::path::PathBuf,
    #[arg(long)]
    origin: u64,
}

/// Calls the generic `$run(game, args...)` with the game `$g` (a [`GameArgs`]) names.
macro_rules! with_game {
    ($g:expr, $($run:ident)::+($($arg:expr),*)) => {{
        use wgzero::game::{Connect4, Go, Gomoku, TicTacToe};
        match $g.game {
            GameName::Connect4 => $($run)::+(Connect4, $($arg),*),
            GameName::Gomoku => Gomoku::new($g.size.unwrap_or(15))
                .map_err(Into::into)
                .and_then(|g| $($run)::+(g, $($arg),*)),
            GameName::Go => Go::new($g.size.unwrap_or(9), $g.komi)
                .map_err(Into::into)
                .and_then(|g| $($run)::+(g, $($arg),*)),
            GameName::Tictactoe => $($run)::+(TicTacToe, $($arg),*),
            GameName::Ohhell => Err(anyhow::anyhow!(
                "--game ohhell: this command is for board games (selfplay, train, play, eval and agent play Oh Hell)"
            )),
        }
    }};
}

mod cluster;
// After the macro, which it uses.
mod worker;

impl Command {
    /// Runs the command.
    pub fn run(self) -> Result<()> {
        match self {
            Command::Play(a) if a.game.is_cards() => play::play_cards(&a),
            Command::Selfplay(a) if a.game.is_cards() => selfplay::selfplay_cards(&a),
            Command::Train(a) if a.game.is_cards() => train::train_cards(&a),
            Command::Eval(a) if a.game.is_cards() => eval::eval_cards(&a),
            Command::Play(a) => with_game!(a.game, play::play(&a)),
            Command::Solve(a) => solve::solve(&a),
            Command::Selfplay(a) => with_game!(a.game, selfplay::selfplay(&a)),
            Command::Info(a) => info::info(&a),
            Command::Serve(a) => serve::serve(&a),
            Command::NewModel(a) => with_game!(a.game, new_model::new_model(&a)),
            Command::Bench(a) => with_game!(a.game, bench::bench(&a)),
            Command::Perft(a) => with_game!(a.game, perft::perft(&a)),
            Command::Train(a) => with_game!(a.game, train::train(&a)),
            Command::Grow(a) => with_game!(a.game, grow::grow(&a)),
            Command::Eval(a) => with_game!(a.game, eval::eval(&a)),
            Command::GenPositions(a) => gen_positions::gen_positions(&a),
            Command::Curve(a) => curve::curve(&a),
            Command::Gtp(a) => gtp::gtp(&a),
            Command::Pbrain(a) => pbrain::pbrain(&a),
            Command::Worker(a) => worker::worker(&a),
            Command::Cluster(a) => cluster::cluster(&a),
            Command::Agent(a) => agent::agent(&a),
            Command::BenchPublisher(a) => {
                let payload = std::fs::read(&a.payload)?;
                let r =
                    wgzero::bench::broker::publisher(&a.url, &a.run, &payload, a.games, a.origin)?;
                println!("{}", serde_json::to_string(&r)?);
                Ok(())
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GameName {
    Connect4,
    Gomoku,
    Go,
    Tictactoe,
    /// Oh Hell (Blob): many players, hidden cards, chance (`--rules`).
    Ohhell,
}

#[derive(Args)]
pub struct GameArgs {
    /// The game.
    #[arg(long, value_enum, default_value = "connect4")]
    pub game: GameName,
    /// Board size for Gomoku (5-19, default 15) and Go (5-19, default 9).
    #[arg(long)]
    pub size: Option<usize>,
    /// Komi for White in Go (Tromp-Taylor area scoring).
    #[arg(long, default_value_t = 7.5, allow_negative_numbers = true)]
    pub komi: f32,
    /// Oh Hell's rules: OpenSpiel's parameters as key=value pairs separated
    /// by commas (players, num_suits, num_cards_per_suit, num_tricks_fixed,
    /// off_bid_penalty, points_per_trick) and blob=true for Blob scoring
    /// [default: 3 players, 4 suits of 4 cards, 5 tricks].
    #[arg(long, default_value = "")]
    pub rules: String,
    /// Oh Hell: deals searched per decision.
    #[arg(long, default_value_t = 8)]
    pub determinizations: usize,
}

impl GameArgs {
    /// Whether the game is a card game (its own code path).
    pub fn is_cards(&self) -> bool {
        matches!(self.game, GameName::Ohhell)
    }
}

/// The card game's rules and its search (`agent`, and `--game ohhell` of
/// the other commands).
#[derive(Args, Clone)]
pub struct CardArgs {
    /// Oh Hell's rules: OpenSpiel's parameters as key=value pairs separated
    /// by commas (players, num_suits, num_cards_per_suit, num_tricks_fixed,
    /// off_bid_penalty, points_per_trick) and `blob=true` for Blob scoring
    /// [default: 3 players, 4 suits of 4 cards, 5 tricks].
    #[arg(long, default_value = "")]
    pub rules: String,
    /// A model folder for the card game; without one, leaves are valued by
    /// random rollouts.
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Simulations per decision, over all determinizations [default: 200
    /// with a model, 1000 with rollouts].
    #[arg(long)]
    pub simulations: Option<u32>,
    /// Deals searched per decision.
    #[arg(long, default_value_t = 8)]
    pub determinizations: usize,
    /// Exploration constant (PUCT with a model, UCT with rollouts)
    /// [default: 1.0 with a model, 0.7 with rollouts].
    #[arg(long)]
    pub c_explore: Option<f32>,
    /// Policy-based inference (with a model): draw this many candidate
    /// deals, weigh each by how likely the network finds the opponents'
    /// bids in it, and search --determinizations of them drawn by weight;
    /// its evaluations count against --simulations. 0: off.
    #[arg(long, default_value_t = 0)]
    pub infer_deals: usize,
    /// The competitive objective: every player in the search maximises
    /// their score minus the mean of the others' (to lead the table) rather
    /// than their own score.
    #[arg(long)]
    pub margin: bool,
    /// Gumbel's completed-Q policy improvement with this scale (with a
    /// model): the move is the most likely of softmax(ln prior + (50 + max
    /// visits) * scale * q) over the root's actions instead of the most
    /// visited. 0: off.
    #[arg(long, default_value_t = 0.0)]
    pub completed_q: f32,
    /// Research only: search the hand as sent when a request shows every
    /// card, instead of deals drawn from what the player knows (an upper
    /// bound on inferring the hidden cards; the harness must send them:
    /// `openspiel_match.py --wgzero-sees-all`). Requests that hide cards are
    /// searched as usual.
    #[arg(long)]
    pub sees_all: bool,
    /// Information-set MCTS with one tree: every simulation in the next of
    /// --determinizations deals, all of them in one tree over the action
    /// sequences, instead of a tree per deal.
    #[arg(long)]
    pub single_tree: bool,
    /// Leaves per network batch of one decision.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Random seed of the determinizations and rollouts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl CardArgs {
    /// The rules.
    pub fn game(&self) -> Result<wgzero::cards::OhHell> {
        let cfg = wgzero::cards::OhHellConfig::parse(&self.rules).context("--rules")?;
        Ok(wgzero::cards::OhHell::new(cfg)?)
    }

    /// The search's settings from the flags.
    pub fn search_config(&self) -> Result<wgzero::cards::search::PimcConfig> {
        let mut cfg = cards::search_config(
            self.simulations,
            self.determinizations,
            self.c_explore,
            self.model.is_none(),
        )?;
        cfg.infer_deals = self.infer_deals;
        cfg.margin = self.margin;
        cfg.completed_q = self.completed_q;
        cfg.oracle = self.sees_all;
        cfg.single_tree = self.single_tree;
        cfg.validate().context("--infer-deals or --completed-q")?;
        if self.batch == 0 {
            anyhow::bail!("--batch must be at least 1");
        }
        Ok(cfg)
    }

    /// The network evaluator of `--model` on `selected`'s device (None: rollouts).
    pub fn evaluator(
        &self,
        game: &wgzero::cards::OhHell,
        selected: &Selected,
    ) -> Result<Option<NetEvaluator>> {
        match &self.model {
            None => Ok(None),
            Some(dir) => Ok(Some(cards::evaluator(
                game,
                Some(dir),
                selected,
                self.seed,
            )?)),
        }
    }
}

/// How a network's outputs are averaged over board symmetries (`play`, `eval`).
#[derive(Args)]
pub struct AveragingArgs {
    /// Evaluate each position in its first K symmetric images and average
    /// the network's outputs (1 = off; Connect Four has 2: the position and
    /// its mirror image; Gomoku and tic-tac-toe 8).
    #[arg(long, default_value_t = 2)]
    pub symmetries: usize,
}

/// The value a network's search backs up (`play`, `eval`, `gtp`).
#[derive(Args, Clone, Copy)]
pub struct UtilityArgs {
    /// Weight of the final score in the search's values: KataGo's score
    /// utility, the network's value blended with 2/pi atan(margin / s) of
    /// its score head's margin (s = 9.5 points on 9x9, 20 on 19x19), so
    /// that of two winning moves the one winning by more is preferred. Go
    /// networks with the auxiliary heads only; 0 = the value alone. In
    /// `eval`, the --model side's only.
    #[arg(long, default_value_t = 0.0)]
    pub score_utility: f32,
}

/// `source`'s network on `selected`'s device (precision `auto`), its outputs
/// averaged over the first `symmetries` board symmetries (`play`, `eval`).
pub fn averaged_evaluator<G: Game>(
    game: &G,
    source: &ModelSource,
    selected: &Selected,
    symmetries: usize,
) -> Result<SymmetryAverage<G, NetEvaluator>> {
    averaged_opened(game, source, selected, symmetries, 0.0).map(|(eval, _)| eval)
}

/// [`averaged_evaluator`] with a score utility of weight `score_utility`,
/// and whether the network has auxiliary heads.
pub fn averaged_opened<G: Game>(
    game: &G,
    source: &ModelSource,
    selected: &Selected,
    symmetries: usize,
    score_utility: f32,
) -> Result<(SymmetryAverage<G, NetEvaluator>, bool)> {
    let opened = source.evaluator_scored(game, selected, Precision::Auto, score_utility)?;
    let eval =
        SymmetryAverage::new(game.clone(), opened.eval, symmetries).context("--symmetries")?;
    Ok((eval, opened.aux_heads))
}

/// A tree-search player (`play`'s and `gtp`'s engine): `source`'s network on
/// `selected`'s device averaged over `symmetries` images, values blended
/// with the score by `score_utility`, `sims` simulations of PUCT per move.
pub fn network_player<G: Game>(
    game: &G,
    source: &ModelSource,
    selected: &Selected,
    sims: u32,
    symmetries: usize,
    score_utility: f32,
    seed: u64,
) -> Result<Box<dyn Player<G>>> {
    let (eval, aux_heads) = averaged_opened(game, source, selected, symmetries, score_utility)?;
    let cfg = SearchConfig {
        simulations: sims,
        score_utility,
        ..SearchConfig::default()
    };
    let name = format!("{} ({sims} simulations)", source.label());
    let player = SearchPlayer::new(game.clone(), cfg, eval, name, seed)?;
    if !aux_heads {
        return Ok(Box::new(player));
    }
    // The analysis reads the heads a few positions at a time, from a second
    // copy of the network here (the evaluator's runs on its own thread).
    let net = source.open(game.clone(), selected)?;
    let words = game.packed_words();
    let game = game.clone();
    let probe = move |states: &[G::State]| -> wgzero::Result<Vec<FinalView>> {
        let mut packed = vec![0u32; states.len() * words];
        for (s, out) in states.iter().zip(packed.chunks_mut(words)) {
            game.pack(s, out);
        }
        Ok(net.final_views(&packed)?.unwrap_or_default())
    };
    Ok(Box::new(player.with_final_views(Box::new(probe))))
}

/// A search algorithm (`--algorithm`).
#[derive(Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// MCTS with PUCT selection.
    Puct,
    /// MCTS with a Gumbel root (sequential halving).
    Gumbel,
    /// Fixed-width minimax over the network's top moves (--widths), one
    /// network call per depth.
    Minimax,
    /// Best-first minimax (Descent): each expansion evaluates a leaf's
    /// children in one call.
    Descent,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Puct => Algorithm::Puct,
            AlgorithmArg::Gumbel => Algorithm::Gumbel,
            AlgorithmArg::Minimax => Algorithm::Minimax,
            AlgorithmArg::Descent => Algorithm::Descent,
        }
    }
}

/// The shape of the minimax searches (`--algorithm minimax` / `descent`);
/// `--sims` is their budget of network evaluations a move.
#[derive(Args, Clone, Default)]
pub struct MinimaxArgs {
    /// Minimax: moves looked at per depth from the root, e.g. 5,3,3
    /// (1 + 5 + 15 + 45 evaluations; 0 = every legal move). Without it:
    /// every move, one depth more until --sims evaluations are spent.
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,
    /// Descent: children evaluated per expansion, the most likely first
    /// (0 = every legal move) [default: 0].
    #[arg(long)]
    pub expand_width: Option<usize>,
    /// Minimax and Descent: weight of a node's own network value mixed into
    /// its backed-up value (0-1) [default: 0].
    #[arg(long)]
    pub value_blend: Option<f32>,
}

impl MinimaxArgs {
    /// Sets the flags given on `cfg`, refusing them for an algorithm that
    /// does not use them.
    pub fn apply(&self, cfg: &mut SearchConfig) -> Result<()> {
        if let Some(w) = &self.widths {
            if cfg.algorithm != Algorithm::Minimax {
                anyhow::bail!("--widths is for --algorithm minimax");
            }
            cfg.widths = w.clone();
        }
        if let Some(w) = self.expand_width {
            if cfg.algorithm != Algorithm::Descent {
                anyhow::bail!("--expand-width is for --algorithm descent");
            }
            cfg.expand_width = w;
        }
        if let Some(w) = self.value_blend {
            if !cfg.algorithm.is_minimax() {
                anyhow::bail!("--value-blend is for --algorithm minimax or descent");
            }
            cfg.value_blend = w;
        }
        Ok(())
    }
}

/// Where the network runs (`--backend`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A real GPU through wgpu if there is one, else the CPU backend.
    Auto,
    /// wgpu, even on a software (CPU) adapter such as Mesa lavapipe.
    Gpu,
    /// burn's CPU backend (flex).
    Cpu,
}

impl From<BackendArg> for BackendChoice {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Gpu => BackendChoice::Gpu,
            BackendArg::Cpu => BackendChoice::Cpu,
        }
    }
}

/// Where the network runs: `--backend`, and `--adapter` to pick one GPU.
#[derive(Args, Clone)]
pub struct DeviceArgs {
    /// Where the network runs.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// The GPU adapter to run on: its number in `wgzero info`'s list, or
    /// part of its name (e.g. `--adapter 1`, `--adapter RTX`) [default: the
    /// best one]. Two workers on two GPUs of one machine each name one.
    #[arg(long)]
    pub adapter: Option<String>,
}

impl DeviceArgs {
    /// The adapter named, checked.
    pub fn adapter(&self) -> Result<Option<wgzero::net::AdapterChoice>> {
        self.adapter
            .as_deref()
            .map(|a| a.parse().context("--adapter"))
            .transpose()
    }

    /// Chooses and opens the device.
    pub fn select(&self) -> Result<Selected> {
        Ok(wgzero::net::select_on(
            self.backend.into(),
            self.adapter()?.as_ref(),
        )?)
    }

    /// [`DeviceArgs::select`], then says on standard error which device was
    /// chosen and why.
    pub fn select_announced(&self) -> Result<Selected> {
        let selected = self.select()?;
        eprintln!(
            "device: {} ({})",
            selected.report.chosen, selected.report.reason
        );
        Ok(selected)
    }
}

/// Floating-point precision of inference (`--precision`).
#[derive(Clone, Copy, ValueEnum)]
pub enum PrecisionArg {
    /// f16 where the device is a real GPU that supports it, else f32.
    Auto,
    F32,
    F16,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Auto => Precision::Auto,
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F16 => Precision::F16,
        }
    }
}

/// The interrupt flag set by Ctrl-C (a second Ctrl-C exits at once).
pub fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted again: exiting now");
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: abandoning the current step (Ctrl-C again to exit now)");
        });
    });
    &FLAG
}

/// A progress bar over `len` items on stderr (drawn only on a terminal),
/// followed by the bar's message.
pub fn counting_bar(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
