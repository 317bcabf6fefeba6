//! Connect Four (7 columns x 6 rows) on bitboards.
//!
//! Bit layout (as in Pascal Pons' solver): column `c` uses bits `7c .. 7c+6`,
//! bit `7c + h` is height `h` from the bottom, bit `7c + 6` is an always-empty
//! sentinel. Actions are columns `0..7`; the notation is 1-based column digits
//! (`"4453"`), as in the usual solver test files.

use super::{bit, mix64, split_characters, Game};
use crate::error::{Error, Result};

pub const WIDTH: usize = 7;
pub const HEIGHT: usize = 6;
const H1: usize = HEIGHT + 1;

const fn bottom_mask() -> u64 {
    let mut m = 0;
    let mut c = 0;
    while c < WIDTH {
        m |= 1 << (c * H1);
        c += 1;
    }
    m
}
/// One bit at the bottom of every column.
pub const BOTTOM: u64 = bottom_mask();
/// Every playable cell.
pub const BOARD: u64 = BOTTOM * ((1 << HEIGHT) - 1);

/// Bit of the top cell of column `col`.
pub const fn top_mask_col(col: usize) -> u64 {
    1 << (HEIGHT - 1 + col * H1)
}
/// Bit of the bottom cell of column `col`.
pub const fn bottom_mask_col(col: usize) -> u64 {
    1 << (col * H1)
}
/// Every cell of column `col`.
pub const fn column_mask(col: usize) -> u64 {
    ((1 << HEIGHT) - 1) << (col * H1)
}

/// Bit index of board cell `(row, col)`, with row 0 at the **top** (display and plane order).
pub const fn cell_bit(row: usize, col: usize) -> usize {
    col * H1 + (HEIGHT - 1 - row)
}

/// Whether `pos` holds four aligned stones.
pub fn has_alignment(pos: u64) -> bool {
    for shift in [H1, HEIGHT, HEIGHT + 2, 1] {
        let m = pos & (pos >> shift);
        if m & (m >> (2 * shift)) != 0 {
            return true;
        }
    }
    false
}

/// Empty cells that would complete four for the owner of `position`.
pub fn winning_cells(position: u64, mask: u64) -> u64 {
    // vertical
    let mut r = (position << 1) & (position << 2) & (position << 3);
    for shift in [H1, HEIGHT, HEIGHT + 2] {
        let p = (position << shift) & (position << (2 * shift));
        r |= p & (position << (3 * shift));
        r |= p & (position >> shift);
        let p = (position >> shift) & (position >> (2 * shift));
        r |= p & (position << shift);
        r |= p & (position >> (3 * shift));
    }
    r & (BOARD ^ mask)
}

/// A Connect Four position: stones of the side to move and of both sides.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct C4State {
    /// Stones of the player to move.
    pub current: u64,
    /// Stones of both players.
    pub mask: u64,
    /// Moves played.
    pub moves: u8,
}

impl C4State {
    /// Whether column `col` has room.
    #[inline]
    pub fn can_play(&self, col: usize) -> bool {
        self.mask & top_mask_col(col) == 0
    }

    /// Plays a move given as its single bit (see [`C4State::possible`]).
    #[inline]
    pub fn play_bit(&mut self, mv: u64) {
        self.current ^= self.mask;
        self.mask |= mv;
        self.moves += 1;
    }

    /// Plays column `col` (must have room).
    #[inline]
    pub fn play_col(&mut self, col: usize) {
        self.play_bit((self.mask + bottom_mask_col(col)) & column_mask(col));
    }

    /// Stones of the player who just moved.
    #[inline]
    pub fn opponent(&self) -> u64 {
        self.current ^ self.mask
    }

    /// The next free cell of every column that has one.
    #[inline]
    pub fn possible(&self) -> u64 {
        (self.mask + BOTTOM) & BOARD
    }

    /// Whether playing `col` wins at once for the side to move.
    pub fn is_winning_move(&self, col: usize) -> bool {
        winning_cells(self.current, self.mask) & self.possible() & column_mask(col) != 0
    }

    /// Unique key of the position (fits in 49 bits).
    #[inline]
    pub fn key(&self) -> u64 {
        self.current + self.mask
    }
}

/// Connect Four rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Connect4;

impl Connect4 {
    fn mirror_bits(bits: u64) -> u64 {
        (0..WIDTH).fold(0, |acc, c| {
            let col = (bits >> (c * H1)) & ((1 << H1) - 1);
            acc | col << ((WIDTH - 1 - c) * H1)
        })
    }
}

impl Game for Connect4 {
    type State = C4State;

    fn name(&self) -> String {
        "connect4".into()
    }
    fn num_actions(&self) -> usize {
        WIDTH
    }
    fn initial(&self) -> C4State {
        C4State::default()
    }
    fn to_move(&self, s: &C4State) -> u8 {
        s.moves & 1
    }
    fn moves_played(&self, s: &C4State) -> usize {
        s.moves as usize
    }
    fn is_legal(&self, s: &C4State, a: usize) -> bool {
        a < WIDTH && s.can_play(a) && self.terminal_value(s).is_none()
    }
    fn legal_actions(&self, s: &C4State, out: &mut Vec<usize>) {
        out.clear();
        if self.terminal_value(s).is_none() {
            out.extend((0..WIDTH).filter(|&c| s.can_play(c)));
        }
    }
    #[inline]
    fn apply(&self, s: &mut C4State, a: usize) {
        debug_assert!(s.can_play(a), "column {a} is full");
        s.play_col(a);
    }
    #[inline]
    fn terminal_value(&self, s: &C4State) -> Option<f32> {
        if has_alignment(s.opponent()) {
            Some(-1.0)
        } else if s.moves as usize == WIDTH * HEIGHT {
            Some(0.0)
        } else {
            None
        }
    }
    fn hash(&self, s: &C4State) -> u64 {
        // The key is unique per position and the mixer is a bijection.
        mix64(s.key())
    }
    fn num_symmetries(&self) -> usize {
        2
    }
    fn symmetry_action(&self, sym: usize, a: usize) -> usize {
        if sym == 0 {
            a
        } else {
            WIDTH - 1 - a
        }
    }
    fn symmetry_state(&self, sym: usize, s: &C4State) -> C4State {
        if sym == 0 {
            return *s;
        }
        C4State {
            current: Self::mirror_bits(s.current),
            mask: Self::mirror_bits(s.mask),
            moves: s.moves,
        }
    }

    /// `[own_lo, own_hi, opp_lo, opp_hi, moves]`: the side to move's stones, the
    /// opponent's stones (bitboard layout above, split in 32-bit halves), and the
    /// number of moves played.
    fn packed_words(&self) -> usize {
        5
    }
    fn pack(&self, s: &C4State, out: &mut [u32]) {
        let opp = s.opponent();
        out[0] = s.current as u32;
        out[1] = (s.current >> 32) as u32;
        out[2] = opp as u32;
        out[3] = (opp >> 32) as u32;
        out[4] = s.moves as u32;
    }
    fn unpack(&self, w: &[u32]) -> Result<C4State> {
        if w.len() != 5 {
            return Err(Error::InvalidState(format!(
                "connect4 needs 5 words, got {}",
                w.len()
            )));
        }
        let own = w[0] as u64 | (w[1] as u64) << 32;
        let opp = w[2] as u64 | (w[3] as u64) << 32;
        let mask = own | opp;
        let bad = |why: &str| Err(Error::InvalidState(format!("connect4: {why}")));
        if own & opp != 0 {
            return bad("a cell holds two stones");
        }
        if mask & !BOARD != 0 {
            return bad("stones outside the board");
        }
        if (mask + BOTTOM) & mask != 0 {
            return bad("a stone floats above an empty cell");
        }
        let moves = w[4];
        if moves != mask.count_ones() {
            return bad("move count does not match the stones");
        }
        // The player who moved last has as many stones as the side to move, or one more.
        if opp.count_ones() != own.count_ones() + (moves & 1) {
            return bad("stone counts do not match the side to move");
        }
        Ok(C4State {
            current: own,
            mask,
            moves: moves as u8,
        })
    }

    /// `[2, 6, 7]`: plane 0 the side to move's stones, plane 1 the opponent's;
    /// row 0 is the top row.
    fn planes_shape(&self) -> [usize; 3] {
        [2, HEIGHT, WIDTH]
    }
    fn encode_packed(&self, words: &[u32], out: &mut [f32]) {
        debug_assert_eq!(out.len(), 2 * HEIGHT * WIDTH);
        for plane in 0..2 {
            let bits = &words[2 * plane..2 * plane + 2];
            for row in 0..HEIGHT {
                for col in 0..WIDTH {
                    out[(plane * HEIGHT + row) * WIDTH + col] =
                        bit(bits, cell_bit(row, col)) as u8 as f32;
                }
            }
        }
    }

    fn parse_move(&self, s: &C4State, text: &str) -> Result<usize> {
        let t = text.trim();
        let col = match t.parse::<usize>() {
            Ok(c) if (1..=WIDTH).contains(&c) => c - 1,
            _ => {
                return Err(Error::parse(
                    "a Connect Four move",
                    t,
                    "expected a column number 1-7",
                ))
            }
        };
        if self.terminal_value(s).is_some() {
            return Err(Error::IllegalMove {
                mv: t.into(),
                reason: "the game is over".into(),
            });
        }
        if !s.can_play(col) {
            return Err(Error::IllegalMove {
                mv: t.into(),
                reason: format!("column {} is full", col + 1),
            });
        }
        Ok(col)
    }
    fn format_move(&self, a: usize) -> String {
        (a + 1).to_string()
    }
    /// Solver notation: one digit per move, optionally separated by spaces.
    fn split_moves<'a>(&self, text: &'a str) -> Vec<&'a str> {
        split_characters(text)
    }
    fn format_moves(&self, moves: &[usize]) -> String {
        moves.iter().map(|&a| self.format_move(a)).collect()
    }
    fn render(&self, s: &C4State) -> String {
        let (x, o) = if s.moves.is_multiple_of(2) {
            (s.current, s.opponent())
        } else {
            (s.opponent(), s.current)
        };
        let mut text = String::new();
        for row in 0..HEIGHT {
            text.push('|');
            for col in 0..WIDTH {
                let b = 1u64 << cell_bit(row, col);
                text.push_str(if x & b != 0 {
                    " X"
                } else if o & b != 0 {
                    " O"
                } else {
                    " ."
                });
            }
            text.push_str(" |\n");
        }
        text.push_str("+---------------+\n  1 2 3 4 5 6 7\n");
        text
    }
}
