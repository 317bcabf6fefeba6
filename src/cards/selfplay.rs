//! Card-game self-play: many hands at once, every seat played by the
//! determinized search, the leaves of **all determinizations of all hands**
//! in one batch, and two batches in flight (one evaluated while the other
//! fills), through the same [`Evaluator`] interface as the board games.
//!
//! Hands are split into two groups; each group fills one batch: every hand
//! of the group hands out up to `leaves_per_search` leaves (spread over its
//! determinizations), in parallel on rayon's pool. When a batch comes back
//! its group absorbs it, plays the decisions whose searches are done and
//! fills the next batch while the other group's batch is evaluated.

use std::collections::VecDeque;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::agent::decide;
use super::search::{leads, LeafEval, PimcConfig, PimcSearch};
use super::{Actor, ImperfectGame};
use crate::error::{Error, Result};
use crate::eval::{Batch, Evaluator};

/// Settings of card self-play, with their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardSelfPlayConfig {
    /// Hands to play (default 100).
    pub hands: usize,
    /// Leaves per batch (default 256).
    pub batch: usize,
    /// Leaves one search hands out per batch (default 8: one per
    /// determinization).
    pub leaves_per_search: usize,
    /// Hands per group as a multiple of batch / leaves_per_search (default
    /// 1.5: searches waiting on their roots' evaluations, or finishing,
    /// hand out fewer leaves, and the others top the batch up).
    pub concurrency: f64,
    /// Decisions at the start of a hand chosen in proportion to the visits
    /// instead of the most visited (default 3: the bids of 3 players).
    pub sampled_decisions: usize,
    /// The search.
    pub search: PimcConfig,
    /// Seed of the deals and searches (default 1).
    pub seed: u64,
    /// Share of the hands played as a league (default 0): one seat, drawn
    /// at random, plays with `search` and the others with `opponent`, and
    /// only that seat's decisions are recorded. The network then also
    /// learns what its moves are worth against opponents unlike itself.
    pub league: f64,
    /// The search of the other seats in league hands (default
    /// [`PimcConfig::rollouts`]: random rollouts, about as strong as
    /// OpenSpiel's ISMCTS-1000; it must not need the network).
    pub opponent: PimcConfig,
}

impl Default for CardSelfPlayConfig {
    fn default() -> Self {
        CardSelfPlayConfig {
            hands: 100,
            batch: 256,
            leaves_per_search: 8,
            concurrency: 1.5,
            sampled_decisions: 3,
            search: PimcConfig::default(),
            seed: 1,
            league: 0.0,
            opponent: PimcConfig::rollouts(),
        }
    }
}

impl CardSelfPlayConfig {
    /// Hands in play per group: enough searches to fill a batch.
    pub fn hands_per_group(&self) -> usize {
        let searches = self.batch as f64 / self.leaves_per_search as f64;
        ((searches * self.concurrency).ceil() as usize).max(1)
    }

    pub fn validate(&self) -> Result<()> {
        self.search.validate()?;
        if self.batch == 0 || self.leaves_per_search == 0 || self.hands == 0 {
            return Err(Error::config(
                "hands, batch and leaves_per_search must be at least 1",
            ));
        }
        if !(self.concurrency.is_finite() && self.concurrency > 0.0 && self.concurrency <= 64.0) {
            return Err(Error::config("concurrency must be in (0, 64]"));
        }
        if !(0.0..=1.0).contains(&self.league) {
            return Err(Error::config("league must be in [0, 1]"));
        }
        if self.league > 0.0 {
            self.opponent.validate()?;
            if self.opponent.leaf != LeafEval::Rollout {
                return Err(Error::config(
                    "the league's opponent search must use rollouts (leaf = \"rollout\")",
                ));
            }
        }
        Ok(())
    }
}

/// One searched decision of a hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The player who decided.
    pub player: u8,
    /// Index of the decision's action in the hand's action list.
    pub at: usize,
    /// The player's packed information state.
    pub info: Vec<u32>,
    /// Sparse policy target: (action, share of the visits).
    pub policy: Vec<(u16, f32)>,
}

/// A finished hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandRecord {
    /// Every action, chance included (OpenSpiel's ids).
    pub actions: Vec<usize>,
    /// The searched decisions (forced ones, a single legal action, are not).
    pub decisions: Vec<Decision>,
    /// Each player's score.
    pub returns: Vec<f32>,
    /// Seats played by the league's opponent search (bit p for player p;
    /// their decisions are not recorded). 0 in plain self-play.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub opponents: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// What a self-play run measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CardSelfPlayReport {
    pub hands: usize,
    pub decisions: u64,
    pub seconds: f64,
    pub hands_per_hour: f64,
    pub evaluations: u64,
    pub batches: u64,
    /// Mean positions per batch over all batches.
    pub mean_batch: f64,
    /// Mean batch over the configured batch size.
    pub batch_fill: f64,
    pub evaluations_per_second: f64,
    /// Evaluations/s in the steady state: from the first hand finished
    /// (every slot busy) to the last hand started (slots empty out after
    /// it); 0 if the run is too short to have one.
    pub steady_evaluations_per_second: f64,
    /// Length of that window.
    pub steady_seconds: f64,
    /// Exact bids among the bids `search` made.
    pub exact_bid_rate: f64,
    /// Mean score per player-hand of the seats `search` played.
    pub mean_score: f64,
    /// League hands played.
    pub league_hands: usize,
    /// In league hands: the mean of the searched seat's score minus the
    /// opponents' mean score, and its standard error.
    pub league_lead: f64,
    pub league_lead_se: f64,
}

struct Slot<G: ImperfectGame> {
    state: Option<G::State>,
    actions: Vec<usize>,
    decisions: Vec<Decision>,
    search: PimcSearch<G>,
    searching: bool,
    local: Batch,
    offset: usize,
    rng: ChaCha8Rng,
    /// Draws the deals and league seats, apart from `rng`: runs with the
    /// same seed deal the same hands to each slot whatever the searches do.
    deals: ChaCha8Rng,
    finished: Option<HandRecord>,
    /// The league's opponent search, when the run has league hands.
    opponent: Option<PimcSearch<G>>,
    /// Seats `opponent` plays in this hand (bit p for player p).
    opponents: u64,
    /// Searched decisions so far in this hand, by either search.
    searched: usize,
}

impl<G: ImperfectGame> Slot<G> {
    /// Advances the hand: chance, forced moves; begins a search at the next
    /// real decision; finishes the hand at the end.
    fn advance(&mut self, game: &G) -> Result<()> {
        let Some(s) = self.state.as_mut() else {
            return Ok(());
        };
        let mut buf = Vec::new();
        loop {
            match game.actor(s) {
                Actor::Chance => {
                    game.chance_outcomes(s, &mut buf);
                    let a = buf[self.rng.random_range(0..buf.len())];
                    game.apply(s, a);
                    self.actions.push(a);
                }
                Actor::Player(p) => {
                    game.legal_actions(s, &mut buf);
                    if buf.len() == 1 {
                        game.apply(s, buf[0]);
                        self.actions.push(buf[0]);
                        continue;
                    }
                    if self.opponents >> p & 1 == 1 {
                        let opponent = self.opponent.as_mut().expect("league hands have one");
                        let a = decide(opponent, None, game, s, 1)?.action;
                        game.apply(s, a);
                        self.actions.push(a);
                        self.searched += 1;
                        continue;
                    }
                    self.search.begin(s)?;
                    self.searching = true;
                    return Ok(());
                }
                Actor::Terminal => {
                    let mut returns = vec![0.0; game.num_players()];
                    game.returns(s, &mut returns);
                    self.finished = Some(HandRecord {
                        actions: std::mem::take(&mut self.actions),
                        decisions: std::mem::take(&mut self.decisions),
                        returns,
                        opponents: self.opponents,
                    });
                    self.state = None;
                    self.searching = false;
                    return Ok(());
                }
            }
        }
    }

    /// Hands out up to `budget` leaves into `local` (batch `id`), playing
    /// every decision whose search finishes without the evaluator.
    fn fill(&mut self, game: &G, id: u64, budget: usize, sampled: usize) -> Result<()> {
        self.local.clear();
        self.local.id = id;
        while self.searching && self.local.len() < budget {
            let room = budget - self.local.len();
            self.search.gather(&mut self.local, room);
            if !self.search.is_done() {
                break;
            }
            self.decide(game, sampled)?;
        }
        Ok(())
    }

    /// Plays the finished search's decision.
    fn decide(&mut self, game: &G, sampled: usize) -> Result<()> {
        let s = self.state.as_mut().expect("a hand in play");
        let Actor::Player(p) = game.actor(s) else {
            return Err(Error::Evaluator("a decision without a player".into()));
        };
        let r = self.search.result();
        let action = if self.searched < sampled {
            let total: f32 = r.policy.iter().sum();
            let mut x = self.rng.random::<f32>() * total;
            let mut pick = r.action;
            for (a, &p) in r.policy.iter().enumerate() {
                if p > 0.0 {
                    pick = a;
                    if x < p {
                        break;
                    }
                    x -= p;
                }
            }
            pick
        } else {
            r.action
        };
        let mut info = vec![0u32; game.info_words()];
        game.pack_info(s, p, &mut info);
        self.decisions.push(Decision {
            player: p,
            at: self.actions.len(),
            info,
            policy: r
                .policy
                .iter()
                .enumerate()
                .filter(|(_, &x)| x > 0.0)
                .map(|(a, &x)| (a as u16, x))
                .collect(),
        });
        game.apply(s, action);
        self.actions.push(action);
        self.searched += 1;
        self.searching = false;
        self.advance(game)
    }
}

/// Plays `cfg.hands` hands of self-play; each finished hand goes to `sink`.
/// `eval` is only used with [`LeafEval::Network`].
pub fn run<G: ImperfectGame, E: Evaluator>(
    game: &G,
    cfg: &CardSelfPlayConfig,
    eval: &mut E,
    sink: &mut dyn FnMut(HandRecord) -> Result<()>,
    stop: &dyn Fn() -> bool,
) -> Result<CardSelfPlayReport> {
    cfg.validate()?;
    let start = Instant::now();
    let per_group = cfg.hands_per_group().min(cfg.hands.div_ceil(2)).max(1);
    let (words, actions, players) = (game.info_words(), game.num_actions(), game.num_players());
    let mut groups: Vec<Vec<Slot<G>>> = (0..2)
        .map(|g| {
            (0..per_group)
                .map(|i| {
                    let seed = cfg.seed.wrapping_mul(1_000_003) + (g * per_group + i) as u64;
                    Ok(Slot {
                        state: None,
                        actions: Vec::new(),
                        decisions: Vec::new(),
                        search: PimcSearch::new(game.clone(), cfg.search.clone(), seed)?,
                        searching: false,
                        local: Batch::with_values(words, actions, players, cfg.leaves_per_search),
                        offset: 0,
                        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
                        deals: ChaCha8Rng::seed_from_u64(seed ^ 0xdea1),
                        finished: None,
                        opponent: (cfg.league > 0.0)
                            .then(|| PimcSearch::new(game.clone(), cfg.opponent.clone(), !seed))
                            .transpose()?,
                        opponents: 0,
                        searched: 0,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let mut buffers: Vec<Batch> = (0..2)
        .map(|_| Batch::with_values(words, actions, players, cfg.batch + cfg.leaves_per_search))
        .collect();
    let mut tally = Tally::default();
    let mut started = 0usize;
    let mut order: VecDeque<(usize, u64)> = VecDeque::new();
    let mut next_id = 0u64;
    let (leaves, sampled) = (cfg.leaves_per_search, cfg.sampled_decisions);
    loop {
        for g in 0..2 {
            if order.iter().any(|&(q, _)| q == g) {
                continue;
            }
            // Fill group g's batch; hands that finish without the evaluator
            // (rollouts) make room for new ones.
            loop {
                tally.drain(game, &mut groups, sink)?;
                for slot in groups[g].iter_mut() {
                    if slot.state.is_none() && started < cfg.hands {
                        slot.actions = deal_actions(game, &mut slot.deals);
                        slot.decisions.clear();
                        slot.searched = 0;
                        slot.opponents = league_opponents(cfg.league, players, &mut slot.deals);
                        let mut s = game.initial();
                        for &a in &slot.actions {
                            game.apply(&mut s, a);
                        }
                        slot.state = Some(s);
                        started += 1;
                        if started == cfg.hands {
                            tally.last_start = Some(start.elapsed().as_secs_f64());
                        }
                        slot.advance(game)?;
                    }
                }
                let id = next_id;
                next_id += 1;
                // Leaf budgets in a rotating order until the batch is full;
                // then a top-up from the searches without one.
                let n = groups[g].len();
                let mut budgets = vec![0usize; n];
                let mut left = cfg.batch;
                for k in 0..n {
                    let i = (k + id as usize) % n;
                    budgets[i] = leaves.min(left);
                    left -= budgets[i];
                }
                groups[g]
                    .par_iter_mut()
                    .zip(&budgets)
                    .try_for_each(|(slot, &b)| slot.fill(game, id, b, sampled))?;
                let mut total: usize = groups[g].iter().map(|s| s.local.len()).sum();
                for k in 0..n {
                    let i = (k + id as usize) % n;
                    if total >= cfg.batch {
                        break;
                    }
                    if budgets[i] == 0 {
                        let slot = &mut groups[g][i];
                        slot.fill(game, id, leaves.min(cfg.batch - total), sampled)?;
                        total += slot.local.len();
                    }
                }
                let mut batch = buffers.pop().expect("two buffers circulate");
                batch.clear();
                batch.id = id;
                for slot in groups[g].iter_mut() {
                    slot.offset = batch.append(&slot.local);
                }
                if !batch.is_empty() {
                    tally.sizes.push(batch.len());
                    tally.times.push(start.elapsed().as_secs_f64());
                    eval.submit(batch)?;
                    order.push_back((g, id));
                    break;
                }
                buffers.push(batch);
                let busy = groups[g]
                    .iter()
                    .any(|s| s.searching || s.finished.is_some());
                if !busy && started >= cfg.hands {
                    break;
                }
            }
        }
        let Some((g, id)) = order.pop_front() else {
            tally.drain(game, &mut groups, sink)?;
            break;
        };
        if stop() {
            while eval.in_flight() > 0 {
                let _ = eval.collect();
            }
            return Err(Error::Interrupted);
        }
        let batch = eval.collect()?;
        if batch.id != id {
            return Err(Error::Evaluator(format!(
                "batch {} came back where {id} was due",
                batch.id
            )));
        }
        groups[g]
            .par_iter_mut()
            .try_for_each(|slot| -> Result<()> {
                if !slot.local.is_empty() {
                    slot.local.copy_results_from(&batch, slot.offset);
                }
                slot.local.id = id;
                slot.search.absorb(&slot.local)?;
                while slot.searching && slot.search.is_done() {
                    slot.decide(game, sampled)?;
                }
                Ok(())
            })?;
        buffers.push(batch);
    }
    Ok(tally.report(cfg, start.elapsed().as_secs_f64()))
}

/// Counts kept while hands finish.
#[derive(Default)]
struct Tally {
    hands: usize,
    decisions: u64,
    bids: u64,
    exact: u64,
    score_sum: f64,
    scores: u64,
    sizes: Vec<usize>,
    /// When each batch was submitted (seconds from the start).
    times: Vec<f64>,
    /// When the first hand finished (the submission before it was seen).
    first_finish: Option<f64>,
    /// When the last hand started.
    last_start: Option<f64>,
    /// League hands: the searched seat's lead over the opponents' mean,
    /// summed, and its square summed.
    league_hands: usize,
    lead_sum: f64,
    lead_sq: f64,
}

impl Tally {
    fn drain<G: ImperfectGame>(
        &mut self,
        game: &G,
        groups: &mut [Vec<Slot<G>>],
        sink: &mut dyn FnMut(HandRecord) -> Result<()>,
    ) -> Result<()> {
        for slot in groups.iter_mut().flatten() {
            if let Some(rec) = slot.finished.take() {
                if self.first_finish.is_none() {
                    self.first_finish = self.times.last().copied();
                }
                self.hands += 1;
                self.decisions += rec.decisions.len() as u64;
                // Only the seats `search` played count (all but the
                // league's opponents).
                let searched = |p: &usize| rec.opponents >> p & 1 == 0;
                let made = game.contracts_made(&rec.actions);
                let mut lead = Vec::new();
                if rec.opponents != 0 {
                    leads(&rec.returns, &mut lead);
                }
                for p in (0..rec.returns.len()).filter(searched) {
                    self.score_sum += rec.returns[p] as f64;
                    self.scores += 1;
                    if let Some(&m) = made.get(p) {
                        self.bids += 1;
                        self.exact += m as u64;
                    }
                    if let Some(&l) = lead.get(p) {
                        self.league_hands += 1;
                        self.lead_sum += l as f64;
                        self.lead_sq += (l as f64) * (l as f64);
                    }
                }
                sink(rec)?;
            }
        }
        Ok(())
    }

    fn report(&self, cfg: &CardSelfPlayConfig, seconds: f64) -> CardSelfPlayReport {
        let evaluations = self.sizes.iter().sum::<usize>() as u64;
        let batches = self.sizes.len() as u64;
        let mean_batch = evaluations as f64 / batches.max(1) as f64;
        let (steady_evaluations_per_second, steady_seconds) = self.steady();
        CardSelfPlayReport {
            hands: self.hands,
            decisions: self.decisions,
            seconds,
            hands_per_hour: self.hands as f64 / seconds.max(1e-9) * 3600.0,
            evaluations,
            batches,
            mean_batch,
            batch_fill: mean_batch / cfg.batch as f64,
            evaluations_per_second: evaluations as f64 / seconds.max(1e-9),
            steady_evaluations_per_second,
            steady_seconds,
            exact_bid_rate: self.exact as f64 / self.bids.max(1) as f64,
            mean_score: self.score_sum / self.scores.max(1) as f64,
            league_hands: self.league_hands,
            league_lead: self.lead_sum / self.league_hands.max(1) as f64,
            league_lead_se: self.lead_se(),
        }
    }

    /// Standard error of the mean league lead (0 with fewer than two hands).
    fn lead_se(&self) -> f64 {
        let n = self.league_hands as f64;
        if n < 2.0 {
            return 0.0;
        }
        let mean = self.lead_sum / n;
        ((self.lead_sq / n - mean * mean).max(0.0) * n / (n - 1.0) / n).sqrt()
    }

    /// Evaluations/s of the batches submitted between the first hand
    /// finished and the last hand started, and that window's length.
    fn steady(&self) -> (f64, f64) {
        let (Some(from), Some(to)) = (self.first_finish, self.last_start) else {
            return (0.0, 0.0);
        };
        if to <= from {
            return (0.0, 0.0);
        }
        let evaluations: usize = self
            .times
            .iter()
            .zip(&self.sizes)
            .filter(|(&t, _)| t > from && t <= to)
            .map(|(_, &n)| n)
            .sum();
        (evaluations as f64 / (to - from), to - from)
    }
}

/// The seats the opponent search plays in a new hand: with probability
/// `league` all but one seat drawn at random, else none.
fn league_opponents(league: f64, players: usize, rng: &mut ChaCha8Rng) -> u64 {
    if league <= 0.0 || players < 2 || rng.random::<f64>() >= league {
        return 0;
    }
    let all = (1u64 << players) - 1;
    all & !(1u64 << rng.random_range(0..players))
}

/// The chance actions of a random deal (number of tricks, dealer, cards, trump).
fn deal_actions<G: ImperfectGame>(game: &G, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut s = game.initial();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while game.actor(&s) == Actor::Chance {
        game.chance_outcomes(&s, &mut buf);
        let a = buf[rng.random_range(0..buf.len())];
        game.apply(&mut s, a);
        out.push(a);
    }
    out
}
