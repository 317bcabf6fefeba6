//! The agent protocol: wgzero as an Oh Hell player any harness can drive
//! (`wgzero agent`), one JSON object per line each way.
//!
//! A request gives the hand so far as OpenSpiel action ids, with the cards
//! dealt to the other players hidden as `-1`:
//!
//! ```text
//! {"history": [5, 2, 7, -1, -1, 12, ...], "player": 1}
//! ```
//!
//! `player` (optional) is the seat the agent plays; it must be the player to
//! move after `history`. `params` (optional) is OpenSpiel's parameter string;
//! when given it must equal the agent's rules. The answer names the action:
//!
//! ```text
//! {"action": 18, "text": "bid 2", "value": 0.41, "simulations": 200, "evaluations": 200}
//! ```
//!
//! Anything wrong with a request (bad JSON, an impossible history, a card
//! shown twice, not this player's turn) gets `{"error": "..."}` and the
//! agent waits for the next line; it never exits on bad input.
//!
//! The agent sees only what its player may see: the history's hidden cards
//! are filled with placeholders that the search never looks at (it plays
//! every simulation on a deal drawn by the determinizer, which uses the
//! player's own cards, the public play and the voids alone).

use serde::{Deserialize, Serialize};

use super::ohhell::{OhHell, OhHellState, Phase};
use super::search::{PimcResult, PimcSearch};
use super::{Actor, ImperfectGame};
use crate::error::{Error, Result};
use crate::eval::{Batch, Evaluator};

/// One request line.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRequest {
    /// OpenSpiel's parameter string of the rules (checked if given).
    #[serde(default)]
    pub params: Option<String>,
    /// Every action of the hand so far; `-1` for a card dealt to another player.
    pub history: Vec<i64>,
    /// The seat to play (default: the player to move).
    #[serde(default)]
    pub player: Option<u8>,
}

/// One answer line.
#[derive(Clone, Debug, Serialize)]
pub struct AgentReply {
    pub action: usize,
    pub text: String,
    /// The search's value of the decision for the player (score / scale).
    pub value: f32,
    pub simulations: u32,
    pub evaluations: u64,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::parse("agent request", "", reason)
}

/// The state `player` sees after `history` (hidden deals as -1), with
/// placeholders for the cards they cannot see. Everything the player can
/// check is checked: chance outcomes, their own cards, bids (hook rule
/// included), cards played only once and never from the player's own hand.
pub fn view_state(game: &OhHell, history: &[i64], player: Option<u8>) -> Result<OhHellState> {
    let players = game.num_players();
    let mut s = game.initial();
    // Chance: tricks, dealer.
    let mut i = 0;
    while i < history.len() && matches!(s.phase(), Phase::Tricks | Phase::Dealer) {
        let a = action_id(game, history[i], i)?;
        game.play(&mut s, a)
            .map_err(|e| bad(format!("action {i}: {e}")))?;
        i += 1;
    }
    if s.phase() != Phase::Deal {
        return finish(game, s, player);
    }
    let hands = players * s.num_tricks();
    if history.len() < i + hands + 1 {
        return Err(bad(format!(
            "the history stops during the deal ({} cards and the trump card are dealt)",
            hands
        )));
    }
    let deal = &history[i..i + hands + 1];
    let after = &history[i + hands + 1..];
    // Known cards: every dealt card shown, the trump card, every card played.
    let mut known = 0u64;
    for (k, &c) in deal.iter().enumerate() {
        if c == -1 {
            if k == hands {
                return Err(bad("the trump card cannot be hidden"));
            }
            continue;
        }
        let c = action_id(game, c, i + k)?;
        if c >= game.num_cards() || known >> c & 1 == 1 {
            return Err(bad(format!(
                "action {}: card {c} dealt twice or not a card",
                i + k
            )));
        }
        known |= 1 << c;
    }
    // Who plays which card: replay the public play with trick winners.
    let trump = deal[hands] as usize;
    let mut plays_of = vec![Vec::new(); players];
    {
        let bids = players.min(after.len());
        let cards = &after[bids..];
        let dealer = s.dealer();
        let mut leader = (dealer + 1) % players;
        for (t, trick) in cards.chunks(players).enumerate() {
            let (mut winner, mut best) = (leader, usize::MAX);
            for (j, &c) in trick.iter().enumerate() {
                let at = i + hands + 1 + bids + t * players + j;
                let c = action_id(game, c, at)?;
                if c >= game.num_cards() {
                    return Err(bad(format!("action {at}: {c} is not a card")));
                }
                let p = (leader + j) % players;
                plays_of[p].push(c);
                let beats = best == usize::MAX
                    || (game.suit(c) == game.suit(best) && game.rank(c) > game.rank(best))
                    || (game.suit(c) != game.suit(best) && game.suit(c) == game.suit(trump));
                if beats {
                    winner = p;
                    best = c;
                }
            }
            leader = winner;
        }
    }
    // Fill the hidden slots: a player's own played cards first, then any
    // unseen card.
    let mut filled: Vec<i64> = deal.to_vec();
    let mut unseen = game.deck_mask() & !known & !played_mask(&plays_of);
    for (p, played) in plays_of.iter().enumerate() {
        let mut missing: Vec<usize> = played
            .iter()
            .copied()
            .filter(|&c| known >> c & 1 == 0)
            .collect();
        for k in (p..hands).step_by(players) {
            if filled[k] != -1 {
                continue;
            }
            let c = if let Some(c) = missing.pop() {
                c
            } else {
                if unseen == 0 {
                    return Err(bad("more hidden cards than unseen cards"));
                }
                let c = unseen.trailing_zeros() as usize;
                unseen &= unseen - 1;
                c
            };
            filled[k] = c as i64;
        }
        if !missing.is_empty() {
            return Err(bad(format!(
                "player {p} played a card shown dealt to someone else"
            )));
        }
    }
    for (k, &c) in filled.iter().enumerate() {
        game.play(&mut s, c as usize)
            .map_err(|e| bad(format!("action {}: {e}", i + k)))?;
    }
    // Bids and plays: checked where the player can check them.
    let viewer = player;
    for (k, &a) in after.iter().enumerate() {
        let at = i + hands + 1 + k;
        let a = action_id(game, a, at)?;
        match game.actor(&s) {
            Actor::Player(p) if Some(p) == viewer || s.phase() == Phase::Bid => game
                .play(&mut s, a)
                .map_err(|e| bad(format!("action {at}: {e}")))?,
            Actor::Player(p) => {
                if a >= game.num_cards() || s.hand(p as usize) >> a & 1 == 0 {
                    return Err(bad(format!("action {at}: player {p} cannot play {a}")));
                }
                game.apply(&mut s, a);
            }
            _ => return Err(bad(format!("action {at}: the hand is already over"))),
        }
    }
    finish(game, s, player)
}

fn played_mask(plays_of: &[Vec<usize>]) -> u64 {
    plays_of.iter().flatten().fold(0, |m, &c| m | 1 << c)
}

fn action_id(game: &OhHell, a: i64, at: usize) -> Result<usize> {
    if a < 0 || a as usize >= game.num_actions() {
        return Err(bad(format!(
            "action {at}: {a} is not an action id (0..{})",
            game.num_actions()
        )));
    }
    Ok(a as usize)
}

fn finish(game: &OhHell, s: OhHellState, player: Option<u8>) -> Result<OhHellState> {
    match (game.actor(&s), player) {
        (Actor::Player(p), Some(q)) if p != q => {
            Err(bad(format!("it is player {p}'s turn, not player {q}'s")))
        }
        (Actor::Player(_), _) => Ok(s),
        (Actor::Chance, _) => Err(bad("the history stops before the deal is complete")),
        (Actor::Terminal, _) => Err(bad("the hand is over")),
    }
}

/// Runs one decision to the end: gathers leaves (in batches of up to
/// `batch`), evaluates them with `eval` (not needed with rollouts), absorbs.
pub fn decide<G: ImperfectGame>(
    search: &mut PimcSearch<G>,
    eval: Option<&mut dyn Evaluator>,
    game: &G,
    s: &G::State,
    batch_size: usize,
) -> Result<PimcResult> {
    search.begin(s)?;
    let mut batch = Batch::with_values(
        game.info_words(),
        game.num_actions(),
        game.num_players(),
        batch_size,
    );
    let mut eval = eval;
    let mut id = 0;
    while !search.is_done() {
        batch.clear();
        batch.id = id;
        id += 1;
        search.gather(&mut batch, batch_size);
        if batch.is_empty() {
            if search.pending() > 0 {
                // Only collisions: they return with this (empty) batch.
                search.absorb(&batch)?;
                continue;
            }
            if search.is_done() {
                break;
            }
            continue;
        }
        let e = eval
            .as_deref_mut()
            .ok_or_else(|| Error::Evaluator("this search needs a network".into()))?;
        batch = e.evaluate(batch)?;
        search.absorb(&batch)?;
    }
    Ok(search.result())
}

/// Answers one request line.
pub fn answer(
    game: &OhHell,
    search: &mut PimcSearch<OhHell>,
    eval: Option<&mut dyn Evaluator>,
    batch_size: usize,
    line: &str,
) -> Result<AgentReply> {
    let req: AgentRequest = serde_json::from_str(line)
        .map_err(|e| Error::parse("agent request", line, e.to_string()))?;
    if let Some(params) = &req.params {
        let theirs = super::OhHellConfig::parse(params)?;
        if &theirs != game.config() {
            return Err(bad(format!(
                "the rules {params:?} differ from the agent's ({})",
                game.config().openspiel_params()
            )));
        }
    }
    let s = view_state(game, &req.history, req.player)?;
    // The research-only oracle searches only the hands it is shown in full.
    search.peek(!req.history.contains(&-1));
    let before = search.stats().requests;
    let r = decide(search, eval, game, &s, batch_size)?;
    Ok(AgentReply {
        action: r.action,
        text: game.format_action(&s, r.action),
        value: r.value,
        simulations: r.simulations,
        evaluations: search.stats().requests - before,
    })
}
