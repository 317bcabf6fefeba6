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
