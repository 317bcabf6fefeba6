//! What the page draws: a game's board as cells, and where its moves go.

use wgzero::game::connect4::{Connect4, HEIGHT, WIDTH};
use wgzero::game::go::Go;
use wgzero::game::Game;

/// A board game as the page shows it: a grid of cells, row 0 at the top.
pub trait BoardView: Game {
    /// Rows and columns of the grid.
    fn grid(&self) -> (usize, usize);
    /// Each cell, row by row from the top: -1 empty, else the player (0
    /// moves first) whose stone it holds.
    fn cells(&self, s: &Self::State) -> Vec<i8>;
    /// The action a click on a cell asks for (Connect Four: its column).
    fn action_at(&self, row: usize, col: usize) -> Option<usize>;
}

impl BoardView for Connect4 {
    fn grid(&self) -> (usize, usize) {
        (HEIGHT, WIDTH)
    }

    fn cells(&self, s: &Self::State) -> Vec<i8> {
        // Bit `col * (HEIGHT + 1) + row` holds the cell `row` up from the
        // bottom; `current` holds the side to move's stones.
        let mover = (s.moves % 2) as i8;
        let mut out = vec![-1; HEIGHT * WIDTH];
        for r in 0..HEIGHT {
            for c in 0..WIDTH {
                let bit = 1u64 << (c * (HEIGHT + 1) + r);
                if s.mask & bit != 0 {
                    let own = s.current & bit != 0;
                    out[(HEIGHT - 1 - r) * WIDTH + c] = if own { mover } else { 1 - mover };
                }
            }
        }
        out
    }

    fn action_at(&self, row: usize, col: usize) -> Option<usize> {
        (row < HEIGHT && col < WIDTH).then_some(col)
    }
}

impl BoardView for Go {
    fn grid(&self) -> (usize, usize) {
        (self.size(), self.size())
    }

    fn cells(&self, s: &Self::State) -> Vec<i8> {
        (0..self.points())
            .map(|p| s.stone(p).map_or(-1, |c| c as i8))
            .collect()
    }

    fn action_at(&self, row: usize, col: usize) -> Option<usize> {
        (row < self.size() && col < self.size()).then(|| row * self.size() + col)
    }
}
