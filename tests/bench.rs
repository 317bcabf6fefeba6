//! `wgzero bench` pieces and the settings file it writes.

use std::process::Command;

use wgzero::bench::search_scaling;
use wgzero::config::ConfigFile;
use wgzero::game::TicTacToe;
use wgzero::selfplay::SelfPlayConfig;

#[test]
fn search_scaling_measures_every_thread_count() {
    let points = search_scaling(&TicTacToe, 0.2).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(points.len(), cores);
    // One point per thread count, in order, each a real measurement: a
    // speedup is that count's rate over one thread's, so it must agree
    // with the rates reported (not merely be set).
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p.threads, i + 1);
        assert!(p.simulations_per_second > 1000.0, "{p:?}");
        let ratio = p.simulations_per_second / points[0].simulations_per_second;
        assert!((p.speedup - ratio).abs() < 1e-9, "{p:?} vs {ratio}");
        // No thread count is more than its number of threads faster.
        assert!(
            p.speedup > 0.2 && p.speedup <= (i + 1) as f64 * 1.25,
            "{p:?}"
        );
        assert!(
            p.ceiling_speedup > 0.2 && p.ceiling_speedup <= (i + 1) as f64 * 1.25,
            "{p:?}"
        );
    }
}

#[test]
fn settings_files_round_trip_and_reject_unknown_fields() {
    let file = ConfigFile {
        selfplay: SelfPlayConfig {
            batch: 96,
            leaves_per_game: 4,
            concurrency: 3.0,
            ..SelfPlayConfig::default()
        },
        ..ConfigFile::default()
    };
    let dir = std::env::temp_dir().join(format!("wgzero-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tuned.toml");
    std::fs::write(&path, file.to_toml()).unwrap();
    let back = ConfigFile::load(&path).unwrap();
    assert_eq!(
        (
            back.selfplay.batch,
            back.selfplay.leaves_per_game,
            back.selfplay.concurrency
        ),
        (96, 4, 3.0)
    );
    // partial files take defaults; unknown fields and bad values are errors naming the file
    std::fs::write(&path, "[selfplay]\nbatch = 32\n").unwrap();
    assert_eq!(ConfigFile::load(&path).unwrap().selfplay.leaves_per_game, 8);
    std::fs::write(&path, "[selfplay]\nbatsh = 32\n").unwrap();
    let e = ConfigFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("tuned.toml") && e.contains("batsh"), "{e}");
    std::fs::write(&path, "[selfplay]\nbatch = \"big\"\n").unwrap();
    assert!(ConfigFile::load(&path).is_err());

    // `selfplay --config` uses it, and flags override it
    std::fs::write(
        &path,
        "[selfplay]\nbatch = 16\nleaves_per_game = 2\ngames = 4\nsimulations = 8\n",
    )
    .unwrap();
    let out = dir.join("records");
    let o = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(["selfplay", "--backend", "cpu", "--games", "2", "--config"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("self-play: 2 games"), "{text}");
    assert!(text.contains("target 16"), "{text}");
}
