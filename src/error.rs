//! The library's typed error. The binary wraps it in `anyhow` at its edge.

use thiserror::Error;

/// Everything that can go wrong in the library on user input or a device.
#[derive(Debug, Error)]
pub enum Error {
    /// A move that is well formed but not allowed in the position.
    #[error("illegal move {mv}: {reason}")]
    IllegalMove { mv: String, reason: String },

    /// Text that could not be read as a move, a position or an option.
    #[error("cannot read {what} {input:?}: {reason}")]
    Parse {
        what: &'static str,
        input: String,
        reason: String,
    },

    /// Packed words that do not describe a reachable position of the game.
    #[error("invalid packed state: {0}")]
    InvalidState(String),

    /// A configuration value outside its documented range.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The evaluator could not evaluate a batch (device lost, shape mismatch, ...).
    #[error("evaluator: {0}")]
    Evaluator(String),

    /// A model file or config that cannot be used (wrong game, truncated, other shape).
    #[error("model: {0}")]
    Model(String),

    /// No usable device, or the device failed.
    #[error("device: {0}")]
    Device(String),

    /// An outside GTP engine failed: it could not start, died, or broke the protocol.
    #[error("GTP engine {0}")]
    Gtp(String),

    /// The broker or shared folder that carries games and networks between
    /// processes failed: unreachable, refused, or timed out.
    #[error("transport: {0}")]
    Transport(String),

    /// The broker refused a message for good: retrying cannot help (a
    /// record over the server's payload limit, a publish the user's
    /// permissions forbid, a malformed id). Transient failures (the broker
    /// away, a timeout) are [`Error::Transport`].
    #[error("rejected by the broker: {0}")]
    Rejected(String),

    /// A player resigned the game (an outside engine answered `resign`):
    /// the game is lost for it, whatever the board says.
    #[error("resigned")]
    Resigned,

    /// Stopped on request (Ctrl-C) before the step finished.
    #[error("interrupted")]
    Interrupted,

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn parse(what: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Error::Parse {
            what,
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config(reason.into())
    }

    /// A [`Error::Model`] prefixed with the model it is about (a folder, a
    /// file, "the shipped model"); other errors unchanged.
    pub fn in_model(self, label: impl std::fmt::Display) -> Self {
        match self {
            Error::Model(m) => Error::Model(format!("{label}: {m}")),
            other => other,
        }
    }
}
