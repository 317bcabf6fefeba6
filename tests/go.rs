//! Go rules against an independent, deliberately naive implementation
//! (flood fills, superko by comparing whole boards), and the GTP engine.

mod common;

use std::collections::HashSet;

use rand::Rng;
use wgzero::game::{perft, Game, Go};
use wgzero::gtp::{parse_command, parse_score, Engine};
use wgzero::players::{MctsPlayer, Player, RandomPlayer};

/// The naive reference: a board of colours, nothing cached.
#[derive(Clone)]
struct Naive {
    n: usize,
    board: Vec<u8>, // 0 empty, 1 black, 2 white
    to_move: u8,    // 1 or 2
    passes: usize,
    moves: usize,
    seen: HashSet<Vec<u8>>,
}

impl Naive {
    fn new(n: usize) -> Self {
        let board = vec![0; n * n];
        let mut seen = HashSet::new();
        seen.insert(board.clone());
        Naive {
            n,
            board,
            to_move: 1,
            passes: 0,
            moves: 0,
            seen,
        }
    }
    fn neighbours(&self, p: usize) -> Vec<usize> {
        let (r, c, n) = (p / self.n, p % self.n, self.n);
        let mut v = Vec::new();
        if r > 0 {
            v.push(p - n);
        }
        if r + 1 < n {
            v.push(p + n);
        }
        if c > 0 {
            v.push(p - 1);
        }
        if c + 1 < n {
            v.push(p + 1);
        }
        v
    }
    /// The group on `p` and whether it has a liberty.
    fn group(board: &[u8], me: &Naive, p: usize) -> (Vec<usize>, bool) {
        let color = board[p];
        let mut stack = vec![p];
        let mut seen = vec![false; board.len()];
        seen[p] = true;
        let mut stones = Vec::new();
        let mut free = false;
        while let Some(q) = stack.pop() {
            stones.push(q);
            for t in me.neighbours(q) {
                if board[t] == 0 {
                    free = true;
                } else if board[t] == color && !seen[t] {
                    seen[t] = true;
                    stack.push(t);
                }
            }
        }
        (stones, free)
    }
    /// The board after a stone on `p`, or None if suicide / occupied.
    fn board_after(&self, p: usize) -> Option<Vec<u8>> {
        if self.board[p] != 0 {
            return None;
        }
        let mut b = self.board.clone();
        b[p] = self.to_move;
        let opp = 3 - self.to_move;
        for t in self.neighbours(p) {
            if b[t] == opp {
                let (stones, free) = Self::group(&b, self, t);
                if !free {
                    for s in stones {
                        b[s] = 0;
                    }
                }
            }
        }
        let (_, free) = Self::group(&b, self, p);
        free.then_some(b)
    }
    fn over(&self, cap: usize) -> bool {
        self.passes >= 2 || self.moves >= cap
    }
    fn legal(&self, cap: usize) -> Vec<usize> {
        if self.over(cap) {
            return vec![];
        }
        let mut v: Vec<usize> = (0..self.n * self.n)
            .filter(|&p| self.board_after(p).is_some_and(|b| !self.seen.contains(&b)))
            .collect();
        v.push(self.n * self.n);
        v
    }
    fn play(&mut self, a: usize) {
        if a == self.n * self.n {
            self.passes += 1;
        } else {
            self.board = self.board_after(a).unwrap();
            self.seen.insert(self.board.clone());
            self.passes = 0;
        }
        self.moves += 1;
        self.to_move = 3 - self.to_move;
    }
    fn score(&self, komi: f32) -> f32 {
        let mut score = 0i32;
        for p in 0..self.board.len() {
            match self.board[p] {
                1 => score += 1,
                2 => score -= 1,
                _ => {
                    // which colours does this empty point's region reach?
                    let mut stack = vec![p];
                    let mut seen = vec![false; self.board.len()];
                    seen[p] = true;
                    let mut reach = 0u8;
                    while let Some(q) = stack.pop() {
                        for t in self.neighbours(q) {
                            match self.board[t] {
                                0 if !seen[t] => {
                                    seen[t] = true;
                                    stack.push(t);
                                }
                                0 => {}
                                c => reach |= c,
                            }
                        }
                    }
                    score += match reach {
                        1 => 1,
                        2 => -1,
                        _ => 0,
                    };
                }
            }
        }
        score as f32 - komi
    }
}

fn naive_perft(s: &Naive, depth: u32, cap: usize) -> u64 {
    if depth == 0 {
        return 1;
    }
    let legal = s.legal(cap);
    if depth == 1 {
        return legal.len() as u64;
    }
    legal
        .into_iter()
        .map(|a| {
            let mut t = s.clone();
            t.play(a);
            naive_perft(&t, depth - 1, cap)
        })
        .sum()
}

#[test]
fn perft_counts_match_the_naive_implementation() {
    let g = Go::new(5, 0.5).unwrap();
    let cap = g.move_cap();
    for depth in 1..=4 {
        let ours = perft(&g, &g.initial(), depth);
        let naive = naive_perft(&Naive::new(5), depth, cap);
        assert_eq!(ours, naive, "depth {depth}");
    }
    // 26 actions from the empty 5x5 board; 26*25 + ... checked above; a
    // fixed number too, so a change in both implementations shows:
    assert_eq!(perft(&g, &g.initial(), 2), 26 * 26 - 25);
}

/// Random games (with passes rare) on several sizes: at every move the legal
/// moves, the board and at the end the score agree with the naive rules.
#[test]
fn random_games_agree_with_the_naive_rules() {
    let mut rng = common::rng(7);
    let mut superko_bans = 0;
    for (n, games) in [(5, 300), (7, 100), (9, 40)] {
        let g = Go::new(n, 7.5).unwrap();
        let cap = g.move_cap();
        for _ in 0..games {
            let mut s = g.initial();
            let mut naive = Naive::new(n);
            let mut legal = Vec::new();
            loop {
                g.legal_actions(&s, &mut legal);
                let expect = naive.legal(cap);
                assert_eq!(legal, expect, "legal moves on {n}x{n}:\n{}", g.render(&s));
                superko_bans += (0..n * n)
                    .filter(|&p| g.is_legal_simple_ko(&s, p) && !g.is_legal(&s, p))
                    .count();
                if legal.is_empty() {
                    break;
                }
                // pass with probability 2%, else a random non-pass move
                let a = if legal.len() == 1 || rng.random_bool(0.02) {
                    g.pass()
                } else {
                    legal[rng.random_range(0..legal.len() - 1)]
                };
                g.apply(&mut s, a);
                naive.play(a);
                for p in 0..n * n {
                    let c = naive.board[p];
                    assert_eq!(s.stone(p), (c != 0).then(|| c - 1), "point {p}");
                }
            }
            assert!(g.terminal_value(&s).is_some());
            assert_eq!(g.area_score(&s), naive.score(7.5));
            if naive.passes >= 2 {
                assert_eq!(s.final_score(), Some(naive.score(7.5)));
            }
        }
    }
    println!("moves refused by superko beyond simple ko: {superko_bans}");
}

#[test]
fn symmetries_map_boards_and_keep_pass() {
    let g = Go::default();
    let s = g.parse_position("E5 D4 C3 pass G7").unwrap();
    for sym in 0..8 {
        let t = g.symmetry_state(sym, &s);
        for p in 0..81 {
            assert_eq!(t.stone(g.symmetry_action(sym, p)), s.stone(p));
            assert_eq!(t.liberties(g.symmetry_action(sym, p)), s.liberties(p));
        }
        assert_eq!(g.symmetry_action(sym, g.pass()), g.pass());
    }
}

#[test]
fn packed_states_round_trip_and_bad_words_are_errors() {
    let g = Go::new(7, 6.5).unwrap();
    let mut rng = common::rng(3);
    let mut words = vec![0u32; g.packed_words()];
    for _ in 0..200 {
        let s = common::random_position(&g, rng.random_range(0..60), &mut rng);
        g.pack(&s, &mut words);
        let t = g.unpack(&words).unwrap();
        let mut again = vec![0u32; g.packed_words()];
        g.pack(&t, &mut again);
        assert_eq!(words, again);
        assert_eq!(g.terminal_value(&t), g.terminal_value(&s));
    }
    // a stone on both sides of the same point
    let mut bad = vec![0u32; g.packed_words()];
    g.pack(&g.initial(), &mut bad);
    bad[2] |= 1;
    bad[2 + 2] |= 1;
    assert!(g.unpack(&bad).is_err());
    // wrong komi
    g.pack(&g.initial(), &mut bad);
    bad[1] = 15;
    assert!(g.unpack(&bad).is_err());
}

#[test]
fn moves_parse_in_gtp_notation_with_clear_errors() {
    let g = Go::default();
    let s = g.initial();
    assert_eq!(g.parse_move(&s, "a9").unwrap(), 0);
    assert_eq!(g.parse_move(&s, "J1").unwrap(), 80);
    assert_eq!(g.parse_move(&s, "PASS").unwrap(), 81);
    assert_eq!(g.format_move(0), "A9");
    for bad in ["I5", "K5", "A0", "A10", "", "E", "55"] {
        assert!(g.parse_move(&s, bad).is_err(), "{bad}");
    }
    let s = g.parse_position("E5").unwrap();
    let e = g.parse_move(&s, "e5").unwrap_err().to_string();
    assert!(e.contains("occupied"), "{e}");
}

fn engine() -> Engine {
    Engine::new(
        Go::default(),
        Box::new(|g: Go| -> wgzero::Result<Box<dyn Player<Go>>> {
            Ok(Box::new(MctsPlayer::new(g, 50, 1)?))
        }),
    )
    .unwrap()
}

fn ask(e: &mut Engine, line: &str) -> String {
    e.handle_line(line).expect("a response")
}

#[test]
fn gtp_engine_answers_the_protocol() {
    let mut e = engine();
    assert_eq!(ask(&mut e, "protocol_version"), "= 2\n\n");
    assert_eq!(ask(&mut e, "1 name"), "=1 wgzero\n\n");
    assert_eq!(ask(&mut e, "known_command genmove"), "= true\n\n");
    assert_eq!(ask(&mut e, "known_command fly"), "= false\n\n");
    assert!(ask(&mut e, "list_commands").contains("final_score\n"));
    assert_eq!(e.handle_line("   # just a comment"), None);
    assert_eq!(ask(&mut e, "boardsize 7"), "=\n\n");
    assert_eq!(ask(&mut e, "boardsize 27"), "? unacceptable size\n\n");
    assert_eq!(ask(&mut e, "komi 6.5"), "=\n\n");
    assert_eq!(ask(&mut e, "komi many"), "? syntax error\n\n");
    assert_eq!(ask(&mut e, "play black D4"), "=\n\n");
    assert!(
        ask(&mut e, "play black D5").starts_with("? "),
        "wrong colour"
    );
    assert!(ask(&mut e, "play white D4").starts_with("? illegal move"));
    assert_eq!(ask(&mut e, "play white Z9"), "? syntax error\n\n");
    assert_eq!(ask(&mut e, "play white"), "? syntax error\n\n");
    assert_eq!(ask(&mut e, "7 frobnicate"), "?7 unknown command\n\n");
    let mv = ask(&mut e, "genmove white");
    assert!(mv.starts_with("= "), "{mv}");
    let g7 = Go::new(7, 6.5).unwrap();
    let after_d4 = g7.parse_position("D4").unwrap();
    assert!(g7.parse_move(&after_d4, mv[2..].trim()).is_ok(), "{mv}");
    let board = ask(&mut e, "showboard");
    assert!(board.contains("Black to move, move 3, komi 6.5"), "{board}");
    assert!(board.contains(" 7 "), "{board}");
    assert_eq!(ask(&mut e, "undo"), "=\n\n");
    assert_eq!(ask(&mut e, "undo"), "=\n\n");
    assert_eq!(ask(&mut e, "undo"), "? cannot undo\n\n");
    assert_eq!(ask(&mut e, "play b C3"), "=\n\n");
    assert_eq!(ask(&mut e, "play w pass"), "=\n\n");
    assert_eq!(ask(&mut e, "play b pass"), "=\n\n");
    // 7x7 with one black stone: Black owns the board, komi 6.5.
    assert_eq!(ask(&mut e, "final_score"), "= B+42.5\n\n");
    assert_eq!(parse_score("B+42.5"), Some(42.5));
    assert!(!e.finished());
    assert_eq!(ask(&mut e, "quit"), "=\n\n");
    assert!(e.finished());
    let c = parse_command("12\tplay  black\x07 E5 # comment").unwrap();
    assert_eq!((c.id, c.name.as_str(), c.args.len()), (Some(12), "play", 2));
}

/// A whole game through the engine, its moves generated by itself for one
/// side and by a random player for the other, ends with a score.
#[test]
fn gtp_engine_plays_a_whole_game() {
    let mut e = engine();
    ask(&mut e, "boardsize 5");
    let g = Go::new(5, 7.5).unwrap();
    let mut s = g.initial();
    let mut random = RandomPlayer::new(g, 3);
    while g.terminal_value(&s).is_none() {
        let a = if g.to_move(&s) == 0 {
            let r = ask(&mut e, "genmove black");
            assert!(r.starts_with("= "), "{r}");
            g.parse_move(&s, r[2..].trim()).unwrap()
        } else {
            let a = random.choose(&s).unwrap();
            let r = ask(&mut e, &format!("play white {}", g.format_move(a)));
            assert_eq!(r, "=\n\n");
            a
        };
        g.apply(&mut s, a);
    }
    // Scored here independently of the rules' own scorer: stones, plus
    // empty regions (flood fill) that reach stones of one colour only.
    let r = ask(&mut e, "final_score");
    let expected = tromp_taylor(&s, 5) - 7.5;
    assert_eq!(parse_score(&r[2..]), Some(expected), "{}", g.render(&s));
    assert_eq!(g.area_score(&s), expected);
}

/// Black's area minus White's on an `n x n` board, by flood fill.
fn tromp_taylor(s: &wgzero::game::go::GoState, n: usize) -> f32 {
    let mut seen = vec![false; n * n];
    let mut margin = 0i32;
    for p in 0..n * n {
        match s.stone(p) {
            Some(0) => margin += 1,
            Some(_) => margin -= 1,
            None if !seen[p] => {
                let (mut region, mut reach, mut stack) = (0, [false; 2], vec![p]);
                seen[p] = true;
                while let Some(q) = stack.pop() {
                    region += 1;
                    let (r, c) = (q / n, q % n);
                    let mut next = Vec::new();
                    if r > 0 {
                        next.push(q - n)
                    }
                    if r + 1 < n {
                        next.push(q + n)
                    }
                    if c > 0 {
                        next.push(q - 1)
                    }
                    if c + 1 < n {
                        next.push(q + 1)
                    }
                    for m in next {
                        match s.stone(m) {
                            Some(colour) => reach[colour as usize] = true,
                            None if !seen[m] => {
                                seen[m] = true;
                                stack.push(m);
                            }
                            None => {}
                        }
                    }
                }
                match reach {
                    [true, false] => margin += region,
                    [false, true] => margin -= region,
                    _ => {}
                }
            }
            None => {}
        }
    }
    margin as f32
}

/// `wgzero train --game go` runs an iteration on a small board (tiny
/// network, CPU), and `eval` plays its network against random.
#[test]
fn go_trains_and_plays_from_the_command_line() {
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");
    let dir = common::tempdir("go-train");
    let run = dir.join("run");
    let run = run.to_str().unwrap();
    // `wgzero train` of the tiny config on 5x5 with komi `komi`.
    let train = |komi: &str, iterations: &str| {
        common::wgzero(&[
            "train",
            "--game",
            "go",
            "--size",
            "5",
            "--komi",
            komi,
            "--iterations",
            iterations,
            "--backend",
            "cpu",
            "--config",
            tiny,
            "--run",
            run,
        ])
    };
    let (ok, out, err) = train("7.5", "1");
    assert!(ok, "{out}{err}");
    assert!(err.contains("iter 1 self-play"), "{err}");
    let (text, _) = common::wgzero_ok(&[
        "eval",
        "--game",
        "go",
        "--size",
        "5",
        "--backend",
        "cpu",
        "--sims",
        "8",
        "--games",
        "2",
        "--against",
        "random",
        "--model",
        run,
    ]);
    assert!(text.contains(": 2 games"), "{text}");
    // a model trained on 5x5 cannot play 9x9: a clear error
    let (ok, _, err) = common::wgzero(&[
        "eval",
        "--game",
        "go",
        "--backend",
        "cpu",
        "--games",
        "2",
        "--against",
        "random",
        "--model",
        run,
    ]);
    assert!(!ok);
    assert!(err.contains("go5") && err.contains("go9"), "{err}");
    // Resuming with another komi is refused at once, naming the run's.
    let (ok, _, err) = train("6.5", "2");
    assert!(!ok, "{err}");
    assert!(
        err.contains("with komi 7.5, not komi 6.5") && err.contains("--komi 7.5"),
        "{err}"
    );
    assert!(!err.contains("invalid packed state"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pass safeguard of playing searches: never pass while the board loses,
/// always pass when the opponent passed and the board wins.
#[test]
fn playing_searches_pass_only_when_it_is_safe() {
    use wgzero::players::guarded_action;
    let g = Go::new(5, 0.5).unwrap();
    let mut visits = vec![0u32; 26];
    visits[25] = 90; // the search likes passing
    visits[7] = 10;
    // White to move with no stone on the board: passing loses.
    let s = g.parse_position("C3").unwrap();
    assert_eq!(guarded_action(&g, &s, g.pass(), &visits), 7);
    // White's own choice of a stone stays.
    assert_eq!(guarded_action(&g, &s, 3, &visits), 3);
    // Black to move after White passed, Black owns the board: pass wins.
    let s = g.parse_position("C3 pass").unwrap();
    assert_eq!(guarded_action(&g, &s, 7, &visits), g.pass());
    // Other games are left alone.
    let c4 = wgzero::game::Connect4;
    let s = c4.initial();
    assert_eq!(guarded_action(&c4, &s, 3, &[0; 7]), 3);
}

/// An outside engine that never answers is an error after the client's
/// timeout (not a hang), and what it wrote to its standard error is in the
/// message; so is a dead engine's.
#[test]
fn a_hung_or_dead_gtp_engine_is_a_clear_error() {
    use std::time::{Duration, Instant};
    use wgzero::gtp::client::GtpClient;
    let mut c =
        GtpClient::spawn("sh -c 'echo loading the weights failed >&2; cat > /dev/null'").unwrap();
    c.set_timeout(Duration::from_millis(500));
    let t = Instant::now();
    let e = c
        .send("protocol_version")
        .expect_err("no answer is an error");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let m = e.to_string();
    assert!(m.contains("no answer") && m.contains("within"), "{m}");
    assert!(m.contains("loading the weights failed"), "{m}");
    let t = Instant::now();
    drop(c);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "drop waited {:?}",
        t.elapsed()
    );

    let mut c = GtpClient::spawn("sh -c 'echo no such model >&2; exit 3'").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let m = c
        .send("name")
        .expect_err("a dead engine is an error")
        .to_string();
    assert!(
        m.contains("closed its output") || m.contains("write failed"),
        "{m}"
    );
    assert!(m.contains("no such model"), "{m}");
}

/// A Go run gets the auxiliary heads by default (their losses are logged
/// and in metrics.jsonl), and `wgzero curve --game go` plays its
/// checkpoints against a fixed opponent, writes the report and charts, and
/// reuses the saved matches on a second call.
#[test]
fn go_runs_train_auxiliary_heads_and_curve_plays_their_checkpoints() {
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");
    let dir = common::tempdir("go-curve");
    let run = dir.join("run");
    let (ok, out, err) = common::wgzero(&[
        "train",
        "--game",
        "go",
        "--size",
        "5",
        "--iterations",
        "2",
        "--backend",
        "cpu",
        "--config",
        tiny,
        "--run",
        run.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    assert!(err.contains("ownership"), "{err}");
    let config = std::fs::read_to_string(run.join("checkpoints/iter-000002/config.json")).unwrap();
    assert!(config.contains("\"aux_heads\": true"), "{config}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let own = last["train"]["aux"]["ownership_loss"].as_f64().unwrap();
    assert!(own.is_finite() && own > 0.0, "{last}");
    let report = dir.join("curve");
    let args = [
        "curve",
        "--game",
        "go",
        "--size",
        "5",
        "--run",
        run.to_str().unwrap(),
        "--against",
        "random",
        "--games",
        "4",
        "--sims",
        "8",
        "--symmetries",
        "1",
        "--points",
        "2",
        "--backend",
        "cpu",
        "--out",
        report.to_str().unwrap(),
    ];
    let (text, _) = common::wgzero_ok(&args);
    assert!(text.contains("iteration    2"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("curve.json")).unwrap()).unwrap();
    assert_eq!(json["game"], "go5");
    assert_eq!(json["budget"]["against"], "random");
    let points = json["curves"][0]["points"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 2, "{points:?}");
    for p in points {
        let m = &p["match"];
        let games = m["wins"].as_u64().unwrap()
            + m["draws"].as_u64().unwrap()
            + m["losses"].as_u64().unwrap();
        assert_eq!(games, 4);
        let score = m["score"].as_f64().unwrap();
        assert!(
            m["score_low"].as_f64().unwrap() <= score && score <= m["score_high"].as_f64().unwrap()
        );
    }
    for svg in ["curve-evaluations.svg", "curve-time.svg"] {
        let t = std::fs::read_to_string(report.join(svg)).unwrap();
        assert!(t.contains("run"), "{svg} names the curve");
    }
    let saved = run.join("strength/iter-000002.json");
    let before = std::fs::read_to_string(&saved).unwrap();
    let (again, _) = common::wgzero_ok(&args);
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        before,
        "the match is not replayed"
    );
    assert_eq!(again, text);
    // Bad input: no opponent, an unknown one, an opponent for Connect Four.
    for (bad, want) in [
        (
            vec!["curve", "--game", "go", "--run", "x", "--out", "y"],
            "--against",
        ),
        (
            vec![
                "curve",
                "--game",
                "go",
                "--run",
                "x",
                "--out",
                "y",
                "--against",
                "nobody",
            ],
            "--against",
        ),
        (
            vec!["curve", "--run", "x", "--out", "y", "--against", "random"],
            "--game go",
        ),
    ] {
        let (ok, _, err) = common::wgzero(&bad);
        assert!(!ok && err.contains(want), "{bad:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[run] net_global_pooling` makes a Go run's network size-free: a 5x5 run
/// trains one, `--init-model` starts a 7x7 run from its weights (fine-tuning
/// at another size), and the checkpoint says it plays 7x7.
#[test]
fn a_run_with_global_pooling_fine_tunes_at_another_size() {
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");
    let dir = common::tempdir("go-global-pooling");
    let settings = dir.join("pooled.toml");
    let text = std::fs::read_to_string(tiny).unwrap();
    std::fs::write(
        &settings,
        text.replace("[run]\n", "[run]\nnet_global_pooling = true\n"),
    )
    .unwrap();
    let train = |size: &str, run: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["train", "--game", "go", "--size", size, "--iterations", "1"];
        args.extend(["--backend", "cpu", "--config", settings.to_str().unwrap()]);
        args.extend(["--run", run.to_str().unwrap()]);
        args.extend(extra);
        common::wgzero(&args)
    };
    let (five, seven) = (dir.join("five"), dir.join("seven"));
    let (ok, out, err) = train("5", &five, &[]);
    assert!(ok, "{out}{err}");
    let config = std::fs::read_to_string(five.join("checkpoints/iter-000001/config.json")).unwrap();
    assert!(config.contains("\"global_pooling\": true"), "{config}");
    assert!(config.contains("\"game\": \"go5\""), "{config}");
    let (ok, out, err) = train("7", &seven, &["--init-model", five.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let config =
        std::fs::read_to_string(seven.join("checkpoints/iter-000001/config.json")).unwrap();
    assert!(config.contains("\"game\": \"go7\""), "{config}");
    assert!(config.contains("\"global_pooling\": true"), "{config}");
}
