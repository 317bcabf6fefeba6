//! Oh Hell against a real outside implementation of the rules, OpenSpiel's
//! `oh_hell` (PyPI `open-spiel`, `import pyspiel`), through
//! `scripts/openspiel_referee.py`:
//! - random hands of three configurations replayed step by step: same player
//!   to move, same legal actions, same chance outcomes, same returns;
//! - mutated records (a revoke, a hook-rule bid, a card dealt twice, a card
//!   not held) refused by both.
//!
//! The Python comes from WGZERO_OPENSPIEL_PYTHON (default `python3`);
//! `.ci/run` installs the pinned wheel in a venv, points the variable at it
//! and sets WGZERO_REQUIRE_OPENSPIEL=1, which makes a missing OpenSpiel a
//! failure. Elsewhere the tests print why they skip. WGZERO_OPENSPIEL_GAMES
//! sets the random hands per configuration (default 100,000, about a
//! minute for the four configurations).

mod common;

use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgzero::cards::ohhell::Phase;
use wgzero::cards::trace::{random_hand, trace, Trace};
use wgzero::cards::{Actor, ImperfectGame, OhHell, OhHellConfig};

/// What the referee said.
#[derive(serde::Deserialize, Debug)]
struct Verdict {
    games: usize,
    steps: usize,
    refused: usize,
    disagreements: usize,
    first: serde_json::Value,
}

/// Streams `traces` to the referee and reads its verdict.
fn referee(python: &str, traces: impl Iterator<Item = Trace>) -> Verdict {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/openspiel_referee.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the referee");
    {
        let mut w = BufWriter::new(child.stdin.take().unwrap());
        for t in traces {
            serde_json::to_writer(&mut w, &t).unwrap();
            w.write_all(b"\n").unwrap();
        }
    }
    let out = child.wait_with_output().expect("the referee's verdict");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{}", text.trim());
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("verdict {text:?}: {e}"))
}

fn games_per_config() -> usize {
    std::env::var("WGZERO_OPENSPIEL_GAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn configs() -> Vec<OhHell> {
    [
        "num_suits=4,num_cards_per_suit=4,num_tricks_fixed=5",
        "num_suits=4,num_cards_per_suit=6,num_tricks_fixed=5",
        "num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1",
        "players=5,num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1,off_bid_penalty=true,points_per_trick=2",
    ]
    .iter()
    .map(|spec| OhHell::new(OhHellConfig::parse(spec).unwrap()).unwrap())
    .collect()
}

#[test]
fn random_hands_agree_with_openspiel() {
    let Some(python) = common::openspiel("random_hands_agree_with_openspiel") else {
        return;
    };
    let n = games_per_config();
    let games = configs();
    let traces = games.iter().enumerate().flat_map(|(k, g)| {
        let mut rng = ChaCha8Rng::seed_from_u64(31 + k as u64);
        (0..n).map(move |_| {
            let (t, r) = trace(g, &random_hand(g, &mut rng));
            r.expect("wgzero refused its own random hand");
            t
        })
    });
    let v = referee(&python, traces);
    assert_eq!(v.games, n * games.len());
    assert_eq!(v.refused, 0);
    assert_eq!(v.disagreements, 0, "{}", v.first);
    assert!(v.steps > v.games * 20);
}

/// How a record is spoiled.
#[derive(Clone, Copy, Debug)]
enum Mutation {
    /// A card off suit while the player holds the suit led.
    Revoke,
    /// The dealer's bid that makes the bids add up to the tricks.
    Hook,
    /// A card dealt a second time.
    DealtTwice,
    /// A card the player does not hold.
    NotHeld,
}

/// A random hand with one action spoiled by `m`, cut after it; None if this
/// hand offers no place for `m`.
fn mutate(g: &OhHell, m: Mutation, rng: &mut ChaCha8Rng) -> Option<Vec<usize>> {
    let actions = random_hand(g, rng);
    let mut s = g.initial();
    let mut places = Vec::new();
    for (i, &a) in actions.iter().enumerate() {
        let bad = match (m, g.actor(&s), s.phase()) {
            (Mutation::Revoke, Actor::Player(p), Phase::Play) => {
                let mut legal = Vec::new();
                g.legal_actions(&s, &mut legal);
                let held = s.hand(p as usize);
                let off: Vec<usize> = (0..g.num_cards())
                    .filter(|&c| held >> c & 1 == 1 && !legal.contains(&c))
                    .collect();
                off.first().copied()
            }
            (Mutation::Hook, Actor::Player(p), Phase::Bid) if p as usize == s.dealer() => {
                let sum: usize = (0..g.num_players()).filter_map(|q| s.bid(q)).sum();
                (sum <= s.num_tricks()).then(|| g.bid_action(s.num_tricks() - sum))
            }
            (Mutation::DealtTwice, Actor::Chance, Phase::Deal) => {
                let dealt = (0..g.num_players()).fold(0u64, |m, p| m | s.initial_hand(p));
                (dealt != 0).then(|| dealt.trailing_zeros() as usize)
            }
            (Mutation::NotHeld, Actor::Player(p), Phase::Play) => {
                let held = s.hand(p as usize);
                (0..g.num_cards()).find(|&c| held >> c & 1 == 0)
            }
            _ => None,
        };
        if let Some(b) = bad {
            places.push((i, b));
        }
        g.apply(&mut s, a);
    }
    if places.is_empty() {
        return None;
    }
    let (i, b) = places[rng.random_range(0..places.len())];
    let mut spoiled = actions[..i].to_vec();
    spoiled.push(b);
    Some(spoiled)
}

#[test]
fn mutated_records_are_refused_by_both() {
    let Some(python) = common::openspiel("mutated_records_are_refused_by_both") else {
        return;
    };
    let mut traces = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    for g in configs() {
        for m in [
            Mutation::Revoke,
            Mutation::Hook,
            Mutation::DealtTwice,
            Mutation::NotHeld,
        ] {
            let mut made = 0;
            while made < 50 {
                let Some(actions) = mutate(&g, m, &mut rng) else {
                    continue;
                };
                let (t, r) = trace(&g, &actions);
                assert!(r.is_err(), "wgzero accepted a {m:?}");
                assert_eq!(t.reject_at, Some(actions.len() - 1), "{m:?}");
                traces.push(t);
                made += 1;
            }
        }
    }
    let n = traces.len();
    let v = referee(&python, traces.into_iter());
    assert_eq!(v.games, n);
    assert_eq!(v.disagreements, 0, "{}", v.first);
    assert_eq!(v.refused, n);
}

/// The match script's fair resampler (for `ismcts-fair`, OpenSpiel's Python
/// ISMCTS): every sample keeps the player's information state and legal
/// actions; the opponents' cards come from the whole unseen pool, stock
/// included (each unseen card in an opponent's hand 10/18 of the time at the
/// first bid of a 24-card hand); and a short match runs with it.
#[test]
fn the_fair_resampler_keeps_the_view_and_covers_the_stock() {
    let Some(python) = common::openspiel("the_fair_resampler_keeps_the_view_and_covers_the_stock")
    else {
        return;
    };
    let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");
    let check = format!(
        r#"
import random, sys
sys.path.insert(0, {scripts:?})
import pyspiel
from openspiel_match import FairResampler
g = pyspiel.load_game("oh_hell", {{"players": 3, "num_suits": 4, "num_cards_per_suit": 6, "num_tricks_fixed": 5}})
rng = random.Random(3)
fair = FairResampler(g, random.Random(5))
checks = 0
for hand in range(100):
    s = g.new_initial_state()
    while not s.is_terminal():
        if s.is_chance_node():
            s.apply_action(rng.choice([a for a, _ in s.chance_outcomes()]))
            continue
        p = s.current_player()
        for _ in range(3):
            r = fair(s, p)
            assert r.information_state_string(p) == s.information_state_string(p)
            assert r.legal_actions() == s.legal_actions()
            checks += 1
        s.apply_action(rng.choice(s.legal_actions()))
s = g.new_initial_state()
while s.is_chance_node():
    s.apply_action(rng.choice([a for a, _ in s.chance_outcomes()]))
p = s.current_player()
h = s.history()
mine = set(h[2 + k] for k in range(15) if k % 3 == p)
unseen = [c for c in range(24) if c not in mine and c != h[17]]
counts = dict.fromkeys(unseen, 0)
n = 3000
for _ in range(n):
    r = fair(s, p).history()
    for k in range(15):
        if k % 3 != p:
            counts[r[2 + k]] += 1
worst = max(abs(c / n - 10 / 18) for c in counts.values())
assert len(unseen) == 18 and worst < 0.04, (len(unseen), worst)
print("ok", checks, round(worst, 4))
"#
    );
    let text = python_stdout(&python, &["-c", &check]);
    assert!(text.starts_with("ok"), "{text}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/openspiel_match.py");
    let text = python_stdout(
        &python,
        &[
            script,
            "--rules",
            "num_suits=4,num_cards_per_suit=6,num_tricks_fixed=5",
            "--games",
            "3",
            "--ismcts-sims",
            "50",
            "--lineup",
            "random,ismcts-fair,ismcts",
        ],
    );
    assert!(text.contains("\"games\": 3"), "{text}");
}

/// The match script drives `wgzero agent` (rollouts, no model) with
/// OpenSpiel as the game master, hiding the other hands, and with the
/// research-only oracle shown every card for its bids, its cards or all.
#[test]
fn the_match_script_drives_the_agent_with_and_without_the_oracle() {
    let Some(python) =
        common::openspiel("the_match_script_drives_the_agent_with_and_without_the_oracle")
    else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/openspiel_match.py");
    let agent = format!(
        "{} agent --simulations 40 --determinizations 4",
        env!("CARGO_BIN_EXE_wgzero")
    );
    let oracle = format!("{agent} --sees-all");
    for (command, sees) in [
        (&agent, None),
        (&oracle, Some("bids")),
        (&oracle, Some("cards")),
        (&oracle, Some("all")),
    ] {
        let mut args = vec![
            script,
            "--games",
            "3",
            "--ismcts-sims",
            "20",
            "--lineup",
            "wgzero,random,ismcts",
            "--wgzero",
            command,
        ];
        if let Some(mode) = sees {
            args.extend(["--wgzero-sees-all", mode]);
        }
        let text = python_stdout(&python, &args);
        assert!(text.contains("\"games\": 3"), "{text}");
    }
}

/// Runs `python` with `args`; its standard output (it must exit 0).
fn python_stdout(python: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .args(args)
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
