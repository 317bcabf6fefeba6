//! The README's example session runs as written, on tiny sizes: each
//! `cargo run --release -- ...` line of its session block is run with the
//! built binary, plus flags that keep it short (a tiny network and one
//! iteration instead of 30 minutes, a few games, the CPU backend).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny_train.toml");

/// The commands of the README's "A short session" block, in order.
fn session_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## A short session")
        .expect("a session section");
    let block = readme[start..].split("```").nth(1).expect("a code block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("sh"))
        .map(str::to_string)
        .collect()
}

/// Flags (with values) that keep a README command short in a test.
fn tiny_flags(subcommand: &str) -> &'static [(&'static str, &'static str)] {
    match subcommand {
        "train" => &[
            ("--config", TINY),
            ("--iterations", "1"),
            ("--backend", "cpu"),
        ],
        "eval" => &[("--games", "2"), ("--sims", "8"), ("--backend", "cpu")],
        "play" => &[("--sims", "8"), ("--backend", "cpu")],
        "bench" => &[("--backend", "cpu")],
        other => panic!("the README's session has a command this test does not know: {other}"),
    }
}

/// `args` with each tiny flag's value put in (replacing the README's value
/// of that flag, or added).
fn with_tiny_flags(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    for (flag, value) in tiny_flags(args[0]) {
        match out.iter().position(|a| a == flag) {
            Some(i) => out[i + 1] = value.to_string(),
            None => out.extend([flag.to_string(), value.to_string()]),
        }
    }
    out
}

fn run(dir: &Path, line: &str) {
    if let Some(path) = line.strip_prefix("ls ") {
        let path = path.split_whitespace().next().unwrap();
        let listed: Vec<_> = std::fs::read_dir(dir.join(path))
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let comment = line.split('#').nth(1).unwrap_or_default();
        for name in comment.split_whitespace() {
            assert!(
                listed.iter().any(|l| l == name),
                "{line}: {name} missing in {listed:?}"
            );
        }
        return;
    }
    let args = line
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("not a cargo run line: {line}"));
    let args: Vec<&str> = args.split_whitespace().collect();
    let output = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(with_tiny_flags(&args))
        .current_dir(dir)
        .stdin(if args[0] == "play" {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                use std::io::Write;
                stdin.write_all(b"4\nquit\n")?;
            }
            child.wait_with_output()
        })
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{line}: {text}");
    assert!(!text.contains("panicked"), "{line}: {text}");
}

#[test]
fn the_readme_session_runs_as_written() {
    let dir: PathBuf = std::env::temp_dir().join(format!("wgzero-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let commands = session_commands();
    assert!(commands.len() >= 5, "{commands:?}");
    for line in &commands {
        run(&dir, line);
    }
    assert!(
        dir.join("wgzero-tuned.toml").exists(),
        "bench wrote its settings"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
