//! Batch-first Monte Carlo tree search (PUCT and Gumbel root search).
//!
//! The search never sees a network: it hands leaves out in a
//! [`crate::eval::Batch`] and takes results back. See [`Search`].

pub mod analysis;
mod cache;
mod config;
mod gumbel;
mod puct;
mod search;
mod tree;

pub use analysis::{Analysis, Candidate};
pub use config::{Algorithm, SearchConfig};
pub use gumbel::considered_visits;
pub use search::{sample_early_move, Search, SearchResult, SearchStats};
pub use tree::{NodeId, NodeStatus, Tree, ROOT};
