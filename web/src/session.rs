//! One game against a network: the position, the moves, and the search
//! that answers them, driven asynchronously (the browser cannot block).

use serde_json::{json, Value};
use wgzero::eval::Batch;
use wgzero::game::{outcome, Game, Outcome};
use wgzero::mcts::{Search, SearchConfig};
use wgzero::net::browser::evaluate_batch;
use wgzero::net::Network;
use wgzero::{Error, Result};

use crate::board::BoardView;
use crate::now_ms;

/// The largest search the page asks for (simulations per move).
pub const MAX_SIMULATIONS: u32 = 100_000;

/// A game in progress against `net`.
pub struct Session<G: BoardView> {
    game: G,
    net: Network<G>,
    search: Search<G>,
    state: G::State,
    moves: Vec<usize>,
}

impl<G: BoardView> Session<G> {
    /// A new game of `game` against `net`, searched with `cfg`.
    pub fn new(game: G, net: Network<G>, cfg: SearchConfig) -> Result<Self> {
        let search = Search::new(game.clone(), cfg, 1)?;
        let state = game.initial();
        Ok(Session {
            game,
            net,
            search,
            state,
            moves: Vec::new(),
        })
    }

    pub fn network(&self) -> &Network<G> {
        &self.net
    }

    /// Everything the page draws: the grid, whose turn it is, the legal
    /// moves, the moves so far and the result once the game is over.
    pub fn view(&self) -> Value {
        let (rows, cols) = self.game.grid();
        let mut legal = Vec::new();
        self.game.legal_actions(&self.state, &mut legal);
        let result = outcome(&self.game, &self.state).map(|o| match o {
            Outcome::Win(p) => json!({ "winner": p }),
            Outcome::Draw => json!({ "winner": null }),
        });
        json!({
            "game": self.game.name(),
            "rows": rows,
            "cols": cols,
            "cells": self.game.cells(&self.state),
            "to_move": self.game.to_move(&self.state),
            "legal": legal,
            "pass": self.game.pass_action(),
            "moves": self.moves.iter().map(|&a| self.game.format_move(a)).collect::<Vec<_>>(),
            "last": self.moves.last(),
            "score": self.game.score_now(&self.state),
            "result": result,
        })
    }

    /// Plays action `a` (checked).
    pub fn play(&mut self, a: usize) -> Result<()> {
        self.game.play(&mut self.state, a)?;
        self.moves.push(a);
        Ok(())
    }

    /// The action a click on (`row`, `col`) plays, checked.
    pub fn play_at(&mut self, row: usize, col: usize) -> Result<usize> {
        let a = self
            .game
            .action_at(row, col)
            .ok_or_else(|| Error::IllegalMove {
                mv: format!("row {row} column {col}"),
                reason: "outside the board".into(),
            })?;
        self.play(a)?;
        Ok(a)
    }

    /// Takes back the last `n` moves (fewer if fewer were played).
    pub fn undo(&mut self, n: usize) {
        let keep = self.moves.len().saturating_sub(n);
        self.moves.truncate(keep);
        self.state = self.game.initial();
        for &a in &self.moves {
            self.game.apply(&mut self.state, a);
        }
    }

    /// Starts again from the empty board.
    pub fn new_game(&mut self) {
        self.undo(usize::MAX);
    }

    /// The network's own policy (softmax over the legal moves) and value
    /// for the side to move, without search.
    pub async fn evaluate(&self) -> Result<Value> {
        if self.game.terminal_value(&self.state).is_some() {
            return Err(Error::Evaluator("the game is over".into()));
        }
        let mut batch = Batch::new(&self.game, 1);
        batch.push(&self.game, &self.state);
        evaluate_batch(&self.net, &mut batch).await?;
        Ok(json!({ "policy": batch.policy_row(0), "value": batch.value[0] }))
    }

    /// Searches the position with `simulations` network-guided simulations
    /// (leaves batched as natively) and returns the move it would play,
    /// the visit distribution, the network's prior and the root value.
    pub async fn think(&mut self, simulations: u32) -> Result<Value> {
        if !(1..=MAX_SIMULATIONS).contains(&simulations) {
            return Err(Error::Config(format!(
                "simulations must be 1 to {MAX_SIMULATIONS}, not {simulations}"
            )));
        }
        if self.game.terminal_value(&self.state).is_some() {
            return Err(Error::Evaluator("the game is over".into()));
        }
        let start = now_ms();
        self.search.reset(self.state.clone());
        let (result, batches) = run_search(&mut self.search, &self.net, simulations).await?;
        let prior = self.evaluate().await?;
        Ok(json!({
            "action": result.action,
            "move": self.game.format_move(result.action),
            "visits": result.visits,
            "policy": result.policy,
            "value": result.value,
            "prior": prior["policy"],
            "net_value": prior["value"],
            "simulations": result.simulations,
            "batches": batches,
            "ms": now_ms() - start,
        }))
    }
}

/// One search of `simulations` from `search`'s root with `net`: the
/// native `Search::run` loop with the evaluation awaited. Returns the
/// result and the network calls it made.
pub async fn run_search<G: Game>(
    search: &mut Search<G>,
    net: &Network<G>,
    simulations: u32,
) -> Result<(wgzero::mcts::SearchResult, u64)> {
    search.begin(simulations)?;
    let leaves = search.config().leaves_per_gather;
    let mut batch = Batch::new(search.game(), leaves);
    let mut calls = 0;
    while !search.is_done() {
        if search.gather_next(&mut batch, leaves)? {
            evaluate_batch(net, &mut batch).await?;
            calls += 1;
            search.absorb(&batch)?;
        }
    }
    Ok((search.result()?, calls))
}
