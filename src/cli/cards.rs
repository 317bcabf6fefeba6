//! `--game ohhell` for `selfplay`, `train` and `play`: each command file
//! hands its flags to one function here, which builds the card library's
//! config structs and calls it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{counting_bar, interrupt_flag, GameArgs};
use wgzero::cards::agent::decide;
use wgzero::cards::search::{LeafEval, PimcConfig, PimcSearch};
use wgzero::cards::selfplay::{self, CardSelfPlayConfig};
use wgzero::cards::{Actor, ImperfectGame, OhHell, OhHellConfig};
use wgzero::eval::Evaluator;
use wgzero::files::next_line;
use wgzero::net::cards::{CardNetConfig, CardNetwork};
use wgzero::net::{NetEvaluator, Selected};
use wgzero::train::cards::{self as card_train, CardTrainSettings};

/// The rules `--rules` names.
pub fn game(args: &GameArgs) -> Result<OhHell> {
    let cfg = OhHellConfig::parse(&args.rules).context("--rules")?;
    Ok(OhHell::new(cfg)?)
}

/// A model folder for `game`: a run folder's `latest/`, or the folder itself.
fn model_dir(path: &Path) -> PathBuf {
    let latest = path.join("latest");
    if latest.join("config.json").exists() {
        latest
    } else {
        path.to_path_buf()
    }
}

/// The network evaluator of a card model: a model or run folder, `shipped`
/// (the network in the binary, for the default rules), or random weights
/// with `None`.
pub fn evaluator(
    game: &OhHell,
    model: Option<&Path>,
    selected: &Selected,
    seed: u64,
) -> Result<NetEvaluator> {
    let (g, device, cpu) = (game.clone(), selected.device.clone(), !selected.is_wgpu);
    let eval = match model {
        Some(p) if p == Path::new("shipped") => {
            let (json, bytes) = wgzero::models::shipped("ohhell")
                .context("no Oh Hell network is shipped in this build")?;
            NetEvaluator::spawn_model(move || {
                CardNetwork::from_parts(g, json, bytes.to_vec(), device, cpu)
            })
            .context("the shipped network plays the default rules only (--rules \"\")")?
        }
        Some(p) => {
            let dir = model_dir(p);
            NetEvaluator::spawn_model(move || CardNetwork::load(g, &dir, device, cpu))?
        }
        None => NetEvaluator::spawn_model(move || {
            let cfg = CardNetConfig::for_game(&g);
            CardNetwork::random(g, cfg, device, cpu, seed)
        })?,
    };
    Ok(eval)
}

/// The search for a model (`Network` leaves) or without one (rollouts).
pub fn search_config(
    sims: Option<u32>,
    determinizations: usize,
    c_explore: Option<f32>,
    rollout: bool,
) -> Result<PimcConfig> {
    let leaf = if rollout {
        LeafEval::Rollout
    } else {
        LeafEval::Network
    };
    PimcConfig::with(leaf, determinizations, sims, c_explore).context("search settings")
}

/// Card self-play settings from a JSON file: a `CardSelfPlayConfig`, or a
/// training run's `settings.json` (its `selfplay`).
fn selfplay_settings(path: &Path) -> Result<CardSelfPlayConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not JSON (card self-play takes JSON settings)",
            path.display()
        )
    })?;
    let part = json.get("selfplay").cloned().unwrap_or(json);
    serde_json::from_value(part)
        .with_context(|| format!("{}: card self-play settings", path.display()))
}

/// The league's line: the searched seat against the rollout opponents.
fn league_text(r: &selfplay::CardSelfPlayReport) -> String {
    format!(
        "league: {} hands, the searched seat's lead over the rollout opponents {:+.2} +- {:.2} a hand",
        r.league_hands, r.league_lead, r.league_lead_se
    )
}

/// `wgzero selfplay --game ohhell`.
#[allow(clippy::too_many_arguments)]
pub fn selfplay(
    args: &GameArgs,
    out: &Path,
    hands: Option<usize>,
    sims: Option<u32>,
    batch: Option<usize>,
    leaves: Option<usize>,
    seed: Option<u64>,
    model: Option<&Path>,
    rollout: bool,
    selected: &Selected,
    json: Option<&Path>,
    efficiency: bool,
    league: Option<f64>,
    config: Option<&Path>,
) -> Result<()> {
    let game = game(args)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // From the file (search settings included), else the defaults with
    // --determinizations; the other flags override either.
    let mut cfg = match config {
        Some(path) => selfplay_settings(path)?,
        None => {
            let search = search_config(None, args.determinizations, None, rollout)?;
            CardSelfPlayConfig {
                leaves_per_search: search.determinizations,
                search,
                ..CardSelfPlayConfig::default()
            }
        }
    };
    cfg.search.simulations = sims.unwrap_or(cfg.search.simulations);
    cfg.hands = hands.unwrap_or(cfg.hands);
    cfg.batch = batch.unwrap_or(cfg.batch);
    cfg.leaves_per_search = leaves.unwrap_or(cfg.leaves_per_search);
    cfg.seed = seed.unwrap_or(cfg.seed);
    cfg.league = league.unwrap_or(cfg.league);
    cfg.validate().context("self-play settings")?;
    let mut eval = evaluator(&game, model, selected, cfg.seed)?;
    let path = out.join("hands.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    // A batch of real information states for --efficiency.
    let mut sample = wgzero::eval::Batch::with_values(
        game.info_words(),
        game.num_actions(),
        game.num_players(),
        cfg.batch,
    );
    let bar = counting_bar(cfg.hands, "hands");
    let flag = interrupt_flag();
    let report = selfplay::run(
        &game,
        &cfg,
        &mut eval,
        &mut |h| {
            for d in &h.decisions {
                if sample.len() < cfg.batch {
                    sample.push_with(|w, m| {
                        w.copy_from_slice(&d.info);
                        for &(a, _) in &d.policy {
                            m[a as usize] = 1;
                        }
                    });
                }
            }
            writeln!(
                file,
                "{}",
                serde_json::to_string(&h).expect("records serialise")
            )?;
            bar.inc(1);
            Ok(())
        },
        &|| flag.load(std::sync::atomic::Ordering::SeqCst),
    )?;
    file.flush()?;
    bar.finish_and_clear();
    println!(
        "self-play ({}): {} hands in {:.1} s = {:.0} hands/hour; {} decisions searched",
        game.config().openspiel_params_with_blob(),
        report.hands,
        report.seconds,
        report.hands_per_hour,
        report.decisions
    );
    println!(
        "  {} evaluations in {} batches: mean batch {:.1} of {} ({:.1}%), {:.0} evaluations/s",
        report.evaluations,
        report.batches,
        report.mean_batch,
        cfg.batch,
        100.0 * report.batch_fill,
        report.evaluations_per_second
    );
    println!(
        "  exact bids {:.1}%, mean score {:.2} a hand; peak RSS {:.0} MB; records: {}",
        100.0 * report.exact_bid_rate,
        report.mean_score,
        wgzero::process::peak_rss_mb(),
        path.display()
    );
    if report.league_hands > 0 {
        println!("  {}", league_text(&report));
    }
    let pipeline = if efficiency && report.mean_batch >= 1.0 {
        // The network alone at the mean self-play batch, same evaluator.
        let n = (report.mean_batch.round() as usize)
            .min(sample.len())
            .max(1);
        let mut b = sample.clone();
        b.states.truncate(n * game.info_words());
        b.legal.truncate(n * game.num_actions());
        let rate = wgzero::bench::forward::batch_rate(&mut eval, b, 5.0)?;
        let ratio = report.evaluations_per_second / rate;
        let steady = report.steady_evaluations_per_second / rate;
        println!(
            "  pipeline efficiency: {ratio:.3} = {:.0} self-play evaluations/s (the whole run) / {rate:.0} network evaluations/s at batch {n}",
            report.evaluations_per_second
        );
        println!(
            "  steady state: {steady:.3} = {:.0} evaluations/s over {:.1} s (first hand finished to last hand started) / {rate:.0}",
            report.steady_evaluations_per_second, report.steady_seconds
        );
        serde_json::json!({
            "batch": n,
            "network_evaluations_per_second": rate,
            "efficiency": ratio,
            "steady_efficiency": steady,
        })
    } else {
        serde_json::Value::Null
    };
    if let Some(j) = json {
        let v = serde_json::json!({ "report": report, "config": cfg, "pipeline": pipeline });
        std::fs::write(j, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

/// `wgzero train --game ohhell`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    args: &GameArgs,
    run: &Path,
    iterations: Option<u64>,
    hands: Option<usize>,
    sims: Option<u32>,
    minutes: Option<f64>,
    selected: &Selected,
) -> Result<()> {
    let game = game(args)?;
    let mut given = CardTrainSettings::default();
    given.selfplay.search = search_config(sims, args.determinizations, None, false)?;
    given.selfplay.leaves_per_search = given.selfplay.search.determinizations;
    if let Some(h) = hands {
        given.hands_per_iteration = h;
    }
    let explicit = hands.is_some() || sims.is_some();
    let iterations = iterations.unwrap_or(10) as usize;
    let flag = interrupt_flag();
    let deadline = minutes.map(|m| Instant::now() + std::time::Duration::from_secs_f64(m * 60.0));
    let stop = move || {
        flag.load(std::sync::atomic::Ordering::SeqCst)
            || deadline.is_some_and(|d| Instant::now() >= d)
    };
    eprintln!(
        "training {} ({}) in {}: {} iterations",
        game.name(),
        game.config().openspiel_params_with_blob(),
        run.display(),
        iterations
    );
    let result = card_train::run(
        &game,
        &game.config().openspiel_params_with_blob(),
        run,
        &given,
        explicit,
        iterations,
        selected,
        &stop,
        &mut |it| {
            println!(
                "iteration {}: {} hands ({:.0}/hour, mean batch {:.1}), exact bids {:.1}%, mean score {:.2}; {} examples, policy loss {:.3}, value loss {:.4} (on the new hands before training: {:.3}, {:.4}); {:.0} s",
                it.iteration,
                it.selfplay.hands,
                it.selfplay.hands_per_hour,
                it.selfplay.mean_batch,
                100.0 * it.selfplay.exact_bid_rate,
                it.selfplay.mean_score,
                it.examples,
                it.train.policy_loss,
                it.train.value_loss,
                it.held_out.policy_loss,
                it.held_out.value_loss,
                it.seconds
            );
            if it.selfplay.league_hands > 0 {
                println!("  {}", league_text(&it.selfplay));
            }
        },
    );
    match result {
        Ok(state) => {
            println!(
                "run {}: {} iterations, {} steps",
                run.display(),
                state.iterations,
                state.steps
            );
            Ok(())
        }
        Err(wgzero::Error::Interrupted) => {
            println!("stopped; the same command resumes from the last finished iteration");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// `wgzero play --game ohhell`: a person plays one seat.
pub fn play(
    args: &GameArgs,
    opponent: &str,
    sims: Option<u32>,
    seat: usize,
    seed: u64,
    selected: &Selected,
) -> Result<()> {
    let game = game(args)?;
    if seat >= game.num_players() {
        bail!("--seat must be 0..{}", game.num_players() - 1);
    }
    let (model, rollout): (Option<PathBuf>, bool) = match opponent {
        "mcts" | "rollout" => (None, true),
        o if o.starts_with("model:") => (Some(PathBuf::from(&o[6..])), false),
        o => bail!("--opponent {o:?}: for Oh Hell use `rollout` (determinized search with random rollouts) or `model:PATH`"),
    };
    let cfg = search_config(sims, args.determinizations, None, rollout)?;
    let mut search = PimcSearch::new(game.clone(), cfg, seed)?;
    let mut eval = match &model {
        Some(p) => Some(evaluator(&game, Some(p), selected, seed)?),
        None => None,
    };
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    let mut s = game.initial();
    game.resolve_chance(&mut s, &mut rng);
    println!(
        "Oh Hell ({}). You are player {seat}. Bid a number of tricks; play a card as suit and rank (SQ, h10). `help`, `quit`.\n",
        game.config().openspiel_params_with_blob()
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    loop {
        match game.actor(&s) {
            Actor::Terminal => {
                println!("{}", game.render(&s, None));
                return Ok(());
            }
            Actor::Chance => game.resolve_chance(&mut s, &mut rng),
            Actor::Player(p) if p as usize == seat => {
                println!("{}", game.render(&s, Some(p)));
                let mut legal = Vec::new();
                game.legal_actions(&s, &mut legal);
                let names: Vec<String> = legal.iter().map(|&a| game.format_action(&s, a)).collect();
                print!("your move ({}): ", names.join(", "));
                std::io::stdout().flush()?;
                let line = match next_line(&mut lines)? {
                    None => return Ok(()),
                    Some(Err(e)) => {
                        println!("{e}");
                        continue;
                    }
                    Some(Ok(l)) => l,
                };
                let text = line.trim();
                match text {
                    "quit" | "exit" => return Ok(()),
                    "help" => {
                        println!("bid: a number (0-{}); card: suit (C D S H) and rank (2-9 T J Q K A), e.g. SQ; quit", s.num_tricks());
                        continue;
                    }
                    _ => {}
                }
                match game.parse_action(&s, text) {
                    Ok(a) => game.apply(&mut s, a),
                    Err(e) => println!("{e}"),
                }
            }
            Actor::Player(p) => {
                let r = decide(
                    &mut search,
                    eval.as_mut().map(|e| e as &mut dyn Evaluator),
                    &game,
                    &s,
                    32,
                )?;
                println!("player {p}: {}", game.format_action(&s, r.action));
                game.apply(&mut s, r.action);
            }
        }
    }
}

/// One hand of `eval`: the deal and the searched seat (what two runs pair
/// by), that seat's score and bid made, and the other seats' mean score and
/// share of bids made.
struct EvalHand {
    key: (Vec<usize>, u8),
    score: f64,
    others: f64,
    made: bool,
    others_made: f64,
}

impl EvalHand {
    /// The searched seat's score minus the others' mean.
    fn lead(&self) -> f64 {
        self.score - self.others
    }

    /// A league hand's figures (None for a hand without a searched seat).
    fn of(game: &OhHell, h: &selfplay::HandRecord) -> Option<EvalHand> {
        let players = game.num_players();
        if h.opponents == 0 || h.returns.len() != players {
            return None;
        }
        let me = (0..players).find(|&p| h.opponents >> p & 1 == 0)?;
        let mut s = game.initial();
        let mut deal = 0;
        while deal < h.actions.len() && game.actor(&s) == Actor::Chance {
            game.apply(&mut s, h.actions[deal]);
            deal += 1;
        }
        let made = game.contracts_made(&h.actions);
        let others = players as f64 - 1.0;
        let score = f64::from(h.returns[me]);
        let total: f64 = h.returns.iter().map(|&r| f64::from(r)).sum();
        let made_by_others = (0..players).filter(|&p| p != me && made.get(p) == Some(&true));
        Some(EvalHand {
            key: (h.actions[..deal].to_vec(), me as u8),
            score,
            others: (total - score) / others,
            made: made.get(me) == Some(&true),
            others_made: made_by_others.count() as f64 / others,
        })
    }
}

/// Mean and standard error.
fn mean_se(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = xs.collect();
    let n = v.len() as f64;
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Plays `cfg.hands` league hands with `model`'s search in one seat and the
/// rollout search in the others; every hand's figures.
fn eval_hands(
    game: &OhHell,
    cfg: &CardSelfPlayConfig,
    model: &Path,
    selected: &wgzero::net::Selected,
    name: &str,
) -> Result<Vec<EvalHand>> {
    let mut eval = evaluator(game, Some(model), selected, cfg.seed)
        .with_context(|| format!("loading {}", model.display()))?;
    let bar = counting_bar(cfg.hands, "hands");
    bar.set_message(name.to_string());
    let flag = interrupt_flag();
    let mut hands = Vec::with_capacity(cfg.hands);
    selfplay::run(
        game,
        cfg,
        &mut eval,
        &mut |h| {
            hands.extend(EvalHand::of(game, &h));
            bar.inc(1);
            Ok(())
        },
        &|| flag.load(std::sync::atomic::Ordering::SeqCst),
    )?;
    bar.finish_and_clear();
    Ok(hands)
}

/// One side's line: its seat's score, the others', bids made, the lead.
fn eval_summary(name: &str, hands: &[EvalHand]) -> serde_json::Value {
    let (score, score_se) = mean_se(hands.iter().map(|h| h.score));
    let (others, others_se) = mean_se(hands.iter().map(|h| h.others));
    let (lead, lead_se) = mean_se(hands.iter().map(EvalHand::lead));
    let made = mean_se(hands.iter().map(|h| f64::from(u8::from(h.made)))).0;
    let others_made = mean_se(hands.iter().map(|h| h.others_made)).0;
    println!(
        "{name}: {score:.2} +- {score_se:.2} points a hand (exact bids {:.1}%); the rollout seats {others:.2} +- {others_se:.2} ({:.1}%); lead {lead:+.2} +- {lead_se:.2} a hand ({} hands)",
        100.0 * made,
        100.0 * others_made,
        hands.len()
    );
    serde_json::json!({
        "model": name, "hands": hands.len(), "score": score, "score_se": score_se,
        "others": others, "others_se": others_se, "exact_bids": made,
        "others_exact_bids": others_made, "lead": lead, "lead_se": lead_se,
    })
}

/// `wgzero eval --game ohhell`: `model`'s search (200 network evaluations
/// a decision by default) in one seat of each hand, drawn at random, the
/// rollout search (1,000 simulations) in the others; with `--against
/// model:DIR` a second model plays the same deals from the same seats and
/// the two leads are paired hand by hand.
#[allow(clippy::too_many_arguments)]
pub fn eval(
    args: &GameArgs,
    model: Option<&Path>,
    against: Option<&str>,
    hands: usize,
    sims: Option<u32>,
    seed: u64,
    selected: &wgzero::net::Selected,
    json: bool,
) -> Result<()> {
    let game = game(args)?;
    if hands == 0 {
        bail!("--games must be at least 1");
    }
    let other = match against {
        None | Some("rollout") => None,
        Some(a) => match a.strip_prefix("model:") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => bail!(
                "--against {a:?}: Oh Hell's eval plays the rollout search (`rollout`, the default) \
                 or pairs with a second model on the same deals (`model:DIR`); for OpenSpiel's bots \
                 use scripts/openspiel_match.py"
            ),
        },
    };
    let model = model.unwrap_or(Path::new("shipped"));
    let search = search_config(sims, args.determinizations, None, false)?;
    let cfg = CardSelfPlayConfig {
        hands,
        leaves_per_search: search.determinizations,
        search,
        league: 1.0,
        sampled_decisions: 0,
        seed,
        ..CardSelfPlayConfig::default()
    };
    cfg.validate().context("eval settings")?;
    println!(
        "eval ({}): {} hands, {} in one seat ({} deals, {} evaluations a decision), the rollout search in the others",
        game.config().openspiel_params_with_blob(),
        hands,
        model.display(),
        cfg.search.determinizations,
        cfg.search.simulations
    );
    let name = model.display().to_string();
    let a = eval_hands(&game, &cfg, model, selected, &name)?;
    let mut out = serde_json::json!({ "rules": game.config().openspiel_params_with_blob() });
    out["model"] = eval_summary(&name, &a);
    if let Some(other) = other {
        let other_name = other.display().to_string();
        let b = eval_hands(&game, &cfg, &other, selected, &other_name)?;
        out["against"] = eval_summary(&other_name, &b);
        let by_key: std::collections::HashMap<_, f64> =
            b.iter().map(|h| (&h.key, h.lead())).collect();
        let diffs: Vec<f64> = a
            .iter()
            .filter_map(|h| by_key.get(&h.key).map(|lb| h.lead() - lb))
            .collect();
        let (diff, se) = mean_se(diffs.iter().copied());
        println!(
            "{name} - {other_name}: lead {diff:+.3} +- {se:.3} a hand (paired by deal and seat, {} hands)",
            diffs.len()
        );
        out["difference"] = serde_json::json!({ "paired": diffs.len(), "lead": diff, "se": se });
    }
    if json {
        println!("{out}");
    }
    Ok(())
}
