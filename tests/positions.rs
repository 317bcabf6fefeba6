//! Test-position generation is reproducible: the library regenerates the
//! start of the committed test file from its seed, line for line.

use wgzero::positions::{generate, positions_file_text, read_positions, MoveRange};

#[test]
fn the_committed_test_file_regenerates_from_its_seed() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/connect4/tests/moves-15-24.txt"
    );
    let committed = std::fs::read_to_string(path).unwrap();
    let range: MoveRange = "15-24".parse().unwrap();
    let positions = generate(40, range, 2, &mut |_| {});
    let text = positions_file_text(&positions, range, 2);
    let n = text.lines().count();
    assert_eq!(n, 44, "4 header lines and 40 positions");
    let head: Vec<&str> = committed.lines().take(n).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), head);
    assert_eq!(
        read_positions(std::path::Path::new(path)).unwrap().len(),
        400
    );
}

#[test]
fn move_ranges_are_checked() {
    assert_eq!(
        "8-14".parse::<MoveRange>().unwrap(),
        MoveRange { low: 8, high: 14 }
    );
    assert_eq!(
        "12".parse::<MoveRange>().unwrap(),
        MoveRange { low: 12, high: 12 }
    );
    for bad in ["14-8", "x", "1-41", ""] {
        let e = bad.parse::<MoveRange>().expect_err(bad).to_string();
        assert!(e.contains("move range"), "{bad}: {e}");
    }
}

/// The validation file reads with its good columns, which agree with the
/// solver on a sample; malformed columns are errors naming the line.
#[test]
fn judged_positions_carry_the_solvers_columns() {
    use wgzero::game::{Connect4, Game};
    use wgzero::positions::{judge_moves, read_judged_positions};
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/connect4/validation/moves-08-14.txt"
    ));
    let all = read_judged_positions(path).unwrap();
    assert_eq!(all.len(), 1000);
    // 5 positions x every legal move: the file's columns are the solver's.
    let mut states = Vec::new();
    let mut moves = Vec::new();
    let mut expected = Vec::new();
    for p in all.iter().step_by(200) {
        for a in 0..7 {
            if Connect4.is_legal(&p.state, a) {
                states.push(p.state);
                moves.push(a);
                expected.push(p.good.contains(&a));
            }
        }
    }
    let verdicts = judge_moves(&states, &moves, &|| {}).unwrap();
    let correct: Vec<bool> = verdicts.iter().map(|v| v.correct()).collect();
    assert_eq!(correct, expected);
    let dir = std::env::temp_dir().join(format!("wgzero-judged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "# header\n4444 draw 3\n4444 draw 4,9\n").unwrap();
    let e = read_judged_positions(&bad).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("\"9\""), "{e}");
    std::fs::write(&bad, "4444 draw\n").unwrap();
    let e = read_judged_positions(&bad).unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("no good columns"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn positions_files_with_other_characters_are_clear_errors() {
    for text in ["4é\n", "44\n4\u{301}5\n", "日本\n"] {
        let e = wgzero::positions::parse_positions(text, "file.txt")
            .expect_err("not a position")
            .to_string();
        assert!(e.contains("file.txt line"), "{text:?}: {e}");
    }
    for text in ["4é win 1\n", "日本\n", "4453 win ✓\n", "4453 win 1é\n"] {
        let e = wgzero::positions::parse_judged_positions(text, "file.txt")
            .expect_err("not a position")
            .to_string();
        assert!(e.contains("file.txt"), "{text:?}: {e}");
    }
}
