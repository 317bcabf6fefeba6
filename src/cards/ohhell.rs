//! Oh Hell (Blob in Britain) with OpenSpiel's parameters and action ids, so
//! that records replay in both.
//!
//! A hand: chance draws the number of tricks (or it is fixed), then the
//! dealer, then deals the cards one at a time round-robin from player 0,
//! then turns one card up: its suit is trumps. Bidding starts left of the
//! dealer; the dealer may not bid so that the bids add up to the number of
//! tricks (the hook rule). The player left of the dealer leads the first
//! trick; players follow suit if they can; the highest trump, else the
//! highest card of the suit led, wins the trick and leads the next.
//!
//! Action ids (OpenSpiel's): card = rank * num_suits + suit (suits in the
//! order clubs, diamonds, spades, hearts; rank 0 is the deuce), bid `b` =
//! num_cards + b; chance outcomes for the number of tricks and the dealer
//! are the numbers themselves.
//!
//! Scores: tricks won times `points_per_trick`, plus 10 for an exact bid;
//! with `off_bid_penalty`, a missed bid scores minus `points_per_trick` per
//! trick off instead. The Blob option scores 10 + `points_per_trick` x bid
//! for an exact bid, else 0.

use serde::{Deserialize, Serialize};

use super::{determinize, Actor, ImperfectGame};
use crate::error::{Error, Result};

/// Most players (OpenSpiel's limit).
pub const MAX_PLAYERS: usize = 7;
/// Most tricks: (52 - 1) / 3.
pub const MAX_TRICKS: usize = 17;
/// Most cards.
pub const MAX_CARDS: usize = 52;
/// The bonus for an exact bid.
pub const MADE_BID_BONUS: i32 = 10;
const NONE: u8 = 0xFF;
const SUIT_CHARS: &[u8] = b"CDSH";
const RANK_CHARS: &[u8] = b"23456789TJQKA";

/// The rule parameters (OpenSpiel's names and ranges) and the Blob option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OhHellConfig {
    /// Number of players, 3-7.
    pub players: u8,
    /// Suits in the deck, 1-4.
    pub num_suits: u8,
    /// Cards per suit, 2-13.
    pub num_cards_per_suit: u8,
    /// Tricks in a hand, 1..=(cards - 1) / players; -1 draws it by chance
    /// (uniformly) every hand.
    pub num_tricks_fixed: i8,
    /// A missed bid scores minus the tricks it was off by.
    pub off_bid_penalty: bool,
    /// Points per trick won.
    pub points_per_trick: u8,
    /// Blob scoring: 10 + points_per_trick x bid for an exact bid, else 0
    /// (not an OpenSpiel parameter; its records still replay there, scored
    /// apart).
    pub blob: bool,
}

impl Default for OhHellConfig {
    /// wgzero's default game: 3 players, 4 suits of 4 ranks, 5 tricks (every
    /// card but the trump card dealt, so no card is left unseen in a stock).
    fn default() -> Self {
        OhHellConfig {
            players: 3,
            num_suits: 4,
            num_cards_per_suit: 4,
            num_tricks_fixed: 5,
            off_bid_penalty: false,
            points_per_trick: 1,
            blob: false,
        }
    }
}

impl OhHellConfig {
    /// OpenSpiel's own defaults: 3 players, 52 cards, a random number of tricks.
    pub fn openspiel_default() -> Self {
        OhHellConfig {
            num_suits: 4,
            num_cards_per_suit: 13,
            num_tricks_fixed: -1,
            ..Self::default()
        }
    }

    /// Reads `key=value` pairs separated by commas (OpenSpiel's parameter
    /// names plus `blob`), starting from the defaults: `players=4,num_tricks_fixed=-1`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut c = OhHellConfig::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::parse("Oh Hell rule", pair, "expected key=value"))?;
            let (key, value) = (key.trim(), value.trim());
            let int = |lo: i64, hi: i64| -> Result<i64> {
                let v: i64 = value.parse().map_err(|_| {
                    Error::parse("Oh Hell rule", pair, "the value is not a whole number")
                })?;
                if !(lo..=hi).contains(&v) {
                    return Err(Error::parse(
                        "Oh Hell rule",
                        pair,
                        format!("{key} must be in {lo}..={hi}"),
                    ));
                }
                Ok(v)
            };
            let flag = || -> Result<bool> {
                match value {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(Error::parse("Oh Hell rule", pair, "expected true or false")),
                }
            };
            match key {
                "players" => c.players = int(3, MAX_PLAYERS as i64)? as u8,
                "num_suits" => c.num_suits = int(1, 4)? as u8,
                "num_cards_per_suit" => c.num_cards_per_suit = int(2, 13)? as u8,
                "num_tricks_fixed" => c.num_tricks_fixed = int(-1, MAX_TRICKS as i64)? as i8,
                "off_bid_penalty" => c.off_bid_penalty = flag()?,
                "points_per_trick" => c.points_per_trick = int(0, 100)? as u8,
                "blob" => c.blob = flag()?,
                _ => {
                    return Err(Error::parse(
                        "Oh Hell rule",
                        pair,
                        "unknown key (players, num_suits, num_cards_per_suit, \
                         num_tricks_fixed, off_bid_penalty, points_per_trick, blob)",
                    ))
                }
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the combination of parameters (OpenSpiel's checks).
    pub fn validate(&self) -> Result<()> {
        let cards = self.num_suits as usize * self.num_cards_per_suit as usize;
        if !(3..=MAX_PLAYERS as u8).contains(&self.players)
            || !(1..=4).contains(&self.num_suits)
            || !(2..=13).contains(&self.num_cards_per_suit)
        {
            return Err(Error::config(
                "Oh Hell needs 3-7 players, 1-4 suits and 2-13 cards per suit",
            ));
        }
        if cards < self.players as usize + 1 {
            return Err(Error::config(format!(
                "{cards} cards cannot deal one card to each of {} players and turn up trumps",
                self.players
            )));
        }
        let max = (cards - 1) / self.players as usize;
        if self.num_tricks_fixed != -1
            && !(1..=max as i64).contains(&(self.num_tricks_fixed as i64))
        {
            return Err(Error::config(format!(
                "num_tricks_fixed must be -1 (random) or 1..={max} with {cards} cards and {} players",
                self.players
            )));
        }
        Ok(())
    }

    /// The full rule string: OpenSpiel's parameters, and `blob=true` when set
    /// (what models and runs record; [`OhHellConfig::parse`] reads it back).
    pub fn openspiel_params_with_blob(&self) -> String {
        let mut s = self.openspiel_params();
        if self.blob {
            s.push_str(",blob=true");
        }
        s
    }

    /// OpenSpiel's parameter string (without `blob`, which OpenSpiel lacks).
    pub fn openspiel_params(&self) -> String {
        format!(
            "players={},num_suits={},num_cards_per_suit={},num_tricks_fixed={},off_bid_penalty={},points_per_trick={}",
            self.players,
            self.num_suits,
            self.num_cards_per_suit,
            self.num_tricks_fixed,
            self.off_bid_penalty,
            self.points_per_trick
        )
    }
}

/// Where a hand is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Chance draws the number of tricks.
    Tricks,
    /// Chance draws the dealer.
    Dealer,
    /// Chance deals the cards, then turns up the trump card.
    Deal,
    /// Players bid.
    Bid,
    /// Players play cards.
    Play,
    /// The hand is over.
    Over,
}

/// The true state of a hand. Card sets are bit masks (bit = card id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OhHellState {
    phase: Phase,
    num_tricks: u8,
    dealer: u8,
    /// Cards dealt so far, the trump card included.
    dealt: u8,
    /// The player to bid or play.
    to_move: u8,
    /// The card turned up (NONE before).
    trump: u8,
    /// Cards each player holds now.
    hands: [u64; MAX_PLAYERS],
    /// Cards each player was dealt.
    initial: [u64; MAX_PLAYERS],
    /// Bids (NONE: not yet).
    bids: [u8; MAX_PLAYERS],
    /// Tricks won so far.
    won: [u8; MAX_PLAYERS],
    /// Cards played so far.
    played: u8,
    /// The cards in the order played.
    plays: [u8; MAX_CARDS],
    /// Who led each trick.
    leaders: [u8; MAX_TRICKS],
    /// Bit `s`: the player showed out of suit `s` (did not follow it).
    voids: [u8; MAX_PLAYERS],
    /// Who is winning the current trick, with which card.
    winner: u8,
    winning: u8,
}

impl OhHellState {
    /// The phase of the hand.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// Tricks in this hand (0 before chance draws it).
    pub fn num_tricks(&self) -> usize {
        self.num_tricks as usize
    }
    /// The dealer.
    pub fn dealer(&self) -> usize {
        self.dealer as usize
    }
    /// The trump card, once turned up.
    pub fn trump(&self) -> Option<usize> {
        (self.trump != NONE).then_some(self.trump as usize)
    }
    /// Player `p`'s cards now (bit mask of card ids).
    pub fn hand(&self, p: usize) -> u64 {
        self.hands[p]
    }
    /// Player `p`'s cards as dealt.
    pub fn initial_hand(&self, p: usize) -> u64 {
        self.initial[p]
    }
    /// Player `p`'s bid, once made.
    pub fn bid(&self, p: usize) -> Option<usize> {
        (self.bids[p] != NONE).then_some(self.bids[p] as usize)
    }
    /// Tricks player `p` has won.
    pub fn tricks_won(&self, p: usize) -> usize {
        self.won[p] as usize
    }
    /// The cards played so far, in order.
    pub fn plays(&self) -> &[u8] {
        &self.plays[..self.played as usize]
    }
    /// Suits (bit per suit) player `p` has shown out of.
    pub fn voids(&self, p: usize) -> u8 {
        self.voids[p]
    }
    /// Cards played so far, as a mask.
    pub fn played_mask(&self) -> u64 {
        self.plays().iter().fold(0, |m, &c| m | 1 << c)
    }
}

/// Oh Hell with one set of parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OhHell {
    config: OhHellConfig,
    players: usize,
    suits: usize,
    ranks: usize,
    cards: usize,
    max_tricks: usize,
    /// Every permutation of the suits, in the order of the symmetries.
    suit_perms: Vec<Vec<usize>>,
}

impl Default for OhHell {
    fn default() -> Self {
        Self::new(OhHellConfig::default()).expect("the default rules are valid")
    }
}

impl OhHell {
    /// The game with `config`'s rules (checked).
    pub fn new(config: OhHellConfig) -> Result<Self> {
        config.validate()?;
        let suits = config.num_suits as usize;
        let ranks = config.num_cards_per_suit as usize;
        let players = config.players as usize;
        Ok(OhHell {
            players,
            suits,
            ranks,
            cards: suits * ranks,
            max_tricks: (suits * ranks - 1) / players,
            suit_perms: suit_permutations(suits),
            config,
        })
    }

    /// The rules' parameters.
    pub fn config(&self) -> &OhHellConfig {
        &self.config
    }
    /// Cards in the deck.
    pub fn num_cards(&self) -> usize {
        self.cards
    }
    /// Suits in the deck.
    pub fn num_suits(&self) -> usize {
        self.suits
    }
    /// Ranks per suit.
    pub fn num_ranks(&self) -> usize {
        self.ranks
    }
    /// The most tricks a hand can have.
    pub fn max_tricks(&self) -> usize {
        self.max_tricks
    }
    /// The suit of card `c`.
    pub fn suit(&self, c: usize) -> usize {
        c % self.suits
    }
    /// The rank of card `c` (0 = lowest).
    pub fn rank(&self, c: usize) -> usize {
        c / self.suits
    }
    /// The card of `suit` and `rank`.
    pub fn card(&self, suit: usize, rank: usize) -> usize {
        rank * self.suits + suit
    }
    /// The cards of `suit`, as a mask.
    pub fn suit_mask(&self, suit: usize) -> u64 {
        (0..self.ranks).fold(0, |m, r| m | 1 << self.card(suit, r))
    }
    /// Every card, as a mask.
    pub fn deck_mask(&self) -> u64 {
        if self.cards == 64 {
            u64::MAX
        } else {
            (1u64 << self.cards) - 1
        }
    }
    /// The bid action for `bid`.
    pub fn bid_action(&self, bid: usize) -> usize {
        self.cards + bid
    }
    /// OpenSpiel's name of card `c` (`C2`, `HA`).
    pub fn card_name(&self, c: usize) -> String {
        format!(
            "{}{}",
            SUIT_CHARS[self.suit(c)] as char,
            RANK_CHARS[self.rank(c)] as char
        )
    }

    /// Cards not yet dealt (the trump card counts as dealt once turned up).
    fn undealt(&self, s: &OhHellState) -> u64 {
        let dealt =
            s.initial.iter().fold(0, |m, h| m | h) | if s.trump != NONE { 1 << s.trump } else { 0 };
        self.deck_mask() & !dealt
    }

    /// The suit led in the current trick (None when no card is on the table).
    fn led_suit(&self, s: &OhHellState) -> Option<usize> {
        let in_trick = s.played as usize % self.players;
        (in_trick > 0).then(|| self.suit(s.plays[s.played as usize - in_trick] as usize))
    }

    /// Who played the `i`-th card of the hand.
    pub fn player_of_play(&self, s: &OhHellState, i: usize) -> usize {
        (s.leaders[i / self.players] as usize + i % self.players) % self.players
    }

    /// The state of `s`'s deal when the bidding starts: the deal replayed
    /// from the start (tricks, dealer, the cards round-robin, the trump).
    pub fn bidding_start(&self, s: &OhHellState) -> OhHellState {
        let mut t = self.initial();
        self.apply(&mut t, s.num_tricks as usize);
        self.apply(&mut t, s.dealer as usize);
        let mut hands: Vec<u64> = s.initial[..self.players].to_vec();
        for _ in 0..s.num_tricks {
            for h in hands.iter_mut() {
                let c = h.trailing_zeros() as usize;
                *h &= *h - 1;
                self.apply(&mut t, c);
            }
        }
        self.apply(&mut t, s.trump as usize);
        t
    }

    /// Whether the player to bid is the dealer, and the sum of the bids so far.
    fn hook(&self, s: &OhHellState) -> (bool, usize) {
        let sum = s.bids[..self.players]
            .iter()
            .filter(|&&b| b != NONE)
            .map(|&b| b as usize)
            .sum();
        (s.to_move == s.dealer, sum)
    }

    fn apply_deal(&self, s: &mut OhHellState, card: usize) {
        debug_assert!(
            self.undealt(s) >> card & 1 == 1,
            "card {card} already dealt"
        );
        let hands = self.players * s.num_tricks as usize;
        if (s.dealt as usize) < hands {
            let p = s.dealt as usize % self.players;
            s.hands[p] |= 1 << card;
            s.initial[p] |= 1 << card;
        } else {
            s.trump = card as u8;
            s.phase = Phase::Bid;
            s.to_move = ((s.dealer as usize + 1) % self.players) as u8;
        }
        s.dealt += 1;
    }

    fn apply_bid(&self, s: &mut OhHellState, bid: usize) {
        s.bids[s.to_move as usize] = bid as u8;
        s.to_move = ((s.to_move as usize + 1) % self.players) as u8;
        if s.to_move as usize == (s.dealer as usize + 1) % self.players {
            s.phase = Phase::Play;
        }
    }

    fn apply_card(&self, s: &mut OhHellState, card: usize) {
        let p = s.to_move as usize;
        debug_assert!(s.hands[p] >> card & 1 == 1, "player {p} lacks card {card}");
        let in_trick = s.played as usize % self.players;
        if let Some(led) = self.led_suit(s) {
            if self.suit(card) != led {
                s.voids[p] |= 1 << led;
            }
        }
        s.hands[p] &= !(1 << card);
        if in_trick == 0 {
            s.leaders[s.played as usize / self.players] = p as u8;
            s.winner = p as u8;
            s.winning = card as u8;
        } else if self.beats(s, card, s.winning as usize) {
            s.winner = p as u8;
            s.winning = card as u8;
        }
        s.plays[s.played as usize] = card as u8;
        s.played += 1;
        if in_trick + 1 == self.players {
            s.won[s.winner as usize] += 1;
            s.to_move = s.winner;
        } else {
            s.to_move = ((p + 1) % self.players) as u8;
        }
        if s.played as usize == self.players * s.num_tricks as usize {
            s.phase = Phase::Over;
        }
    }

    /// Whether `card` beats the trick's winning card `best` (OpenSpiel's
    /// `Trick::Play`: a higher card of the winning suit, or a trump on a
    /// non-trump).
    fn beats(&self, s: &OhHellState, card: usize, best: usize) -> bool {
        let trumps = self.suit(s.trump as usize);
        if self.suit(card) == self.suit(best) {
            self.rank(card) > self.rank(best)
        } else {
            self.suit(card) == trumps
        }
    }

    /// Player `p`'s score at the end of the hand.
    pub fn score(&self, s: &OhHellState, p: usize) -> i32 {
        let (won, bid) = (s.won[p] as i32, s.bids[p] as i32);
        let ppt = self.config.points_per_trick as i32;
        if self.config.blob {
            return if won == bid {
                MADE_BID_BONUS + ppt * bid
            } else {
                0
            };
        }
        if won == bid {
            ppt * won + MADE_BID_BONUS
        } else if self.config.off_bid_penalty {
            -ppt * (won - bid).abs()
        } else {
            ppt * won
        }
    }

    /// The suit permutation of symmetry `sym` (`sym < symmetries()`; 0 is
    /// the identity).
    pub fn suit_permutation(&self, sym: usize) -> &[usize] {
        &self.suit_perms[sym]
    }

    /// Card `c` with its suit relabelled by `perm`.
    fn relabel_card(&self, perm: &[usize], c: usize) -> usize {
        self.card(perm[self.suit(c)], self.rank(c))
    }

    /// A mask of cards with the suits relabelled by `perm`.
    fn relabel_mask(&self, perm: &[usize], mut mask: u64) -> u64 {
        let mut out = 0;
        while mask != 0 {
            let c = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            out |= 1 << self.relabel_card(perm, c);
        }
        out
    }

    /// Packed nibbles by card (`words`) with the suits relabelled by `perm`.
    fn relabel_nibbles(&self, perm: &[usize], words: &mut [u32]) {
        let old = words.to_vec();
        words.fill(0);
        for c in 0..self.cards {
            let v = old[c / 8] >> (4 * (c % 8)) & 15;
            let to = self.relabel_card(perm, c);
            words[to / 8] |= v << (4 * (to % 8));
        }
    }

    /// Player `player`'s seat counted from `me` (0 = me, 1 = the next to my left).
    fn rel(&self, me: usize, player: usize) -> usize {
        (player + self.players - me) % self.players
    }

    fn packed_card_words(&self) -> usize {
        self.cards.div_ceil(8)
    }

    /// Where each group of words of a packed information state starts.
    fn packed_words(&self) -> PackedWords {
        let cards = 3;
        let bids = cards + self.packed_card_words();
        PackedWords {
            cards,
            bids,
            won: bids + 2,
            voids: bids + 4,
            deal: bids + 5,
        }
    }

    /// Feature offsets of [`ImperfectGame::encode_info`].
    fn layout(&self) -> InfoLayout {
        let (p, n, s, t) = (self.players, self.cards, self.suits, self.max_tricks);
        let hand = 0;
        let past = hand + n;
        let current = past + p * n;
        let trump = current + p * n;
        let bids = trump + n;
        let won = bids + p * (t + 2);
        let voids = won + p * (t + 1);
        let tricks = voids + p * s;
        let dealer = tricks + t;
        let leader = dealer + p;
        let phase = leader + p;
        let others = phase + 1;
        InfoLayout {
            hand,
            past,
            current,
            trump,
            bids,
            won,
            voids,
            tricks,
            dealer,
            leader,
            phase,
            others,
            len: others + (p - 1) * n,
        }
    }
}

/// Every permutation of `suits` suits, the `i`-th read as `i` in the
/// factorial number system (the 0th is the identity).
fn suit_permutations(suits: usize) -> Vec<Vec<usize>> {
    let count: usize = (1..=suits).product();
    (0..count)
        .map(|sym| {
            let mut left: Vec<usize> = (0..suits).collect();
            let mut code = sym;
            let mut perm = Vec::with_capacity(suits);
            for k in (1..=suits).rev() {
                let f: usize = (1..k).product();
                perm.push(left.remove((code / f) % k));
                code %= f;
            }
            perm
        })
        .collect()
}

/// Where each group of words of a packed information state starts (see
/// [`ImperfectGame::pack_info`]): card nibbles of the cards played, bids,
/// tricks won, voids, card nibbles of the deal.
#[derive(Clone, Copy, Debug)]
struct PackedWords {
    cards: usize,
    bids: usize,
    won: usize,
    voids: usize,
    deal: usize,
}

/// Where each group of features starts (see [`ImperfectGame::encode_info`]).
#[derive(Clone, Copy, Debug)]
struct InfoLayout {
    hand: usize,
    past: usize,
    current: usize,
    trump: usize,
    bids: usize,
    won: usize,
    voids: usize,
    tricks: usize,
    dealer: usize,
    leader: usize,
    phase: usize,
    others: usize,
    len: usize,
}

impl ImperfectGame for OhHell {
    type State = OhHellState;

    fn name(&self) -> String {
        "ohhell".into()
    }

    fn rules(&self) -> String {
        self.config.openspiel_params_with_blob()
    }

    fn num_players(&self) -> usize {
        self.players
    }

    fn num_actions(&self) -> usize {
        self.cards + self.max_tricks + 1
    }

    fn initial(&self) -> OhHellState {
        OhHellState {
            phase: Phase::Tricks,
            num_tricks: 0,
            dealer: 0,
            dealt: 0,
            to_move: 0,
            trump: NONE,
            hands: [0; MAX_PLAYERS],
            initial: [0; MAX_PLAYERS],
            bids: [NONE; MAX_PLAYERS],
            won: [0; MAX_PLAYERS],
            played: 0,
            plays: [NONE; MAX_CARDS],
            leaders: [NONE; MAX_TRICKS],
            voids: [0; MAX_PLAYERS],
            winner: NONE,
            winning: NONE,
        }
    }

    fn actor(&self, s: &OhHellState) -> Actor {
        match s.phase {
            Phase::Tricks | Phase::Dealer | Phase::Deal => Actor::Chance,
            Phase::Bid | Phase::Play => Actor::Player(s.to_move),
            Phase::Over => Actor::Terminal,
        }
    }

    fn chance_outcomes(&self, s: &OhHellState, out: &mut Vec<usize>) {
        out.clear();
        match s.phase {
            Phase::Tricks if self.config.num_tricks_fixed > 0 => {
                out.push(self.config.num_tricks_fixed as usize)
            }
            Phase::Tricks => out.extend(1..=self.max_tricks),
            Phase::Dealer => out.extend(0..self.players),
            Phase::Deal => {
                let mut m = self.undealt(s);
                while m != 0 {
                    out.push(m.trailing_zeros() as usize);
                    m &= m - 1;
                }
            }
            _ => {}
        }
    }

    fn legal_actions(&self, s: &OhHellState, out: &mut Vec<usize>) {
        out.clear();
        match s.phase {
            Phase::Bid => {
                let (last, sum) = self.hook(s);
                let tricks = s.num_tricks as usize;
                out.extend(
                    (0..=tricks)
                        .filter(|&b| !last || b + sum != tricks)
                        .map(|b| self.cards + b),
                );
            }
            Phase::Play => {
                let hand = s.hands[s.to_move as usize];
                let follow = self
                    .led_suit(s)
                    .map(|led| hand & self.suit_mask(led))
                    .filter(|&m| m != 0);
                let mut m = follow.unwrap_or(hand);
                while m != 0 {
                    out.push(m.trailing_zeros() as usize);
                    m &= m - 1;
                }
            }
            _ => {}
        }
    }

    fn apply(&self, s: &mut OhHellState, a: usize) {
        match s.phase {
            Phase::Tricks => {
                s.num_tricks = a as u8;
                s.phase = Phase::Dealer;
            }
            Phase::Dealer => {
                s.dealer = a as u8;
                s.phase = Phase::Deal;
            }
            Phase::Deal => self.apply_deal(s, a),
            Phase::Bid => self.apply_bid(s, a - self.cards),
            Phase::Play => self.apply_card(s, a),
            Phase::Over => debug_assert!(false, "action {a} after the end of the hand"),
        }
    }

    fn returns(&self, s: &OhHellState, out: &mut [f32]) -> bool {
        if s.phase != Phase::Over {
            return false;
        }
        for (p, r) in out.iter_mut().enumerate().take(self.players) {
            *r = self.score(s, p) as f32;
        }
        true
    }

    fn value_scale(&self) -> f32 {
        let ppt = self.config.points_per_trick as f32;
        MADE_BID_BONUS as f32 + ppt * self.max_tricks as f32
    }

    /// Words: 0: me (bits 0-2), dealer seat (3-5), tricks (6-10), phase
    /// play (11), leader seat (12-14), trump card (16-21, 63 = none);
    /// 1-2: my hand now; then a nibble per card (0 unseen, 1 + seat of the
    /// player who played it, + 8 while it lies in the current trick); then
    /// bids (a byte per seat, 255 none), tricks won (a byte per seat) and
    /// voids (4 bits per seat); last, the deal: a nibble per card held by
    /// another player (their seat; 0 for mine, played or undealt cards).
    /// Seats count from `player` (0 = me).
    fn info_words(&self) -> usize {
        self.packed_words().deal + self.packed_card_words()
    }

    fn pack_info(&self, s: &OhHellState, me: u8, out: &mut [u32]) {
        debug_assert_eq!(out.len(), self.info_words());
        debug_assert!(matches!(s.phase, Phase::Bid | Phase::Play | Phase::Over));
        out.fill(0);
        let me = me as usize;
        let leader = if s.phase == Phase::Play {
            let i = s.played as usize;
            if i.is_multiple_of(self.players) {
                s.to_move as usize
            } else {
                s.leaders[i / self.players] as usize
            }
        } else {
            (s.dealer as usize + 1) % self.players
        };
        let trump = if s.trump == NONE { 63 } else { s.trump as u32 };
        out[0] = me as u32
            | (self.rel(me, s.dealer as usize) as u32) << 3
            | (s.num_tricks as u32) << 6
            | ((s.phase == Phase::Play) as u32) << 11
            | (self.rel(me, leader) as u32) << 12
            | trump << 16;
        out[1] = s.hands[me] as u32;
        out[2] = (s.hands[me] >> 32) as u32;
        let PackedWords {
            cards,
            bids,
            won,
            voids,
            deal,
        } = self.packed_words();
        let in_current = s.played as usize - s.played as usize % self.players;
        for i in 0..s.played as usize {
            let c = s.plays[i] as usize;
            let seat = self.rel(me, self.player_of_play(s, i));
            let nibble = 1 + seat as u32 + if i >= in_current { 8 } else { 0 };
            out[cards + c / 8] |= nibble << (4 * (c % 8));
        }
        for p in 0..self.players {
            let seat = self.rel(me, p);
            out[bids + seat / 4] |= (s.bids[p] as u32) << (8 * (seat % 4));
            out[won + seat / 4] |= (s.won[p] as u32) << (8 * (seat % 4));
            out[voids] |= (s.voids[p] as u32) << (4 * seat);
        }
        for seat in self.players..8 {
            out[bids + seat / 4] |= 0xFF << (8 * (seat % 4));
        }
        for p in (0..self.players).filter(|&p| p != me) {
            let seat = self.rel(me, p) as u32;
            let mut hand = s.hands[p];
            while hand != 0 {
                let c = hand.trailing_zeros() as usize;
                hand &= hand - 1;
                out[deal + c / 8] |= seat << (4 * (c % 8));
            }
        }
    }

    /// Every permutation of the suits: the rules treat suits alike (the
    /// trump suit is the turned-up card's, relabelled with it).
    fn symmetries(&self) -> usize {
        self.suit_perms.len()
    }

    fn transform_info(&self, sym: usize, w: &mut [u32]) {
        if sym == 0 {
            return;
        }
        let perm = self.suit_permutation(sym);
        let trump = (w[0] >> 16 & 63) as usize;
        if trump < self.cards {
            w[0] = (w[0] & !(63 << 16)) | (self.relabel_card(perm, trump) as u32) << 16;
        }
        let hand = self.relabel_mask(perm, w[1] as u64 | (w[2] as u64) << 32);
        (w[1], w[2]) = (hand as u32, (hand >> 32) as u32);
        let at = self.packed_words();
        self.relabel_nibbles(perm, &mut w[at.cards..at.bids]);
        self.relabel_nibbles(perm, &mut w[at.deal..at.deal + self.packed_card_words()]);
        let voids = w[at.voids];
        let mut out = 0;
        for seat in 0..self.players {
            for (suit, &to) in perm.iter().enumerate() {
                if voids >> (4 * seat + suit) & 1 == 1 {
                    out |= 1 << (4 * seat + to);
                }
            }
        }
        w[at.voids] = out;
    }

    fn transform_action(&self, sym: usize, a: usize) -> usize {
        if sym == 0 || a >= self.cards {
            return a;
        }
        self.relabel_card(self.suit_permutation(sym), a)
    }

    fn hidden_features(&self) -> std::ops::Range<usize> {
        let l = self.layout();
        l.others..l.len
    }

    fn info_len(&self) -> usize {
        self.layout().len
    }

    /// Features, seats counted from the observer: my hand (a card each);
    /// cards played in finished tricks by seat; cards of the current trick by
    /// seat; the trump card; each seat's bid (none, 0..=max tricks); each
    /// seat's tricks won (0..=max tricks); each seat's voids by suit; the
    /// number of tricks (1..=max); the dealer's seat; the seat that leads
    /// the current trick; 1 in the play phase; then the deal: the cards each
    /// other seat holds ([`ImperfectGame::hidden_features`]).
    fn encode_info(&self, w: &[u32], out: &mut [f32]) {
        debug_assert_eq!(w.len(), self.info_words());
        debug_assert_eq!(out.len(), self.info_len());
        let (l, at) = (self.layout(), self.packed_words());
        let (p, n, t) = (self.players, self.cards, self.max_tricks);
        out.fill(0.0);
        let hand = w[1] as u64 | (w[2] as u64) << 32;
        for c in 0..n {
            if hand >> c & 1 == 1 {
                out[l.hand + c] = 1.0;
            }
            let nibble = (w[at.cards + c / 8] >> (4 * (c % 8))) & 15;
            if nibble & 7 != 0 {
                let seat = (nibble & 7) as usize - 1;
                let group = if nibble & 8 != 0 { l.current } else { l.past };
                out[group + seat * n + c] = 1.0;
            }
        }
        let trump = (w[0] >> 16 & 63) as usize;
        if trump < n {
            out[l.trump + trump] = 1.0;
        }
        for seat in 0..p {
            let bid = (w[at.bids + seat / 4] >> (8 * (seat % 4)) & 0xFF) as usize;
            let slot = if bid == NONE as usize {
                0
            } else {
                1 + bid.min(t)
            };
            out[l.bids + seat * (t + 2) + slot] = 1.0;
            let won = (w[at.won + seat / 4] >> (8 * (seat % 4)) & 0xFF) as usize;
            out[l.won + seat * (t + 1) + won.min(t)] = 1.0;
            let voids = w[at.voids] >> (4 * seat) & 15;
            for suit in 0..self.suits {
                if voids >> suit & 1 == 1 {
                    out[l.voids + seat * self.suits + suit] = 1.0;
                }
            }
        }
        let tricks = (w[0] >> 6 & 31) as usize;
        if (1..=t).contains(&tricks) {
            out[l.tricks + tricks - 1] = 1.0;
        }
        out[l.dealer + (w[0] >> 3 & 7) as usize % p] = 1.0;
        out[l.leader + (w[0] >> 12 & 7) as usize % p] = 1.0;
        out[l.phase] = (w[0] >> 11 & 1) as f32;
        for c in 0..n {
            let seat = (w[at.deal + c / 8] >> (4 * (c % 8)) & 15) as usize;
            if (1..p).contains(&seat) {
                out[l.others + (seat - 1) * n + c] = 1.0;
            }
        }
    }

    fn determinize<R: rand::Rng + ?Sized>(
        &self,
        s: &OhHellState,
        player: u8,
        rng: &mut R,
    ) -> OhHellState {
        determinize::Determinizer::new(self, s, player as usize).sample(self, s, rng)
    }

    fn determinize_many<R: rand::Rng + ?Sized>(
        &self,
        s: &OhHellState,
        player: u8,
        n: usize,
        rng: &mut R,
    ) -> Vec<OhHellState> {
        let mut d = determinize::Determinizer::new(self, s, player as usize);
        (0..n).map(|_| d.sample(self, s, rng)).collect()
    }

    /// Oh Hell weighs deals by the bids: the most informative decisions
    /// (a bid says how strong a hand is) and one evaluation per opponent.
    fn weighed_decisions(&self, s: &OhHellState, player: u8) -> Vec<(OhHellState, usize)> {
        let bid = s.bids[player as usize];
        if bid == NONE || !matches!(s.phase, Phase::Bid | Phase::Play | Phase::Over) {
            return Vec::new();
        }
        let mut t = self.bidding_start(s);
        while t.to_move != player {
            let b = s.bids[t.to_move as usize] as usize;
            self.apply(&mut t, self.cards + b);
        }
        vec![(t, self.cards + bid as usize)]
    }

    fn info_kernel(&self) -> Option<(&'static str, Vec<u32>)> {
        let l = self.layout();
        let mut params = vec![
            self.info_len() as u32,
            self.info_words() as u32,
            self.players as u32,
            self.cards as u32,
            self.suits as u32,
            self.max_tricks as u32,
        ];
        params.extend(
            [
                l.hand, l.past, l.current, l.trump, l.bids, l.won, l.voids, l.tricks, l.dealer,
                l.leader, l.phase, l.others,
            ]
            .map(|x| x as u32),
        );
        params.push(self.packed_card_words() as u32);
        Some(("ohhell", params))
    }

    fn contracts_made(&self, actions: &[usize]) -> Vec<bool> {
        let mut s = self.initial();
        for &a in actions {
            self.apply(&mut s, a);
        }
        if s.phase != Phase::Over {
            return Vec::new();
        }
        (0..self.players).map(|p| s.bids[p] == s.won[p]).collect()
    }

    fn format_action(&self, s: &OhHellState, a: usize) -> String {
        match s.phase {
            Phase::Tricks | Phase::Dealer => a.to_string(),
            Phase::Bid if a >= self.cards => format!("bid {}", a - self.cards),
            _ if a < self.cards => self.card_name(a),
            _ => a.to_string(),
        }
    }

    /// A bid as its number (`2`, `bid 2`); a card as suit and rank in either
    /// order, any case (`SQ`, `qs`, `10h` or `th`).
    fn parse_action(&self, s: &OhHellState, text: &str) -> Result<usize> {
        let t = text.trim();
        let a = match s.phase {
            Phase::Bid => {
                let n = t.strip_prefix("bid").unwrap_or(t).trim();
                let bid: usize = n
                    .parse()
                    .map_err(|_| Error::parse("bid", text, "expected a number of tricks"))?;
                if bid > s.num_tricks as usize {
                    return Err(Error::IllegalMove {
                        mv: text.into(),
                        reason: format!("there are only {} tricks", s.num_tricks),
                    });
                }
                self.cards + bid
            }
            Phase::Play => self.parse_card(t)?,
            _ => {
                return Err(Error::IllegalMove {
                    mv: text.into(),
                    reason: "no player acts now".into(),
                })
            }
        };
        let mut legal = Vec::new();
        self.legal_actions(s, &mut legal);
        if !legal.contains(&a) {
            let reason = match s.phase {
                Phase::Bid => "the dealer may not make the bids add up to the tricks".into(),
                _ if s.hands[s.to_move as usize] >> a & 1 == 0 => "you do not hold it".into(),
                _ => format!(
                    "you must follow suit ({})",
                    SUIT_CHARS[self.led_suit(s).unwrap_or(0)] as char
                ),
            };
            return Err(Error::IllegalMove {
                mv: self.format_action(s, a),
                reason,
            });
        }
        Ok(a)
    }

    fn render(&self, s: &OhHellState, viewer: Option<u8>) -> String {
        let mut out = String::new();
        let tricks = s.num_tricks;
        out.push_str(&format!(
            "{} tricks, dealer {}, trumps {}\n",
            tricks,
            s.dealer,
            s.trump().map_or("-".into(), |c| self.card_name(c))
        ));
        for p in 0..self.players {
            let shown = viewer.is_none_or(|v| v as usize == p) || s.phase == Phase::Over;
            let cards = if shown {
                self.hand_text(s.hands[p])
            } else {
                format!("{} cards", s.hands[p].count_ones())
            };
            let bid = s.bid(p).map_or("-".into(), |b| b.to_string());
            out.push_str(&format!(
                "player {p}{}: bid {bid}, won {}, {cards}\n",
                if viewer == Some(p as u8) {
                    " (you)"
                } else {
                    ""
                },
                s.won[p]
            ));
        }
        let start = s.played as usize - s.played as usize % self.players;
        if s.played as usize > start {
            let table: Vec<String> = (start..s.played as usize)
                .map(|i| {
                    format!(
                        "{} by player {}",
                        self.card_name(s.plays[i] as usize),
                        self.player_of_play(s, i)
                    )
                })
                .collect();
            out.push_str(&format!("on the table: {}\n", table.join(", ")));
        }
        if s.phase == Phase::Over {
            let scores: Vec<String> = (0..self.players)
                .map(|p| self.score(s, p).to_string())
                .collect();
            out.push_str(&format!("scores: {}\n", scores.join(" ")));
        }
        out
    }
}

impl OhHell {
    /// Reads a card name (`SQ`, `qs`, `10h`, `TH`).
    pub fn parse_card(&self, text: &str) -> Result<usize> {
        let upper = text.trim().to_ascii_uppercase().replace("10", "T");
        let bytes = upper.as_bytes();
        let bad = || {
            Error::parse(
                "card",
                text,
                "expected a suit (C, D, S, H) and a rank (2-9, T, J, Q, K, A), e.g. SQ",
            )
        };
        if bytes.len() != 2 {
            return Err(bad());
        }
        let (suit, rank) = match (
            SUIT_CHARS.iter().position(|&c| c == bytes[0]),
            RANK_CHARS.iter().position(|&c| c == bytes[1]),
        ) {
            (Some(s), Some(r)) => (s, r),
            _ => match (
                SUIT_CHARS.iter().position(|&c| c == bytes[1]),
                RANK_CHARS.iter().position(|&c| c == bytes[0]),
            ) {
                (Some(s), Some(r)) => (s, r),
                _ => return Err(bad()),
            },
        };
        if suit >= self.suits || rank >= self.ranks {
            return Err(Error::parse(
                "card",
                text,
                format!("this deck has {} suits of {} ranks", self.suits, self.ranks),
            ));
        }
        Ok(self.card(suit, rank))
    }

    /// A hand by suit: `C: 2 5  D: -  S: K  H: 3 4`.
    pub fn hand_text(&self, hand: u64) -> String {
        (0..self.suits)
            .map(|suit| {
                let ranks: Vec<String> = (0..self.ranks)
                    .rev()
                    .filter(|&r| hand >> self.card(suit, r) & 1 == 1)
                    .map(|r| (RANK_CHARS[r] as char).to_string())
                    .collect();
                format!(
                    "{}: {}",
                    SUIT_CHARS[suit] as char,
                    if ranks.is_empty() {
                        "-".into()
                    } else {
                        ranks.join("")
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
    }

    /// Replaces the cards of the players other than `keep`: `hands[p]` is
    /// what `p` holds now (the cards `p` played stay in `p`'s deal). Used by
    /// the determinizer.
    pub(crate) fn with_hands(&self, s: &OhHellState, hands: &[u64]) -> OhHellState {
        let mut d = s.clone();
        for (p, &hand) in hands.iter().enumerate().take(self.players) {
            let played = s.initial[p] & !s.hands[p];
            d.hands[p] = hand;
            d.initial[p] = hand | played;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn deal(g: &OhHell, seed: u64) -> OhHellState {
        let mut s = g.initial();
        g.resolve_chance(&mut s, &mut ChaCha8Rng::seed_from_u64(seed));
        s
    }

    #[test]
    fn the_default_deal_gives_five_cards_each_and_one_trump() {
        let g = OhHell::default();
        assert_eq!(g.num_actions(), 22);
        let s = deal(&g, 1);
        assert_eq!(s.phase(), Phase::Bid);
        for p in 0..3 {
            assert_eq!(s.hand(p).count_ones(), 5);
        }
        let all = s.hand(0) | s.hand(1) | s.hand(2) | 1 << s.trump().unwrap();
        assert_eq!(all.count_ones(), 16);
        assert_eq!(g.actor(&s), Actor::Player(((s.dealer() + 1) % 3) as u8));
    }

    /// Relabelling the suits of a packed view gives the view of the hand
    /// played with relabelled cards, at every decision, for every
    /// permutation; legal actions relabel the same way; scores are equal.
    #[test]
    fn suit_relabelling_commutes_with_the_rules_and_the_packing() {
        for rules in [
            "",
            "num_cards_per_suit=13,num_tricks_fixed=-1",
            "num_suits=3,players=4,num_cards_per_suit=6,num_tricks_fixed=4",
        ] {
            let g = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let mut seen = std::collections::HashSet::new();
            for sym in 0..g.symmetries() {
                let perm = g.suit_permutation(sym);
                assert!(
                    seen.insert(perm.to_vec()),
                    "{rules}: permutation {sym} repeats"
                );
                let (mut a, mut b) = (g.initial(), g.initial());
                let (mut la, mut lb) = (Vec::new(), Vec::new());
                let mut wa = vec![0; g.info_words()];
                let mut wb = vec![0; g.info_words()];
                loop {
                    let (action, mapped) = match g.actor(&a) {
                        Actor::Chance => {
                            g.chance_outcomes(&a, &mut la);
                            let x = la[rng.random_range(0..la.len())];
                            let y = if a.phase() == Phase::Deal {
                                g.transform_action(sym, x)
                            } else {
                                x
                            };
                            (x, y)
                        }
                        Actor::Player(p) => {
                            g.pack_info(&a, p, &mut wa);
                            g.pack_info(&b, p, &mut wb);
                            g.transform_info(sym, &mut wa);
                            assert_eq!(wa, wb, "{rules}: symmetry {sym}");
                            g.legal_actions(&a, &mut la);
                            g.legal_actions(&b, &mut lb);
                            let mut mapped: Vec<usize> =
                                la.iter().map(|&x| g.transform_action(sym, x)).collect();
                            mapped.sort_unstable();
                            lb.sort_unstable();
                            assert_eq!(mapped, lb, "{rules}: symmetry {sym}");
                            let x = la[rng.random_range(0..la.len())];
                            (x, g.transform_action(sym, x))
                        }
                        Actor::Terminal => break,
                    };
                    g.apply(&mut a, action);
                    g.apply(&mut b, mapped);
                }
                let (mut ra, mut rb) = (vec![0.0; g.num_players()], vec![0.0; g.num_players()]);
                assert!(g.returns(&a, &mut ra) && g.returns(&b, &mut rb));
                assert_eq!(ra, rb, "{rules}: symmetry {sym}");
            }
            assert_eq!(seen.len(), g.symmetries());
        }
    }

    #[test]
    fn weighed_decisions_are_each_players_bid_with_the_state_before_it() {
        for rules in [
            "",
            "num_cards_per_suit=6",
            "num_cards_per_suit=13,num_tricks_fixed=-1",
        ] {
            let g = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
            for seed in 0..100 {
                let mut s = deal(&g, seed);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut before = vec![None; 3];
                let mut legal = Vec::new();
                while let Actor::Player(p) = g.actor(&s) {
                    for q in 0..3u8 {
                        let want = before[q as usize].clone().into_iter().collect::<Vec<_>>();
                        assert_eq!(g.weighed_decisions(&s, q), want, "{rules} seed {seed}");
                    }
                    g.legal_actions(&s, &mut legal);
                    let a = legal[rand::Rng::random_range(&mut rng, 0..legal.len())];
                    if s.phase() == Phase::Bid {
                        before[p as usize] = Some((s.clone(), a));
                    }
                    g.apply(&mut s, a);
                }
                assert!(before.iter().all(Option::is_some));
            }
        }
    }

    #[test]
    fn the_dealer_may_not_make_the_bids_add_up() {
        let g = OhHell::default();
        let mut s = deal(&g, 2);
        let mut legal = Vec::new();
        g.play(&mut s, g.bid_action(2)).unwrap();
        g.play(&mut s, g.bid_action(1)).unwrap();
        g.legal_actions(&s, &mut legal);
        assert!(!legal.contains(&g.bid_action(2)));
        assert_eq!(legal.len(), 5);
        assert!(g.play(&mut s, g.bid_action(2)).is_err());
        assert!(g.parse_action(&s, "2").is_err());
        assert_eq!(g.parse_action(&s, "bid 3").unwrap(), g.bid_action(3));
    }

    #[test]
    fn players_must_follow_suit_and_voids_are_recorded() {
        let g = OhHell::default();
        for seed in 0..200 {
            let mut s = deal(&g, seed);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut legal = Vec::new();
            while let Actor::Player(p) = g.actor(&s) {
                g.legal_actions(&s, &mut legal);
                let a = legal[rand::Rng::random_range(&mut rng, 0..legal.len())];
                if s.phase() == Phase::Play {
                    if let Some(led) = g.led_suit(&s) {
                        let can = s.hand(p as usize) & g.suit_mask(led) != 0;
                        if can {
                            assert_eq!(g.suit(a), led);
                        }
                    }
                }
                g.play(&mut s, a).unwrap();
            }
            let mut r = [0.0; 3];
            assert!(g.returns(&s, &mut r));
            let tricks: usize = (0..3).map(|p| s.tricks_won(p)).sum();
            assert_eq!(tricks, 5);
            for p in 0..3 {
                // A void shown is a void kept: no card of it was played later.
                for suit in 0..4 {
                    if s.voids(p) >> suit & 1 == 1 {
                        assert_eq!(s.hand(p) & g.suit_mask(suit), 0);
                    }
                }
            }
        }
    }

    #[test]
    fn scores_follow_the_options() {
        let mut g = OhHell::default();
        let mut s = deal(&g, 3);
        s.phase = Phase::Over;
        s.bids[..3].copy_from_slice(&[2, 1, 0]);
        s.won[..3].copy_from_slice(&[2, 3, 0]);
        assert_eq!(
            (0..3).map(|p| g.score(&s, p)).collect::<Vec<_>>(),
            [12, 3, 10]
        );
        g.config.off_bid_penalty = true;
        assert_eq!(
            (0..3).map(|p| g.score(&s, p)).collect::<Vec<_>>(),
            [12, -2, 10]
        );
        g.config.off_bid_penalty = false;
        g.config.blob = true;
        assert_eq!(
            (0..3).map(|p| g.score(&s, p)).collect::<Vec<_>>(),
            [12, 0, 10]
        );
    }

    #[test]
    fn rules_parse_and_refuse_nonsense() {
        let c =
            OhHellConfig::parse("players=4,num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1")
                .unwrap();
        assert_eq!(OhHell::new(c).unwrap().max_tricks(), 12);
        for bad in [
            "players=2",
            "players=8",
            "num_suits=5",
            "num_tricks_fixed=6",
            "colour=red",
            "players",
            "blob=maybe",
            "players=x",
        ] {
            assert!(OhHellConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cards_parse_in_either_order() {
        let g = OhHell::new(OhHellConfig::openspiel_default()).unwrap();
        assert_eq!(g.parse_card("SQ").unwrap(), g.card(2, 10));
        assert_eq!(g.parse_card("qs").unwrap(), g.card(2, 10));
        assert_eq!(g.parse_card("10h").unwrap(), g.card(3, 8));
        assert_eq!(g.card_name(g.card(3, 12)), "HA");
        for bad in ["", "S", "SQQ", "X2", "é", "S1"] {
            assert!(g.parse_card(bad).is_err(), "{bad}");
        }
        let small = OhHell::default();
        assert!(small.parse_card("SA").is_err());
    }

    #[test]
    fn the_encoding_sees_own_cards_and_public_play_only() {
        let g = OhHell::default();
        let mut s = deal(&g, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut legal = Vec::new();
        for _ in 0..7 {
            g.legal_actions(&s, &mut legal);
            let a = legal[rand::Rng::random_range(&mut rng, 0..legal.len())];
            g.apply(&mut s, a);
        }
        let mut x = vec![0.0; g.info_len()];
        let me = 1u8;
        g.encode(&s, me, &mut x);
        let l = g.layout();
        let hand: Vec<usize> = (0..16).filter(|&c| x[l.hand + c] == 1.0).collect();
        let mine: Vec<usize> = (0..16).filter(|&c| s.hand(1) >> c & 1 == 1).collect();
        assert_eq!(hand, mine);
        // A determinization of player 1's view encodes the same outside the
        // deal's features, which show the other hands of the state encoded.
        let d = g.determinize(&s, me, &mut rng);
        let mut y = vec![0.0; g.info_len()];
        g.encode(&d, me, &mut y);
        let hidden = g.hidden_features();
        assert_eq!(x[..hidden.start], y[..hidden.start]);
        for (seat, p) in [(1, 2), (2, 0)] {
            let start = l.others + (seat - 1) * 16;
            let shown: Vec<usize> = (0..16).filter(|&c| x[start + c] == 1.0).collect();
            let held: Vec<usize> = (0..16).filter(|&c| s.hand(p) >> c & 1 == 1).collect();
            assert_eq!(shown, held, "seat {seat}");
        }
        assert_eq!(hidden.end, g.info_len());
        // Each played card shows once, by its player's seat.
        let shown: f32 = x[l.past..l.trump].iter().sum();
        assert_eq!(shown as usize, s.plays().len());
    }
}
