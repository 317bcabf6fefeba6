//! Oh Hell's determinizer: full deals drawn **uniformly** from those a
//! player cannot tell apart from the true one.
//!
//! What player `me` knows: their own deal, the trump card, every card played
//! and by whom, and the suits each opponent has shown out of (voids). The
//! unseen pool is everything else: the opponents' cards **and the cards left
//! in the stock** (OpenSpiel's `ResampleFromInfostate` reshuffles only the
//! cards the opponents really hold, so its bot knows the stock; it also
//! drops voids when it cannot place them).
//!
//! Deals consistent with that information are assignments of the pool's
//! cards to the opponents (each gets as many as they hold now) and the stock,
//! with no card of a suit going to an opponent void in it. Sampling one
//! uniformly:
//! 1. opponents with no void and the stock accept any card: they form one
//!    **free group**, split uniformly at the end;
//! 2. for the opponents with voids, the number of cards of each suit each
//!    receives is drawn suit by suit, each choice weighted by the number of
//!    deals completing it (a count over the remaining capacities, memoised);
//! 3. within a suit the cards are shuffled and handed out by those counts.
//!
//! Every consistent deal has the same probability (tested against an exact
//! enumeration), and any voids are honoured (tested).

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::Rng;

use super::ohhell::{OhHell, OhHellState, MAX_PLAYERS};

/// Draws deals consistent with one player's information in one state. Build
/// it once per decision and sample it many times: the counts are shared.
#[derive(Debug)]
pub struct Determinizer {
    /// Cards `me` cannot place.
    pool: u64,
    /// Opponents with at least one void, with how many cards they hold.
    constrained: Vec<(usize, usize)>,
    /// Opponents with no void, with how many cards they hold.
    free: Vec<(usize, usize)>,
    /// Their voids (bit per suit), in the order of `constrained`.
    voids: Vec<u8>,
    /// Pool cards of each suit.
    per_suit: Vec<u64>,
    /// Completions from (suit, remaining capacities), memoised.
    counts: HashMap<u64, f64>,
    /// ln k! for k up to the deck size.
    ln_fact: Vec<f64>,
}

impl Determinizer {
    /// The information of `me` in `s` (a state where players bid or play).
    pub fn new(game: &OhHell, s: &OhHellState, me: usize) -> Self {
        let players = game.config().players as usize;
        let trump = s.trump().map_or(0, |c| 1u64 << c);
        let pool = game.deck_mask() & !s.initial_hand(me) & !s.played_mask() & !trump;
        let mut constrained = Vec::new();
        let mut free = Vec::new();
        let mut voids = Vec::new();
        for p in (0..players).filter(|&p| p != me) {
            let held = s.hand(p).count_ones() as usize;
            if s.voids(p) != 0 && held > 0 {
                constrained.push((p, held));
                voids.push(s.voids(p));
            } else {
                free.push((p, held));
            }
        }
        let per_suit = (0..game.num_suits())
            .map(|suit| pool & game.suit_mask(suit))
            .collect();
        let mut ln_fact = vec![0.0f64; 65];
        for k in 1..ln_fact.len() {
            ln_fact[k] = ln_fact[k - 1] + (k as f64).ln();
        }
        Determinizer {
            pool,
            constrained,
            free,
            voids,
            per_suit,
            counts: HashMap::new(),
            ln_fact,
        }
    }

    /// The cards `me` cannot place (opponents' hands and the stock).
    pub fn pool(&self) -> u64 {
        self.pool
    }

    /// One deal, drawn uniformly from the consistent ones.
    pub fn sample<R: Rng + ?Sized>(
        &mut self,
        game: &OhHell,
        s: &OhHellState,
        rng: &mut R,
    ) -> OhHellState {
        let mut hands = [0u64; MAX_PLAYERS];
        for (p, hand) in hands
            .iter_mut()
            .enumerate()
            .take(game.config().players as usize)
        {
            *hand = s.hand(p);
        }
        for &(p, _) in &self.constrained {
            hands[p] = 0;
        }
        let mut caps: Vec<usize> = self.constrained.iter().map(|&(_, n)| n).collect();
        let mut free_cards = Vec::new();
        for suit in 0..self.per_suit.len() {
            let x = self.draw_split(suit, &caps, rng);
            let mut cards = bits(self.per_suit[suit]);
            cards.shuffle(rng);
            let mut at = 0;
            for (j, &k) in x.iter().enumerate() {
                let p = self.constrained[j].0;
                hands[p] |= cards[at..at + k].iter().fold(0, |m, &c| m | 1 << c);
                caps[j] -= k;
                at += k;
            }
            free_cards.extend_from_slice(&cards[at..]);
        }
        debug_assert!(caps.iter().all(|&c| c == 0));
        free_cards.shuffle(rng);
        let mut at = 0;
        for &(p, n) in &self.free {
            hands[p] = free_cards[at..at + n].iter().fold(0, |m, &c| m | 1 << c);
            at += n;
        }
        game.with_hands(s, &hands[..game.config().players as usize])
    }

    /// Draws how many cards of `suit` each constrained opponent receives,
    /// weighted by the deals that complete each choice.
    fn draw_split<R: Rng + ?Sized>(
        &mut self,
        suit: usize,
        caps: &[usize],
        rng: &mut R,
    ) -> Vec<usize> {
        let options = self.splits(suit, caps);
        let total: f64 = options.iter().map(|(_, w)| w).sum();
        debug_assert!(total > 0.0, "no consistent deal");
        let mut r = rng.random::<f64>() * total;
        for (x, w) in &options {
            if r < *w {
                return x.clone();
            }
            r -= w;
        }
        options.last().map(|(x, _)| x.clone()).unwrap_or_default()
    }

    /// Every split of `suit`'s pool cards among the constrained opponents
    /// (the free group takes the rest) with its weight: the ways to deal this
    /// suit so, times the completions of the later suits.
    fn splits(&mut self, suit: usize, caps: &[usize]) -> Vec<(Vec<usize>, f64)> {
        let u = self.per_suit[suit].count_ones() as usize;
        let free_cap = self
            .remaining(suit)
            .saturating_sub(caps.iter().sum::<usize>());
        let mut out = Vec::new();
        let mut x = vec![0usize; caps.len()];
        loop {
            let given: usize = x.iter().sum();
            if given <= u && u - given <= free_cap {
                let rest: Vec<usize> = caps.iter().zip(&x).map(|(c, k)| c - k).collect();
                let later = self.completions(suit + 1, &rest);
                if later > 0.0 {
                    let mut ln = self.ln_fact[u] - self.ln_fact[u - given];
                    for &k in &x {
                        ln -= self.ln_fact[k];
                    }
                    out.push((x.clone(), ln.exp() * later));
                }
            }
            // Next split: odometer over x_j in 0..=min(cap_j, u), 0 where void.
            let mut j = 0;
            loop {
                if j == x.len() {
                    return out;
                }
                let top = if self.voids[j] >> suit & 1 == 1 {
                    0
                } else {
                    caps[j].min(u)
                };
                if x[j] < top {
                    x[j] += 1;
                    break;
                }
                x[j] = 0;
                j += 1;
            }
        }
    }

    /// Pool cards of suits `suit..`.
    fn remaining(&self, suit: usize) -> usize {
        self.per_suit[suit..]
            .iter()
            .map(|m| m.count_ones() as usize)
            .sum()
    }

    /// Weighted number of ways to deal suits `suit..` with the constrained
    /// opponents still needing `caps` cards (relative: every completion of
    /// the same free-group size counts alike).
    fn completions(&mut self, suit: usize, caps: &[usize]) -> f64 {
        if suit == self.per_suit.len() {
            return if caps.iter().all(|&c| c == 0) {
                1.0
            } else {
                0.0
            };
        }
        if caps.iter().sum::<usize>() > self.remaining(suit) {
            return 0.0;
        }
        let key = caps.iter().fold(suit as u64, |k, &c| k << 6 | c as u64);
        if let Some(&v) = self.counts.get(&key) {
            return v;
        }
        let v = self.splits(suit, caps).iter().map(|(_, w)| w).sum();
        self.counts.insert(key, v);
        v
    }
}

fn bits(mut m: u64) -> Vec<usize> {
    let mut out = Vec::with_capacity(m.count_ones() as usize);
    while m != 0 {
        out.push(m.trailing_zeros() as usize);
        m &= m - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cards::{Actor, ImperfectGame, OhHellConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A hand played at random for `actions` player actions after the deal.
    fn midgame(g: &OhHell, seed: u64, actions: usize) -> OhHellState {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = g.initial();
        g.resolve_chance(&mut s, &mut rng);
        let mut legal = Vec::new();
        for _ in 0..actions {
            if !matches!(g.actor(&s), Actor::Player(_)) {
                break;
            }
            g.legal_actions(&s, &mut legal);
            g.apply(&mut s, legal[rng.random_range(0..legal.len())]);
        }
        s
    }

    fn game(spec: &str) -> OhHell {
        OhHell::new(OhHellConfig::parse(spec).unwrap()).unwrap()
    }

    /// Checks that `d` is a deal `me` cannot tell from `s`.
    fn check_consistent(g: &OhHell, s: &OhHellState, d: &OhHellState, me: usize) {
        let players = g.config().players as usize;
        assert_eq!(d.hand(me), s.hand(me));
        assert_eq!(d.plays(), s.plays());
        assert_eq!(d.trump(), s.trump());
        let mut seen = 0u64;
        for p in 0..players {
            assert_eq!(d.hand(p).count_ones(), s.hand(p).count_ones(), "player {p}");
            assert_eq!(d.hand(p) & seen, 0, "a card held twice");
            seen |= d.hand(p);
            assert_eq!(
                d.initial_hand(p) & !d.hand(p),
                s.initial_hand(p) & !s.hand(p)
            );
            for suit in 0..g.num_suits() {
                if s.voids(p) >> suit & 1 == 1 {
                    assert_eq!(d.hand(p) & g.suit_mask(suit), 0, "void broken");
                }
            }
        }
        let mut a = vec![0.0; g.info_len()];
        let mut b = vec![0.0; g.info_len()];
        g.encode(s, me as u8, &mut a);
        g.encode(d, me as u8, &mut b);
        let view = g.hidden_features().start;
        assert_eq!(a[..view], b[..view], "the player's view changed");
    }

    #[test]
    fn voids_hold_in_every_sample() {
        for spec in [
            "num_suits=4,num_cards_per_suit=13,num_tricks_fixed=17",
            "players=5,num_suits=4,num_cards_per_suit=13,num_tricks_fixed=8",
            "num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1",
            "",
        ] {
            let g = game(spec);
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut with_voids = 0;
            for seed in 0..40 {
                let s = midgame(&g, seed, 5 + seed as usize);
                let Actor::Player(me) = g.actor(&s) else {
                    continue;
                };
                let players = g.config().players as usize;
                with_voids += (0..players).filter(|&p| s.voids(p) != 0).count();
                let mut det = Determinizer::new(&g, &s, me as usize);
                for _ in 0..50 {
                    let d = det.sample(&g, &s, &mut rng);
                    check_consistent(&g, &s, &d, me as usize);
                }
            }
            assert!(
                with_voids > 5,
                "{spec}: too few voids to test ({with_voids})"
            );
        }
    }

    #[test]
    fn the_stock_is_part_of_the_unseen_pool() {
        // 24 cards, 5 tricks: 8 cards stay in the stock.
        let g = game("num_suits=4,num_cards_per_suit=6,num_tricks_fixed=5");
        let s = midgame(&g, 3, 0);
        let me = 0;
        let mut det = Determinizer::new(&g, &s, me);
        assert_eq!(det.pool().count_ones(), 24 - 5 - 1);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut held = [0u32; 64];
        let n = 4000;
        for _ in 0..n {
            let d = det.sample(&g, &s, &mut rng);
            for p in 1..3 {
                for c in bits(d.hand(p)) {
                    held[c] += 1;
                }
            }
        }
        // Each of the 18 unseen cards sits in an opponent's hand 10/18 of
        // the time, whether it is really held or in the stock.
        for c in bits(det.pool()) {
            let share = held[c] as f64 / n as f64;
            assert!((share - 10.0 / 18.0).abs() < 0.05, "card {c}: {share}");
        }
    }

    /// Every consistent deal of the pool, by brute force: the opponents'
    /// hands of each (the stock is the rest).
    fn enumerate(g: &OhHell, s: &OhHellState, me: usize) -> Vec<Vec<u64>> {
        let players = g.config().players as usize;
        let cards = bits(Determinizer::new(g, s, me).pool());
        let mut caps = vec![0usize; players + 1];
        for p in (0..players).filter(|&p| p != me) {
            caps[p] = s.hand(p).count_ones() as usize;
        }
        caps[players] = cards.len() - caps.iter().sum::<usize>();
        let mut deals = Vec::new();
        let mut hands = vec![0u64; players + 1];
        fn rec(
            i: usize,
            ctx: (&OhHell, &OhHellState, usize, &[usize]),
            caps: &mut [usize],
            hands: &mut [u64],
            deals: &mut Vec<Vec<u64>>,
        ) {
            let (g, s, me, cards) = ctx;
            let players = caps.len() - 1;
            if i == cards.len() {
                deals.push(hands[..players].to_vec());
                return;
            }
            for h in (0..=players).filter(|&h| h != me) {
                let void = h < players && s.voids(h) >> g.suit(cards[i]) & 1 == 1;
                if caps[h] > 0 && !void {
                    caps[h] -= 1;
                    hands[h] |= 1 << cards[i];
                    rec(i + 1, ctx, caps, hands, deals);
                    hands[h] &= !(1 << cards[i]);
                    caps[h] += 1;
                }
            }
        }
        rec(0, (g, s, me, &cards), &mut caps, &mut hands, &mut deals);
        deals
    }

    #[test]
    fn samples_match_an_exact_enumeration() {
        // 3 players, 3 suits of 5: 4 tricks deal 12 cards, turn one, 2 stay
        // in the stock. Find a hand where both opponents have shown a void.
        let g = game("num_suits=3,num_cards_per_suit=5,num_tricks_fixed=4");
        let (s, me) = (0..2000)
            .flat_map(|seed| (4..9).map(move |k| (seed, k)))
            .find_map(|(seed, k)| {
                let s = midgame(&g, seed, k);
                let Actor::Player(me) = g.actor(&s) else {
                    return None;
                };
                let me = me as usize;
                let void_opponents = (0..3)
                    .filter(|&p| p != me && s.voids(p) != 0 && s.hand(p) != 0)
                    .count();
                (void_opponents == 2).then_some((s, me))
            })
            .expect("a hand with two void opponents");
        let deals = enumerate(&g, &s, me);
        assert!(
            deals.len() > 2,
            "{} consistent deals test nothing",
            deals.len()
        );
        let index: HashMap<Vec<u64>, usize> = deals
            .iter()
            .enumerate()
            .map(|(i, d)| (d.clone(), i))
            .collect();
        let mut det = Determinizer::new(&g, &s, me);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 20 * deals.len().max(1000);
        let mut counts = vec![0usize; deals.len()];
        for _ in 0..n {
            let d = det.sample(&g, &s, &mut rng);
            let key: Vec<u64> = (0..3)
                .map(|p| if p == me { 0 } else { d.hand(p) })
                .collect();
            let i = *index
                .get(&key)
                .expect("a sampled deal outside the consistent ones");
            counts[i] += 1;
        }
        // Pearson's chi-square of the deal counts against the uniform
        // distribution over every consistent deal.
        let expected = n as f64 / deals.len() as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&k| (k as f64 - expected).powi(2) / expected)
            .sum();
        let df = (deals.len() - 1) as f64;
        // Critical value at p = 1e-4 (Wilson-Hilferty).
        let z = 3.719;
        let critical = df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3);
        assert!(
            chi2 < critical,
            "chi-square {chi2:.1} >= {critical:.1} on {df} degrees of freedom"
        );
    }
}
