//! Static evaluations and move ordering for the minimax baseline.

use crate::game::connect4::{cell_bit, C4State, HEIGHT, WIDTH};
use crate::game::go::GoState;
use crate::game::gomoku::GomokuState;
use crate::game::tictactoe::TttState;
use crate::game::{Connect4, Game, Go, Gomoku, TicTacToe};

/// What alpha-beta needs beyond the rules.
pub trait Heuristic: Game {
    /// Score of a non-terminal position for the side to move, well inside
    /// `(-1e6, 1e6)` (terminal scores lie beyond).
    fn heuristic(&self, s: &Self::State) -> f32;
    /// Moves worth searching, best first (default: all legal moves).
    fn candidates(&self, s: &Self::State, out: &mut Vec<usize>) {
        self.legal_actions(s, out);
    }
}

impl Heuristic for TicTacToe {
    fn heuristic(&self, _s: &TttState) -> f32 {
        0.0
    }
}

/// Every line of four cells on the Connect Four board, as bit masks.
fn c4_windows() -> &'static [u64] {
    static W: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let mut out = Vec::new();
        for r in 0..HEIGHT as isize {
            for c in 0..WIDTH as isize {
                for (dr, dc) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
                    let cells: Vec<_> = (0..4).map(|k| (r + k * dr, c + k * dc)).collect();
                    if cells.iter().all(|&(r, c)| {
                        (0..HEIGHT as isize).contains(&r) && (0..WIDTH as isize).contains(&c)
                    }) {
                        out.push(
                            cells
                                .iter()
                                .fold(0u64, |m, &(r, c)| m | 1 << cell_bit(r as usize, c as usize)),
                        );
                    }
                }
            }
        }
        out
    })
}

impl Heuristic for Connect4 {
    /// Open lines of four: 1 point for two stones, 8 for three, per side;
    /// 2 points per stone in the centre column.
    fn heuristic(&self, s: &C4State) -> f32 {
        const WEIGHT: [f32; 4] = [0.0, 0.0, 1.0, 8.0];
        let (own, opp) = (s.current, s.opponent());
        let mut score = 0.0;
        for &w in c4_windows() {
            let (a, b) = ((own & w).count_ones(), (opp & w).count_ones());
            if b == 0 {
                score += WEIGHT[a.min(3) as usize];
            } else if a == 0 {
                score -= WEIGHT[b.min(3) as usize];
            }
        }
        let centre = crate::game::connect4::column_mask(WIDTH / 2);
        score + 2.0 * ((own & centre).count_ones() as f32 - (opp & centre).count_ones() as f32)
    }
    fn candidates(&self, s: &C4State, out: &mut Vec<usize>) {
        out.clear();
        if self.terminal_value(s).is_none() {
            out.extend([3, 2, 4, 1, 5, 0, 6].into_iter().filter(|&c| s.can_play(c)));
        }
    }
}

impl Gomoku {
    /// Sum over all lines of five cells holding stones of one side only:
    /// `4^k` for k stones, positive for the side to move. `(own, opp)`.
    fn line_scores(&self, s: &GomokuState) -> (f32, f32) {
        const WEIGHT: [f32; 6] = [0.0, 1.0, 4.0, 16.0, 64.0, 256.0];
        let n = self.size() as isize;
        let me = self.to_move(s);
        let (mut own, mut opp) = (0.0, 0.0);
        for r in 0..n {
            for c in 0..n {
                for (dr, dc) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
                    let (er, ec) = (r + 4 * dr, c + 4 * dc);
                    if !(0..n).contains(&er) || !(0..n).contains(&ec) {
                        continue;
                    }
                    let (mut a, mut b) = (0, 0);
                    for k in 0..5 {
                        match s.stone(((r + k * dr) * n + c + k * dc) as usize) {
                            Some(p) if p == me => a += 1,
                            Some(_) => b += 1,
                            None => {}
                        }
                    }
                    if b == 0 {
                        own += WEIGHT[a];
                    } else if a == 0 {
                        opp += WEIGHT[b];
                    }
                }
            }
        }
        (own, opp)
    }
}

/// Candidate cells searched by Gomoku minimax.
const GOMOKU_CANDIDATES: usize = 10;

impl Heuristic for Gomoku {
    fn heuristic(&self, s: &GomokuState) -> f32 {
        let (own, opp) = self.line_scores(s);
        // The side to move has the tempo: its threats count for more.
        1.5 * own - opp
    }
    /// Empty cells near a stone (the centre on an empty board), at most 10:
    /// cells that make five first, then cells that stop the opponent's five,
    /// then by how many stones surround them within two cells.
    fn candidates(&self, s: &GomokuState, out: &mut Vec<usize>) {
        out.clear();
        if self.terminal_value(s).is_some() {
            return;
        }
        let n = self.size() as isize;
        let mut scored: Vec<(u32, usize)> = Vec::new();
        for cell in 0..(n * n) as usize {
            if s.stone(cell).is_some() {
                continue;
            }
            let (r, c) = ((cell as isize) / n, (cell as isize) % n);
            let mut near = 0;
            for dr in -2..=2isize {
                for dc in -2..=2isize {
                    let (rr, cc) = (r + dr, c + dc);
                    if (0..n).contains(&rr)
                        && (0..n).contains(&cc)
                        && s.stone((rr * n + cc) as usize).is_some()
                    {
                        near += if dr.abs() <= 1 && dc.abs() <= 1 { 2 } else { 1 };
                    }
                }
            }
            if near > 0 {
                let me = self.to_move(s);
                let urgency = if self.would_make_five(s, me, cell) {
                    2000
                } else if self.would_make_five(s, 1 - me, cell) {
                    1000
                } else {
                    0
                };
                scored.push((urgency + near, cell));
            }
        }
        if scored.is_empty() {
            out.push(((n / 2) * n + n / 2) as usize);
            return;
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.extend(scored.iter().take(GOMOKU_CANDIDATES).map(|x| x.1));
    }
}

impl Heuristic for Go {
    /// The Tromp-Taylor area score as the board stands (komi included), for
    /// the side to move.
    fn heuristic(&self, s: &GoState) -> f32 {
        let black = self.area_score(s);
        if self.to_move(s) == 0 {
            black
        } else {
            -black
        }
    }
}
