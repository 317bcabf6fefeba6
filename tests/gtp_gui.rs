//! What Go GUIs ask of an engine beyond plain GTP: analysis (`lz-analyze`,
//! `kata-analyze`, the `genmove_analyze` forms) read the way Lizzie and
//! KataGo-aware GUIs read it, time controls (`time_settings`,
//! `kgs-time_settings`, `time_left`) turned into a search budget, and the
//! command sequences Sabaki and Lizzie send, through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wgzero::game::{Game, Go};
use wgzero::gtp::{Engine, EngineOptions};
use wgzero::players::{MctsPlayer, Player};

fn engine_with(sims: u32, options: EngineOptions) -> Engine {
    Engine::with_options(
        Go::default(),
        Box::new(move |g: Go| -> wgzero::Result<Box<dyn Player<Go>>> {
            Ok(Box::new(MctsPlayer::new(g, sims, 1)?))
        }),
        options,
    )
    .unwrap()
}

fn engine() -> Engine {
    engine_with(
        64,
        EngineOptions {
            simulations: 64,
            ..EngineOptions::default()
        },
    )
}

fn ask(e: &mut Engine, line: &str) -> String {
    e.handle_line(line).expect("a response")
}

/// One candidate as Lizzie's `MoveData.fromInfo` reads it: keys and values
/// in pairs, `pv` taking the rest of the segment.
#[derive(Debug, Default)]
struct Info {
    fields: Vec<(String, String)>,
    pv: Vec<String>,
}

impl Info {
    fn get(&self, key: &str) -> &str {
        &self
            .fields
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("no {key} in {self:?}"))
            .1
    }
}

/// An info line split as Lizzie does (`info ` removed, then ` info `).
fn parse_info_line(line: &str) -> Vec<Info> {
    let body = line.strip_prefix("info ").expect("starts with info");
    body.split(" info ")
        .map(|seg| {
            let words: Vec<&str> = seg.trim().split(' ').collect();
            let mut info = Info::default();
            let mut i = 0;
            while i < words.len() {
                if words[i] == "pv" {
                    info.pv = words[i + 1..].iter().map(|w| w.to_string()).collect();
                    break;
                }
                info.fields
                    .push((words[i].to_string(), words[i + 1].to_string()));
                i += 2;
            }
            info
        })
        .collect()
}

/// The visits of every candidate of an info line, summed.
fn total_visits(line: &str) -> u32 {
    parse_info_line(line)
        .iter()
        .map(|i| i.get("visits").parse::<u32>().unwrap())
        .sum()
}

/// Checks one line of candidates against the position: legal moves and
/// legal principal variations, `order` 0, 1, ... by falling visits, and
/// the numbers in range for the format.
fn check_candidates(game: &Go, s: &wgzero::game::go::GoState, line: &str, kata: bool) -> Vec<Info> {
    let infos = parse_info_line(line);
    assert!(!infos.is_empty(), "{line}");
    let mut last_visits = u32::MAX;
    for (k, info) in infos.iter().enumerate() {
        let mv = game.parse_move(s, info.get("move")).unwrap();
        let visits: u32 = info.get("visits").parse().unwrap();
        assert!(visits >= 1 && visits <= last_visits, "{line}");
        last_visits = visits;
        assert_eq!(info.get("order").parse::<usize>().unwrap(), k);
        for key in ["winrate", "prior", "lcb"] {
            if kata {
                let x: f64 = info.get(key).parse().unwrap();
                assert!((0.0..=1.0).contains(&x), "{key} {x}");
            } else {
                // Lizzie reads these with Integer.parseInt.
                let x: i64 = info.get(key).parse().unwrap();
                assert!((0..=10_000).contains(&x), "{key} {x}");
            }
        }
        if kata {
            let u: f64 = info.get("utility").parse().unwrap();
            assert!((-1.0..=1.0).contains(&u));
            assert_eq!(info.get("edgeVisits"), info.get("visits"));
        }
        assert_eq!(info.pv.first().map(String::as_str), Some(info.get("move")));
        let mut t = s.clone();
        for m in &info.pv {
            let a = game
                .parse_move(&t, m)
                .unwrap_or_else(|e| panic!("pv {m}: {e}"));
            assert!(game.terminal_value(&t).is_none());
            game.apply(&mut t, a);
        }
        assert!(game.is_legal(s, mv));
    }
    infos
}

#[test]
fn lz_analyze_lines_read_as_lizzie_reads_them() {
    let mut e = engine();
    ask(&mut e, "play b E5");
    ask(&mut e, "play w C3");
    let g = Go::default();
    let s = g.parse_position("E5 C3").unwrap();
    // Answered here, the analysis stops after its first step: `=`, one
    // info line, the empty line that ends the response.
    let r = ask(&mut e, "3 lz-analyze 0");
    let lines: Vec<&str> = r.split('\n').collect();
    assert_eq!(lines[0], "=3", "{r}");
    assert!(r.ends_with("\n\n"), "{r:?}");
    assert_eq!(lines.len(), 4, "{r:?}");
    check_candidates(&g, &s, lines[1], false);
    // With a color (Sabaki's form) and Leela Zero's key form.
    let r = ask(&mut e, "lz-analyze b 25");
    check_candidates(&g, &s, r.lines().nth(1).unwrap(), false);
    let r = ask(&mut e, "lz-analyze b interval 25 maxmoves 2");
    assert!(parse_info_line(r.lines().nth(1).unwrap()).len() <= 2, "{r}");
    // The board did not change.
    assert_eq!(ask(&mut e, "play b D4"), "=\n\n");
}

#[test]
fn kata_analyze_lines_are_floats_and_bad_requests_are_refused() {
    let mut e = engine();
    let g = Go::default();
    let s = g.initial();
    let r = ask(&mut e, "kata-analyze b 10 ownership true");
    let line = r.lines().nth(1).unwrap();
    check_candidates(&g, &s, line, true);
    // The root's visits grow over the analysis' steps (the tree is kept).
    let total = total_visits(line);
    let r = ask(&mut e, "kata-analyze 10");
    let again = total_visits(r.lines().nth(1).unwrap());
    assert!(again > total, "{again} <= {total}");
    for bad in [
        "kata-analyze w 10",
        "kata-analyze b interval",
        "kata-analyze b interval soon",
        "kata-analyze b 10 colour white",
        "kata-analyze b 10 ownership maybe",
        "lz-analyze -5",
        "lz-analyze b 10 avoid b D4 1",
        "genmove_analyze 10",
    ] {
        let r = ask(&mut e, &format!("9 {bad}"));
        assert!(r.starts_with("?9 ") && r.ends_with("\n\n"), "{bad}: {r:?}");
    }
}

#[test]
fn an_analysis_streams_until_the_next_command() {
    let mut e = engine();
    let mut out = Vec::new();
    let mut polls = 0;
    let mut waiting = || {
        polls += 1;
        polls > 5
    };
    e.handle_line_to("lz-analyze 0", &mut out, &mut waiting)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "=");
    assert!(text.ends_with("\n\n"), "{text:?}");
    // One line after each of the 6 steps (interval 0).
    let info: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("info "))
        .collect();
    assert_eq!(info.len(), 6, "{text}");
    assert!(total_visits(info[5]) > total_visits(info[0]));
    // The next command is answered normally.
    assert_eq!(ask(&mut e, "protocol_version"), "= 2\n\n");
}

#[test]
fn genmove_analyze_streams_then_plays() {
    let mut e = engine();
    let g = Go::default();
    for cmd in [
        "lz-genmove_analyze b 0",
        "kata-genmove_analyze w 0",
        "genmove_analyze b 0",
    ] {
        let r = ask(&mut e, cmd);
        let lines: Vec<&str> = r.trim_end().lines().collect();
        assert_eq!(lines[0], "=", "{r}");
        let play = lines[lines.len() - 1];
        assert!(play.starts_with("play "), "{r}");
        assert!(r.ends_with("\n\n"));
        assert!(lines[1..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("info move ")));
        assert!(g.parse_move(&g.initial(), &play[5..]).is_ok(), "{play}");
    }
    // Three moves were played: White is to move.
    assert!(
        ask(&mut e, "showboard").contains("White to move"),
        "{}",
        ask(&mut e, "showboard")
    );
    assert!(ask(&mut e, "genmove_analyze b 0").starts_with("? black is not to move"));
}

#[test]
fn time_controls_set_the_budget() {
    // A player whose fixed search would take minutes: under time controls
    // the engine's own clock decides.
    let mut e = engine_with(
        1_000_000,
        EngineOptions {
            lag: 0.0,
            ..EngineOptions::default()
        },
    );
    assert_eq!(ask(&mut e, "time_settings 30 0 0"), "=\n\n");
    let t = Instant::now();
    let r = ask(&mut e, "genmove b");
    assert!(r.starts_with("= "), "{r}");
    // Absolute 30 s, about 32 moves left: about a second (generous bound).
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let left = e.clock(0).main_left;
    assert!(left < 30.0 && left > 20.0, "{left}");
    assert_eq!(e.clock(1).main_left, 30.0);
    // The controller's word wins: Canadian overtime, 1 s for 5 stones.
    assert_eq!(ask(&mut e, "time_settings 0 1 5"), "=\n\n");
    assert_eq!(ask(&mut e, "time_left w 1 5"), "=\n\n");
    let t = Instant::now();
    assert!(ask(&mut e, "genmove w").starts_with("= "));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(ask(&mut e, "kgs-time_settings byoyomi 0 1 3"), "=\n\n");
    assert!(ask(&mut e, "genmove b").starts_with("= "));
    assert_eq!(e.clock(0).stones_left, 3, "within its period");
    assert_eq!(ask(&mut e, "kgs-time_settings none"), "=\n\n");
    for bad in [
        "time_settings 10 0",
        "time_settings -1 0 0",
        "time_settings x 0 0",
        "time_left b",
        "time_left purple 10 0",
        "kgs-time_settings fischer 10 5",
        "kgs-time_settings canadian 10 5",
        "kgs-time_settings absolute",
    ] {
        assert!(ask(&mut e, bad).starts_with("? "), "{bad}");
    }
}

#[test]
fn an_engine_resigns_a_lost_game_when_asked_to() {
    let mut e = engine_with(
        64,
        EngineOptions {
            simulations: 200,
            resign_below: 0.3,
            ..EngineOptions::default()
        },
    );
    ask(&mut e, "boardsize 5");
    // White has filled most of a 5x5 board; Black to move has no chance.
    let g = Go::new(5, 7.5).unwrap();
    let moves = "A2 B1 pass B2 pass B3 pass B4 pass B5 pass C1 pass C2 pass C3 pass C4 pass C5 pass D1 pass D2 pass D3 pass D4 pass D5";
    let mut s = g.initial();
    for (i, m) in moves.split(' ').enumerate() {
        let color = if i % 2 == 0 { "b" } else { "w" };
        assert_eq!(ask(&mut e, &format!("play {color} {m}")), "=\n\n", "{m}");
        let a = g.parse_move(&s, m).unwrap();
        g.apply(&mut s, a);
    }
    assert_eq!(ask(&mut e, "genmove b"), "= resign\n\n");
    // Nothing was played: Black is still to move.
    assert!(ask(&mut e, "showboard").contains("Black to move"));
}

/// Runs the real binary with `input`, all at once.
fn gtp_session(input: &str) -> String {
    gtp_session_with(&[], input)
}

/// [`gtp_session`] with more arguments.
fn gtp_session_with(extra: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(["gtp", "--size", "9", "--sims", "16", "--backend", "cpu"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

/// The responses of a session, in order (each `=...`/`?...` block).
fn responses(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| b.trim_start_matches('\n').to_string())
        .collect()
}

#[test]
fn a_sabaki_session() {
    // Sabaki attaching an engine, setting up a game, asking for moves and
    // analysing (it picks kata-analyze when list_commands offers it).
    let script = "name\nversion\nprotocol_version\nlist_commands\nboardsize 9\nclear_board\nkomi 7\n\
                  play B E5\ngenmove W\nkata-analyze B 50\nplay B D4\nkata-analyze W 50\nundo\nundo\nkata-genmove_analyze W 50\nquit\n";
    let text = gtp_session(script);
    let r = responses(&text);
    assert_eq!(r.len(), 16, "{text}");
    assert_eq!(r[0], "= wgzero");
    assert!(r[3].contains("kata-analyze") && r[3].contains("lz-analyze"));
    assert!(r[8].starts_with("= ") && r[8].len() > 3, "{}", r[8]);
    for i in [9, 11] {
        assert!(r[i].starts_with("=\ninfo move "), "{}", r[i]);
    }
    assert!(r[12] == "=" && r[13] == "=", "{text}");
    let last = &r[14];
    assert!(
        last.starts_with("=\ninfo move ") && last.contains("\nplay "),
        "{last}"
    );
    assert_eq!(r[15], "=");
}

#[test]
fn a_lizzie_session() {
    // Lizzie: after each move, `lz-analyze` with an interval; a new
    // command ends it.
    let script = "name\nversion\nboardsize 9\nkomi 7.5\nclear_board\nlz-analyze 10\nplay b C3\nlz-analyze 10\n\
                  play w G7\nlz-analyze 10\nundo\nlz-analyze 10\ngenmove b\nlz-analyze 10\nname\n";
    let text = gtp_session(script);
    let r = responses(&text);
    assert_eq!(r.len(), 15, "{text}");
    let g = Go::default();
    let positions = ["", "C3", "C3 G7", "C3"];
    for (k, i) in [5usize, 7, 9, 11].into_iter().enumerate() {
        let s = g.parse_position(positions[k]).unwrap();
        let mut lines = r[i].lines();
        assert_eq!(lines.next(), Some("="));
        for l in lines {
            check_candidates(&g, &s, l, false);
        }
    }
    assert!(r[13].starts_with("=\ninfo move "), "{}", r[13]);
    assert_eq!(r[14], "= wgzero");
}

#[test]
fn handicap_and_final_status_commands() {
    let mut e = engine();
    let r = ask(&mut e, "fixed_handicap 4");
    let mut got: Vec<&str> = r[2..].split_whitespace().collect();
    got.sort();
    assert_eq!(got, ["C3", "C7", "G3", "G7"], "{r}");
    // White moves next; the stones are Black's.
    assert!(ask(&mut e, "showboard").contains("White to move"));
    let alive = ask(&mut e, "final_status_list alive");
    assert_eq!(alive.split_whitespace().count(), 5, "{alive}");
    assert_eq!(ask(&mut e, "final_status_list dead"), "=\n\n");
    assert_eq!(ask(&mut e, "final_status_list seki"), "=\n\n");
    assert!(ask(&mut e, "final_status_list zombie").starts_with("? syntax error"));
    assert_eq!(ask(&mut e, "fixed_handicap 2"), "? board not empty\n\n");
    assert!(ask(&mut e, "kgs-genmove_cleanup w").starts_with("= "));
    // set_free_handicap: the controller's stones.
    ask(&mut e, "clear_board");
    for bad in [
        "set_free_handicap E5",
        "set_free_handicap E5 E5",
        "set_free_handicap E5 Z9",
        "set_free_handicap E5 pass",
        "fixed_handicap 10",
        "fixed_handicap 1",
        "fixed_handicap many",
    ] {
        assert!(ask(&mut e, bad).starts_with("? "), "{bad}");
    }
    assert!(
        ask(&mut e, "showboard").contains("Black to move"),
        "a refusal leaves the board empty"
    );
    assert_eq!(ask(&mut e, "set_free_handicap C3 G7 E5"), "=\n\n");
    assert!(ask(&mut e, "showboard").contains("White to move"));
    ask(&mut e, "clear_board");
    let r = ask(&mut e, "place_free_handicap 3");
    assert_eq!(r[2..].split_whitespace().count(), 3, "{r}");
    // The SGF of a handicap game reads back.
    let sgf = ask(&mut e, "printsgf");
    let g = wgzero::game::sgf::read_sgf(sgf[2..].trim()).unwrap();
    assert_eq!(g.moves.len(), 5, "3 stones, 2 White passes");
}

#[test]
fn resignation_both_ways() {
    // wgzero's own GTP engine resigns once it is not sure of winning (a
    // threshold of 0.99); the arena scores an outside engine's
    // resignation as its loss, and the records and SGF say so.
    let exe = env!("CARGO_BIN_EXE_wgzero");
    let dir = std::env::temp_dir().join(format!("wgzero-resign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (record, sgf) = (dir.join("games.jsonl"), dir.join("games.sgf"));
    let against = format!("gtp:{exe} gtp --sims 128 --resign-below 0.99 --backend cpu");
    let o = Command::new(exe)
        .args([
            "eval",
            "--game",
            "go",
            "--against",
            &against,
            "--games",
            "2",
            "--sims",
            "8",
        ])
        .args(["--backend", "cpu", "--record", record.to_str().unwrap()])
        .args(["--sgf", sgf.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("wins 2 draws 0 losses 0"), "{text}");
    let records = std::fs::read_to_string(&record).unwrap();
    assert_eq!(records.matches("\"resigned\":true").count(), 2, "{records}");
    let sgf = std::fs::read_to_string(&sgf).unwrap();
    // The model played Black in one game and White in the other.
    assert!(sgf.contains("RE[B+R]") && sgf.contains("RE[W+R]"), "{sgf}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pondering_searches_the_opponents_turn_until_the_next_command() {
    // The visits the next analysis starts from, after `genmove b` with
    // and without pondering (20 steps of 16 simulations before the next
    // command "arrives").
    let visits_after = |ponder: bool| -> u32 {
        let mut e = engine_with(
            64,
            EngineOptions {
                simulations: 64,
                ponder,
                ..EngineOptions::default()
            },
        );
        let mut out = Vec::new();
        let mut polls = 0;
        let mut waiting = || {
            polls += 1;
            polls > 20
        };
        e.handle_line_to("genmove b", &mut out, &mut waiting)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("= ") && text.ends_with("\n\n"), "{text:?}");
        let r = ask(&mut e, "kata-analyze w 0");
        total_visits(r.lines().nth(1).unwrap())
    };
    let (with, without) = (visits_after(true), visits_after(false));
    assert!(with >= without + 300, "pondering {with}, not {without}");
}

/// A random 9x9 model (1 block x 8 channels) in `dir`, with or without the
/// auxiliary heads.
fn new_model(dir: &std::path::Path, aux: bool) {
    new_model_with(dir, if aux { &["--aux-heads"] } else { &[] });
}

/// A random 9x9 model (1 block x 8 channels) in `dir`, made with `extra`.
fn new_model_with(dir: &std::path::Path, extra: &[&str]) {
    let mut args = vec!["new-model", "--game", "go", "--size", "9", "--blocks", "1"];
    args.extend(["--channels", "8", "--out", dir.to_str().unwrap()]);
    args.extend(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// With a network that has auxiliary heads, `kata-analyze` gives every
/// candidate a `scoreLead` (and `scoreMean`) and, asked, ends the line with
/// the root's `ownership`: 81 floats in [-1, 1], split off at
/// " ownership " the way KaTrain reads it; `lz-analyze` lines stay Leela
/// Zero's, and a network without the heads writes neither.
#[test]
fn kata_analyze_reports_score_leads_and_ownership_from_auxiliary_heads() {
    let base = std::env::temp_dir().join(format!("wgzero-gtp-aux-{}", std::process::id()));
    let (aux, plain) = (base.join("aux"), base.join("plain"));
    new_model(&aux, true);
    new_model(&plain, false);
    let g = Go::default();
    let s = g.parse_position("E5").unwrap();
    let input = "play b E5\nkata-analyze w 10 ownership true\nlz-analyze w 10\nkata-analyze w 10 maxmoves 3\nquit\n";
    let text = gtp_session_with(&["--model", aux.to_str().unwrap()], input);
    let r = responses(&text);
    let line = r[1].lines().nth(1).expect("an info line");
    let (infos, own) = line.split_once(" ownership ").expect("an ownership part");
    let own: Vec<f64> = own.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(own.len(), 81);
    assert!(own.iter().all(|o| (-1.0..=1.0).contains(o)), "{own:?}");
    for info in check_candidates(&g, &s, infos, true) {
        let lead: f64 = info.get("scoreLead").parse().unwrap();
        assert!(lead.is_finite() && lead.abs() <= 81.0 + 7.5, "{lead}");
        assert_eq!(info.get("scoreMean"), info.get("scoreLead"));
    }
    let lz = r[2].lines().nth(1).unwrap();
    assert!(
        !lz.contains("scoreLead") && !lz.contains("ownership"),
        "{lz}"
    );
    check_candidates(&g, &s, lz, false);
    // Without `ownership true`: score leads only, at most 3 candidates.
    let three = r[3].lines().nth(1).unwrap();
    assert!(!three.contains("ownership"), "{three}");
    assert_eq!(
        check_candidates(&g, &s, three, true).len(),
        3.min(parse_info_line(three).len())
    );
    assert!(three.contains("scoreLead"));
    // A network without the heads.
    let text = gtp_session_with(&["--model", plain.to_str().unwrap()], input);
    let r = responses(&text);
    let line = r[1].lines().nth(1).unwrap();
    assert!(
        !line.contains("ownership") && !line.contains("scoreLead"),
        "{line}"
    );
    check_candidates(&g, &s, line, true);
    std::fs::remove_dir_all(&base).unwrap();
}

/// A network with global pooling, made for 9x9, plays every size through
/// `boardsize` (13x13 and 19x19 moves, analysis with one ownership value
/// per point of the new board); a network without it gets "unacceptable
/// size" where it has no weights, and the engine keeps its board.
#[test]
fn a_network_with_global_pooling_plays_every_board_size() {
    let base = std::env::temp_dir().join(format!("wgzero-gtp-pool-{}", std::process::id()));
    let (pooled, plain) = (base.join("pooled"), base.join("plain"));
    new_model_with(&pooled, &["--aux-heads", "--global-pooling"]);
    new_model(&plain, false);
    let config = std::fs::read_to_string(pooled.join("config.json")).unwrap();
    assert!(config.contains("\"global_pooling\": true"), "{config}");
    let input = "boardsize 13\nclear_board\ngenmove b\nkata-analyze w 10 ownership true\n\
                 boardsize 19\ngenmove b\nquit\n";
    let text = gtp_session_with(&["--model", pooled.to_str().unwrap()], input);
    let r = responses(&text);
    assert_eq!(r[0], "=", "{text}");
    let g13 = Go::new(13, 7.5).unwrap();
    let first = r[2].trim_start_matches("= ");
    let mv = g13.parse_move(&g13.initial(), first).expect("a 13x13 move");
    let mut s = g13.initial();
    g13.apply(&mut s, mv);
    let line = r[3].lines().nth(1).expect("an info line");
    let (infos, own) = line.split_once(" ownership ").expect("an ownership part");
    assert_eq!(own.split_whitespace().count(), 169);
    check_candidates(&g13, &s, infos, true);
    let g19 = Go::new(19, 7.5).unwrap();
    let m19 = r[5].trim_start_matches("= ");
    assert!(g19.parse_move(&g19.initial(), m19).is_ok(), "{m19}");
    // No global pooling: 13x13 is refused, and 9x9 play goes on.
    let input = "boardsize 13\ngenmove b\nquit\n";
    let text = gtp_session_with(&["--model", plain.to_str().unwrap()], input);
    let r = responses(&text);
    assert_eq!(r[0], "? unacceptable size", "{text}");
    let g9 = Go::default();
    let m9 = r[1].trim_start_matches("= ");
    assert!(g9.parse_move(&g9.initial(), m9).is_ok(), "{m9}");
    std::fs::remove_dir_all(&base).unwrap();
}
