//! Tic-tac-toe, mostly for tests: small enough to search exhaustively.
//!
//! Cells `0..9` in reading order (row 0 at the top); the notation is the cell
//! number `1..9` in the same order.

use super::{bit, dihedral, mix64, split_characters, Game};
use crate::error::{Error, Result};

const LINES: [u16; 8] = [
    0b000_000_111,
    0b000_111_000,
    0b111_000_000,
    0b001_001_001,
    0b010_010_010,
    0b100_100_100,
    0b100_010_001,
    0b001_010_100,
];

/// A tic-tac-toe position.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TttState {
    /// Stones by player (0 moved first), one bit per cell.
    pub stones: [u16; 2],
    pub moves: u8,
}

fn has_line(bits: u16) -> bool {
    LINES.iter().any(|&l| l & !bits == 0)
}

/// Tic-tac-toe rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct TicTacToe;

impl Game for TicTacToe {
    type State = TttState;

    fn name(&self) -> String {
        "tictactoe".into()
    }
    fn num_actions(&self) -> usize {
        9
    }
    fn initial(&self) -> TttState {
        TttState::default()
    }
    fn to_move(&self, s: &TttState) -> u8 {
        s.moves & 1
    }
    fn moves_played(&self, s: &TttState) -> usize {
        s.moves as usize
    }
    fn is_legal(&self, s: &TttState, a: usize) -> bool {
        a < 9 && (s.stones[0] | s.stones[1]) >> a & 1 == 0 && self.terminal_value(s).is_none()
    }
    fn legal_actions(&self, s: &TttState, out: &mut Vec<usize>) {
        out.clear();
        if self.terminal_value(s).is_none() {
            out.extend((0..9).filter(|&a| (s.stones[0] | s.stones[1]) >> a & 1 == 0));
        }
    }
    fn apply(&self, s: &mut TttState, a: usize) {
        debug_assert!((s.stones[0] | s.stones[1]) >> a & 1 == 0);
        s.stones[(s.moves & 1) as usize] |= 1 << a;
        s.moves += 1;
    }
    fn terminal_value(&self, s: &TttState) -> Option<f32> {
        let last = ((s.moves + 1) & 1) as usize;
        if s.moves > 0 && has_line(s.stones[last]) {
            Some(-1.0)
        } else if s.moves == 9 {
            Some(0.0)
        } else {
            None
        }
    }
    fn hash(&self, s: &TttState) -> u64 {
        mix64((s.stones[0] as u64) | (s.stones[1] as u64) << 16 | 1 << 40)
    }
    fn num_symmetries(&self) -> usize {
        8
    }
    fn symmetry_action(&self, sym: usize, a: usize) -> usize {
        let (r, c) = dihedral(sym, a / 3, a % 3, 3);
        r * 3 + c
    }
    fn symmetry_state(&self, sym: usize, s: &TttState) -> TttState {
        let map = |bits: u16| {
            (0..9)
                .filter(|&a| bits >> a & 1 == 1)
                .fold(0u16, |acc, a| acc | 1 << self.symmetry_action(sym, a))
        };
        TttState {
            stones: [map(s.stones[0]), map(s.stones[1])],
            moves: s.moves,
        }
    }

    /// `[own bits, opponent bits, moves]`.
    fn packed_words(&self) -> usize {
        3
    }
    fn pack(&self, s: &TttState, out: &mut [u32]) {
        let me = (s.moves & 1) as usize;
        out[0] = s.stones[me] as u32;
        out[1] = s.stones[1 - me] as u32;
        out[2] = s.moves as u32;
    }
    fn unpack(&self, w: &[u32]) -> Result<TttState> {
        if w.len() != 3 {
            return Err(Error::InvalidState(format!(
                "tictactoe needs 3 words, got {}",
                w.len()
            )));
        }
        let (own, opp, moves) = (w[0], w[1], w[2]);
        if (own | opp) >> 9 != 0 || own & opp != 0 {
            return Err(Error::InvalidState("tictactoe: bad stone bits".into()));
        }
        if own.count_ones() + opp.count_ones() != moves
            || opp.count_ones() != own.count_ones() + (moves & 1)
        {
            return Err(Error::InvalidState(
                "tictactoe: counts do not match the move count".into(),
            ));
        }
        let me = (moves & 1) as usize;
        let mut stones = [0u16; 2];
        stones[me] = own as u16;
        stones[1 - me] = opp as u16;
        Ok(TttState {
            stones,
            moves: moves as u8,
        })
    }

    /// `[2, 3, 3]`: the side to move's stones, then the opponent's.
    fn planes_shape(&self) -> [usize; 3] {
        [2, 3, 3]
    }
    fn encode_packed(&self, words: &[u32], out: &mut [f32]) {
        for plane in 0..2 {
            for cell in 0..9 {
                out[plane * 9 + cell] = bit(&words[plane..], cell) as u8 as f32;
            }
        }
    }

    fn parse_move(&self, s: &TttState, text: &str) -> Result<usize> {
        let t = text.trim();
        let a = match t.parse::<usize>() {
            Ok(n) if (1..=9).contains(&n) => n - 1,
            _ => {
                return Err(Error::parse(
                    "a tic-tac-toe move",
                    t,
                    "expected a cell number 1-9",
                ))
            }
        };
        if self.terminal_value(s).is_some() {
            return Err(Error::IllegalMove {
                mv: t.into(),
                reason: "the game is over".into(),
            });
        }
        if !self.is_legal(s, a) {
            return Err(Error::IllegalMove {
                mv: t.into(),
                reason: "the cell is occupied".into(),
            });
        }
        Ok(a)
    }
    fn format_move(&self, a: usize) -> String {
        (a + 1).to_string()
    }
    fn split_moves<'a>(&self, text: &'a str) -> Vec<&'a str> {
        split_characters(text)
    }
    fn format_moves(&self, moves: &[usize]) -> String {
        moves.iter().map(|&a| self.format_move(a)).collect()
    }
    fn render(&self, s: &TttState) -> String {
        let mut text = String::new();
        for r in 0..3 {
            for c in 0..3 {
                let a = r * 3 + c;
                let ch = if s.stones[0] >> a & 1 == 1 {
                    'X'
                } else if s.stones[1] >> a & 1 == 1 {
                    'O'
                } else {
                    char::from(b'1' + a as u8)
                };
                text.push(' ');
                text.push(ch);
            }
            text.push('\n');
        }
        text
    }
}
