mod common;

use common::{random_position, rng, NaiveC4};
use wgzero::game::{count_games, perft, Connect4, Game, Gomoku, TicTacToe};
use wgzero::Error;

#[test]
fn connect4_perft_depth_1_to_8() {
    let expected = [7, 49, 343, 2401, 16807, 117649, 823536, 5673234];
    let g = Connect4;
    for (d, &n) in expected.iter().enumerate() {
        assert_eq!(perft(&g, &g.initial(), d as u32 + 1), n, "depth {}", d + 1);
    }
    // An independent 2-D array implementation agrees.
    for d in 1..=6 {
        assert_eq!(NaiveC4::new().perft(d), expected[d as usize - 1]);
    }
}

#[test]
fn connect4_perft_from_midgame_matches_naive() {
    let g = Connect4;
    for text in ["4453", "44444433", "1122334", "7654321123"] {
        let s = g.parse_position(text).unwrap();
        assert_eq!(
            perft(&g, &s, 5),
            NaiveC4::from_moves(text).perft(5),
            "{text}"
        );
    }
}

#[test]
fn tictactoe_has_255168_games() {
    let g = TicTacToe;
    assert_eq!(count_games(&g, &g.initial()), 255_168);
    assert_eq!(perft(&g, &g.initial(), 9), 127_872);
}

#[test]
fn connect4_wins_and_draws() {
    let g = Connect4;
    // vertical, horizontal, both diagonals
    for text in ["1212121", "1122334", "12233434474", "76655454414"] {
        let s = g.parse_position(text).unwrap();
        assert_eq!(g.terminal_value(&s), Some(-1.0), "{text}");
        assert!(NaiveC4::from_moves(text).last_won());
    }
    let s = g.parse_position("121212").unwrap();
    assert_eq!(g.terminal_value(&s), None);
    // A full board without four in a row is a draw: find one by random play.
    let mut r = rng(3);
    let (draw, moves) = (0..)
        .map(|_| {
            let (mut s, mut moves) = (g.initial(), String::new());
            while g.terminal_value(&s).is_none() {
                let mut legal = Vec::new();
                g.legal_actions(&s, &mut legal);
                let a = legal[rand::Rng::random_range(&mut r, 0..legal.len())];
                g.apply(&mut s, a);
                moves.push_str(&g.format_move(a));
            }
            (s, moves)
        })
        .find(|(s, _)| s.moves == 42 && g.terminal_value(s) == Some(0.0))
        .unwrap();
    let naive = NaiveC4::from_moves(&moves);
    assert!(naive.moves == 42 && !naive.last_won(), "{moves}");
    assert_eq!(g.terminal_value(&draw), Some(0.0));
}

#[test]
fn connect4_rejects_bad_moves_with_clear_errors() {
    let g = Connect4;
    let full = g.parse_position("444444").unwrap();
    assert!(matches!(
        g.parse_move(&full, "4"),
        Err(Error::IllegalMove { .. })
    ));
    for bad in ["0", "8", "x", "", "-1", "44"] {
        let e = g.parse_move(&full, bad).unwrap_err();
        assert!(matches!(e, Error::Parse { .. }), "{bad}: {e}");
    }
    let e = g.parse_position("4444444").unwrap_err().to_string();
    assert!(
        e.contains("column 4 is full") && e.contains("move 7"),
        "{e}"
    );
    let won = g.parse_position("1212121").unwrap();
    assert!(g
        .parse_move(&won, "3")
        .unwrap_err()
        .to_string()
        .contains("over"));
    let mut s = g.initial();
    assert!(g.play(&mut s, 9).is_err());
}

#[test]
fn gomoku_five_or_more_wins_including_overlines_and_edges() {
    let g = Gomoku::default();
    // X: a1 b1 c1 d1 e1 (bottom row, edge); O elsewhere
    let s = g.parse_position("a1 a3 b1 b3 c1 c3 d1 d3 e1").unwrap();
    assert_eq!(g.terminal_value(&s), Some(-1.0));
    // Overline: X fills the gap between two pairs + one → six in a row wins (free-style).
    let s = g
        .parse_position("a5 a7 b5 b7 c5 c7 e5 e7 f5 o15 d5")
        .unwrap();
    assert_eq!(g.terminal_value(&s), Some(-1.0));
    // Diagonals, anti-diagonal at the top right corner
    let s = g.parse_position("o15 a1 n14 a2 m13 a3 l12 a4 k11").unwrap();
    assert_eq!(g.terminal_value(&s), Some(-1.0));
    let s = g
        .parse_position("a15 h8 b14 h9 c13 h10 d12 h11 e11")
        .unwrap();
    assert_eq!(g.terminal_value(&s), Some(-1.0));
    // Four is not five
    let s = g.parse_position("a1 a3 b1 b3 c1 c3 d1 d3").unwrap();
    assert_eq!(g.terminal_value(&s), None);
    // Bad input
    assert!(matches!(g.parse_move(&s, "p1"), Err(Error::Parse { .. })));
    assert!(matches!(g.parse_move(&s, "a16"), Err(Error::Parse { .. })));
    assert!(matches!(
        g.parse_move(&s, "a1"),
        Err(Error::IllegalMove { .. })
    ));
    assert!(Gomoku::new(4).is_err() && Gomoku::new(20).is_err());
    assert_eq!(g.format_move(g.parse_move(&s, "H8").unwrap()), "h8");
}

fn check_symmetries<G: Game>(game: &G, seed: u64) {
    let mut r = rng(seed);
    let mut actions = Vec::new();
    for moves in [0, 1, 3, 6] {
        let s = random_position(game, moves, &mut r);
        game.legal_actions(&s, &mut actions);
        for sym in 0..game.num_symmetries() {
            let t = game.symmetry_state(sym, &s);
            assert_eq!(game.moves_played(&t), moves);
            // legal actions map to legal actions
            for &a in &actions {
                let b = game.symmetry_action(sym, a);
                assert!(game.is_legal(&t, b));
                // the image of the successor is the successor of the image
                let (mut s2, mut t2) = (s.clone(), t.clone());
                game.apply(&mut s2, a);
                game.apply(&mut t2, b);
                let img = game.symmetry_state(sym, &s2);
                assert_eq!(game.hash(&img), game.hash(&t2));
                assert_eq!(game.terminal_value(&img), game.terminal_value(&t2));
            }
            // the action map is a permutation
            let mut seen = vec![false; game.num_actions()];
            for a in 0..game.num_actions() {
                seen[game.symmetry_action(sym, a)] = true;
            }
            assert!(seen.iter().all(|&x| x));
        }
    }
}

#[test]
fn symmetries_commute_with_moves() {
    check_symmetries(&Connect4, 1);
    check_symmetries(&TicTacToe, 2);
    check_symmetries(&Gomoku::new(9).unwrap(), 3);
    check_symmetries(&Gomoku::default(), 4);
}

fn check_packing_and_encoding<G: Game>(game: &G, seed: u64) {
    let mut r = rng(seed);
    let [c, h, w] = game.planes_shape();
    assert_eq!(c, 2);
    let mut words = vec![0u32; game.packed_words()];
    let mut planes = vec![0f32; c * h * w];
    for i in 0..200 {
        let s = random_position(game, i % (h * w - 1).min(40), &mut r);
        game.pack(&s, &mut words);
        let back = game.unpack(&words).unwrap();
        assert_eq!(game.hash(&back), game.hash(&s));
        assert_eq!(game.terminal_value(&back), game.terminal_value(&s));
        game.encode_packed(&words, &mut planes);
        // planes hold exactly the stones, own first
        let own: f32 = planes[..h * w].iter().sum();
        let opp: f32 = planes[h * w..].iter().sum();
        let moves = game.moves_played(&s) as f32;
        assert_eq!(own + opp, moves);
        assert_eq!(opp - own, (moves as usize % 2) as f32);
        assert!(planes.iter().all(|&x| x == 0.0 || x == 1.0));
        assert!(planes[..h * w]
            .iter()
            .zip(&planes[h * w..])
            .all(|(a, b)| a * b == 0.0));
    }
    // corrupt words are rejected, not accepted silently
    let s = random_position(game, 4, &mut r);
    game.pack(&s, &mut words);
    let mut bad = words.clone();
    *bad.last_mut().unwrap() += 1; // move count off by one
    assert!(game.unpack(&bad).is_err());
    assert!(game.unpack(&words[..words.len() - 1]).is_err());
}

#[test]
fn packed_states_round_trip_and_encode_stones() {
    check_packing_and_encoding(&Connect4, 5);
    check_packing_and_encoding(&TicTacToe, 6);
    check_packing_and_encoding(&Gomoku::new(7).unwrap(), 7);
    check_packing_and_encoding(&Gomoku::default(), 8);
}

#[test]
fn connect4_encoding_puts_row_zero_at_the_top() {
    let g = Connect4;
    let s = g.parse_position("4").unwrap(); // O to move; X in the bottom centre
    let mut planes = vec![0f32; g.planes_len()];
    g.encode(&s, &mut planes);
    // plane 1 (opponent = X), row 5 (bottom), col 3
    assert_eq!(planes[42 + 5 * 7 + 3], 1.0);
    assert_eq!(planes.iter().sum::<f32>(), 1.0);
}

#[test]
fn connect4_unpack_rejects_floating_stones() {
    let g = Connect4;
    // A stone at height 1 of column 1 with nothing below it.
    let words = [0, 0, 1 << 1, 0, 1];
    assert!(g.unpack(&words).is_err());
}

#[test]
fn hashes_agree_on_transpositions_and_differ_otherwise() {
    let g = Connect4;
    let a = g.parse_position("4453").unwrap();
    let b = g.parse_position("5344").unwrap();
    assert_eq!(a, b);
    assert_eq!(g.hash(&a), g.hash(&b));
    assert_ne!(g.hash(&a), g.hash(&g.parse_position("4435").unwrap()));
    let go = Gomoku::default();
    let x = go.parse_position("h8 h9 i8 i9").unwrap();
    let y = go.parse_position("i8 i9 h8 h9").unwrap();
    assert_eq!(go.hash(&x), go.hash(&y));
    let mut seen = std::collections::HashSet::new();
    let mut r = rng(9);
    for _ in 0..2000 {
        let s = random_position(&g, 12, &mut r);
        seen.insert((g.hash(&s), s));
    }
    let hashes: std::collections::HashSet<u64> = seen.iter().map(|x| x.0).collect();
    assert_eq!(hashes.len(), seen.len());
}

#[test]
fn move_lists_round_trip() {
    let g = Connect4;
    let moves = [3, 3, 4, 2];
    assert_eq!(g.format_moves(&moves), "4453");
    assert_eq!(
        g.parse_position("4 4 5 3").unwrap(),
        g.parse_position("4453").unwrap()
    );
    let go = Gomoku::default();
    let s = go.parse_position("h8 i9 a1 o15").unwrap();
    assert_eq!(go.moves_played(&s), 4);
    assert_eq!(
        go.format_moves(&[go.parse_move(&go.initial(), "h8").unwrap()]),
        "h8"
    );
    let t = TicTacToe;
    assert_eq!(t.format_moves(&[0, 4, 8]), "159");
}
