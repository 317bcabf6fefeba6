//! `wgzero train` / `eval` / `gen-positions` end to end on a tiny network
//! (CPU backend): resume, SIGKILL at random moments, clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wgzero::game::Connect4;
use wgzero::net::Network;

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");

fn wgzero(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wgzero-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `wgzero train` of the tiny config on the CPU backend, not yet started.
fn train_command(run: &Path, iterations: u32) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgzero"));
    c.args([
        "train",
        "--run",
        run.to_str().unwrap(),
        "--config",
        TINY,
        "--iterations",
        &iterations.to_string(),
        "--backend",
        "cpu",
    ]);
    c
}

fn train(run: &Path, iterations: u32) -> Output {
    train_command(run, iterations)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn metrics_iterations(run: &Path) -> Vec<u64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("every metrics line is JSON");
            v["iteration"].as_u64().unwrap()
        })
        .collect()
}

/// A run's `state.json`.
fn run_state(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("state.json")).unwrap()).unwrap()
}

/// `wgzero train` of the tiny config starting from (or resuming with)
/// `--init-model model`.
fn train_from(run: &Path, iterations: u32, model: &str) -> Output {
    train_command(run, iterations)
        .args(["--init-model", model])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every checkpoint the state names loads, and every game file reads.
fn check_run_loads(run: &Path) {
    let state = run_state(run);
    for key in ["best", "latest"] {
        let dir = run.join(state[key].as_str().unwrap());
        Network::load(Connect4, &dir, burn::tensor::Device::flex(), false)
            .unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
    }
    for e in std::fs::read_dir(run.join("games")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "wgzr") {
            wgzero::selfplay::records::read_records(&p)
                .unwrap_or_else(|e| panic!("{} does not read: {e}", p.display()));
        }
    }
}

/// Resuming a run on the CPU backend loads its optimiser state without
/// starting a wgpu device (burn puts a loaded optimiser state on its default
/// device, which `main` pins to the CPU backend): no Vulkan driver is loaded
/// (the dynamic loader's log lists every library the process opens).
#[cfg(target_os = "linux")]
#[test]
fn resuming_on_the_cpu_backend_starts_no_gpu_device() {
    let run = temp_dir("resume-cpu");
    let o = train(&run, 1);
    assert!(o.status.success(), "{}", text(&o));
    // A run kept without its game files (as models/*/training/run) resumes.
    std::fs::remove_dir_all(run.join("games")).unwrap();
    let o = train_command(&run, 2)
        .env("LD_DEBUG", "files")
        .env_remove("BURN_DEVICE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let log = text(&o);
    assert!(log.contains("file=libc.so"), "the loader's log is missing");
    assert!(log.contains("resuming"), "{log}");
    let gpu: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("file=") && l.contains("vulkan"))
        .collect();
    assert!(gpu.is_empty(), "a CPU run loaded {gpu:?}");
    assert!(run.join("games/iter-000002.wgzr").exists());
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn train_runs_resumes_and_writes_everything() {
    let run = temp_dir("resume");
    let o = train(&run, 2);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "config.toml",
        "state.json",
        "metrics.jsonl",
        "plots/losses.svg",
        "plots/arena.svg",
        "plots/strength.svg",
        "plots/throughput.svg",
        "games/iter-000001.wgzr",
        "games/iter-000002.wgzr",
    ] {
        assert!(run.join(f).exists(), "{f} missing: {}", text(&o));
    }
    assert_eq!(metrics_iterations(&run), vec![1, 2]);
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    for key in [
        "selfplay",
        "train",
        "arena",
        "baselines",
        "peak_rss_mb",
        "promotions",
    ] {
        assert!(line.get(key).is_some(), "metrics lack {key}: {line}");
    }
    assert!(line["selfplay"]["duplicate_share"].as_f64().is_some());
    assert!(line["train"]["policy_loss"].as_f64().unwrap().is_finite());
    // The same command with a higher limit resumes at iteration 3.
    let o = train(&run, 3);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("resuming"), "{}", text(&o));
    assert!(
        text(&o).contains("done at iteration 3 (1 completed by this command)"),
        "{}",
        text(&o)
    );
    assert_eq!(metrics_iterations(&run), vec![1, 2, 3]);
    check_run_loads(&run);
    // The best network plays: eval against random and against itself.
    let run_s = run.to_str().unwrap();
    let o = wgzero(&[
        "eval",
        "--model",
        run_s,
        "--against",
        "random",
        "--games",
        "4",
        "--sims",
        "4",
        "--backend",
        "cpu",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["result"]["games"], 4);
    let o = wgzero(&[
        "eval",
        "--model",
        run_s,
        "--against",
        run_s,
        "--games",
        "2",
        "--sims",
        "2",
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Elo"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn sigkill_at_any_moment_loses_at_most_a_step() {
    // How long a whole run takes here, and how long until its first state
    // is written (start-up), so that kills land inside its steps.
    let reference = temp_dir("sigkill-reference");
    let iterations = 12;
    let t = std::time::Instant::now();
    let mut child = train_command(&reference, iterations as u32)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut startup = None;
    while child.try_wait().unwrap().is_none() {
        if startup.is_none() && reference.join("state.json").exists() {
            startup = Some(t.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let whole = t.elapsed().as_secs_f64();
    let startup = startup.unwrap_or(0.0);
    let _ = std::fs::remove_dir_all(&reference);

    let run = temp_dir("sigkill");
    // The (iteration, next step) each kill interrupted: kills must land
    // inside the run's steps, not only before it starts.
    let mut landed = std::collections::BTreeSet::new();
    for round in 0..60u64 {
        let mut child = train_command(&run, iterations as u32)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a pseudo-random moment (SIGKILL: no cleanup at all):
        // after start-up, within the first 40% of the rest of a whole run,
        // so that most rounds end in a kill a step or a few further on.
        let share = (round as f64 * 0.618_034).fract() * 0.4;
        std::thread::sleep(Duration::from_secs_f64(
            startup + share * (whole - startup).max(0.0),
        ));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            if run.join("state.json").exists() {
                let state = run_state(&run);
                landed.insert((
                    state["iteration"].as_u64().unwrap(),
                    state["next"].as_str().unwrap().to_string(),
                ));
            }
        }
        child.wait().unwrap();
        if run.join("state.json").exists() {
            check_run_loads(&run);
        }
        if metrics_iterations(&run).len() == iterations {
            // Finished: done if the kills landed in at least two different
            // steps; otherwise (a loaded machine shifts the timing) start a
            // fresh run and keep killing.
            let kinds: std::collections::BTreeSet<&str> =
                landed.iter().map(|(_, s)| s.as_str()).collect();
            if landed.len() >= 2 && kinds.len() >= 2 {
                break;
            }
            let _ = std::fs::remove_dir_all(&run);
        }
    }
    let steps: std::collections::BTreeSet<&str> = landed.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        landed.len() >= 2 && steps.len() >= 2,
        "too few kills landed inside the run's steps: {landed:?} (a whole run: {whole:.2} s, start-up {startup:.2} s)"
    );
    let o = train(&run, iterations as u32);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        metrics_iterations(&run),
        (1..=iterations as u64).collect::<Vec<_>>()
    );
    check_run_loads(&run);
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn a_second_trainer_on_a_run_folder_is_refused_until_the_first_ends() {
    let run = temp_dir("lock");
    let mut first = train_command(&run, 1000)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if run.join("state.json").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        run.join("state.json").exists(),
        "the first trainer did not start"
    );
    let o = train(&run, 1000);
    let t = text(&o);
    assert!(!o.status.success(), "a second trainer ran: {t}");
    assert!(t.contains("in use by another trainer"), "{t}");
    assert!(t.contains(&format!("pid {}", first.id())), "{t}");
    // The lock dies with its process, even by SIGKILL: the run resumes.
    first.kill().unwrap();
    first.wait().unwrap();
    let done = metrics_iterations(&run).len() as u32;
    let o = train(&run, done + 1);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn bad_checkpoints_and_mismatches_are_clear_errors() {
    let run = temp_dir("corrupt");
    assert!(train(&run, 1).status.success());
    // Another game on this run folder.
    let o = wgzero(&[
        "train",
        "--game",
        "tictactoe",
        "--run",
        run.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("state.json") && text(&o).contains("connect4"),
        "{}",
        text(&o)
    );
    // Different settings on resume.
    let o = wgzero(&[
        "train",
        "--run",
        run.to_str().unwrap(),
        "--config",
        TINY,
        "--games",
        "9",
        "--iterations",
        "2",
        "--backend",
        "cpu",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("config.toml"), "{}", text(&o));
    // A truncated checkpoint.
    let state = run_state(&run);
    let weights = run
        .join(state["latest"].as_str().unwrap())
        .join("model.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let o = train(&run, 2);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("model.bpk") && !t.contains("panicked"), "{t}");
    // A corrupt state file.
    std::fs::write(run.join("state.json"), "{ not json").unwrap();
    let o = train(&run, 2);
    assert!(!o.status.success());
    assert!(text(&o).contains("state.json"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&run);
}

/// The model config of the network a run's state names as `key` (best or latest).
fn run_net_config(run: &Path, key: &str) -> serde_json::Value {
    let state = run_state(run);
    let cfg = run.join(state[key].as_str().unwrap()).join("config.json");
    serde_json::from_str(&std::fs::read_to_string(cfg).unwrap()).unwrap()
}

/// Blocks of the network a run's state names as `key` (best or latest).
fn run_blocks(run: &Path, key: &str) -> u64 {
    run_net_config(run, key)["blocks"].as_u64().unwrap()
}

/// Value-head channels of the network a run's state names as `key`.
fn run_value_channels(run: &Path, key: &str) -> u64 {
    run_net_config(run, key)["value_channels"]
        .as_u64()
        .unwrap_or(1)
}

#[test]
fn grow_deepens_a_run_which_then_resumes() {
    let run = temp_dir("grow");
    let run_s = run.to_str().unwrap();
    assert!(train(&run, 1).status.success());
    assert_eq!(run_blocks(&run, "latest"), 1, "the tiny config has 1 block");
    // Not deeper than now, or not a run: clear errors, the run untouched.
    for (args, needle) in [
        (
            vec!["grow", "--run", run_s, "--blocks", "1"],
            "already has 1",
        ),
        (
            vec!["grow", "--run", "/nonexistent/wgzero-run", "--blocks", "2"],
            "state.json",
        ),
        (
            vec![
                "grow",
                "--game",
                "tictactoe",
                "--run",
                run_s,
                "--blocks",
                "2",
            ],
            "connect4",
        ),
    ] {
        let o = wgzero(&args);
        assert!(!o.status.success(), "{args:?}");
        let t = text(&o);
        assert!(
            t.contains(needle) && !t.contains("panicked"),
            "{args:?}: {t}"
        );
    }
    assert_eq!(run_blocks(&run, "latest"), 1);
    let o = wgzero(&["grow", "--run", run_s, "--blocks", "3"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("from 1 to 3"), "{}", text(&o));
    assert_eq!(run_blocks(&run, "best"), 3);
    assert_eq!(run_blocks(&run, "latest"), 3);
    check_run_loads(&run);
    // The same train command resumes with the deeper network.
    let o = train(&run, 2);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(metrics_iterations(&run), vec![1, 2]);
    assert_eq!(run_blocks(&run, "latest"), 3);
    check_run_loads(&run);
    // The value head widens the same way, alone; not narrower, not nothing.
    for (args, needle) in [
        (
            vec!["grow", "--run", run_s, "--value-channels", "1"],
            "already has 1 channels",
        ),
        (vec!["grow", "--run", run_s], "--blocks"),
    ] {
        let o = wgzero(&args);
        assert!(!o.status.success(), "{args:?}");
        let t = text(&o);
        assert!(
            t.contains(needle) && !t.contains("panicked"),
            "{args:?}: {t}"
        );
    }
    assert_eq!(run_value_channels(&run, "latest"), 1);
    let o = wgzero(&["grow", "--run", run_s, "--value-channels", "4"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("from 1 to 4 channels"), "{}", text(&o));
    assert_eq!(run_value_channels(&run, "best"), 4);
    assert_eq!(run_value_channels(&run, "latest"), 4);
    assert_eq!(run_blocks(&run, "latest"), 3, "blocks kept");
    let o = train(&run, 3);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(metrics_iterations(&run), vec![1, 2, 3]);
    assert_eq!(run_value_channels(&run, "latest"), 4);
    check_run_loads(&run);
    let _ = std::fs::remove_dir_all(&run);
}

/// `net_value_channels` in `[run]` gives a new run's network a wider value
/// head, which trains, saves and reloads like any other.
#[test]
fn a_new_run_can_have_a_wider_value_head() {
    let run = temp_dir("value-channels");
    let cfg = run.with_extension("toml");
    let tiny = std::fs::read_to_string(TINY).unwrap();
    assert!(
        tiny.trim_end().ends_with("net_channels = 8"),
        "[run] comes last"
    );
    std::fs::write(&cfg, format!("{tiny}net_value_channels = 3\n")).unwrap();
    let o = wgzero(&[
        "train",
        "--run",
        run.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--iterations",
        "1",
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(run_value_channels(&run, "latest"), 3);
    check_run_loads(&run);
    let _ = std::fs::remove_dir_all(&run);
    let _ = std::fs::remove_file(&cfg);
}

/// The `meta.json` of the checkpoint a run's state names as `key`.
fn run_meta(run: &Path, key: &str) -> serde_json::Value {
    let state = run_state(run);
    let meta = run.join(state[key].as_str().unwrap()).join("meta.json");
    serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap()
}

#[test]
fn a_new_run_can_start_from_a_trained_model() {
    let from = temp_dir("init-from");
    assert!(train(&from, 1).status.success());
    let from_id = run_meta(&from, "best")["model_id"].clone();
    let run = temp_dir("init");
    let o = train_from(&run, 1, from.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o));
    let state = run_state(&run);
    assert!(
        state["init_model"]["label"]
            .as_str()
            .is_some_and(|m| m.starts_with(from.to_str().unwrap())),
        "state.json names the model it started from: {state}"
    );
    assert_eq!(state["init_model"]["model_id"], from_id);
    // Its iteration-0 network is the given one, and its first games are that
    // network's own, not rollout games.
    let start: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoints/iter-000000/meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(start["model_id"], from_id);
    let line = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let m: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(m["iteration"], 1);
    assert_eq!(m["selfplay"]["bootstrap_games"], 0, "{m}");
    assert_eq!(m["selfplay"]["games"], 8, "{m}");
    check_run_loads(&run);
    // The same command resumes it, as does one without --init-model; another
    // model is an error.
    let o = train_from(&run, 2, from.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o));
    assert!(train(&run, 3).status.success());
    assert_eq!(metrics_iterations(&run), [1, 2, 3]);
    let o = train_from(&run, 4, "shipped");
    assert!(!o.status.success());
    assert!(text(&o).contains("did not start from"), "{}", text(&o));
    assert_eq!(metrics_iterations(&run), [1, 2, 3]);
    // Bad models are clear errors that leave no run folder behind.
    let fresh = temp_dir("init-bad");
    let fresh_s = fresh.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "--config",
                TINY,
                "--init-model",
                "/nonexistent/wgzero-model",
            ],
            "not a folder",
        ),
        // The tiny config's 1 x 8 network against the shipped 6 x 64 one.
        (
            vec!["--config", TINY, "--init-model", "shipped"],
            "net_blocks",
        ),
        (
            vec![
                "--game",
                "tictactoe",
                "--init-model",
                from.to_str().unwrap(),
            ],
            "connect4",
        ),
        (
            vec!["--game", "tictactoe", "--init-model", "shipped"],
            "no shipped model",
        ),
    ] {
        let mut all = vec![
            "train",
            "--run",
            fresh_s,
            "--backend",
            "cpu",
            "--iterations",
            "1",
        ];
        all.extend(args);
        let o = wgzero(&all);
        let t = text(&o);
        assert!(!o.status.success(), "{all:?}: {t}");
        assert!(
            t.contains(needle) && !t.contains("panicked"),
            "{all:?}: {t}"
        );
        assert!(!fresh.exists(), "{all:?} left a run folder behind");
    }
    let _ = std::fs::remove_dir_all(&run);
    let _ = std::fs::remove_dir_all(&from);
}

#[test]
fn ctrl_c_stops_cleanly_and_the_run_resumes() {
    let run = temp_dir("sigint");
    let child = train_command(&run, 1000)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a first finished iteration, then SIGINT.
    for _ in 0..600 {
        if !metrics_iterations(&run).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("stopped at iteration"), "{}", text(&o));
    check_run_loads(&run);
    let done = metrics_iterations(&run).len() as u32;
    let o = train(&run, done + 1);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(metrics_iterations(&run).len() as u32, done + 1);
    let _ = std::fs::remove_dir_all(&run);
}

#[test]
fn positions_are_generated_and_judged_by_the_solver() {
    let dir = temp_dir("positions");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.txt");
    let o = wgzero(&[
        "gen-positions",
        "--out",
        file.to_str().unwrap(),
        "--count",
        "7",
        "--moves",
        "14-16",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 7);
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_connect4");
    let judge = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            model,
            "--positions",
            file.to_str().unwrap(),
            "--sims",
            "8",
            "--backend",
            "cpu",
            "--json",
        ];
        args.extend_from_slice(extra);
        wgzero(&args)
    };
    let o = judge(&[]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["positions"], 7);
    // The solver's verdict agrees with the file's list of good columns.
    for (r, line) in v["results"].as_array().unwrap().iter().zip(&lines) {
        let good: Vec<u64> = line
            .split_whitespace()
            .nth(2)
            .unwrap()
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect();
        let mv = r["move"].as_u64().unwrap();
        assert_eq!(
            r["correct"].as_bool().unwrap(),
            good.contains(&mv),
            "{line}: {r}"
        );
    }
    // Mirror averaging is on by default; `--symmetries 1` turns it off, and
    // more symmetries than the game has is an error.
    assert_eq!(v["symmetries"], 2);
    let o = judge(&["--symmetries", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    let v1: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v1["positions"].as_u64(), v1["symmetries"].as_u64()),
        (Some(7), Some(1))
    );
    let o = judge(&["--symmetries", "3"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--symmetries"), "{}", text(&o));
    // Bad input: a malformed position names the file and line.
    std::fs::write(&file, "4453\n44x\n").unwrap();
    let o = wgzero(&[
        "eval",
        "--model",
        model,
        "--positions",
        file.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("line 2"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wgzero curve` trains a run from a settings file to an evaluation budget,
/// measures its checkpoints on validation positions, writes the report, and
/// on a second call resumes the (finished) run and reuses the measurements.
#[test]
fn curve_trains_to_a_budget_and_measures_checkpoints() {
    let out = temp_dir("curve");
    let validation = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/connect4/validation/moves-08-14.txt"
    );
    let args = [
        "curve",
        "--out",
        out.to_str().unwrap(),
        "--config",
        TINY,
        "--evaluations",
        "1",
        "--validation",
        validation,
        "--positions",
        "12",
        "--sims",
        "4",
        "--symmetries",
        "1",
        "--points",
        "2",
        "--backend",
        "cpu",
    ];
    let o = wgzero(&args);
    assert!(o.status.success(), "{}", text(&o));
    let run = out.join("runs").join("tiny_train");
    // The first iteration is rollout bootstrap (no network evaluations), so
    // the budget of one evaluation ends the run after the second.
    assert_eq!(metrics_iterations(&run), vec![1, 2]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("curve.json")).unwrap()).unwrap();
    assert_eq!(report["positions"], 12);
    let curve = &report["curves"][0];
    assert_eq!(curve["label"], "tiny_train");
    let points = curve["points"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 2, "{points:?}");
    let last = points.last().unwrap();
    assert_eq!(last["iteration"], 2);
    assert!(last["evaluations"].as_u64().unwrap() >= 1);
    let rate = last["validation"]["error_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate));
    assert_eq!(last["validation"]["positions"], 12);
    for svg in ["curve-evaluations.svg", "curve-time.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(text.contains("tiny_train"), "{svg} names the curve");
    }
    let saved = run.join("validation/iter-000002.json");
    let before = std::fs::read_to_string(&saved).unwrap();
    // Again: nothing to train, the measurements are reused as saved.
    let o = wgzero(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(metrics_iterations(&run), vec![1, 2]);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), before);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("curve.json")).unwrap()).unwrap();
    assert_eq!(again["curves"][0]["points"], curve["points"]);
    // Bad input: a settings file without a budget, a bad reference.
    let o = wgzero(&["curve", "--out", out.to_str().unwrap(), "--config", TINY]);
    assert!(!o.status.success());
    assert!(text(&o).contains("needs a budget"), "{}", text(&o));
    let o = wgzero(&[
        "curve",
        "--out",
        out.to_str().unwrap(),
        "--reference",
        "x=1e6",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("LABEL=EVALUATIONS,HOURS,MODEL"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn checkpoints_are_kept_as_the_retention_settings_say() {
    // Ungated (every network promoted), 2 recent checkpoints and every 3rd.
    let dir = temp_dir("retention");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    let settings = std::fs::read_to_string(TINY)
        .unwrap()
        .replace("arena_games = 4\n", "arena_games = 0\n")
        .replace("promote_threshold = 0.55\n", "")
        .replace(
            "[run]\n",
            "[run]\nkeep_checkpoints = 2\nkeep_checkpoints_every = 3\n",
        );
    std::fs::write(&config, settings).unwrap();
    let run = dir.join("run");
    let o = wgzero(&[
        "train",
        "--run",
        run.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--iterations",
        "7",
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut kept: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    // 0, 3, 6 (every 3rd), 6 and 7 (the 2 most recent besides latest 7 = best).
    assert_eq!(
        kept,
        [
            "iter-000000",
            "iter-000003",
            "iter-000005",
            "iter-000006",
            "iter-000007"
        ],
        "{kept:?}"
    );
    let state = run_state(&run);
    assert_eq!(state["latest"], "checkpoints/iter-000007");
    for k in &kept {
        let has = run
            .join("checkpoints")
            .join(k)
            .join("optimizer.bin")
            .exists();
        assert_eq!(has, k == "iter-000007", "{k}: optimiser state kept = {has}");
    }
    // The run resumes from what is left.
    let o = wgzero(&[
        "train",
        "--run",
        run.to_str().unwrap(),
        "--iterations",
        "8",
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
