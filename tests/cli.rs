//! The `wgzero` binary end to end.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wgzero(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn play_handles_bad_input_and_finishes_a_game() {
    // Malformed, out of range and illegal moves are explained; then X plays
    // column 1 four times while the engine (random) plays elsewhere or blocks.
    let input = "hello\n9\n\nhelp\n1\n1\n1\n1\n1\n1\n1\nquit\n";
    let o = wgzero(
        &[
            "play",
            "--game",
            "connect4",
            "--opponent",
            "random",
            "--seed",
            "3",
        ],
        input,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("expected a column number 1-7"), "{t}");
    assert!(t.contains("Legal moves: 1 2 3 4 5 6 7"), "{t}");
    assert!(t.contains("random plays"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn play_reports_full_columns_and_quits_on_end_of_input() {
    let o = wgzero(
        &["play", "--opponent", "minimax:2", "--position", "444444"],
        "4\n",
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("column 4 is full"), "{t}");
    assert!(t.contains("Bye."), "{t}");
}

#[test]
fn play_to_the_end_against_an_engine() {
    // The human moves second and always plays column 1 then 2...: the engine
    // (minimax:4) wins, and the game ends with a verdict.
    let moves: String = (0..21).map(|i| format!("{}\n", i % 7 + 1)).collect();
    let o = wgzero(
        &["play", "--opponent", "minimax:4", "--human", "second"],
        &moves,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("minimax:4 wins.") || t.contains("You win.") || t.contains("Draw."),
        "{t}"
    );
}

#[test]
fn play_gomoku_and_tictactoe() {
    let o = wgzero(
        &[
            "play",
            "--game",
            "gomoku",
            "--size",
            "9",
            "--opponent",
            "random",
        ],
        "e5\nz9\ne5\nquit\n",
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("gomoku9 against random"), "{t}");
    assert!(t.contains("expected a column letter"), "{t}");
    assert!(t.contains("occupied"), "{t}");
    let o = wgzero(
        &["play", "--game", "tictactoe", "--opponent", "minimax:9"],
        "5\n0\nquit\n",
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn bad_arguments_fail_with_a_message() {
    for args in [
        &["play", "--opponent", "mcts:x"][..],
        &["play", "--opponent", "alphazero"],
        &["play", "--game", "chess"],
        &["play", "--game", "gomoku", "--size", "40"],
        &["play", "--position", "4444444"],
        &["solve", "12x"],
        &["solve", "1212121"],
        &["frobnicate"],
    ] {
        let o = wgzero(args, "");
        let t = text(&o);
        assert!(!o.status.success(), "{args:?} should fail: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
        assert!(!t.trim().is_empty(), "{args:?}");
    }
}

#[test]
fn solve_prints_move_scores() {
    let o = wgzero(&["solve", "2252576253462244111563365343671351441"], "");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("position score: -1"), "{t}");
    assert!(
        t.contains("column 1: full") && t.contains("column 6: -1") && t.contains("column 7: -2"),
        "{t}"
    );
    let o = wgzero(&["solve", "--weak", "121212"], "");
    assert!(text(&o).contains("position score: win"), "{}", text(&o));
}

#[test]
fn perft_and_help() {
    let o = wgzero(&["perft", "--depth", "4"], "");
    assert!(text(&o).contains("connect4 depth 4: 2401"), "{}", text(&o));
    let o = wgzero(&["--help"], "");
    let t = text(&o);
    for cmd in ["play", "solve", "perft"] {
        assert!(t.contains(cmd), "{t}");
    }
    let o = wgzero(&["play", "--help"], "");
    assert!(text(&o).contains("minimax:D"), "{}", text(&o));
}
