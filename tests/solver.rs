mod common;

use common::{random_position, rng, NaiveC4};
use wgzero::game::{Connect4, Game};
use wgzero::solver::{Solver, Wdl};

fn mirror(moves: &str) -> String {
    moves
        .chars()
        .map(|c| char::from_digit(8 - c.to_digit(10).unwrap(), 10).unwrap())
        .collect()
}

/// Scores checked three ways: written down here, by an independent plain
/// alpha-beta on a 2-D array (late positions), and by mirror symmetry.
#[test]
fn known_scores() {
    let cases = [
        // From the public solver test set (end-game, easy).
        ("2252576253462244111563365343671351441", -1),
        ("7422341735647741166133573473242566", 1),
        ("23163416124767223154467471272416755633", 0),
        ("65214673556155731566316327373221417", -1),
        // An immediate win for the side to move: its 4th stone, 22 - 4 = 18.
        ("121212", 18),
    ];
    let g = Connect4;
    let mut solver = Solver::with_table_bits(20);
    for (moves, expected) in cases {
        let p = g.parse_position(moves).unwrap();
        assert_eq!(solver.solve(&p), expected, "{moves}");
        let naive = NaiveC4::from_moves(moves).score(-100, 100);
        assert_eq!(naive, expected, "naive {moves}");
        let m = g.parse_position(&mirror(moves)).unwrap();
        assert_eq!(solver.solve(&m), expected, "mirror of {moves}");
    }
}

#[test]
fn late_random_positions_match_plain_alpha_beta() {
    let g = Connect4;
    let mut r = rng(11);
    let mut solver = Solver::with_table_bits(20);
    for _ in 0..40 {
        let s = random_position(&g, 30, &mut r);
        let moves = replay_moves(&g, &s);
        let naive = NaiveC4::from_moves(&moves).score(-100, 100);
        assert_eq!(solver.solve(&s), naive, "{moves}");
    }
}

/// A move list reaching `s` (recovered by search; positions here are small).
fn replay_moves(g: &Connect4, target: &<Connect4 as Game>::State) -> String {
    fn go(
        g: &Connect4,
        s: &<Connect4 as Game>::State,
        t: &<Connect4 as Game>::State,
        acc: &mut String,
    ) -> bool {
        if s == t {
            return true;
        }
        if g.terminal_value(s).is_some() {
            return false;
        }
        let me_next = s.moves % 2; // player to move at s
        for c in 0..7 {
            if !s.can_play(c) {
                continue;
            }
            let mut n = *s;
            n.play_col(c);
            // the new stone must belong to the right player in the target
            let stone = n.mask ^ s.mask;
            if stone & t.mask == 0 {
                continue;
            }
            let target_owner_is_mover = {
                let t_first = if t.moves % 2 == 0 {
                    t.current
                } else {
                    t.current ^ t.mask
                };
                (stone & t_first != 0) == (me_next == 0)
            };
            if !target_owner_is_mover {
                continue;
            }
            acc.push(char::from_digit(c as u32 + 1, 10).unwrap());
            if go(g, &n, t, acc) {
                return true;
            }
            acc.pop();
        }
        false
    }
    let mut acc = String::new();
    assert!(go(g, &g.initial(), target, &mut acc));
    acc
}

#[test]
fn move_scores_are_consistent_with_position_scores() {
    let g = Connect4;
    let mut r = rng(12);
    let mut solver = Solver::with_table_bits(22);
    for moves in [14, 18, 22, 26] {
        for _ in 0..3 {
            let s = random_position(&g, moves, &mut r);
            let scores = solver.analyze(&s);
            let best = scores.iter().flatten().max().copied().unwrap();
            assert_eq!(best, solver.solve(&s));
            let weak = solver.analyze_weak(&s);
            for col in 0..7 {
                assert_eq!(scores[col].is_some(), s.can_play(col));
                let (Some(score), Some(w)) = (scores[col], weak[col]) else {
                    continue;
                };
                assert_eq!(
                    Wdl::of(score),
                    Wdl::of(w),
                    "weak and exact agree on column {col}"
                );
                let mut child = s;
                child.play_col(col);
                if g.terminal_value(&child).is_none() {
                    // the move's score is minus the best reply's
                    assert_eq!(score, -solver.solve(&child));
                }
            }
        }
    }
}

#[test]
fn mirrored_positions_score_the_same() {
    let g = Connect4;
    let mut r = rng(13);
    let mut solver = Solver::with_table_bits(22);
    for moves in [12, 13, 16, 20] {
        let a = random_position(&g, moves, &mut r);
        let b = g.symmetry_state(1, &a);
        let sa = solver.analyze(&a);
        let mut sb = solver.analyze(&b);
        sb.reverse();
        assert_eq!(sa, sb, "{a:?}");
    }
}
