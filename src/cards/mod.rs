//! Imperfect-information, many-player games with chance: the
//! [`ImperfectGame`] trait, Oh Hell ([`ohhell`]) and its determinizer
//! ([`determinize`]).
//!
//! This sits beside [`crate::game`] rather than inside it: the two-player,
//! perfect-information [`crate::game::Game`] path stays as it is (no extra
//! branch in its search), and a card game gets what it needs:
//! - **chance is an actor** ([`Actor::Chance`]): the deal is a list of
//!   chance actions, so records replay action by action (in OpenSpiel too)
//!   and a referee can force a deal;
//! - **the information state apart from the true state**: what one player
//!   knows, packed into `u32` words ([`ImperfectGame::pack_info`]) with,
//!   apart, the other hands of the deal being evaluated (a determinization
//!   in search), and expanded into network features by
//!   [`ImperfectGame::encode_info`], the CPU reference of the game's WGSL
//!   kernel;
//! - **a determinizer** ([`ImperfectGame::determinize`]) drawing a full
//!   state uniformly from those consistent with a player's information;
//! - **returns per player** (general sum), never one scalar.

pub mod agent;
pub mod determinize;
pub mod ohhell;
pub mod search;
pub mod selfplay;
pub mod trace;

pub use ohhell::{OhHell, OhHellConfig, OhHellState};

use crate::error::{Error, Result};

/// Who acts in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A chance event (a card dealt, the dealer drawn): outcomes from
    /// [`ImperfectGame::chance_outcomes`], all equally likely.
    Chance,
    /// Player `p` (`0..num_players()`) chooses an action.
    Player(u8),
    /// The game is over: [`ImperfectGame::returns`] has the scores.
    Terminal,
}

/// Rules of a many-player game with hidden information and chance, a fixed
/// action space, and returns per player.
pub trait ImperfectGame: Clone + Send + Sync + 'static {
    /// The true state (every card's place). Cheap to clone: a search clones
    /// it once per simulation.
    type State: Clone + Send + Sync + PartialEq + std::fmt::Debug;

    /// Stable identifier of the rules with their parameters.
    fn name(&self) -> String;

    /// The rules' parameters as text (what models and runs record and
    /// check).
    fn rules(&self) -> String {
        self.name()
    }

    /// Number of players.
    fn num_players(&self) -> usize;

    /// Size of the action space (player and chance actions share it).
    fn num_actions(&self) -> usize;

    /// The state before the first chance event.
    fn initial(&self) -> Self::State;

    /// Who acts in `s`.
    fn actor(&self, s: &Self::State) -> Actor;

    /// Clears `out` and fills it with the chance outcomes of `s` (each equally
    /// likely), in increasing order; empty unless `actor(s)` is chance.
    fn chance_outcomes(&self, s: &Self::State, out: &mut Vec<usize>);

    /// Clears `out` and fills it with the actions the player to move may
    /// take, in increasing order; empty unless a player acts.
    fn legal_actions(&self, s: &Self::State, out: &mut Vec<usize>);

    /// Applies a chance outcome or a player's action without checking it
    /// (the search's fast path; debug builds panic on an illegal one).
    fn apply(&self, s: &mut Self::State, a: usize);

    /// Each player's score if `s` is terminal (written to `out`,
    /// `out.len() == num_players()`), else `false`.
    fn returns(&self, s: &Self::State, out: &mut [f32]) -> bool;

    /// A score divided by this lies in `[-1, 1]` (the scale of network values).
    fn value_scale(&self) -> f32;

    /// Number of `u32` words of a packed information state.
    fn info_words(&self) -> usize;

    /// Writes what `player` knows in `s`, followed by the deal of `s` as
    /// `player` would see it if the other hands were shown
    /// (`out.len() == info_words()`). Only for states where a player acts.
    ///
    /// The deal is there for the value: a determinized search asks about
    /// one deal at a time, and the value of a deal depends on every hand.
    /// The search only packs its own determinizations (never the true
    /// state); self-play records pack the true state, which is what the
    /// hand's result came from.
    fn pack_info(&self, s: &Self::State, player: u8, out: &mut [u32]);

    /// Number of network input features of one packed state.
    fn info_len(&self) -> usize;

    /// The features that come from the deal rather than from what the
    /// player knows (the other hands); empty if none.
    fn hidden_features(&self) -> std::ops::Range<usize> {
        self.info_len()..self.info_len()
    }

    /// CPU reference encoding: packed words -> features
    /// (`out.len() == info_len()`). The WGSL kernel matches it bit for bit.
    fn encode_info(&self, words: &[u32], out: &mut [f32]);

    /// A full state drawn uniformly from those `player` cannot tell apart
    /// from `s` (same own cards, same public history, same voids).
    fn determinize<R: rand::Rng + ?Sized>(
        &self,
        s: &Self::State,
        player: u8,
        rng: &mut R,
    ) -> Self::State;

    /// `n` determinizations of `s` for `player` (override to share work
    /// between the draws).
    fn determinize_many<R: rand::Rng + ?Sized>(
        &self,
        s: &Self::State,
        player: u8,
        n: usize,
        rng: &mut R,
    ) -> Vec<Self::State> {
        (0..n).map(|_| self.determinize(s, player, rng)).collect()
    }

    /// The decisions `player` has made in `s` that a search may weigh its
    /// deals by (policy-based inference: a deal in which the player's
    /// network would rather have chosen otherwise is less likely): for each,
    /// the state just before it and the action taken. Default: none.
    fn weighed_decisions(&self, _s: &Self::State, _player: u8) -> Vec<(Self::State, usize)> {
        Vec::new()
    }

    /// Number of relabellings under which the rules, the deal's odds and the
    /// scores do not change (a card game's suits); 1: none. Relabelling 0
    /// is the identity. Training draws one per example (data augmentation).
    fn symmetries(&self) -> usize {
        1
    }

    /// Relabels a packed information state ([`ImperfectGame::pack_info`])
    /// by symmetry `sym`: the state packed from the relabelled game.
    fn transform_info(&self, _sym: usize, _words: &mut [u32]) {}

    /// Relabels action `a` by symmetry `sym`.
    fn transform_action(&self, _sym: usize, a: usize) -> usize {
        a
    }

    /// The WGSL kernel that computes [`ImperfectGame::encode_info`] on a GPU:
    /// its name (`shaders/encode_NAME.wgsl`) and its parameters after the
    /// batch size. `None`: encoded on the CPU.
    fn info_kernel(&self) -> Option<(&'static str, Vec<u32>)> {
        None
    }

    /// For each player, whether they made their contract (an exact bid),
    /// after the hand `actions` (empty for games without contracts).
    fn contracts_made(&self, _actions: &[usize]) -> Vec<bool> {
        Vec::new()
    }

    /// Writes action `a` in the game's notation (a card `SQ`, a bid `bid 2`,
    /// a dealt card).
    fn format_action(&self, s: &Self::State, a: usize) -> String;

    /// Reads an action of the player to move in `s`, checking that it is legal.
    fn parse_action(&self, s: &Self::State, text: &str) -> Result<usize>;

    /// The state as `viewer` sees it (`None`: every card shown).
    fn render(&self, s: &Self::State, viewer: Option<u8>) -> String;

    /// Applies `a` after checking it against the chance outcomes or the legal
    /// actions of `s`: the referee's counterpart of [`ImperfectGame::apply`].
    fn play(&self, s: &mut Self::State, a: usize) -> Result<()> {
        let mut allowed = Vec::new();
        let what = match self.actor(s) {
            Actor::Terminal => {
                return Err(Error::IllegalMove {
                    mv: a.to_string(),
                    reason: "the game is over".into(),
                })
            }
            Actor::Chance => {
                self.chance_outcomes(s, &mut allowed);
                "not a possible chance outcome here"
            }
            Actor::Player(_) => {
                self.legal_actions(s, &mut allowed);
                "not a legal action here"
            }
        };
        if allowed.binary_search(&a).is_err() {
            return Err(Error::IllegalMove {
                mv: if a < self.num_actions() {
                    self.format_action(s, a)
                } else {
                    a.to_string()
                },
                reason: what.into(),
            });
        }
        self.apply(s, a);
        Ok(())
    }

    /// Plays every chance event of `s` at random until a player acts or the
    /// game ends.
    fn resolve_chance<R: rand::Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) {
        let mut outcomes = Vec::new();
        while self.actor(s) == Actor::Chance {
            self.chance_outcomes(s, &mut outcomes);
            let a = outcomes[rng.random_range(0..outcomes.len())];
            self.apply(s, a);
        }
    }

    /// Encodes `player`'s information state (pack, then the reference encoding).
    fn encode(&self, s: &Self::State, player: u8, out: &mut [f32]) {
        let mut words = vec![0u32; self.info_words()];
        self.pack_info(s, player, &mut words);
        self.encode_info(&words, out);
    }
}
