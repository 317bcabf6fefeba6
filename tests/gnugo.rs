//! Go against a real outside engine, GNU Go, over GTP:
//! - the rules: seeded random games played in wgzero and GNU Go side by
//!   side, checking move by move that both allow the same moves, hold the
//!   same board, and agree on the final area score;
//! - the protocol: `wgzero gtp` plays GNU Go through a pipe harness;
//! - outside opponents: `wgzero eval --against gtp:...`.
//!
//! GNU Go comes from Debian (`apt-get install gnugo`, /usr/games/gnugo);
//! `.ci/run` installs it and sets WGZERO_REQUIRE_GNUGO=1, which makes a
//! missing GNU Go a failure. Elsewhere the tests print why they skip.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgzero::game::go::GoState;
use wgzero::game::{Game, Go};
use wgzero::gtp::client::GtpClient;
use wgzero::gtp::parse_score;

/// GNU Go's path, or None (with the reason printed) where it is missing.
fn gnugo(test: &str) -> Option<String> {
    for candidate in ["gnugo", "/usr/games/gnugo"] {
        if Command::new(candidate).arg("--version").output().is_ok() {
            return Some(candidate.to_string());
        }
    }
    if std::env::var("WGZERO_REQUIRE_GNUGO").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: WGZERO_REQUIRE_GNUGO=1 but GNU Go is not installed (apt-get install gnugo)"
        );
    }
    println!("SKIPPED {test}: GNU Go is not installed (apt-get install gnugo)");
    None
}

/// Whether `p` is an eye of the side to move: every neighbour its stone,
/// and at most one opponent diagonal (none on the edge).
fn own_eye(g: &Go, s: &GoState, p: usize) -> bool {
    let n = g.size() as isize;
    let me = g.to_move(s);
    let (r, c) = (p as isize / n, p as isize % n);
    let on = |r: isize, c: isize| (0..n).contains(&r) && (0..n).contains(&c);
    let at = |r: isize, c: isize| s.stone((r * n + c) as usize);
    for (dr, dc) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
        if on(r + dr, c + dc) && at(r + dr, c + dc) != Some(me) {
            return false;
        }
    }
    let mut bad = 0;
    let mut edge = false;
    for (dr, dc) in [(-1, -1), (-1, 1), (1, -1), (1, 1)] {
        if !on(r + dr, c + dc) {
            edge = true;
        } else if at(r + dr, c + dc) == Some(1 - me) {
            bad += 1;
        }
    }
    bad == 0 || (!edge && bad == 1)
}

fn color(g: &Go, s: &GoState) -> &'static str {
    if g.to_move(s) == 0 {
        "black"
    } else {
        "white"
    }
}

fn vertex_set(g: &Go, text: &str) -> BTreeSet<usize> {
    let empty = g.initial();
    let mut set = BTreeSet::new();
    for v in text.split_whitespace() {
        // parse against an empty board: only the coordinates matter here
        set.insert(g.parse_move(&empty, v).expect("a vertex"));
    }
    set
}

#[derive(Default, Debug)]
struct Tally {
    games: usize,
    moves: usize,
    captures: usize,
    ko_bans: usize,
    suicide_bans: usize,
    superko_bans: usize,
    scored_by_passes: usize,
    scores_agreed: usize,
    capped: usize,
    /// Ended by two passes, one of them by choice (a random 1%).
    unsettled: usize,
}

/// Plays `games` random games on `n x n` in wgzero and GNU Go side by side.
fn cross_check(gnugo: &str, n: usize, games: usize, seed: u64) -> Tally {
    let g = Go::new(n, 7.5).unwrap();
    let mut gg = GtpClient::spawn(&format!(
        "{gnugo} --mode gtp --chinese-rules --level 0 --boardsize {n}"
    ))
    .unwrap();
    gg.expect(&format!("boardsize {n}")).unwrap();
    gg.expect("komi 7.5").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Tally::default();
    let mut legal = Vec::new();
    for game in 0..games {
        gg.expect("clear_board").unwrap();
        let mut s = g.initial();
        let mut moves: Vec<usize> = Vec::new();
        // Whether the game ends with two passes of players that had no
        // move left but filling their own eyes: the board is settled, all
        // stones alive, and GNU Go's dead-stone judgement cannot differ.
        let (mut forced, mut forced_pass_before) = (false, false);
        while g.terminal_value(&s).is_none() {
            let here =
                |moves: &[usize]| format!("{n}x{n} game {game} after {}", g.format_moves(moves));
            // Same legal points: GNU Go's rules are simple ko, ours add superko.
            let theirs = vertex_set(
                &g,
                &gg.expect(&format!("all_legal {}", color(&g, &s))).unwrap(),
            );
            let simple: BTreeSet<usize> = (0..g.points())
                .filter(|&p| g.is_legal_simple_ko(&s, p))
                .collect();
            assert_eq!(simple, theirs, "legal points differ, {}", here(&moves));
            g.legal_actions(&s, &mut legal);
            t.superko_bans += simple.len() + 1 - legal.len();
            t.ko_bans += s.ko_point().is_some() as usize;
            t.suicide_bans += (0..g.points())
                .filter(|&p| {
                    s.stone(p).is_none() && Some(p) != s.ko_point() && !simple.contains(&p)
                })
                .count();
            // A random move that does not fill an own eye; pass when none (or 1%).
            let candidates: Vec<usize> = legal
                .iter()
                .copied()
                .filter(|&a| a != g.pass() && !own_eye(&g, &s, a))
                .collect();
            forced = forced_pass_before && candidates.is_empty();
            forced_pass_before = candidates.is_empty();
            let a = if candidates.is_empty() || rng.random_bool(0.01) {
                g.pass()
            } else {
                candidates[rng.random_range(0..candidates.len())]
            };
            let answer = gg
                .send(&format!("play {} {}", color(&g, &s), g.format_move(a)))
                .unwrap();
            assert_eq!(
                answer,
                Ok(String::new()),
                "GNU Go refused {}, {}",
                g.format_move(a),
                here(&moves)
            );
            let stones_before = (0..g.points()).filter(|&p| s.stone(p).is_some()).count();
            g.apply(&mut s, a);
            moves.push(a);
            t.moves += 1;
            let stones_after = (0..g.points()).filter(|&p| s.stone(p).is_some()).count();
            t.captures += (stones_after < stones_before + (a != g.pass()) as usize) as usize;
            // Same board.
            for (who, c) in [("black", 0u8), ("white", 1)] {
                let theirs = vertex_set(&g, &gg.expect(&format!("list_stones {who}")).unwrap());
                let ours: BTreeSet<usize> =
                    (0..g.points()).filter(|&p| s.stone(p) == Some(c)).collect();
                assert_eq!(ours, theirs, "{who} stones differ, {}", here(&moves));
            }
        }
        t.games += 1;
        match (s.passes() >= 2).then(|| g.area_score(&s)) {
            Some(_) if !forced => t.unsettled += 1,
            Some(ours) => {
                t.scored_by_passes += 1;
                let theirs = gg.expect("final_score").unwrap();
                assert_eq!(
                    parse_score(&theirs),
                    Some(ours),
                    "final score: GNU Go {theirs}, ours {ours}, {n}x{n} game {game} after {}",
                    g.format_moves(&moves)
                );
                t.scores_agreed += 1;
            }
            None => t.capped += 1,
        }
    }
    t
}

#[test]
fn rules_agree_with_gnu_go_on_random_games() {
    let Some(gnugo) = gnugo("rules_agree_with_gnu_go_on_random_games") else {
        return;
    };
    let games: usize = std::env::var("WGZERO_GNUGO_GAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // 9x9 and 7x7 in parallel, one GNU Go each.
    let handles: Vec<_> = [(9, 11), (7, 12)]
        .into_iter()
        .map(|(n, seed)| {
            let gnugo = gnugo.clone();
            std::thread::spawn(move || (n, cross_check(&gnugo, n, games, seed)))
        })
        .collect();
    for h in handles {
        let (n, t) = h.join().unwrap();
        println!("{n}x{n}: {t:?}");
        assert_eq!(t.games, games);
        assert_eq!(t.scores_agreed, t.scored_by_passes);
        assert!(
            t.captures > 0 && t.ko_bans > 0 && t.suicide_bans > 0,
            "{t:?}"
        );
    }
}

fn wgzero() -> &'static str {
    env!("CARGO_BIN_EXE_wgzero")
}

/// GNU Go plays `wgzero gtp` through a small harness speaking GTP to both:
/// 10 games on 9x9, colours alternating, no protocol error.
#[test]
fn wgzero_gtp_plays_gnu_go_through_a_pipe_harness() {
    let Some(gnugo) = gnugo("wgzero_gtp_plays_gnu_go_through_a_pipe_harness") else {
        return;
    };
    let g = Go::default();
    let mut engines = [
        GtpClient::spawn(&format!("{} gtp --sims 16 --backend cpu", wgzero())).unwrap(),
        GtpClient::spawn(&format!("{gnugo} --mode gtp --chinese-rules --level 1")).unwrap(),
    ];
    for e in engines.iter_mut() {
        assert_eq!(e.expect("protocol_version").unwrap(), "2");
        e.expect("boardsize 9").unwrap();
        e.expect("komi 7.5").unwrap();
    }
    let mut results = Vec::new();
    for game in 0..10 {
        for e in engines.iter_mut() {
            e.expect("clear_board").unwrap();
        }
        let mut s = g.initial();
        let mut moves = 0;
        while g.terminal_value(&s).is_none() {
            // wgzero is Black in even games
            let side = (g.to_move(&s) as usize + game) % 2;
            let col = color(&g, &s);
            let answer = engines[side].expect(&format!("genmove {col}")).unwrap();
            let a = if answer.eq_ignore_ascii_case("resign") {
                g.pass()
            } else {
                g.parse_move(&s, &answer)
                    .unwrap_or_else(|e| panic!("game {game}: {answer:?} is illegal: {e}"))
            };
            engines[1 - side]
                .expect(&format!("play {col} {}", g.format_move(a)))
                .unwrap();
            if answer.eq_ignore_ascii_case("resign") {
                engines[side].expect(&format!("play {col} pass")).unwrap();
            }
            g.apply(&mut s, a);
            moves += 1;
        }
        let ours = g.area_score(&s);
        let theirs = engines[0].expect("final_score").unwrap();
        assert_eq!(parse_score(&theirs), Some(ours), "wgzero's final_score");
        results.push((moves, ours));
    }
    assert_eq!(results.len(), 10);
    println!("10 games (moves, Black's margin): {results:?}");
}

/// `wgzero eval --against gtp:...` plays a match against GNU Go and reports
/// the final-score checks.
#[test]
fn eval_against_gnu_go_reports_results_and_score_checks() {
    let Some(gnugo) = gnugo("eval_against_gnu_go_reports_results_and_score_checks") else {
        return;
    };
    let dir = common::tempdir("gnugo-eval");
    let model = dir.join("model");
    let model = model.to_str().unwrap();
    common::wgzero_ok(&[
        "new-model",
        "--game",
        "go",
        "--size",
        "7",
        "--blocks",
        "1",
        "--channels",
        "8",
        "--out",
        model,
    ]);
    let eval = |games: &str, against: &str| {
        common::wgzero(&[
            "eval",
            "--game",
            "go",
            "--size",
            "7",
            "--backend",
            "cpu",
            "--sims",
            "8",
            "--games",
            games,
            "--against",
            against,
            "--model",
            model,
        ])
    };
    let against = format!("gtp:{gnugo} --mode gtp --chinese-rules --level 0");
    let (ok, text, err) = eval("4", &against);
    assert!(ok, "{text}{err}");
    assert!(text.contains(": 4 games"), "{text}");
    assert!(text.contains("final scores"), "{text}");
    // a broken engine command is a clear error, not a hang
    let (ok, _, err) = eval("2", "gtp:/no/such/engine");
    assert!(!ok);
    assert!(err.contains("cannot start"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SGF both ways with GNU Go: random games with captures (and `eval
/// --sgf`'s collection) written by wgzero load in GNU Go (`loadsgf`) to the
/// same stones; `wgzero gtp`'s `loadsgf` and `printsgf` give them back.
#[test]
fn sgf_games_load_in_gnu_go_and_back() {
    let Some(gnugo) = gnugo("sgf_games_load_in_gnu_go_and_back") else {
        return;
    };
    use wgzero::game::sgf::{read_sgf, write_sgf, SgfInfo};
    let dir = common::tempdir("gnugo-sgf");
    let mut gg =
        GtpClient::spawn(&format!("{gnugo} --mode gtp --chinese-rules --level 0")).unwrap();
    let mut ours = GtpClient::spawn(&format!("{} gtp --sims 8 --backend cpu", wgzero())).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut legal = Vec::new();
    let mut captures = 0;
    for (k, n) in [9usize, 13, 7, 9].into_iter().enumerate() {
        let g = Go::new(n, 6.5).unwrap();
        let mut s = g.initial();
        let mut moves = Vec::new();
        while g.terminal_value(&s).is_none() && moves.len() < 3 * n * n {
            g.legal_actions(&s, &mut legal);
            let stones = (0..g.points()).filter(|&p| s.stone(p).is_some()).count();
            let a = legal[rng.random_range(0..legal.len())];
            g.apply(&mut s, a);
            moves.push(a);
            let after = (0..g.points()).filter(|&p| s.stone(p).is_some()).count();
            captures += (after < stones + (a != g.pass()) as usize) as usize;
        }
        let path = dir.join(format!("game{k}.sgf"));
        std::fs::write(&path, write_sgf(&g, &moves, &SgfInfo::default())).unwrap();
        let file = path.to_str().unwrap();
        gg.expect(&format!("loadsgf {file}")).unwrap();
        for (color, c) in [("black", 0u8), ("white", 1u8)] {
            let theirs = vertex_set(&g, &gg.expect(&format!("list_stones {color}")).unwrap());
            let mine: BTreeSet<usize> =
                (0..g.points()).filter(|&p| s.stone(p) == Some(c)).collect();
            assert_eq!(theirs, mine, "{color} stones of game {k} ({n}x{n})");
        }
        // wgzero's engine loads it too, and writes the same moves back.
        ours.expect(&format!("loadsgf {file}")).unwrap();
        let back = read_sgf(&ours.expect("printsgf").unwrap()).unwrap();
        assert_eq!(back.moves, moves);
        assert_eq!(back.game, g);
        // Up to a move number (GTP: the position before it).
        ours.expect(&format!("loadsgf {file} 4")).unwrap();
        assert_eq!(
            read_sgf(&ours.expect("printsgf").unwrap()).unwrap().moves,
            moves[..3]
        );
    }
    assert!(captures > 10, "{captures} captures");
    assert!(ours.send("loadsgf /no/such/file.sgf").unwrap().is_err());
    // A match written by `eval --sgf`: its first game in GNU Go.
    // A match written by `eval --sgf` and self-play by `selfplay --sgf`:
    // their first games in GNU Go.
    let collection = dir.join("match.sgf");
    let selfplay = dir.join("selfplay.sgf");
    let records = dir.join("records");
    let runs: [Vec<&str>; 2] = [
        vec![
            "eval",
            "--game",
            "go",
            "--against",
            "random",
            "--games",
            "2",
            "--sims",
            "8",
        ],
        vec![
            "selfplay",
            "--game",
            "go",
            "--games",
            "2",
            "--sims",
            "8",
            "--out",
            records.to_str().unwrap(),
        ],
    ];
    for (args, file) in runs.iter().zip([&collection, &selfplay]) {
        let out = Command::new(wgzero())
            .args(args)
            .args(["--backend", "cpu", "--sgf", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(file).unwrap();
        assert_eq!(text.matches("(;FF[4]").count(), 2, "{text}");
        let first = read_sgf(&text).unwrap();
        assert!(first.info.result.is_some() && first.info.black.is_some());
        let s = wgzero::game::sgf::position_after(&first, first.moves.len());
        gg.expect(&format!("loadsgf {}", file.display())).unwrap();
        for (color, c) in [("black", 0u8), ("white", 1u8)] {
            let theirs = vertex_set(
                &first.game,
                &gg.expect(&format!("list_stones {color}")).unwrap(),
            );
            let mine: BTreeSet<usize> = (0..first.game.points())
                .filter(|&p| s.stone(p) == Some(c))
                .collect();
            assert_eq!(
                theirs,
                mine,
                "{color} stones of {}'s first game",
                file.display()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// GTP's fixed handicap placement, as GNU Go places it, on 7x7 to 19x19;
/// the counts GNU Go refuses, wgzero refuses too.
#[test]
fn fixed_handicap_matches_gnu_go() {
    let Some(gnugo) = gnugo("fixed_handicap_matches_gnu_go") else {
        return;
    };
    let mut gg = GtpClient::spawn(&format!("{gnugo} --mode gtp --level 0")).unwrap();
    for n in [7usize, 9, 13, 19] {
        let g = Go::new(n, 0.5).unwrap();
        gg.expect(&format!("boardsize {n}")).unwrap();
        for k in 2..=10 {
            gg.expect("clear_board").unwrap();
            let theirs = gg.send(&format!("fixed_handicap {k}")).unwrap();
            let ours = wgzero::gtp::fixed_handicap(n, k);
            match (theirs, ours) {
                (Ok(text), Some(points)) => {
                    let mine: BTreeSet<usize> = points.into_iter().collect();
                    assert_eq!(vertex_set(&g, &text), mine, "{k} stones on {n}x{n}");
                }
                (Err(_), None) => {}
                (t, o) => panic!("{k} stones on {n}x{n}: GNU Go {t:?}, wgzero {o:?}"),
            }
        }
    }
}
