//! The `wgzero` binary end to end.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wgzero(args: &[&str], stdin: &str) -> Output {
    wgzero_bytes(args, stdin.as_bytes())
}

fn wgzero_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
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
    // The human moves second and always plays column 1 then 2 ...: minimax:4
    // (first, X) takes the centre column and wins long before the columns
    // fill up; the verdict must name it.
    let moves: String = (0..21).map(|i| format!("{}\n", i % 7 + 1)).collect();
    let o = wgzero(
        &["play", "--opponent", "minimax:4", "--human", "second"],
        &moves,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("minimax:4 wins."), "{t}");
    assert!(!t.contains("You win.") && !t.contains("Draw."), "{t}");
}

/// `wgzero play --game go --size 5` from `position`, the human as `human`,
/// with `input` typed; the verdict line.
fn go_verdict(position: &str, komi: &str, human: &str, input: &str) -> String {
    let o = wgzero(
        &[
            "play",
            "--game",
            "go",
            "--size",
            "5",
            &format!("--komi={komi}"),
            "--opponent",
            "random",
            "--human",
            human,
            "--position",
            position,
        ],
        input,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    ["You win.", "random wins.", "Draw."]
        .into_iter()
        .find(|v| t.contains(v))
        .unwrap_or_else(|| panic!("no verdict: {t}"))
        .to_string()
}

#[test]
fn play_go_names_the_winner_for_both_colours_and_by_passes() {
    let cases = [
        // An empty 5x5 board ended by two passes, Black to move: komi
        // decides. With komi -7.5 Black (the side to move) has won; with
        // 7.5 White has.
        ("pass pass", "-7.5", "first", "", "You win."),
        ("pass pass", "-7.5", "second", "", "random wins."),
        ("pass pass", "7.5", "first", "", "random wins."),
        ("pass pass", "7.5", "second", "", "You win."),
        ("pass pass", "0", "first", "", "Draw."),
        // Black's stone owns the board: 25 - 7.5. White to move has lost.
        ("c3 pass pass", "7.5", "second", "", "random wins."),
        ("c3 pass pass", "7.5", "first", "", "You win."),
        // The human (White) ends the game with a pass of their own and wins
        // on komi with Black, the engine, to move.
        ("pass", "7.5", "second", "pass\n", "You win."),
    ];
    for (position, komi, human, input, verdict) in cases {
        assert_eq!(
            go_verdict(position, komi, human, input),
            verdict,
            "{position:?} komi {komi}, human {human}"
        );
    }
}

#[test]
fn move_lists_in_other_characters_are_refused_without_a_panic() {
    for args in [
        &["solve", "4é"][..],
        &["solve", "é"],
        &["play", "--opponent", "random", "--position", "x"],
        &["play", "--opponent", "random", "--position", "44é"],
        &[
            "play",
            "--game",
            "tictactoe",
            "--opponent",
            "random",
            "--position",
            "5日",
        ],
    ] {
        let o = wgzero(args, "quit\n");
        let t = text(&o);
        assert!(!o.status.success(), "wgzero {args:?} accepted it: {t}");
        assert!(!t.contains("panicked"), "wgzero {args:?}: {t}");
        assert!(t.contains("cannot read"), "wgzero {args:?}: {t}");
    }
}

#[test]
fn play_and_gtp_answer_a_line_of_invalid_utf8_and_go_on() {
    let mut input = b"4\n".to_vec();
    input.extend_from_slice(b"\xff\xfe3\n");
    input.extend_from_slice(b"quit\n");
    let o = wgzero_bytes(&["play", "--opponent", "random"], &input);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("not valid UTF-8"), "{t}");
    assert!(t.contains("Bye."), "{t}");
    assert!(!t.contains("panicked"), "{t}");

    let mut input = b"1 name\n".to_vec();
    input.extend_from_slice(b"2 boardsize \xc3\n");
    input.extend_from_slice(b"3 protocol_version\nquit\n");
    let o = wgzero_bytes(&["gtp", "--size", "5", "--sims", "8"], &input);
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{t}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t.contains("=1 wgzero"), "{t}");
    assert!(t.contains("? the line is not valid UTF-8"), "{t}");
    assert!(t.contains("=3 2"), "{t}");
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

#[test]
fn commands_that_probe_adapters_print_no_mesa_runtime_dir_error() {
    // With XDG_RUNTIME_DIR unset, Mesa's window-system code used to print
    // "error: XDG_RUNTIME_DIR is invalid or not set" on every adapter probe.
    for value in [None, Some("/nonexistent/runtime")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wgzero"));
        cmd.arg("info");
        match value {
            None => cmd.env_remove("XDG_RUNTIME_DIR"),
            Some(v) => cmd.env("XDG_RUNTIME_DIR", v),
        };
        let o = cmd.output().unwrap();
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert!(!t.contains("XDG_RUNTIME_DIR"), "{t}");
    }
}
