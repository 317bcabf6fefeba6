//! The card game end to end: determinized search (values per player backed
//! up to the right seats, every determinization's leaves in one batch),
//! self-play batching, the card network's CPU path against burn, the
//! training loop (resume), the agent protocol (scripted, malformed input).

use std::io::Write;
use std::process::{Command, Stdio};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgzero::cards::agent::{answer, decide, view_state};
use wgzero::cards::search::{LeafEval, PimcConfig, PimcSearch};
use wgzero::cards::selfplay::{self, CardSelfPlayConfig};
use wgzero::cards::trace::trace;
use wgzero::cards::{Actor, ImperfectGame, OhHell, OhHellConfig};
use wgzero::error::Result;
use wgzero::eval::{Batch, Evaluator, Uniform};
use wgzero::net::cards::{CardNetConfig, CardNetwork};
use wgzero::net::{select, BackendChoice};

fn dealt(g: &OhHell, seed: u64) -> <OhHell as ImperfectGame>::State {
    let mut s = g.initial();
    g.resolve_chance(&mut s, &mut ChaCha8Rng::seed_from_u64(seed));
    s
}

/// Uniform priors and values computed from the packed state:
/// `values(words, row)` fills the leaf's values (seats counted from its
/// player to move).
struct ValuesFrom<F> {
    values: F,
    inner: Uniform,
}

impl<F: FnMut(&[u32], &mut [f32]) + Send> ValuesFrom<F> {
    fn new(values: F) -> Self {
        ValuesFrom {
            values,
            inner: Uniform::new(),
        }
    }
}

impl<F: FnMut(&[u32], &mut [f32]) + Send> Evaluator for ValuesFrom<F> {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.inner.submit(batch)
    }
    fn collect(&mut self) -> Result<Batch> {
        let mut b = self.inner.collect()?;
        let k = b.values();
        for i in 0..b.len() {
            let words = b.state(i).to_vec();
            (self.values)(&words, &mut b.value[i * k..(i + 1) * k]);
        }
        Ok(b)
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
}

/// Values that name the seat: absolute player q gets 0.1 q (read from the
/// observer's seat in the packed words).
fn seat_values(words: &[u32], row: &mut [f32]) {
    let me = (words[0] & 7) as usize;
    let players = row.len();
    for (seat, v) in row.iter_mut().enumerate() {
        *v = 0.1 * ((me + seat) % players) as f32;
    }
}

/// Each edge adds the value of the player who chose it, or with the
/// competitive objective (`margin`) that player's lead over the others.
#[test]
fn values_are_backed_up_to_the_player_who_chose() {
    let g = OhHell::default();
    for margin in [false, true] {
        for seed in 0..5 {
            let s = dealt(&g, seed);
            let Actor::Player(me) = g.actor(&s) else {
                panic!("bidding starts after the deal")
            };
            let cfg = PimcConfig {
                determinizations: 4,
                simulations: 65,
                margin,
                ..PimcConfig::default()
            };
            let mut search = PimcSearch::new(g.clone(), cfg, seed).unwrap();
            let mut eval = ValuesFrom::new(seat_values);
            let r = decide(&mut search, Some(&mut eval), &g, &s, 16).unwrap();
            // Seat q is worth 0.1 q; the lead is that minus the others' mean.
            let others: f32 = (0..3u8).filter(|&q| q != me).map(|q| 0.1 * q as f32).sum();
            let want = if margin {
                0.1 * me as f32 - others / 2.0
            } else {
                0.1 * me as f32
            };
            assert!(
                (r.value - want).abs() < 1e-4,
                "value {} for player {me}, want {want} (margin {margin})",
                r.value
            );
            assert_eq!(r.simulations, 64);
            let mut legal = Vec::new();
            g.legal_actions(&s, &mut legal);
            assert!(legal.contains(&r.action));
            // One evaluation per simulation, each tree's root the first:
            // within the budget of 65 evaluations.
            assert_eq!(search.stats().requests, 64);
            assert_eq!(r.visits.iter().sum::<u32>(), 64 - 4);
        }
    }
}

#[test]
fn one_gather_takes_leaves_from_every_determinization() {
    let g = OhHell::default();
    let s = dealt(&g, 7);
    let cfg = PimcConfig {
        determinizations: 8,
        simulations: 200,
        ..PimcConfig::default()
    };
    let mut search = PimcSearch::new(g.clone(), cfg, 1).unwrap();
    search.begin(&s).unwrap();
    let mut batch = Batch::with_values(g.info_words(), g.num_actions(), 3, 64);
    assert_eq!(search.gather(&mut batch, 16), 8, "each deal's root first");
    // The roots: the same view (my hand) in 8 deals (the other hands).
    let view = 3 + g.num_cards().div_ceil(8) + 5;
    let deals: std::collections::HashSet<Vec<u32>> =
        (0..8).map(|i| batch.state(i)[view..].to_vec()).collect();
    assert!(
        deals.len() >= 6,
        "{} distinct deals at the roots",
        deals.len()
    );
    assert!((0..8).all(|i| batch.state(i)[..view] == batch.state(0)[..view]));
    let mut eval = Uniform::new();
    let b = eval.evaluate(batch).unwrap();
    search.absorb(&b).unwrap();
    let mut batch = Batch::with_values(g.info_words(), g.num_actions(), 3, 64);
    batch.id = 1;
    assert_eq!(search.gather(&mut batch, 16), 16);
    // The leaves are the next bidder's information in 8 different deals:
    // their hands differ.
    let hands: std::collections::HashSet<(u32, u32)> = (0..16)
        .map(|i| (batch.state(i)[1], batch.state(i)[2]))
        .collect();
    assert!(
        hands.len() >= 4,
        "{} distinct hands among the leaves",
        hands.len()
    );
}

#[test]
fn rollout_search_is_reproducible_and_legal() {
    let g = OhHell::default();
    let s = dealt(&g, 3);
    let cfg = PimcConfig {
        leaf: LeafEval::Rollout,
        simulations: 400,
        c_explore: 0.7,
        ..PimcConfig::default()
    };
    let run = |seed| {
        let mut search = PimcSearch::new(g.clone(), cfg.clone(), seed).unwrap();
        decide(&mut search, None, &g, &s, 8).unwrap()
    };
    let (a, b) = (run(5), run(5));
    assert_eq!(a, b);
    assert_eq!(a.simulations, 400);
    assert_eq!(a.visits.iter().sum::<u32>(), 400);
}

/// Card self-play with the uniform evaluator: its report and every hand.
fn play_hands(
    g: &OhHell,
    cfg: &CardSelfPlayConfig,
) -> (selfplay::CardSelfPlayReport, Vec<selfplay::HandRecord>) {
    let mut hands = Vec::new();
    let report = selfplay::run(
        g,
        cfg,
        &mut Uniform::new(),
        &mut |h| {
            hands.push(h);
            Ok(())
        },
        &|| false,
    )
    .unwrap();
    (report, hands)
}

#[test]
fn selfplay_fills_its_batches_and_records_replay() {
    let g = OhHell::default();
    let cfg = CardSelfPlayConfig {
        hands: 60,
        batch: 64,
        leaves_per_search: 8,
        search: PimcConfig {
            determinizations: 8,
            simulations: 48,
            ..PimcConfig::default()
        },
        ..CardSelfPlayConfig::default()
    };
    let (report, hands) = play_hands(&g, &cfg);
    assert_eq!(report.hands, 60);
    assert_eq!(hands.len(), 60);
    assert!(report.batch_fill > 0.8, "mean batch {}", report.mean_batch);
    for h in &hands {
        let (t, r) = trace(&g, &h.actions);
        r.unwrap();
        assert_eq!(t.returns, h.returns);
        // Each decision's information state is the decider's view then.
        for d in &h.decisions {
            let mut s = g.initial();
            for &a in &h.actions[..d.at] {
                g.apply(&mut s, a);
            }
            assert_eq!(g.actor(&s), Actor::Player(d.player));
            let mut w = vec![0; g.info_words()];
            g.pack_info(&s, d.player, &mut w);
            assert_eq!(w, d.info);
            let total: f32 = d.policy.iter().map(|p| p.1).sum();
            assert!((total - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn league_hands_record_only_the_searched_seat() {
    let g = OhHell::default();
    let cfg = CardSelfPlayConfig {
        hands: 40,
        batch: 32,
        leaves_per_search: 4,
        search: PimcConfig {
            determinizations: 4,
            simulations: 16,
            ..PimcConfig::default()
        },
        league: 0.5,
        opponent: PimcConfig {
            determinizations: 2,
            simulations: 40,
            ..PimcConfig::rollouts()
        },
        ..CardSelfPlayConfig::default()
    };
    let (report, hands) = play_hands(&g, &cfg);
    assert_eq!(hands.len(), 40);
    let league: Vec<_> = hands.iter().filter(|h| h.opponents != 0).collect();
    assert!(
        !league.is_empty() && league.len() < 40,
        "{} league hands",
        league.len()
    );
    assert_eq!(report.league_hands, league.len());
    let mut leads = 0.0;
    for h in &hands {
        trace(&g, &h.actions).1.unwrap();
        if h.opponents == 0 {
            // Plain self-play: every seat searched and recorded.
            for p in 0..3u8 {
                assert!(h.decisions.iter().any(|d| d.player == p));
            }
            continue;
        }
        assert_eq!(h.opponents.count_ones(), 2, "all seats but one");
        let me = (0..3).find(|p| h.opponents >> p & 1 == 0).unwrap();
        assert!(h.decisions.iter().any(|d| d.player as usize == me));
        assert!(h.decisions.iter().all(|d| d.player as usize == me));
        let others: f32 = h.returns.iter().sum::<f32>() - h.returns[me];
        leads += (h.returns[me] - others / 2.0) as f64;
    }
    assert!((report.league_lead - leads / league.len() as f64).abs() < 1e-4);
    assert!(report.league_lead_se > 0.0);
    // The opponents' search must not need the network.
    let bad = CardSelfPlayConfig {
        opponent: PimcConfig::default(),
        ..cfg
    };
    let err = selfplay::run(&g, &bad, &mut Uniform::new(), &mut |_| Ok(()), &|| false);
    assert!(err.unwrap_err().to_string().contains("rollouts"));
}

#[test]
fn the_cpu_path_matches_burn() {
    for rules in [
        "",
        "players=4,num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1",
    ] {
        let g = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
        let selected = select(BackendChoice::Cpu).unwrap();
        let mut cfg = CardNetConfig::for_game(&g);
        cfg.hidden = 64;
        cfg.blocks = 2;
        let net = CardNetwork::random(g.clone(), cfg, selected.device.clone(), true, 3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut words = Vec::new();
        let mut w = vec![0; g.info_words()];
        for i in 0..37 {
            let mut s = dealt(&g, i);
            let mut legal = Vec::new();
            for _ in 0..(i % 9) {
                if let Actor::Player(_) = g.actor(&s) {
                    g.legal_actions(&s, &mut legal);
                    g.apply(
                        &mut s,
                        legal[rand::Rng::random_range(&mut rng, 0..legal.len())],
                    );
                }
            }
            if let Actor::Player(p) = g.actor(&s) {
                g.pack_info(&s, p, &mut w);
                words.extend_from_slice(&w);
            }
        }
        let n = words.len() / g.info_words();
        let (l1, v1) = net.forward(&words).unwrap();
        let (l2, v2) = net.forward_burn(net.features(&words), n).unwrap();
        let diff = l1
            .iter()
            .zip(&l2)
            .chain(v1.iter().zip(&v2))
            .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{rules}: CPU path differs from burn by {diff}");
        assert_eq!(v1.len(), n * g.num_players());
    }
}

#[test]
fn the_agent_answers_and_refuses_nonsense() {
    let g = OhHell::default();
    let cfg = PimcConfig {
        leaf: LeafEval::Rollout,
        simulations: 64,
        ..PimcConfig::default()
    };
    let mut search = PimcSearch::new(g.clone(), cfg, 1).unwrap();
    // A dealt hand seen by the first bidder: the others' cards hidden.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let actions = wgzero::cards::trace::random_hand(&g, &mut rng);
    let dealer = actions[1] as usize;
    let bidder = (dealer + 1) % 3;
    let mut history: Vec<i64> = actions[..2 + 15 + 1].iter().map(|&a| a as i64).collect();
    for k in 0..15 {
        if k % 3 != bidder {
            history[2 + k] = -1;
        }
    }
    let line = serde_json::json!({ "history": history, "player": bidder }).to_string();
    let r = answer(&g, &mut search, None, 8, &line).unwrap();
    assert!(r.action >= 16, "a bid: {}", r.text);
    // The view keeps the bidder's cards and hides nothing it may see.
    let s = view_state(&g, &history, Some(bidder as u8)).unwrap();
    let mut true_state = g.initial();
    for &a in &actions[..18] {
        g.apply(&mut true_state, a);
    }
    assert_eq!(s.hand(bidder), true_state.hand(bidder));
    let bad = [
        "not json".to_string(),
        "{}".into(),
        serde_json::json!({ "history": [5, 0, 1, 1] }).to_string(),
        serde_json::json!({ "history": history, "player": (bidder + 1) % 3 }).to_string(),
        serde_json::json!({ "history": [5, 9] }).to_string(),
        serde_json::json!({ "history": [99] }).to_string(),
        serde_json::json!({ "history": [5, 0] }).to_string(),
        serde_json::json!({ "history": history, "params": "players=4" }).to_string(),
        serde_json::json!({ "history": [5, 0, -7] }).to_string(),
    ];
    for b in &bad {
        assert!(answer(&g, &mut search, None, 8, b).is_err(), "accepted {b}");
    }
}

#[test]
fn the_agent_command_speaks_json_lines() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args(["agent", "--simulations", "64"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let g = OhHell::default();
    let actions = wgzero::cards::trace::random_hand(&g, &mut rng);
    let history: Vec<usize> = actions[..18].to_vec();
    let good = serde_json::json!({ "history": history }).to_string();
    {
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "{good}").unwrap();
        writeln!(stdin, "{{\"history\": [1, 2").unwrap();
        writeln!(stdin, "{good}").unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0]["action"].as_u64().is_some());
    assert!(lines[1]["error"].as_str().is_some());
    assert_eq!(lines[0]["action"], lines[2]["action"]);
}

#[test]
fn training_runs_and_resumes() {
    let dir = std::env::temp_dir().join(format!("wgzero-cards-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let g = OhHell::default();
    let selected = select(BackendChoice::Cpu).unwrap();
    let mut settings = wgzero::train::cards::CardTrainSettings {
        hands_per_iteration: 12,
        steps_per_iteration: 4,
        batch_size: 32,
        hidden: 32,
        blocks: 1,
        bootstrap_iterations: 1,
        bootstrap_simulations: 64,
        ..Default::default()
    };
    settings.selfplay.batch = 32;
    settings.selfplay.search.simulations = 16;
    settings.selfplay.search.determinizations = 4;
    settings.selfplay.leaves_per_search = 4;
    let rules = g.config().openspiel_params_with_blob();
    let go = |iterations| {
        wgzero::train::cards::run(
            &g,
            &rules,
            &dir,
            &settings,
            true,
            iterations,
            &selected,
            &|| false,
            &mut |_| {},
        )
    };
    let st = go(1).unwrap();
    assert_eq!(st.iterations, 1);
    let st = go(2).unwrap();
    assert_eq!((st.iterations, st.steps), (2, 8));
    assert!(dir.join("games/iter-0002.jsonl").exists());
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    // Other settings on the same run are refused.
    settings.hands_per_iteration = 13;
    assert!(wgzero::train::cards::run(
        &g,
        &rules,
        &dir,
        &settings,
        true,
        3,
        &selected,
        &|| false,
        &mut |_| {}
    )
    .is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_wgsl_encoding_matches_the_cpu_reference() {
    let selected = match select(BackendChoice::Gpu) {
        Ok(s) if s.is_wgpu => s,
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                Ok(s) => s.report.reason,
            };
            if std::env::var("WGZERO_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("WGZERO_REQUIRE_GPU=1 but no wgpu adapter: {why}");
            }
            println!(
                "SKIPPED the_wgsl_encoding_matches_the_cpu_reference: no wgpu adapter ({why})"
            );
            return;
        }
    };
    for rules in [
        "",
        "num_suits=4,num_cards_per_suit=6,num_tricks_fixed=5",
        "players=7,num_suits=4,num_cards_per_suit=13,num_tricks_fixed=-1",
        "players=5,num_suits=3,num_cards_per_suit=13,num_tricks_fixed=-1",
    ] {
        let g = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut words = Vec::new();
        let mut w = vec![0; g.info_words()];
        // Every decision of 12 random hands, from every seat's view.
        for _ in 0..40 {
            let actions = wgzero::cards::trace::random_hand(&g, &mut rng);
            let mut s = g.initial();
            for &a in &actions {
                if let Actor::Player(_) = g.actor(&s) {
                    for seat in 0..g.num_players() as u8 {
                        g.pack_info(&s, seat, &mut w);
                        words.extend_from_slice(&w);
                    }
                }
                g.apply(&mut s, a);
            }
        }
        let n = words.len() / g.info_words();
        let x = wgzero::net::encode::encode_info_wgpu(&g, &words, &selected.device).unwrap();
        assert_eq!(x.dims(), [n, g.info_len()]);
        let gpu: Vec<f32> = x.into_data().try_into_vec::<f32>().unwrap();
        let mut cpu = vec![0.0; n * g.info_len()];
        for (row, s) in cpu
            .chunks_exact_mut(g.info_len())
            .zip(words.chunks_exact(g.info_words()))
        {
            g.encode_info(s, row);
        }
        let bad = gpu.iter().zip(&cpu).filter(|(a, b)| a != b).count();
        assert_eq!(bad, 0, "{rules}: {bad} of {} features differ", cpu.len());
        // And the network on wgpu agrees with its CPU path.
        let mut cfg = CardNetConfig::for_game(&g);
        cfg.hidden = 32;
        cfg.blocks = 1;
        let gpu_net =
            CardNetwork::random(g.clone(), cfg.clone(), selected.device.clone(), false, 5).unwrap();
        let bytes = gpu_net.weights_bytes().unwrap();
        let json = serde_json::to_string(&cfg).unwrap();
        let cpu_dev = select(BackendChoice::Cpu).unwrap().device;
        let cpu_net = CardNetwork::from_parts(g.clone(), &json, bytes, cpu_dev, true).unwrap();
        let k = n.min(64) * g.info_words();
        let (l1, v1) = gpu_net.forward(&words[..k]).unwrap();
        let (l2, v2) = cpu_net.forward(&words[..k]).unwrap();
        let diff = l1
            .iter()
            .zip(&l2)
            .chain(v1.iter().zip(&v2))
            .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-3, "{rules}: wgpu and CPU differ by {diff}");
    }
}

#[test]
fn play_in_the_terminal_answers_bad_input_and_quits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args([
            "play", "--game", "ohhell", "--seat", "1", "--sims", "40", "--seed", "3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let stdin = child.stdin.as_mut().unwrap();
        for line in ["xyz", "help", "99", "bid 99", "SA", "é", "quit"] {
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("You are player 1"), "{text}");
    assert!(
        text.contains("player 1 (you)"),
        "hidden cards shown to the wrong seat: {text}"
    );
    assert!(text.contains("cannot read bid"), "{text}");
    assert!(text.contains("there are only 5 tricks"), "{text}");
}

#[test]
fn selfplay_command_writes_hands() {
    let dir = std::env::temp_dir().join(format!("wgzero-cards-sp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(env!("CARGO_BIN_EXE_wgzero"))
        .args([
            "selfplay",
            "--game",
            "ohhell",
            "--games",
            "12",
            "--sims",
            "24",
            "--batch",
            "32",
            "--backend",
            "cpu",
            "--out",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(dir.join("hands.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 12);

    // League hands from a settings file (the model's seat against the
    // rollout search), and a settings file that is not one.
    let cfg = dir.join("league.json");
    std::fs::write(
        &cfg,
        r#"{"hands": 9, "batch": 32, "league": 1.0, "sampled_decisions": 0,
            "search": {"determinizations": 4, "simulations": 24},
            "opponent": {"leaf": "rollout", "determinizations": 2, "simulations": 40}}"#,
    )
    .unwrap();
    let run = |config: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_wgzero"))
            .args([
                "selfplay",
                "--game",
                "ohhell",
                "--backend",
                "cpu",
                "--config",
            ])
            .arg(config)
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let out = run(&cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("league: 9 hands"), "{stdout}");
    let text = std::fs::read_to_string(dir.join("hands.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 9);
    for line in text.lines() {
        let h: selfplay::HandRecord = serde_json::from_str(line).unwrap();
        assert_eq!(h.opponents.count_ones(), 2);
    }
    std::fs::write(&cfg, r#"{"league": 2.0}"#).unwrap();
    let out = run(&cfg);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("league must be in [0, 1]"), "{stderr}");
    std::fs::write(&cfg, "hands = 3").unwrap();
    let out = run(&cfg);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The network's outputs for the first bid of a deal: `actions` logits and
/// 3 values, all finite.
fn first_bid_outputs_are_finite(g: &OhHell, net: &CardNetwork<OhHell>, actions: usize) {
    let s = dealt(g, 1);
    let Actor::Player(p) = g.actor(&s) else {
        panic!()
    };
    let mut w = vec![0; g.info_words()];
    g.pack_info(&s, p, &mut w);
    let (logits, values) = net.forward(&w).unwrap();
    assert_eq!((logits.len(), values.len()), (actions, 3));
    assert!(logits.iter().chain(&values).all(|x| x.is_finite()));
}

#[test]
fn the_shipped_network_loads_for_the_default_rules_only() {
    let (json, bytes) = wgzero::models::shipped("ohhell").expect("a shipped Oh Hell network");
    let device = select(BackendChoice::Cpu).unwrap().device;
    let g = OhHell::default();
    let net =
        CardNetwork::from_parts(g.clone(), json, bytes.to_vec(), device.clone(), true).unwrap();
    first_bid_outputs_are_finite(&g, &net, 22);
    for rules in [
        "players=4,num_tricks_fixed=3",
        "points_per_trick=2",
        "blob=true",
    ] {
        let other = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
        let e = CardNetwork::from_parts(other, json, bytes.to_vec(), device.clone(), true);
        assert!(e.is_err(), "{rules}");
    }
}

/// The 24-card network (`models/ohhell-24`) loads for its rules, and only
/// for them.
#[test]
fn the_24_card_network_loads_for_its_rules_only() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ohhell-24");
    let device = select(BackendChoice::Cpu).unwrap().device;
    let rules = "num_suits=4,num_cards_per_suit=6,num_tricks_fixed=5";
    let g = OhHell::new(OhHellConfig::parse(rules).unwrap()).unwrap();
    let net = CardNetwork::load(g.clone(), &dir, device.clone(), true).unwrap();
    first_bid_outputs_are_finite(&g, &net, 32);
    for other in ["", "num_suits=4,num_cards_per_suit=6,num_tricks_fixed=7"] {
        let other = OhHell::new(OhHellConfig::parse(other).unwrap()).unwrap();
        assert!(CardNetwork::load(other, &dir, device.clone(), true).is_err());
    }
}

#[test]
fn root_noise_changes_the_priors_not_the_budget() {
    let g = OhHell::default();
    let s = dealt(&g, 12);
    let cfg = PimcConfig {
        determinizations: 4,
        simulations: 41,
        dirichlet_epsilon: 0.5,
        ..PimcConfig::default()
    };
    let mut search = PimcSearch::new(g.clone(), cfg.clone(), 3).unwrap();
    let r = decide(&mut search, Some(&mut Uniform::new()), &g, &s, 8).unwrap();
    assert_eq!(search.stats().requests, 40);
    assert_eq!(r.simulations, 40);
    // Uniform priors plus noise: the visits are no longer uniform.
    let visited: Vec<u32> = r.visits.iter().copied().filter(|&v| v > 0).collect();
    assert!(visited.iter().max() != visited.iter().min(), "{visited:?}");
    for bad in [-0.1, 1.5, f32::NAN] {
        let c = PimcConfig {
            dirichlet_epsilon: bad,
            ..cfg.clone()
        };
        assert!(PimcSearch::new(g.clone(), c, 1).is_err());
    }
}

/// Policy-based inference: an evaluator whose policy says the first bidder
/// bids as they did only when they hold card `x` (probability 0 otherwise)
/// makes the search look only at deals where they hold it; without
/// inference about half the deals have it there.
struct Telling {
    target: usize,
    x: usize,
    /// Of each root evaluated (the dealer's bid in a searched deal): does
    /// the target hold `x` in that deal?
    roots: std::sync::Arc<std::sync::Mutex<Vec<bool>>>,
    dealer: usize,
    inner: Uniform,
}

impl Evaluator for Telling {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        self.inner.submit(batch)
    }
    fn collect(&mut self) -> Result<Batch> {
        let mut b = self.inner.collect()?;
        let actions = b.policy.len() / b.len().max(1);
        for i in 0..b.len() {
            let w = b.state(i).to_vec();
            let (seat, bidding) = ((w[0] & 7) as usize, w[0] >> 11 & 1 == 0);
            let hand = w[1] as u64 | (w[2] as u64) << 32;
            if bidding && seat == self.target && hand >> self.x & 1 == 0 {
                b.policy[i * actions..(i + 1) * actions].fill(0.0);
            }
            if bidding && seat == self.dealer {
                let nibble = w[10 + self.x / 8] >> (4 * (self.x % 8)) & 15;
                let rel = (self.target + 3 - self.dealer) % 3;
                self.roots.lock().unwrap().push(nibble as usize == rel);
            }
        }
        Ok(b)
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }
}

#[test]
fn policy_based_inference_searches_the_deals_the_bids_make_likely() {
    let g = OhHell::default();
    let (mut with, mut without) = (0, 0);
    for seed in 0..5 {
        let mut s = dealt(&g, seed);
        let mut legal = Vec::new();
        for _ in 0..2 {
            g.legal_actions(&s, &mut legal);
            g.play(&mut s, legal[1]).unwrap();
        }
        let Actor::Player(me) = g.actor(&s) else {
            panic!("the dealer bids")
        };
        let target = (me as usize + 1) % 3;
        let unseen = g.deck_mask() & !s.hand(me as usize) & !(1u64 << s.trump().unwrap());
        let x = unseen.trailing_zeros() as usize;
        for infer_deals in [0, 64] {
            let cfg = PimcConfig {
                determinizations: 8,
                simulations: 200,
                infer_deals,
                ..PimcConfig::default()
            };
            let mut search = PimcSearch::new(g.clone(), cfg, seed).unwrap();
            let roots = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut eval = Telling {
                target,
                x,
                roots: roots.clone(),
                dealer: me as usize,
                inner: Uniform::new(),
            };
            let r = decide(&mut search, Some(&mut eval), &g, &s, 32).unwrap();
            g.legal_actions(&s, &mut legal);
            assert!(legal.contains(&r.action));
            let st = search.stats();
            // Both opponents' bids in each candidate; all within the budget.
            assert_eq!(st.inference_requests, 2 * infer_deals as u64);
            assert!(st.inference_requests + st.requests <= 200, "{st:?}");
            let roots = roots.lock().unwrap();
            assert_eq!(roots.len(), 8);
            let held = roots.iter().filter(|&&h| h).count();
            if infer_deals > 0 {
                with += held;
            } else {
                without += held;
            }
        }
    }
    assert_eq!(with, 40, "every searched deal gives x to the first bidder");
    assert!(
        (8..=32).contains(&without),
        "{without} of 40 without inference"
    );
}

/// One simulation a deal evaluates the roots only: the decision then goes
/// by the roots' priors, and is legal. Inference never leaves the trees
/// less than two simulations each.
#[test]
fn a_search_without_root_visits_still_decides_a_legal_action() {
    let g = OhHell::default();
    let mut legal = Vec::new();
    for seed in 0..6 {
        let mut s = dealt(&g, seed);
        // A bid, then (after the bidding) a card.
        for phase in 0..2 {
            if phase == 1 {
                while g.actor(&s) != Actor::Terminal {
                    g.legal_actions(&s, &mut legal);
                    if legal[0] < g.num_cards() {
                        break;
                    }
                    g.play(&mut s, legal[0]).unwrap();
                }
            }
            g.legal_actions(&s, &mut legal);
            for (simulations, infer_deals) in [(8, 0), (200, 96)] {
                let cfg = PimcConfig {
                    determinizations: 8,
                    simulations,
                    infer_deals,
                    ..PimcConfig::default()
                };
                let mut search = PimcSearch::new(g.clone(), cfg, seed).unwrap();
                let r = decide(&mut search, Some(&mut Uniform::new()), &g, &s, 32).unwrap();
                assert!(legal.contains(&r.action), "{} not legal", r.action);
                let total: f32 = r.policy.iter().sum();
                assert!((total - 1.0).abs() < 1e-4);
                assert!(legal.iter().all(|&a| r.policy[a] > 0.0));
                if infer_deals > 0 {
                    // 2 x 96 + 2 x 8 > 200: plain determinization instead.
                    assert_eq!(search.stats().inference_requests, 0);
                    assert!(r.simulations >= 192, "{}", r.simulations);
                }
            }
        }
    }
}

/// A state where the player to move plays last to a trick (not the last
/// trick) and can both win and lose it: the state and the winning cards.
fn last_to_a_trick(g: &OhHell) -> (<OhHell as ImperfectGame>::State, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut legal = Vec::new();
    for _ in 0..1000 {
        let mut s = g.initial();
        g.resolve_chance(&mut s, &mut rng);
        let mut plays = 0;
        while let Actor::Player(me) = g.actor(&s) {
            g.legal_actions(&s, &mut legal);
            let card_phase = legal.iter().all(|&a| a < g.num_cards());
            if card_phase && plays % 3 == 2 && plays < 9 && legal.len() > 1 {
                let winners: Vec<usize> = legal
                    .iter()
                    .copied()
                    .filter(|&a| {
                        let mut t = s.clone();
                        g.apply(&mut t, a);
                        g.actor(&t) == Actor::Player(me)
                    })
                    .collect();
                if !winners.is_empty() && winners.len() < legal.len() {
                    return (s, winners);
                }
            }
            if card_phase {
                plays += 1;
            }
            let a = legal[rand::Rng::random_range(&mut rng, 0..legal.len())];
            g.apply(&mut s, a);
        }
    }
    panic!("no such state in 1000 hands")
}

/// Gumbel's completed-Q improvement: with every value equal the policy is
/// the network's prior (not the noise mixed into it); with values that
/// favour winning the trick it moves to the winning cards, more than the
/// visits do.
#[test]
fn completed_q_improves_the_prior_by_the_values() {
    let g = OhHell::default();
    let s = dealt(&g, 4);
    let cfg = PimcConfig {
        determinizations: 4,
        simulations: 40,
        dirichlet_epsilon: 0.5,
        completed_q: 0.1,
        ..PimcConfig::default()
    };
    let mut search = PimcSearch::new(g.clone(), cfg.clone(), 3).unwrap();
    let r = decide(&mut search, Some(&mut Uniform::new()), &g, &s, 8).unwrap();
    let mut legal = Vec::new();
    g.legal_actions(&s, &mut legal);
    for a in 0..g.num_actions() {
        let want = if legal.contains(&a) {
            1.0 / legal.len() as f32
        } else {
            0.0
        };
        assert!((r.policy[a] - want).abs() < 1e-5, "{:?}", r.policy);
    }
    assert!(legal.contains(&r.action));

    let (s, winners) = last_to_a_trick(&g);
    let won_word = 3 + g.num_cards().div_ceil(8) + 2;
    let run = |completed_q: f32| {
        let cfg = PimcConfig {
            determinizations: 8,
            simulations: 96,
            completed_q,
            ..PimcConfig::default()
        };
        let mut search = PimcSearch::new(g.clone(), cfg, 9).unwrap();
        // Each seat's value is 0.3 x its tricks won so far.
        let mut eval = ValuesFrom::new(|words: &[u32], row: &mut [f32]| {
            let won = words[won_word];
            for (seat, v) in row.iter_mut().enumerate() {
                *v = 0.3 * ((won >> (8 * seat)) & 0xFF) as f32;
            }
        });
        decide(&mut search, Some(&mut eval), &g, &s, 8).unwrap()
    };
    let mass = |r: &wgzero::cards::search::PimcResult| -> f32 {
        winners.iter().map(|&a| r.policy[a]).sum()
    };
    let (visits, improved) = (run(0.0), run(0.1));
    assert!(winners.contains(&improved.action), "{improved:?}");
    assert!(mass(&improved) > 0.75, "{improved:?}");
    assert!(mass(&improved) > mass(&visits), "{visits:?} {improved:?}");
    let bad = PimcConfig {
        completed_q: -1.0,
        ..PimcConfig::default()
    };
    assert!(PimcSearch::new(g.clone(), bad, 1).is_err());
}

/// The research-only oracle searches the state it is given, hidden cards
/// included: every tree's root is that deal, not a determinization.
#[test]
fn the_oracle_searches_the_true_deal() {
    let g = OhHell::default();
    let s = dealt(&g, 7);
    let Actor::Player(me) = g.actor(&s) else {
        panic!("bidding starts after the deal")
    };
    let mut truth = vec![0u32; g.info_words()];
    g.pack_info(&s, me, &mut truth);
    for oracle in [false, true] {
        let cfg = PimcConfig {
            determinizations: 8,
            simulations: 200,
            oracle,
            ..PimcConfig::default()
        };
        let mut search = PimcSearch::new(g.clone(), cfg, 1).unwrap();
        search.begin(&s).unwrap();
        let mut batch = Batch::with_values(g.info_words(), g.num_actions(), 3, 64);
        assert_eq!(search.gather(&mut batch, 16), 8);
        let true_roots = (0..8).filter(|&i| batch.state(i) == &truth[..]).count();
        if oracle {
            assert_eq!(true_roots, 8);
        } else {
            assert!(true_roots < 8, "determinizations all equal to the truth");
        }
    }
}

/// Oh Hell whose `apply` refuses an illegal action (OhHell's own does not
/// check: a search that played a card a deal's player lacks would go on
/// with a broken state).
#[derive(Clone)]
struct Checked(OhHell);

impl ImperfectGame for Checked {
    type State = <OhHell as ImperfectGame>::State;
    fn name(&self) -> String {
        self.0.name()
    }
    fn num_players(&self) -> usize {
        self.0.num_players()
    }
    fn num_actions(&self) -> usize {
        self.0.num_actions()
    }
    fn initial(&self) -> Self::State {
        self.0.initial()
    }
    fn actor(&self, s: &Self::State) -> Actor {
        self.0.actor(s)
    }
    fn chance_outcomes(&self, s: &Self::State, out: &mut Vec<usize>) {
        self.0.chance_outcomes(s, out)
    }
    fn legal_actions(&self, s: &Self::State, out: &mut Vec<usize>) {
        self.0.legal_actions(s, out)
    }
    fn apply(&self, s: &mut Self::State, a: usize) {
        let mut allowed = Vec::new();
        if self.0.actor(s) == Actor::Chance {
            self.0.chance_outcomes(s, &mut allowed);
        } else {
            self.0.legal_actions(s, &mut allowed);
        }
        assert!(allowed.contains(&a), "action {a} is not legal here");
        self.0.apply(s, a)
    }
    fn returns(&self, s: &Self::State, out: &mut [f32]) -> bool {
        self.0.returns(s, out)
    }
    fn value_scale(&self) -> f32 {
        self.0.value_scale()
    }
    fn info_words(&self) -> usize {
        self.0.info_words()
    }
    fn pack_info(&self, s: &Self::State, player: u8, out: &mut [u32]) {
        self.0.pack_info(s, player, out)
    }
    fn info_len(&self) -> usize {
        self.0.info_len()
    }
    fn encode_info(&self, words: &[u32], out: &mut [f32]) {
        self.0.encode_info(words, out)
    }
    fn determinize<R: rand::Rng + ?Sized>(
        &self,
        s: &Self::State,
        player: u8,
        rng: &mut R,
    ) -> Self::State {
        self.0.determinize(s, player, rng)
    }
    fn format_action(&self, s: &Self::State, a: usize) -> String {
        self.0.format_action(s, a)
    }
    fn parse_action(&self, s: &Self::State, text: &str) -> Result<usize> {
        self.0.parse_action(s, text)
    }
    fn render(&self, s: &Self::State, viewer: Option<u8>) -> String {
        self.0.render(s, viewer)
    }
}

/// Information-set MCTS with one tree: every simulation goes to the one
/// tree, each in its own deal, and plays only the actions legal in that
/// deal (the opponents' cards differ from deal to deal; `Checked` panics
/// otherwise), with the network or with rollouts; reproducible, every
/// root action tried, decisions legal.
#[test]
fn one_tree_plays_only_each_deals_legal_actions() {
    let g = Checked(OhHell::default());
    let mut legal = Vec::new();
    for seed in 0..4 {
        let mut s = dealt(&g.0, seed);
        for phase in 0..2 {
            if phase == 1 {
                // Into the play: bids, then two cards.
                let mut cards = 0;
                while g.actor(&s) != Actor::Terminal && cards < 2 {
                    g.legal_actions(&s, &mut legal);
                    cards += usize::from(legal[0] < g.0.num_cards());
                    g.0.play(&mut s, legal[legal.len() / 2]).unwrap();
                }
            }
            g.legal_actions(&s, &mut legal);
            for leaf in [LeafEval::Network, LeafEval::Rollout] {
                let cfg = PimcConfig {
                    determinizations: 200,
                    simulations: 200,
                    leaf,
                    single_tree: true,
                    ..PimcConfig::default()
                };
                let run = |seed| {
                    let mut search = PimcSearch::new(g.clone(), cfg.clone(), seed).unwrap();
                    let mut uniform = Uniform::new();
                    let eval: Option<&mut dyn Evaluator> = match leaf {
                        LeafEval::Network => Some(&mut uniform),
                        LeafEval::Rollout => None,
                    };
                    decide(&mut search, eval, &g, &s, 8).unwrap()
                };
                let (a, b) = (run(seed), run(seed));
                assert_eq!(a, b);
                assert!(legal.contains(&a.action), "{} not legal", a.action);
                assert_eq!(a.simulations, 200);
                // With a network the root's evaluation is a simulation
                // without a child; rollouts expand the root up front.
                let below = if leaf == LeafEval::Network { 199 } else { 200 };
                assert_eq!(a.visits.iter().sum::<u32>(), below, "{a:?}");
                assert!(legal.iter().all(|&x| a.visits[x] > 0), "{a:?}");
            }
        }
    }
}

/// `wgzero eval --game ohhell`: the shipped network's seat against the
/// rollout search, paired with a second model on the same deals and seats;
/// the JSON line's figures agree with each other; bad opponents and counts
/// get an error, not a panic.
#[test]
fn eval_command_pairs_two_models_on_the_same_deals() {
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wgzero"))
            .args(["eval", "--game", "ohhell", "--backend", "cpu"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[
        "--games",
        "12",
        "--sims",
        "24",
        "--determinizations",
        "4",
        "--against",
        "model:models/ohhell/training/iter-289",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("paired by deal and seat"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for side in ["model", "against"] {
        let s = &json[side];
        assert_eq!(s["hands"], 12, "{json}");
        let (score, others, lead) = (
            s["score"].as_f64().unwrap(),
            s["others"].as_f64().unwrap(),
            s["lead"].as_f64().unwrap(),
        );
        assert!((score - others - lead).abs() < 1e-9, "{json}");
        assert!((0.0..=1.0).contains(&s["exact_bids"].as_f64().unwrap()));
    }
    // Same seed, same deals and seats: every hand pairs.
    assert_eq!(json["difference"]["paired"], 12, "{json}");
    let diff = json["difference"]["lead"].as_f64().unwrap();
    let by_sides =
        json["model"]["lead"].as_f64().unwrap() - json["against"]["lead"].as_f64().unwrap();
    assert!((diff - by_sides).abs() < 1e-9, "{json}");

    for (bad, says) in [
        (&["--against", "gnugo"][..], "rollout"),
        (&["--games", "0"][..], "--games"),
        (&["--positions", "x.txt"][..], "board games"),
    ] {
        let out = run(bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?}");
        assert!(stderr.contains(says), "{bad:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
