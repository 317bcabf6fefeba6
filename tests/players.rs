use wgzero::game::{Connect4, Game, Gomoku, TicTacToe};
use wgzero::players::{play_game, Heuristic, Minimax, Player, PlayerSpec};

/// Score of `a` against `b` over `games` games, colours alternating (1 per win, 0.5 per draw).
fn duel<G: Game + Heuristic>(g: G, a: &str, b: &str, games: u64) -> f32 {
    let mut score = 0.0;
    for i in 0..games {
        let mut p = a
            .parse::<PlayerSpec>()
            .unwrap()
            .build(g.clone(), i)
            .unwrap();
        let mut q = b
            .parse::<PlayerSpec>()
            .unwrap()
            .build(g.clone(), 1000 + i)
            .unwrap();
        let r = if i % 2 == 0 {
            play_game(&g, &mut [p.as_mut(), q.as_mut()]).unwrap().1
        } else {
            -play_game(&g, &mut [q.as_mut(), p.as_mut()]).unwrap().1
        };
        score += (r + 1.0) / 2.0;
    }
    score
}

#[test]
fn baselines_beat_random() {
    assert!(duel(Connect4, "minimax:4", "random", 10) >= 9.0);
    assert!(duel(Connect4, "mcts:500", "random", 10) >= 9.0);
    assert!(duel(Gomoku::new(9).unwrap(), "minimax:2", "random", 4) >= 3.5);
}

#[test]
fn perfect_play_draws_tictactoe() {
    // Full-depth minimax never loses tic-tac-toe; against itself it draws.
    assert_eq!(duel(TicTacToe, "minimax:9", "minimax:9", 4), 2.0);
    assert!(duel(TicTacToe, "minimax:9", "random", 10) >= 8.0);
}

#[test]
fn minimax_takes_wins_and_blocks() {
    let g = Connect4;
    let mut m = Minimax::new(g, 3, 0);
    assert_eq!(m.choose(&g.parse_position("121212").unwrap()).unwrap(), 0);
    assert_eq!(m.choose(&g.parse_position("127314").unwrap()).unwrap(), 4);
    let go = Gomoku::default();
    let mut m = Minimax::new(go, 2, 0);
    let s = go.parse_position("a4 a1 b4 c1 c4 o15 d4 o13").unwrap();
    assert_eq!(go.format_move(m.choose(&s).unwrap()), "e4");
}

#[test]
fn player_specs_parse_or_explain() {
    assert_eq!("random".parse::<PlayerSpec>().unwrap(), PlayerSpec::Random);
    assert_eq!(
        "mcts:2000".parse::<PlayerSpec>().unwrap(),
        PlayerSpec::Mcts(2000)
    );
    assert_eq!(
        "minimax:5".parse::<PlayerSpec>().unwrap(),
        PlayerSpec::Minimax(5)
    );
    // Each refusal quotes what was given and says what is wrong with it.
    for (bad, says) in [
        ("mcts", "mcts needs a simulation count, e.g. mcts:"),
        ("mcts:", "simulation count must be a whole number from 1"),
        ("mcts:x", "simulation count must be a whole number from 1"),
        ("mcts:0", "from 1 to 10000000"),
        ("minimax:0", "depth must be a whole number from 1 to 12"),
        ("minimax:99", "depth must be a whole number from 1 to 12"),
        (
            "random:3",
            "expected random, mcts:N, minimax:D, gtp:COMMAND or pbrain:COMMAND",
        ),
        (
            "alphazero",
            "expected random, mcts:N, minimax:D, gtp:COMMAND or pbrain:COMMAND",
        ),
        (
            "",
            "expected random, mcts:N, minimax:D, gtp:COMMAND or pbrain:COMMAND",
        ),
        ("gtp: ", "needs an engine command line"),
        ("pbrain:", "needs a Gomocup brain's command line"),
    ] {
        let e = bad.parse::<PlayerSpec>().unwrap_err().to_string();
        assert!(e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        assert!(e.contains(says), "{bad:?}: {e}");
    }
}
