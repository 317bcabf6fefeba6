//! wgzero: AlphaZero-style self-play on any vendor's GPU (wgpu) or a plain CPU.
//!
//! Architecture (each a module):
//! - [`game`]: rules, packed states and the CPU reference input encoding;
//! - [`solver`]: an exact Connect Four solver (tests and strength measurement);
//! - [`mcts`]: batch-first tree search (PUCT and Gumbel root search) over a
//!   structure-of-arrays tree; its `Search` also runs the minimax searches;
//! - [`minimax`]: NN-guided minimax, batch-first: fixed width level by level
//!   (one network call per depth) and best-first (Descent) with exact
//!   values;
//! - [`eval`]: the evaluator interface through which the search asks for
//!   policy/value evaluations of whole batches, and CPU evaluators;
//! - [`players`]: baseline players (random, rollout MCTS, alpha-beta minimax),
//!   the search player for a network, and outside GTP engines (GNU Go) as
//!   opponents and score referees ([`players::gtp`]);
//! - [`gtp`]: wgzero as a GTP engine (`wgzero gtp`), above the players;
//! - [`pbrain`]: wgzero as a Gomocup brain (`wgzero pbrain`), and the
//!   protocol's points;
//! - [`selfplay`]: double-buffered self-play over many games, game records;
//! - [`arena`]: matches (many games at once, Elo) and batched searches;
//! - [`net`]: the network, its device (wgpu or `flex`), WGSL encoding,
//!   training steps: the only module that sees burn and wgpu;
//! - [`transport`]: games and networks between the processes of a run
//!   (NATS JetStream or a shared folder);
//! - [`worker`]: self-play for a trainer elsewhere (`wgzero worker`): spool,
//!   publishing, network switching;
//! - [`train`]: the replay buffer and the closed training loop (`wgzero train`);
//! - [`bench`]: the portable benchmark (`wgzero bench`);
//! - [`serve`]: the browser page over HTTP (`wgzero serve`; the page and
//!   its WebAssembly module are the `web/` crate);
//! - [`curve`]: the learning-curve benchmark (`wgzero curve`): move errors on
//!   a validation file against the compute a run spent;
//! - [`positions`]: Connect Four test positions judged by the solver;
//! - [`config`]: the settings file and the training loop's settings;
//! - [`files`]: atomic writes and file helpers;
//! - [`fuzz`]: fuzzing entry points, one per decoder of outside bytes;
//! - [`process`]: portable child-process control and memory measurement;
//! - [`models`]: models shipped in the binary.
//!
//! Layers, each importing only those before it: game < eval < mcts (with
//! minimax, which shares its settings and result types) <
//! players < gtp / selfplay < arena < transport < train < bench, curve <
//! the binary's `cli`; `net` sits beside
//! `eval` (it implements the evaluator and the training step).
//!
//! A browser build (`web/`, wasm32) compiles the games, the searches and
//! the network's inference ([`net::browser`]); the modules that train, talk
//! to processes or the broker, or need threads exist only natively.
//!
//! Game rules, search and players know nothing of the network's backend: they
//! only see [`eval::Evaluator`].

#[cfg(not(target_arch = "wasm32"))]
pub mod arena;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
#[cfg(not(target_arch = "wasm32"))]
pub mod cards;
#[cfg(not(target_arch = "wasm32"))]
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod curve;
pub mod error;
pub mod eval;
pub mod files;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzz;
pub mod game;
#[cfg(not(target_arch = "wasm32"))]
pub mod gtp;
pub mod mcts;
pub mod minimax;
pub mod models;
pub mod net;
#[cfg(not(target_arch = "wasm32"))]
pub mod pbrain;
#[cfg(not(target_arch = "wasm32"))]
pub mod players;
#[cfg(not(target_arch = "wasm32"))]
pub mod positions;
#[cfg(not(target_arch = "wasm32"))]
pub mod process;
#[cfg(not(target_arch = "wasm32"))]
pub mod selfplay;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;
pub mod solver;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(not(target_arch = "wasm32"))]
pub mod transport;
#[cfg(not(target_arch = "wasm32"))]
pub mod worker;

pub use error::{Error, Result};
