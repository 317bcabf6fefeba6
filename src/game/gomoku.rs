//! Free-style Gomoku: five or more in a row wins, on an `n x n` board
//! (default 15x15, any size from 5 to 19).
//!
//! Cells are numbered `row * n + col` with row 0 at the top; the notation is a
//! column letter and a rank counted from the bottom (`h8` is the centre of 15x15).

use super::{bit, dihedral, zobrist_keys, Game};
use crate::error::{Error, Result};

/// Largest supported board side.
pub const MAX_SIZE: usize = 19;
const MAX_CELLS: usize = MAX_SIZE * MAX_SIZE;
const WORDS64: usize = MAX_CELLS.div_ceil(64);
const NO_MOVE: u16 = u16::MAX;

static ZOBRIST: [[u64; MAX_CELLS]; 2] = zobrist_keys(0x9e37_79b9_7f4a_7c15);

/// A Gomoku position.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GomokuState {
    /// Stones by player (0 moved first), one bit per cell.
    stones: [[u64; WORDS64]; 2],
    moves: u16,
    last: u16,
    /// Whether the last move made five or more.
    won: bool,
    hash: u64,
}

impl GomokuState {
    fn has(&self, player: usize, cell: usize) -> bool {
        self.stones[player][cell / 64] >> (cell % 64) & 1 == 1
    }
    fn occupied(&self, cell: usize) -> bool {
        self.has(0, cell) || self.has(1, cell)
    }
    /// The stone at `cell`: `Some(player)` or `None` when empty.
    pub fn stone(&self, cell: usize) -> Option<u8> {
        (0..2).find(|&p| self.has(p, cell)).map(|p| p as u8)
    }
    /// The last move played, if any.
    pub fn last_move(&self) -> Option<usize> {
        (self.last != NO_MOVE).then_some(self.last as usize)
    }
}

/// Gomoku rules for one board size.
#[derive(Clone, Copy, Debug)]
pub struct Gomoku {
    n: usize,
}

impl Default for Gomoku {
    fn default() -> Self {
        Gomoku { n: 15 }
    }
}

impl Gomoku {
    /// Gomoku on an `n x n` board, `5 <= n <= 19`.
    pub fn new(n: usize) -> Result<Self> {
        if !(5..=MAX_SIZE).contains(&n) {
            return Err(Error::config(format!(
                "gomoku board size {n} is outside 5..={MAX_SIZE}"
            )));
        }
        Ok(Gomoku { n })
    }
    /// Board side.
    pub fn size(&self) -> usize {
        self.n
    }
    fn cells(&self) -> usize {
        self.n * self.n
    }
    fn words_per_player(&self) -> usize {
        self.cells().div_ceil(32)
    }
    /// Length of the line of `player`'s stones through `cell` along `(dr, dc)`.
    fn line_length(
        &self,
        s: &GomokuState,
        player: usize,
        cell: usize,
        dr: isize,
        dc: isize,
    ) -> usize {
        let n = self.n as isize;
        let (r0, c0) = ((cell / self.n) as isize, (cell % self.n) as isize);
        let mut len = 1;
        for sign in [1, -1] {
            let (mut r, mut c) = (r0 + sign * dr, c0 + sign * dc);
            while r >= 0 && r < n && c >= 0 && c < n && s.has(player, (r * n + c) as usize) {
                len += 1;
                r += sign * dr;
                c += sign * dc;
            }
        }
        len
    }
    /// Whether a stone of `player` (0 moved first) on the empty `cell` would
    /// make five or more.
    pub fn would_make_five(&self, s: &GomokuState, player: u8, cell: usize) -> bool {
        self.makes_five(s, player as usize, cell)
    }

    fn makes_five(&self, s: &GomokuState, player: usize, cell: usize) -> bool {
        [(0, 1), (1, 0), (1, 1), (1, -1)]
            .iter()
            .any(|&(dr, dc)| self.line_length(s, player, cell, dr, dc) >= 5)
    }
}

impl Game for Gomoku {
    type State = GomokuState;

    fn name(&self) -> String {
        format!("gomoku{}", self.n)
    }
    fn num_actions(&self) -> usize {
        self.cells()
    }
    fn initial(&self) -> GomokuState {
        GomokuState {
            stones: [[0; WORDS64]; 2],
            moves: 0,
            last: NO_MOVE,
            won: false,
            hash: 0,
        }
    }
    fn to_move(&self, s: &GomokuState) -> u8 {
        (s.moves & 1) as u8
    }
    fn moves_played(&self, s: &GomokuState) -> usize {
        s.moves as usize
    }
    fn is_legal(&self, s: &GomokuState, a: usize) -> bool {
        a < self.cells() && !s.occupied(a) && self.terminal_value(s).is_none()
    }
    fn legal_actions(&self, s: &GomokuState, out: &mut Vec<usize>) {
        out.clear();
        if self.terminal_value(s).is_some() {
            return;
        }
        let cells = self.cells();
        for w in 0..cells.div_ceil(64) {
            let mut free = !(s.stones[0][w] | s.stones[1][w]);
            while free != 0 {
                let i = w * 64 + free.trailing_zeros() as usize;
                if i >= cells {
                    break;
                }
                out.push(i);
                free &= free - 1;
            }
        }
    }
    fn apply(&self, s: &mut GomokuState, a: usize) {
        debug_assert!(!s.occupied(a), "cell {a} is occupied");
        let p = (s.moves & 1) as usize;
        s.stones[p][a / 64] |= 1 << (a % 64);
        s.hash ^= ZOBRIST[p][a];
        s.moves += 1;
        s.last = a as u16;
        s.won = self.makes_five(s, p, a);
    }
    fn terminal_value(&self, s: &GomokuState) -> Option<f32> {
        if s.won {
            Some(-1.0)
        } else if s.moves as usize == self.cells() {
            Some(0.0)
        } else {
            None
        }
    }
    fn hash(&self, s: &GomokuState) -> u64 {
        s.hash
    }
    fn num_symmetries(&self) -> usize {
        8
    }
    fn symmetry_action(&self, sym: usize, a: usize) -> usize {
        let (r, c) = dihedral(sym, a / self.n, a % self.n, self.n);
        r * self.n + c
    }
    fn symmetry_state(&self, sym: usize, s: &GomokuState) -> GomokuState {
        let mut t = self.initial();
        for cell in 0..self.cells() {
            if let Some(p) = s.stone(cell) {
                let img = self.symmetry_action(sym, cell);
                t.stones[p as usize][img / 64] |= 1 << (img % 64);
                t.hash ^= ZOBRIST[p as usize][img];
            }
        }
        t.moves = s.moves;
        t.won = s.won;
        t.last = s
            .last_move()
            .map_or(NO_MOVE, |l| self.symmetry_action(sym, l) as u16);
        t
    }

    /// `[own bits (ceil(n*n/32) words), opponent bits (same), moves]`, cell `i`
    /// at bit `i % 32` of word `i / 32`.
    fn packed_words(&self) -> usize {
        2 * self.words_per_player() + 1
    }
    fn pack(&self, s: &GomokuState, out: &mut [u32]) {
        let wpp = self.words_per_player();
        let me = (s.moves & 1) as usize;
        for (k, p) in [me, 1 - me].into_iter().enumerate() {
            for w in 0..wpp {
                out[k * wpp + w] = (s.stones[p][w / 2] >> (32 * (w % 2))) as u32;
            }
        }
        out[2 * wpp] = s.moves as u32;
    }
    fn unpack(&self, words: &[u32]) -> Result<GomokuState> {
        if words.len() != self.packed_words() {
            return Err(Error::InvalidState(format!(
                "{} needs {} words, got {}",
                self.name(),
                self.packed_words(),
                words.len()
            )));
        }
        let wpp = self.words_per_player();
        let moves = words[2 * wpp] as usize;
        let me = moves & 1;
        let mut s = self.initial();
        for (k, p) in [me, 1 - me].into_iter().enumerate() {
            for (cell, key) in ZOBRIST[p].iter().enumerate().take(self.cells()) {
                if bit(&words[k * wpp..], cell) {
                    if s.occupied(cell) {
                        return Err(Error::InvalidState("a cell holds two stones".into()));
                    }
                    s.stones[p][cell / 64] |= 1 << (cell % 64);
                    s.hash ^= key;
                }
            }
        }
        let counts = [0, 1].map(|p| {
            s.stones[p]
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>()
        });
        if counts[0] + counts[1] != moves || counts[0] != counts[1] + (moves & 1) {
            return Err(Error::InvalidState(
                "stone counts do not match the move count".into(),
            ));
        }
        let used = self.cells() - 32 * (wpp - 1);
        if used < 32 && (0..2).any(|k| words[k * wpp + wpp - 1] >> used != 0) {
            return Err(Error::InvalidState("stones outside the board".into()));
        }
        s.moves = moves as u16;
        // The last move is not packed; a five on the board can only be the last
        // mover's, and ends the game.
        let last_mover = 1 - me;
        s.won =
            (0..self.cells()).any(|c| s.has(last_mover, c) && self.makes_five(&s, last_mover, c));
        Ok(s)
    }

    /// `[2, n, n]`: the side to move's stones, then the opponent's; row 0 at the top.
    fn planes_shape(&self) -> [usize; 3] {
        [2, self.n, self.n]
    }
    fn encode_packed(&self, words: &[u32], out: &mut [f32]) {
        let (cells, wpp) = (self.cells(), self.words_per_player());
        for plane in 0..2 {
            for cell in 0..cells {
                out[plane * cells + cell] = bit(&words[plane * wpp..], cell) as u8 as f32;
            }
        }
    }

    fn parse_move(&self, s: &GomokuState, text: &str) -> Result<usize> {
        let t = text.trim().to_ascii_lowercase();
        let err = || {
            Error::parse(
                "a Gomoku move",
                text.trim(),
                format!(
                    "expected a column letter a-{} and a row 1-{} (e.g. h8)",
                    (b'a' + self.n as u8 - 1) as char,
                    self.n
                ),
            )
        };
        let mut chars = t.chars();
        let col = chars
            .next()
            .filter(|c| c.is_ascii_lowercase())
            .ok_or_else(err)? as usize
            - 'a' as usize;
        let rank: usize = chars.as_str().parse().map_err(|_| err())?;
        if col >= self.n || !(1..=self.n).contains(&rank) {
            return Err(err());
        }
        let a = (self.n - rank) * self.n + col;
        if self.terminal_value(s).is_some() {
            return Err(Error::IllegalMove {
                mv: t,
                reason: "the game is over".into(),
            });
        }
        if s.occupied(a) {
            return Err(Error::IllegalMove {
                mv: t,
                reason: "the cell is occupied".into(),
            });
        }
        Ok(a)
    }
    fn format_move(&self, a: usize) -> String {
        let (r, c) = (a / self.n, a % self.n);
        format!("{}{}", (b'a' + c as u8) as char, self.n - r)
    }
    /// Three characters per cell; the last move is shown in brackets.
    fn render(&self, s: &GomokuState) -> String {
        let mut text = String::new();
        for r in 0..self.n {
            text.push_str(&format!("{:>2} ", self.n - r));
            for c in 0..self.n {
                let cell = r * self.n + c;
                let mark = match s.stone(cell) {
                    Some(0) => 'X',
                    Some(_) => 'O',
                    None => '.',
                };
                if s.last_move() == Some(cell) {
                    text.extend(['[', mark, ']']);
                } else {
                    text.extend([' ', mark, ' ']);
                }
            }
            text.push('\n');
        }
        text.push_str("   ");
        for c in 0..self.n {
            text.extend([' ', (b'a' + c as u8) as char, ' ']);
        }
        text.push('\n');
        text
    }
}
