//! Game traces for an outside referee: every step of a hand with who acted
//! and what they could have done, so that another implementation of the
//! rules (OpenSpiel, through `scripts/openspiel_referee.py`) can check it
//! step by step.

use serde::Serialize;

use super::{Actor, ImperfectGame, OhHell};
use crate::error::Result;

/// One step: the actor (`-1` for chance), the allowed actions (chance
/// outcomes or legal actions) as a hexadecimal bit mask, and the action taken.
#[derive(Clone, Debug, Serialize)]
pub struct TraceStep(pub i32, pub String, pub usize);

/// A hand as a referee replays it.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// OpenSpiel's parameter string of the rules.
    pub params: String,
    /// Every step.
    pub steps: Vec<TraceStep>,
    /// The scores at the end (empty if the hand did not end).
    pub returns: Vec<f32>,
    /// For a mutated record: the index of the step whose action wgzero
    /// refused; the referee must refuse it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_at: Option<usize>,
}

/// The allowed actions of `s` as a hexadecimal mask.
fn allowed_mask(
    game: &OhHell,
    s: &<OhHell as ImperfectGame>::State,
    buf: &mut Vec<usize>,
) -> String {
    match game.actor(s) {
        Actor::Chance => game.chance_outcomes(s, buf),
        Actor::Player(_) => game.legal_actions(s, buf),
        Actor::Terminal => buf.clear(),
    }
    let mask = buf.iter().fold(0u128, |m, &a| m | 1 << a);
    format!("{mask:x}")
}

/// Replays `actions` from the start with every action checked. A refused
/// action ends the trace there with `reject_at` set (the error is returned
/// beside it).
pub fn trace(game: &OhHell, actions: &[usize]) -> (Trace, Result<()>) {
    let mut s = game.initial();
    let mut buf = Vec::new();
    let mut steps = Vec::with_capacity(actions.len());
    let mut outcome = Ok(());
    let mut reject_at = None;
    for (i, &a) in actions.iter().enumerate() {
        let actor = match game.actor(&s) {
            Actor::Chance => -1,
            Actor::Player(p) => p as i32,
            Actor::Terminal => -4,
        };
        steps.push(TraceStep(actor, allowed_mask(game, &s, &mut buf), a));
        if let Err(e) = game.play(&mut s, a) {
            outcome = Err(e);
            reject_at = Some(i);
            break;
        }
    }
    let mut returns = vec![0.0; game.num_players()];
    if reject_at.is_some() || !game.returns(&s, &mut returns) {
        returns.clear();
    }
    (
        Trace {
            params: game.config().openspiel_params(),
            steps,
            returns,
            reject_at,
        },
        outcome,
    )
}

/// A hand played uniformly at random (chance and players alike): its actions.
pub fn random_hand<R: rand::Rng + ?Sized>(game: &OhHell, rng: &mut R) -> Vec<usize> {
    let mut s = game.initial();
    let mut buf = Vec::new();
    let mut actions = Vec::new();
    loop {
        match game.actor(&s) {
            Actor::Chance => game.chance_outcomes(&s, &mut buf),
            Actor::Player(_) => game.legal_actions(&s, &mut buf),
            Actor::Terminal => return actions,
        }
        let a = buf[rng.random_range(0..buf.len())];
        actions.push(a);
        game.apply(&mut s, a);
    }
}
