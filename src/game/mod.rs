//! Game rules: the [`Game`] trait and its implementations.
//!
//! Nothing here knows about tree search, networks or devices. A game describes
//! positions three ways:
//! - its own `State` type, used by the search on the CPU;
//! - a **packed state**: a fixed number of `u32` words per position
//!   ([`Game::packed_words`]) — the only thing uploaded to a GPU;
//! - **input planes** `[C, H, W]` f32 ([`Game::planes_shape`]), computed from the
//!   packed words by [`Game::encode_packed`], which is the CPU reference of the
//!   game's WGSL kernel in `shaders/`.
//!
//! Values are always from the point of view of the side to move: `-1` loss,
//! `0` draw, `+1` win.

pub mod connect4;
pub mod go;
pub mod gomoku;
pub mod sgf;
pub mod tictactoe;

pub use connect4::Connect4;
pub use go::Go;
pub use gomoku::Gomoku;
pub use tictactoe::TicTacToe;

use crate::error::{Error, Result};

/// Rules of a two-player, zero-sum, perfect-information game with a fixed action space.
pub trait Game: Clone + Send + Sync + 'static {
    /// A position. Cheap to clone: the search clones the root once per simulation.
    type State: Clone + Send + Sync + PartialEq + std::fmt::Debug;

    /// Stable identifier of the rules (`"connect4"`, `"gomoku15"`, `"tictactoe"`),
    /// stored in model files and game records.
    fn name(&self) -> String;

    /// Size of the action space; actions are `0..num_actions()`.
    fn num_actions(&self) -> usize;

    /// The starting position.
    fn initial(&self) -> Self::State;

    /// Player to move: 0 moves first, then 1.
    fn to_move(&self, s: &Self::State) -> u8;

    /// Number of moves played to reach `s`.
    fn moves_played(&self, s: &Self::State) -> usize;

    /// Whether `a` may be played in `s` (false in terminal positions).
    fn is_legal(&self, s: &Self::State, a: usize) -> bool;

    /// Clears `out` and fills it with the legal actions of `s` in increasing order
    /// (empty in terminal positions).
    fn legal_actions(&self, s: &Self::State, out: &mut Vec<usize>);

    /// Plays `a` without checking it. Fast path for the search, which only plays
    /// legal actions. Playing an illegal action leaves an unspecified state
    /// (debug builds panic).
    fn apply(&self, s: &mut Self::State, a: usize);

    /// `Some(value)` for the side to move if `s` is terminal, else `None`.
    fn terminal_value(&self, s: &Self::State) -> Option<f32>;

    /// 64-bit position hash (equal positions hash equally; used by caches and
    /// duplicate statistics).
    fn hash(&self, s: &Self::State) -> u64;

    /// Number of board symmetries (1 = identity only).
    fn num_symmetries(&self) -> usize;

    /// Image of action `a` under symmetry `sym` (`sym < num_symmetries()`).
    fn symmetry_action(&self, sym: usize, a: usize) -> usize;

    /// Image of position `s` under symmetry `sym`.
    fn symmetry_state(&self, sym: usize, s: &Self::State) -> Self::State;

    /// Number of `u32` words of a packed state.
    fn packed_words(&self) -> usize;

    /// Writes the packed form of `s` into `out` (`out.len() == packed_words()`).
    fn pack(&self, s: &Self::State, out: &mut [u32]);

    /// Reads a packed state back, checking that it describes a valid position.
    fn unpack(&self, words: &[u32]) -> Result<Self::State>;

    /// Shape `[C, H, W]` of the network input planes of one position.
    fn planes_shape(&self) -> [usize; 3];

    /// CPU reference encoding: packed words -> planes `[C, H, W]`, row-major,
    /// written to `out` (`out.len() == C*H*W`). The WGSL kernel must match it bit
    /// for bit.
    fn encode_packed(&self, words: &[u32], out: &mut [f32]);

    /// Reads one move in the game's notation (e.g. `4` for Connect Four's fourth
    /// column, `h8` for Gomoku), checking that it is legal in `s`.
    fn parse_move(&self, s: &Self::State, text: &str) -> Result<usize>;

    /// Writes action `a` in the game's notation.
    fn format_move(&self, a: usize) -> String;

    /// Splits a move list into move tokens (default: whitespace separated).
    fn split_moves<'a>(&self, text: &'a str) -> Vec<&'a str> {
        text.split_whitespace().collect()
    }

    /// Writes a move list in the game's notation; [`Game::parse_position`] reads it back.
    fn format_moves(&self, moves: &[usize]) -> String {
        moves
            .iter()
            .map(|&a| self.format_move(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// For games played over GTP (Go): the commands that set an engine up
    /// for these rules (`boardsize`, `komi`); `None` for other games.
    fn gtp_setup(&self) -> Option<Vec<String>> {
        None
    }

    /// Rule settings beyond [`Game::name`] that positions depend on, as
    /// flag and value (Go: `komi 7.5`); stored with a run and checked when
    /// it resumes. `None` for games without any.
    fn variant(&self) -> Option<String> {
        None
    }

    /// The pass action, for games that have one (Go).
    fn pass_action(&self) -> Option<usize> {
        None
    }

    /// For games scored by counting (Go): the first player's margin if the
    /// game ended now, as the board stands (`None` for other games).
    fn score_now(&self, _s: &Self::State) -> Option<f32> {
        None
    }

    /// Cells of the auxiliary ownership target (Go: the board's points, cell
    /// `i` being point action `i`, so [`Game::symmetry_action`] maps cells
    /// too); 0 for games without auxiliary targets (the default).
    fn ownership_cells(&self) -> usize {
        0
    }

    /// For a game's final position: every cell's final owner from the first
    /// player's view (`+1` theirs, `-1` the second player's, `0` neither)
    /// and the first player's final margin over the number of cells; `None`
    /// when `s` is not final or the game has no auxiliary targets.
    fn final_ownership(&self, _s: &Self::State) -> Option<(Vec<f32>, f32)> {
        None
    }

    /// Human-readable board.
    fn render(&self, s: &Self::State) -> String;

    /// The position reached by playing a move list from the start, every move
    /// checked (the error names the offending move and its index).
    fn parse_position(&self, text: &str) -> Result<Self::State> {
        self.parse_moves(text).map(|(_, s)| s)
    }

    /// [`Game::parse_position`] with the moves it read.
    fn parse_moves(&self, text: &str) -> Result<(Vec<usize>, Self::State)> {
        let mut s = self.initial();
        let mut moves = Vec::new();
        for (i, token) in self.split_moves(text).into_iter().enumerate() {
            let a = self.parse_move(&s, token).map_err(|e| match e {
                Error::IllegalMove { mv, reason } => Error::IllegalMove {
                    mv,
                    reason: format!("{reason} (move {} of {text:?})", i + 1),
                },
                other => other,
            })?;
            self.apply(&mut s, a);
            moves.push(a);
        }
        Ok((moves, s))
    }

    /// Plays `a` after checking it; the checked counterpart of [`Game::apply`].
    fn play(&self, s: &mut Self::State, a: usize) -> Result<()> {
        if self.terminal_value(s).is_some() {
            return Err(Error::IllegalMove {
                mv: self.format_move(a),
                reason: "the game is over".into(),
            });
        }
        if a >= self.num_actions() || !self.is_legal(s, a) {
            return Err(Error::IllegalMove {
                mv: if a < self.num_actions() {
                    self.format_move(a)
                } else {
                    a.to_string()
                },
                reason: "not a legal move in this position".into(),
            });
        }
        self.apply(s, a);
        Ok(())
    }

    /// Fills `out` (`len == num_actions()`) with 1 for legal actions, 0 otherwise.
    fn legal_mask(&self, s: &Self::State, out: &mut [u8]) {
        debug_assert_eq!(out.len(), self.num_actions());
        for (a, m) in out.iter_mut().enumerate() {
            *m = self.is_legal(s, a) as u8;
        }
    }

    /// Encodes a position (pack, then the reference encoding).
    fn encode(&self, s: &Self::State, out: &mut [f32]) {
        let mut words = vec![0u32; self.packed_words()];
        self.pack(s, &mut words);
        self.encode_packed(&words, out);
    }

    /// Number of values in one position's planes.
    fn planes_len(&self) -> usize {
        let [c, h, w] = self.planes_shape();
        c * h * w
    }
}

/// Move tokens of one character each (Connect Four and tic-tac-toe's
/// notation, `4453`), whitespace ignored. Splits by character, not by
/// byte, so any text (`4é`) gives tokens that the move parser can refuse.
pub(crate) fn split_characters(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .flat_map(|w| w.char_indices().map(move |(i, c)| &w[i..i + c.len_utf8()]))
        .collect()
}

/// How a finished game ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Player 0 or 1 won.
    Win(u8),
    Draw,
}

/// The outcome of `s` if it is terminal. [`Game::terminal_value`] is for
/// the side to move, and the side to move may be the winner (a Go game
/// ended by two passes), so the winner is read from the value's sign, never
/// assumed to be the player who moved last.
pub fn outcome<G: Game>(game: &G, s: &G::State) -> Option<Outcome> {
    let v = game.terminal_value(s)?;
    let to_move = game.to_move(s);
    Some(if v > 0.0 {
        Outcome::Win(to_move)
    } else if v < 0.0 {
        Outcome::Win(1 - to_move)
    } else {
        Outcome::Draw
    })
}

/// Number of move sequences of exactly `depth` plies from `s` (games that end
/// earlier count zero): the "perft" count used to check move generation.
pub fn perft<G: Game>(game: &G, s: &G::State, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    if game.terminal_value(s).is_some() {
        return 0;
    }
    let mut actions = Vec::with_capacity(game.num_actions());
    game.legal_actions(s, &mut actions);
    if depth == 1 {
        return actions.len() as u64;
    }
    actions
        .iter()
        .map(|&a| {
            let mut child = s.clone();
            game.apply(&mut child, a);
            perft(game, &child, depth - 1)
        })
        .sum()
}

/// Number of distinct complete games (move sequences ending in a terminal position) from `s`.
pub fn count_games<G: Game>(game: &G, s: &G::State) -> u64 {
    if game.terminal_value(s).is_some() {
        return 1;
    }
    let mut actions = Vec::with_capacity(game.num_actions());
    game.legal_actions(s, &mut actions);
    actions
        .iter()
        .map(|&a| {
            let mut child = s.clone();
            game.apply(&mut child, a);
            count_games(game, &child)
        })
        .sum()
}

/// Maps board coordinates `(row, col)` on an `n x n` board through one of the
/// 8 symmetries of the square (rotations, then a mirror for `sym >= 4`).
pub(crate) fn dihedral(sym: usize, r: usize, c: usize, n: usize) -> (usize, usize) {
    let m = n - 1;
    let (r, c) = if sym >= 4 { (r, m - c) } else { (r, c) };
    match sym % 4 {
        0 => (r, c),
        1 => (c, m - r),
        2 => (m - r, m - c),
        _ => (m - c, r),
    }
}

/// SplitMix64 finalizer: a bijective 64-bit mixer (used for hashing and
/// building Zobrist tables at compile time).
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Zobrist keys of two players' stones on up to 19x19 points (board games
/// on an `n x n` board use the first `n * n`), derived from `seed` with
/// [`mix64`] at compile time.
pub(crate) const fn zobrist_keys(seed: u64) -> [[u64; 361]; 2] {
    const CELLS: usize = 361;
    let mut t = [[0u64; CELLS]; 2];
    let mut p = 0;
    while p < 2 {
        let mut i = 0;
        while i < CELLS {
            t[p][i] = mix64(seed.wrapping_mul((p * CELLS + i + 1) as u64));
            i += 1;
        }
        p += 1;
    }
    t
}

/// Writes a bit set (`bits[i]` for cell `i`) as planes value 1.0/0.0.
pub(crate) fn bit(words: &[u32], i: usize) -> bool {
    (words[i / 32] >> (i % 32)) & 1 == 1
}
