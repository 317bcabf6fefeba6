//! Matches and batched searches (no network: baselines and the uniform evaluator).

use wgzero::arena::{
    play_match, random_opening, read_openings, search_many, Contestant, MatchConfig, MatchResult,
};
use wgzero::eval::Uniform;
use wgzero::game::{Connect4, Game, TicTacToe};
use wgzero::mcts::SearchConfig;
use wgzero::players::PlayerSpec;

#[test]
fn elo_and_score_follow_the_results() {
    let r = MatchResult {
        games: 100,
        wins: 60,
        draws: 20,
        losses: 20,
        first: [30, 10, 10],
        second: [30, 10, 10],
        score_checks: None,
        records: Vec::new(),
    };
    assert!((r.score() - 0.7).abs() < 1e-12);
    let e = r.elo();
    // -400 log10(1/0.7 - 1) = 147.2
    assert!((e.elo - 147.2).abs() < 0.1, "{e:?}");
    assert!(e.low < e.elo && e.elo < e.high);
    assert!(e.low > 50.0 && e.high < 260.0, "{e:?}");
    let even = MatchResult {
        games: 10,
        draws: 10,
        ..Default::default()
    };
    assert_eq!(even.elo().elo, 0.0);
    let all = MatchResult {
        games: 4,
        wins: 4,
        ..Default::default()
    };
    assert!(all.elo().elo.is_infinite() && all.elo().elo > 0.0);
    // A perfect score still bounds the Elo from below: 100 of 100 -> > +500.
    let hundred = MatchResult {
        games: 100,
        wins: 100,
        ..Default::default()
    };
    assert!(hundred.elo().low.is_finite() && hundred.elo().low > 500.0);
}

#[test]
fn a_match_plays_every_game_with_both_colours() {
    let cfg = MatchConfig {
        games: 40,
        opening_moves: 2,
        openings: Vec::new(),
        concurrency: 16,
        seed: 3,
    };
    let mut calls = 0;
    let r = play_match(
        &Connect4,
        Contestant::Baseline(PlayerSpec::Minimax(3)),
        Contestant::Baseline(PlayerSpec::Random),
        &cfg,
        &mut |_, _| calls += 1,
        &|| false,
    )
    .unwrap();
    assert_eq!(r.games, 40);
    assert_eq!(calls, 40);
    assert_eq!(r.wins + r.draws + r.losses, 40);
    assert_eq!(r.first.iter().sum::<usize>(), 20);
    assert_eq!(r.second.iter().sum::<usize>(), 20);
    assert!(r.score() > 0.85, "minimax:3 should beat random: {r:?}");
}

#[test]
fn given_openings_are_played_in_turn_once_with_each_colour() {
    let text = "# Connect Four openings\n\n44\n  353 \n";
    let openings = read_openings(&Connect4, text).unwrap();
    assert_eq!(openings, vec![vec![3, 3], vec![2, 4, 2]]);
    for (bad, why) in [
        ("44\n4z\n", "line 2"),
        ("1111111\n", "line 1"),
        ("1212121\n", "ends the game"),
        ("# nothing\n", "no opening"),
    ] {
        let e = read_openings(&Connect4, bad).unwrap_err().to_string();
        assert!(e.contains(why), "{bad:?}: {e}");
    }
    let cfg = MatchConfig {
        games: 6,
        opening_moves: 5,
        openings: openings.clone(),
        concurrency: 6,
        seed: 3,
    };
    let r = play_match(
        &Connect4,
        Contestant::Baseline(PlayerSpec::Minimax(2)),
        Contestant::Baseline(PlayerSpec::Random),
        &cfg,
        &mut |_, _| {},
        &|| false,
    )
    .unwrap();
    let mut records = r.records.clone();
    records.sort_by_key(|g| g.game);
    for g in &records {
        let opening = &openings[(g.game / 2) % 2];
        assert_eq!(&g.moves[..opening.len()], &opening[..], "{g:?}");
        assert_eq!(g.opening_moves, opening.len());
        assert_eq!(g.a_first, g.game % 2 == 0);
    }
}

#[test]
fn a_searching_contestant_batches_over_games_and_can_be_stopped() {
    // Uniform-prior search against random at tic-tac-toe: every game is
    // played; a perfect-information search of 200 simulations rarely loses.
    let mut eval = Uniform::new();
    let cfg = MatchConfig {
        games: 20,
        opening_moves: 0,
        openings: Vec::new(),
        concurrency: 20,
        seed: 1,
    };
    let search = SearchConfig {
        simulations: 200,
        ..SearchConfig::default()
    };
    let r = play_match(
        &TicTacToe,
        Contestant::Search {
            name: "uniform".into(),
            search: search.clone(),
            eval: &mut eval,
        },
        Contestant::Baseline(PlayerSpec::Random),
        &cfg,
        &mut |_, _| {},
        &|| false,
    )
    .unwrap();
    assert_eq!(r.games, 20);
    assert!(r.losses <= 2, "{r:?}");
    let stopped = play_match(
        &TicTacToe,
        Contestant::Search {
            name: "uniform".into(),
            search,
            eval: &mut eval,
        },
        Contestant::Baseline(PlayerSpec::Random),
        &cfg,
        &mut |_, _| {},
        &|| true,
    );
    assert!(matches!(stopped, Err(wgzero::Error::Interrupted)));
}

#[test]
fn search_many_finds_immediate_wins() {
    // X to move with three in column 1; then O to move with three in column 2.
    let states: Vec<_> = ["121212", "1212127"]
        .iter()
        .map(|p| Connect4.parse_position(p).unwrap())
        .collect();
    let cfg = SearchConfig {
        simulations: 64,
        ..SearchConfig::default()
    };
    let mut finished = Vec::new();
    let r = search_many(
        &Connect4,
        &states,
        &cfg,
        &mut Uniform::new(),
        0,
        &mut |done| finished.push(done),
    )
    .unwrap();
    // Progress never goes back and ends with every search finished.
    assert!(finished.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(finished.last(), Some(&states.len()));
    assert_eq!(r[0].action, 0);
    assert_eq!(r[1].action, 1);
    // Openings are legal, seeded and never finished games.
    let a = random_opening(&Connect4, 6, 9);
    assert_eq!(a, random_opening(&Connect4, 6, 9));
    assert!(Connect4.terminal_value(&a).is_none());
    assert_eq!(Connect4.moves_played(&a), 6);
}

#[test]
fn wilson_intervals_match_known_values() {
    use wgzero::arena::wilson_interval;
    let (lo, hi) = wilson_interval(0.5, 100);
    assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
    let (lo, hi) = wilson_interval(0.0, 100);
    assert!(lo == 0.0 && (hi - 0.0370).abs() < 1e-3, "{lo} {hi}");
    let (lo, hi) = wilson_interval(1.0, 20);
    assert!((lo - 0.8389).abs() < 1e-3 && hi == 1.0, "{lo} {hi}");
}
