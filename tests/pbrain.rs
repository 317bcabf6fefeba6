//! `wgzero pbrain`: a scripted Gomocup session over pipes, malformed input
//! answered with ERROR / UNKNOWN (the brain keeps running), a four blocked
//! and a win in one taken, STOP while thinking.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Brain {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Brain {
    fn start(args: &[&str]) -> Brain {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
            .arg("pbrain")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Brain {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line that is not a MESSAGE / DEBUG.
    fn answer(&self) -> String {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).expect("an answer");
            if !(line.starts_with("MESSAGE") || line.starts_with("DEBUG")) {
                return line;
            }
        }
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.answer()
    }

    /// No answer within `wait` (INFO, BOARD lines).
    fn silent(&self, wait: Duration) {
        if let Ok(line) = self.lines.recv_timeout(wait) {
            panic!("unexpected answer {line:?}");
        }
    }

    fn board(&mut self, stones: &[(usize, usize, u8)]) -> String {
        self.send("BOARD");
        for (x, y, f) in stones {
            self.send(&format!("{x},{y},{f}"));
        }
        self.ask("DONE")
    }
}

fn point(answer: &str) -> (usize, usize) {
    let (x, y) = answer
        .split_once(',')
        .unwrap_or_else(|| panic!("{answer:?} is not x,y"));
    (x.trim().parse().unwrap(), y.trim().parse().unwrap())
}

/// A small random-weight Gomoku network (the protocol, not its strength,
/// is under test).
fn tiny_model(name: &str) -> std::path::PathBuf {
    let dir = common::tempdir(name).join("model");
    common::wgzero_ok(&[
        "new-model",
        "--game",
        "gomoku",
        "--blocks",
        "1",
        "--channels",
        "8",
        "--out",
        dir.to_str().unwrap(),
    ]);
    dir
}

#[test]
fn a_scripted_session_with_malformed_commands() {
    let model = tiny_model("pbrain-session");
    let mut b = Brain::start(&[
        "--model",
        model.to_str().unwrap(),
        "--sims",
        "600",
        "--backend",
        "cpu",
    ]);
    assert!(b.ask("ABOUT").starts_with("name=\"wgzero\""));
    assert!(b.ask("BEGIN").starts_with("ERROR"), "no board yet");
    assert!(b.ask("START 4").starts_with("ERROR"), "a size it refuses");
    assert!(b.ask("START abc").starts_with("ERROR"));
    assert_eq!(b.ask("START 15"), "OK");
    b.send("INFO timeout_turn 5000");
    b.send("INFO max_memory 83886080");
    b.send("INFO some_key_of_a_manager 1");
    b.silent(Duration::from_millis(300));
    assert!(b.ask("INFO timeout_turn soon").starts_with("ERROR"));
    assert!(b.ask("INFO rule 4").starts_with("ERROR"), "renju refused");
    let first = point(&b.ask("BEGIN"));
    assert!(first.0 < 15 && first.1 < 15);
    // The opponent's move on the brain's stone, off the board, malformed.
    let taken = format!("TURN {},{}", first.0, first.1);
    assert!(b.ask(&taken).starts_with("ERROR"));
    assert!(b.ask("TURN 15,3").starts_with("ERROR"));
    assert!(b.ask("TURN 3").starts_with("ERROR"));
    assert!(b.ask("FROBNICATE 1,2").starts_with("UNKNOWN"));
    let (x, y) = if first == (0, 0) { (1, 1) } else { (0, 0) };
    let reply = point(&b.ask(&format!("TURN {x},{y}")));
    assert!(reply != first && reply != (x, y));
    assert_eq!(b.ask(&format!("TAKEBACK {},{}", reply.0, reply.1)), "OK");
    assert!(
        b.ask("TAKEBACK 9,9").starts_with("ERROR"),
        "not the last move"
    );
    assert_eq!(b.ask("RESTART"), "OK");
    // A bad BOARD line drops the board, and the brain goes on.
    b.send("BOARD");
    assert!(b.ask("3,3,7").starts_with("ERROR"));
    assert!(point(&b.ask("BEGIN")).0 < 15);
    b.send("END");
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Some(status) = b.child.try_wait().unwrap() {
            assert!(status.success());
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("END did not end the brain");
}

/// The default minimax (every move, each one's best reply and any reply
/// that wins at once) blocks a four and takes a win in one, whatever the
/// network thinks.
#[test]
fn a_four_is_blocked_and_a_win_in_one_taken() {
    let model = tiny_model("pbrain-tactics");
    let mut b = Brain::start(&[
        "--model",
        model.to_str().unwrap(),
        "--sims",
        "1000",
        "--backend",
        "cpu",
    ]);
    assert_eq!(b.ask("START 15"), "OK");
    // Opponent (2): four at x 3..=6 on row 7, its left end blocked by the
    // brain (1); the brain's other stones far away. The only answer: 7,7.
    let block = b.board(&[
        (2, 7, 1),
        (3, 7, 2),
        (12, 0, 1),
        (4, 7, 2),
        (12, 2, 1),
        (5, 7, 2),
        (14, 14, 1),
        (6, 7, 2),
    ]);
    assert_eq!(point(&block), (7, 7));
    assert_eq!(b.ask("RESTART"), "OK");
    // The brain (1) has four in column 10 (rows 3..=6) and the opponent a
    // four of its own: the brain must win now, at 10,2 or 10,7.
    let win = point(&b.board(&[
        (10, 3, 1),
        (0, 0, 2),
        (10, 4, 1),
        (0, 1, 2),
        (10, 5, 1),
        (0, 2, 2),
        (10, 6, 1),
        (0, 3, 2),
    ]));
    assert!(win == (10, 2) || win == (10, 7), "{win:?}");
    b.send("END");
}

/// STOP while the brain thinks makes it answer at once with its best move
/// so far.
#[test]
fn stop_ends_a_search_early() {
    let model = tiny_model("pbrain-stop");
    let mut b = Brain::start(&[
        "--model",
        model.to_str().unwrap(),
        "--algorithm",
        "puct",
        "--sims",
        "10000000",
        "--backend",
        "cpu",
    ]);
    assert_eq!(b.ask("START 15"), "OK");
    b.send("BEGIN");
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    b.send("YXSTOP");
    let answer = b.answer();
    assert!(point(&answer).0 < 15);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    b.send("END");
}

/// A whole session piped in at once (a script, not a manager): every
/// command is answered in order; END and the end of the input wait behind
/// the commands before them instead of stopping the first search.
#[test]
fn a_session_piped_at_once_is_answered_in_order() {
    let model = tiny_model("pbrain-piped");
    for ending in ["END\n", ""] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
            .args([
                "pbrain",
                "--model",
                model.to_str().unwrap(),
                "--backend",
                "cpu",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        write!(stdin, "START 15\nBEGIN\nTURN 7,8\nTURN 9,9\n{ending}").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let answers: Vec<&str> = text.lines().filter(|l| !l.starts_with("MESSAGE")).collect();
        assert_eq!(answers.len(), 4, "{text}");
        assert_eq!(answers[0], "OK");
        for a in &answers[1..] {
            point(a);
        }
        assert!(!text.contains("(stopped)"), "{text}");
    }
}

/// The manager's `max_node` caps the evaluations of a move and `max_depth`
/// the depth of the minimax search (every move, each reply's best: 2 levels).
#[test]
fn info_max_node_and_max_depth_cap_the_search() {
    let model = tiny_model("pbrain-limits");
    let mut b = Brain::start(&["--model", model.to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(b.ask("START 15"), "OK");
    let evaluations = |b: &mut Brain, board: &[(usize, usize, u8)]| -> u64 {
        b.send("BOARD");
        for (x, y, f) in board {
            b.send(&format!("{x},{y},{f}"));
        }
        b.send("DONE");
        let until = Instant::now() + Duration::from_secs(120);
        let mut message = String::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = b.lines.recv_timeout(left).expect("an answer");
            if line.starts_with("MESSAGE") {
                message = line;
            } else {
                point(&line);
                break;
            }
        }
        let (before, _) = message
            .split_once(" evaluations")
            .unwrap_or_else(|| panic!("{message:?}"));
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let board = [(7, 7, 1), (8, 8, 2)];
    // Default: 223 moves, then the best reply of each.
    assert!(evaluations(&mut b, &board) > 400);
    b.send("INFO max_depth 1");
    assert_eq!(evaluations(&mut b, &board), 223);
    b.send("INFO max_node 50");
    assert!(evaluations(&mut b, &board) <= 50);
    b.send("END");
}

/// Whole games over the protocol against an outside brain, and against
/// wgzero's own brain run as an outside one (both sides of the protocol):
/// no protocol error, every game ends.
#[test]
fn matches_against_outside_brains() {
    let model = tiny_model("pbrain-match");
    let model = model.to_str().unwrap();
    let brain = format!(
        "pbrain:{} pbrain --model {model} --sims 300 --backend cpu",
        env!("CARGO_BIN_EXE_wgzero")
    );
    let mut opponents = vec![brain];
    if let Some(f) = common::figrid("matches_against_outside_brains") {
        opponents.push(format!("pbrain:{f}"));
    }
    for against in &opponents {
        let (out, _) = common::wgzero_ok(&[
            "eval",
            "--game",
            "gomoku",
            "--model",
            model,
            "--against",
            against,
            "--games",
            "2",
            "--opening-moves",
            "2",
            "--turn-ms",
            "100",
            "--algorithm",
            "minimax",
            "--sims",
            "300",
            "--backend",
            "cpu",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["result"]["games"], 2, "{against}: {out}");
    }
}

/// The balanced openings the Gomoku model card's matches use.
const OPENINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/gomoku15/openings.txt");

/// The shipped openings read as 200 distinct legal three-stone openings, and
/// the script that picked them picks more with the outside engine.
#[test]
fn balanced_openings_are_read_and_picked_by_an_engine() {
    let game = wgzero::game::Gomoku::new(15).unwrap();
    let text = std::fs::read_to_string(OPENINGS).unwrap();
    let openings = wgzero::arena::read_openings(&game, &text).unwrap();
    assert_eq!(openings.len(), 200);
    assert!(openings.iter().all(|o| o.len() == 3));
    let distinct: std::collections::HashSet<_> = openings.iter().collect();
    assert_eq!(distinct.len(), 200);
    let Some(figrid) = common::figrid("balanced_openings_are_read_and_picked_by_an_engine") else {
        return;
    };
    let out = common::tempdir("openings").join("openings.txt");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/gomoku_openings.py");
    let o = Command::new("python3")
        .args([
            script, "--engine", &figrid, "--count", "5", "--ms", "100", "--seed", "3",
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let picked = wgzero::arena::read_openings(&game, &std::fs::read_to_string(&out).unwrap());
    assert_eq!(picked.unwrap().len(), 5);
}

/// Games wgzero plays, against itself and against the outside brain, replayed
/// through OpenSpiel's `gomoku` move by move: same legal moves, same end,
/// same winner. A corrupted record is caught.
#[test]
fn openspiel_referees_the_games() {
    let Some(python) = common::openspiel("openspiel_referees_the_games") else {
        return;
    };
    let dir = common::tempdir("pbrain-referee");
    let model = tiny_model("pbrain-referee-model");
    let model = model.to_str().unwrap();
    let mut opponents = vec![model.to_string()];
    if let Some(f) = common::figrid("openspiel_referees_the_games") {
        opponents.push(format!("pbrain:{f}"));
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/openspiel_gomoku_referee.py"
    );
    let referee = |file: &std::path::Path| {
        Command::new(&python)
            .args([script, file.to_str().unwrap()])
            .output()
            .unwrap()
    };
    for (i, against) in opponents.iter().enumerate() {
        let record = dir.join(format!("games{i}.jsonl"));
        common::wgzero_ok(&[
            "eval",
            "--game",
            "gomoku",
            "--model",
            model,
            "--against",
            against,
            "--games",
            "4",
            "--openings",
            OPENINGS,
            "--turn-ms",
            "100",
            "--algorithm",
            "minimax",
            "--widths",
            "0,1",
            "--sims",
            "1000",
            "--backend",
            "cpu",
            "--record",
            record.to_str().unwrap(),
        ]);
        let out = referee(&record);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{against}: {text}");
        assert!(text.contains("4 games"), "{text}");
        // Minimax over every move and each reply's best and winning replies
        // never misses a win in one nor leaves a four unanswered, even with
        // random weights (the referee's own audit).
        let summary: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(summary["lapses"]["model"]["missed_wins"], 0, "{text}");
        assert_eq!(summary["lapses"]["model"]["ignored_fours"], 0, "{text}");
        // The same games with the last move dropped (no end) or a winner
        // swapped: refused.
        let lines = std::fs::read_to_string(&record).unwrap();
        for mutation in 0..2 {
            let mut g: serde_json::Value =
                serde_json::from_str(lines.lines().next().unwrap()).unwrap();
            if mutation == 0 {
                g["moves"].as_array_mut().unwrap().pop();
            } else {
                let r = g["result"].as_f64().unwrap();
                g["result"] = serde_json::json!(if r == 0.0 { 1.0 } else { -r });
            }
            let bad = dir.join("bad.jsonl");
            std::fs::write(&bad, format!("{g}\n")).unwrap();
            let out = referee(&bad);
            assert!(!out.status.success(), "mutation {mutation} passed");
        }
    }
    // The audit sees a lapse: White builds four on row 7 (columns 0-3), Black
    // (the model) plays along row 0 instead of taking (7, 4), White makes five.
    let lapse = dir.join("lapse.jsonl");
    let game = serde_json::json!({"game": 0, "a_first": true, "opening_moves": 0,
        "moves": [0, 105, 2, 106, 4, 107, 6, 108, 8, 109], "result": -1.0});
    std::fs::write(&lapse, format!("{game}\n")).unwrap();
    let out = referee(&lapse);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["lapses"]["model"]["ignored_fours"], 1, "{text}");
    assert_eq!(summary["lapses"]["opponent"]["missed_wins"], 0, "{text}");
}
