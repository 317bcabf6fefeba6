//! Exact Connect Four solver: negamax with alpha-beta, a transposition table,
//! bitboards, move ordering by threats and null-window iterative narrowing
//! (after Pascal Pons' solver).
//!
//! Scores follow the usual convention (the one of the public solver test
//! files): `0` is a draw; a positive score `s` means the side to move wins and
//! will have `22 - s` of its own stones on the board once it has won (faster
//! wins score higher); a negative score is the same for the opponent.

use crate::game::connect4::{column_mask, winning_cells, C4State, HEIGHT, WIDTH};

const CELLS: i32 = (WIDTH * HEIGHT) as i32;
/// Lowest possible score.
pub const MIN_SCORE: i32 = -CELLS / 2 + 3;
/// Highest possible score.
pub const MAX_SCORE: i32 = (CELLS + 1) / 2 - 3;

/// Columns from the centre outwards: better moves first.
const ORDER: [usize; WIDTH] = [3, 2, 4, 1, 5, 0, 6];

/// Win / draw / loss for the side to move.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wdl {
    Loss,
    Draw,
    Win,
}

impl Wdl {
    /// The outcome class of a score.
    pub fn of(score: i32) -> Wdl {
        match score.signum() {
            1 => Wdl::Win,
            0 => Wdl::Draw,
            _ => Wdl::Loss,
        }
    }
}

/// Transposition table: full keys (49 bits) with an 8-bit bound, one `u64` per entry.
struct Table {
    entries: Vec<u64>,
    mask: usize,
}

impl Table {
    fn new(log2: u32) -> Self {
        Table {
            entries: vec![0; 1 << log2],
            mask: (1 << log2) - 1,
        }
    }
    fn index(&self, key: u64) -> usize {
        (crate::game::mix64(key) as usize) & self.mask
    }
    fn put(&mut self, key: u64, value: u8) {
        let i = self.index(key);
        self.entries[i] = key << 8 | value as u64;
    }
    /// Stored value, or 0 when absent.
    fn get(&self, key: u64) -> u8 {
        let e = self.entries[self.index(key)];
        if e >> 8 == key {
            e as u8
        } else {
            0
        }
    }
    fn clear(&mut self) {
        self.entries.fill(0);
    }
}

/// Moves that do not hand the opponent an immediate win (empty when every move loses).
fn non_losing_moves(p: &C4State) -> u64 {
    let mut possible = p.possible();
    let opponent_win = winning_cells(p.opponent(), p.mask);
    let forced = possible & opponent_win;
    if forced != 0 {
        if forced & (forced - 1) != 0 {
            return 0; // two threats at once: lost
        }
        possible = forced;
    }
    possible & !(opponent_win >> 1) // never play below an opponent's winning cell
}

/// The smaller of a position key and its mirror image's: mirrored positions
/// have the same score, so they share a table entry.
#[inline]
fn canonical_key(key: u64) -> u64 {
    const COL: u64 = (1 << 7) - 1;
    let mirror = (key & COL) << 42
        | (key >> 7 & COL) << 35
        | (key >> 14 & COL) << 28
        | (key & COL << 21)
        | (key >> 28 & COL) << 14
        | (key >> 35 & COL) << 7
        | key >> 42 & COL;
    key.min(mirror)
}

fn can_win_next(p: &C4State) -> bool {
    winning_cells(p.current, p.mask) & p.possible() != 0
}

/// The solver. Reuse one instance across positions: its table keeps what it learnt.
pub struct Solver {
    table: Table,
    nodes: u64,
}

impl Default for Solver {
    fn default() -> Self {
        Self::new()
    }
}

impl Solver {
    /// A solver with a 2^23-entry (64 MiB) transposition table.
    pub fn new() -> Self {
        Self::with_table_bits(23)
    }

    /// A solver with a `2^bits`-entry transposition table (8 bytes each).
    pub fn with_table_bits(bits: u32) -> Self {
        Solver {
            table: Table::new(bits.clamp(10, 30)),
            nodes: 0,
        }
    }

    /// Positions explored since the solver was made.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// Forgets the transposition table.
    pub fn reset(&mut self) {
        self.table.clear();
        self.nodes = 0;
    }

    /// Exact score of a non-terminal position for the side to move.
    pub fn solve(&mut self, p: &C4State) -> i32 {
        self.solve_within(p, false)
    }

    /// Win (1), draw (0) or loss (-1) for the side to move; faster than [`Solver::solve`].
    pub fn solve_weak(&mut self, p: &C4State) -> i32 {
        self.solve_within(p, true).signum()
    }

    fn solve_within(&mut self, p: &C4State, weak: bool) -> i32 {
        let moves = p.moves as i32;
        if can_win_next(p) {
            return (CELLS + 1 - moves) / 2;
        }
        let (mut min, mut max) = if weak {
            (-1, 1)
        } else {
            (-(CELLS - moves) / 2, (CELLS + 1 - moves) / 2)
        };
        // Null-window searches narrow [min, max] to the exact score.
        while min < max {
            let mut med = min + (max - min) / 2;
            if med <= 0 && min / 2 < med {
                med = min / 2;
            } else if med >= 0 && max / 2 > med {
                med = max / 2;
            }
            let r = self.negamax(p, med, med + 1);
            if r <= med {
                max = r;
            } else {
                min = r;
            }
        }
        min
    }

    /// Score of every column for the side to move: `None` for a full column.
    /// Every `Some` is the score of the position after that move, from the
    /// mover's side, so the best of them is the position's score.
    pub fn analyze(&mut self, p: &C4State) -> [Option<i32>; WIDTH] {
        self.analyze_within(p, false)
    }

    /// Like [`Solver::analyze`] but each score only tells win (1), draw (0) or
    /// loss (-1) for the side to move; faster.
    pub fn analyze_weak(&mut self, p: &C4State) -> [Option<i32>; WIDTH] {
        self.analyze_within(p, true).map(|s| s.map(i32::signum))
    }

    fn analyze_within(&mut self, p: &C4State, weak: bool) -> [Option<i32>; WIDTH] {
        let mut scores = [None; WIDTH];
        for (col, score) in scores.iter_mut().enumerate() {
            if !p.can_play(col) {
                continue;
            }
            *score = Some(if p.is_winning_move(col) {
                (CELLS + 1 - p.moves as i32) / 2
            } else {
                let mut child = *p;
                child.play_col(col);
                if child.moves as i32 == CELLS {
                    0
                } else {
                    -self.solve_within(&child, weak)
                }
            });
        }
        scores
    }

    /// Alpha-beta negamax. Requires: the side to move cannot win at once.
    fn negamax(&mut self, p: &C4State, mut alpha: i32, mut beta: i32) -> i32 {
        debug_assert!(alpha < beta && !can_win_next(p));
        self.nodes += 1;
        let moves = p.moves as i32;
        let next = non_losing_moves(p);
        if next == 0 {
            return -(CELLS - moves) / 2; // every move lets the opponent win next
        }
        if moves >= CELLS - 2 {
            return 0; // the last two moves cannot win for anyone here
        }
        let min = -(CELLS - 2 - moves) / 2; // the opponent cannot win next move
        if alpha < min {
            alpha = min;
            if alpha >= beta {
                return alpha;
            }
        }
        let mut max = (CELLS - 1 - moves) / 2; // we cannot win next move
        let key = canonical_key(p.key());
        let stored = self.table.get(key) as i32;
        if stored != 0 {
            if stored > MAX_SCORE - MIN_SCORE + 1 {
                let lower = stored + 2 * MIN_SCORE - MAX_SCORE - 2;
                if alpha < lower {
                    alpha = lower;
                    if alpha >= beta {
                        return alpha;
                    }
                }
            } else {
                max = stored + MIN_SCORE - 1;
            }
        }
        if beta > max {
            beta = max;
            if alpha >= beta {
                return beta;
            }
        }
        let ordered = Self::order_moves(p, next);
        for &(mv, _) in ordered.iter().take_while(|m| m.0 != 0) {
            let mut child = *p;
            child.play_bit(mv);
            let score = -self.negamax(&child, -beta, -alpha);
            if score >= beta {
                self.table
                    .put(key, (score + MAX_SCORE - 2 * MIN_SCORE + 2) as u8);
                return score;
            }
            alpha = alpha.max(score);
        }
        self.table.put(key, (alpha - MIN_SCORE + 1) as u8);
        alpha
    }

    /// Candidate moves sorted by the number of winning cells they create
    /// (stable: ties keep centre-first order). Unused slots hold move 0.
    fn order_moves(p: &C4State, next: u64) -> [(u64, u32); WIDTH] {
        let mut list = [(0u64, 0u32); WIDTH];
        let mut n = 0;
        for &col in ORDER.iter().rev() {
            let mv = next & column_mask(col);
            if mv == 0 {
                continue;
            }
            let score = winning_cells(p.current | mv, p.mask).count_ones();
            // insertion sort, highest score first; later (more central) wins ties
            let mut i = n;
            while i > 0 && list[i - 1].1 <= score {
                list[i] = list[i - 1];
                i -= 1;
            }
            list[i] = (mv, score);
            n += 1;
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::{Connect4, Game};

    #[test]
    fn immediate_win_scores_by_moves_left() {
        let g = Connect4;
        // X has three in column 1 and plays there: wins with its 4th stone.
        let p = g.parse_position("121212").unwrap();
        let mut s = Solver::with_table_bits(16);
        assert_eq!(s.solve(&p), (43 - 6) / 2);
    }
}
