mod common;

use wgzero::eval::{Batch, Evaluator, Rollout, Uniform};
use wgzero::game::{Connect4, Game, Gomoku, TicTacToe};
use wgzero::mcts::{considered_visits, Algorithm, Search, SearchConfig, ROOT};
use wgzero::players::{MctsPlayer, Player};

fn config(algorithm: Algorithm, leaves: usize) -> SearchConfig {
    SearchConfig {
        algorithm,
        leaves_per_gather: leaves,
        ..SearchConfig::default()
    }
}

fn root_child_visits<G: Game>(s: &Search<G>) -> u32 {
    let t = s.tree();
    t.children(ROOT).map(|c| t.visits(c)).sum()
}

/// Drives several searches through shared batches: every batch holds leaves
/// of all searches; with `two_in_flight`, a second batch is filled while the
/// first is still out.
fn drive<G: Game, E: Evaluator>(
    searches: &mut [Search<G>],
    eval: &mut E,
    leaves: usize,
    two_in_flight: bool,
) {
    let game = searches[0].game().clone();
    let mut next_id = 1;
    let mut spare: Vec<Batch> = (0..2).map(|_| Batch::new(&game, 64)).collect();
    while !searches.iter().all(|s| s.is_done()) {
        let wanted = if two_in_flight { 2 } else { 1 };
        while eval.in_flight() < wanted {
            let mut b = spare.pop().unwrap();
            b.clear();
            b.id = next_id;
            next_id += 1;
            for s in searches.iter_mut() {
                s.gather(&mut b, leaves);
            }
            eval.submit(b).unwrap();
        }
        let done = eval.collect().unwrap();
        for s in searches.iter_mut() {
            s.absorb(&done).unwrap();
        }
        spare.push(done);
    }
    while eval.in_flight() > 0 {
        let done = eval.collect().unwrap();
        for s in searches.iter_mut() {
            s.absorb(&done).unwrap();
        }
    }
}

#[test]
fn each_leaf_is_evaluated_exactly_once_with_many_leaves_in_flight() {
    for algorithm in [Algorithm::Puct, Algorithm::Gumbel] {
        for (leaves, two) in [(1, false), (16, false), (16, true), (64, true)] {
            let g = Connect4;
            let mut s = Search::new(g, config(algorithm, leaves), 1).unwrap();
            s.begin(600).unwrap();
            let mut eval = common::counting(Uniform::new());
            drive(std::slice::from_mut(&mut s), &mut eval, leaves, two);
            let expanded = s
                .tree()
                .check_consistency()
                .expect("no virtual loss left, visits add up");
            let st = s.stats();
            assert_eq!(st.requests, eval.positions, "{algorithm:?} K={leaves}");
            assert_eq!(expanded as u64, st.requests, "one expansion per request");
            assert_eq!(root_child_visits(&s), 600);
            assert_eq!(st.simulations, 600);
            if leaves > 1 {
                assert!(st.collisions > 0, "the test must exercise collisions");
            }
            s.result().unwrap();
        }
    }
}

#[test]
fn many_games_share_one_batch() {
    let g = Gomoku::new(9).unwrap();
    let mut searches: Vec<_> = (0..8)
        .map(|i| {
            let mut s = Search::new(g, config(Algorithm::Puct, 8), i).unwrap();
            s.begin(100).unwrap();
            s
        })
        .collect();
    let mut eval = common::counting(Uniform::new());
    drive(&mut searches, &mut eval, 8, true);
    let requests: u64 = searches.iter().map(|s| s.stats().requests).sum();
    assert_eq!(requests, eval.positions);
    // cross-game batching: far more positions per batch than one search gives
    assert!(eval.positions as f64 / eval.batches as f64 > 16.0);
    for s in &searches {
        s.tree().check_consistency().unwrap();
        assert_eq!(root_child_visits(s), 100);
    }
}

#[test]
fn tree_reuse_keeps_the_chosen_subtree() {
    let g = Connect4;
    let mut s = Search::new(g, config(Algorithm::Puct, 4), 2).unwrap();
    let mut eval = Uniform::new();
    let r = s.run(&mut eval, 400).unwrap();
    let t = s.tree();
    let child = t.child_by_action(ROOT, r.action).unwrap();
    let child_visits = t.visits(child);
    let grandchildren: Vec<(usize, u32)> = t
        .children(child)
        .map(|c| (t.action(c), t.visits(c)))
        .collect();
    assert!(child_visits > 10);
    s.advance(r.action).unwrap();
    let t = s.tree();
    assert_eq!(t.visits(ROOT), child_visits);
    let kept: Vec<(usize, u32)> = t
        .children(ROOT)
        .map(|c| (t.action(c), t.visits(c)))
        .collect();
    assert_eq!(kept, grandchildren);
    t.check_consistency().unwrap();
    // a new search adds its simulations on top
    s.run(&mut eval, 100).unwrap();
    assert_eq!(root_child_visits(&s), child_visits - 1 + 100);
    s.tree().check_consistency().unwrap();
}

#[test]
fn without_reuse_the_tree_starts_afresh() {
    let cfg = SearchConfig {
        reuse_tree: false,
        ..config(Algorithm::Puct, 4)
    };
    let mut s = Search::new(Connect4, cfg, 2).unwrap();
    let r = s.run(&mut Uniform::new(), 100).unwrap();
    s.advance(r.action).unwrap();
    assert_eq!(s.tree().len(), 1);
    assert!(s.advance(9).is_err(), "illegal moves are refused");
}

#[test]
fn gumbel_returns_a_legal_action_and_an_improved_policy() {
    let g = Connect4;
    let pos = g.parse_position("444444").unwrap(); // column 4 full
    for sims in [1, 7, 16, 200] {
        let cfg = SearchConfig {
            gumbel_m: 16,
            ..config(Algorithm::Gumbel, 8)
        };
        let mut s = Search::new(g, cfg, 3).unwrap();
        s.reset(pos);
        let r = s.run(&mut Rollout::new(g, 1, 3), sims).unwrap();
        assert!(g.is_legal(&pos, r.action));
        let total: f32 = r.policy.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "policy sums to {total}");
        assert_eq!(r.policy[3], 0.0, "no mass on the full column");
        assert!(r.policy.iter().all(|&p| p >= 0.0));
        assert_eq!(r.visits.iter().sum::<u32>(), sims);
        s.tree().check_consistency().unwrap();
    }
}

#[test]
fn gumbel_sequential_halving_spreads_then_focuses() {
    let g = Gomoku::new(9).unwrap();
    let cfg = SearchConfig {
        gumbel_m: 8,
        ..config(Algorithm::Gumbel, 1)
    };
    let mut s = Search::new(g, cfg, 4).unwrap();
    let r = s.run(&mut Uniform::new(), 64).unwrap();
    let visited = r.visits.iter().filter(|&&v| v > 0).count();
    assert_eq!(visited, 8, "exactly the m considered actions get visits");
    let max = *r.visits.iter().max().unwrap();
    assert!(
        max >= 64 / 8 + 4,
        "later phases focus on fewer actions: {:?}",
        r.visits
    );
}

/// The root visits sequential halving gives its `m` considered actions in
/// `sims` simulations, most first: the schedule's table holds count `v` once
/// for every action that got past `v` visits.
fn halving_counts(m: usize, sims: u32) -> Vec<u32> {
    let table = considered_visits(m, sims);
    let top = table.iter().copied().max().map_or(0, |v| v + 1);
    let occurrences: Vec<usize> = (0..top)
        .map(|v| table.iter().filter(|&&t| t == v).count())
        .collect();
    (0..m)
        .map(|i| occurrences.iter().filter(|&&n| n > i).count() as u32)
        .collect()
}

/// With tree reuse the root's children arrive with earlier visits; this
/// search's own simulations must still follow the halving schedule exactly
/// (per child, as a fresh search does), and the move played must be the
/// halving winner. A full search after a full search, a fast one after a
/// full one, and the same on a fresh tree.
#[test]
fn gumbel_with_a_reused_tree_follows_the_halving_schedule() {
    let g = Connect4;
    for (first, second, seed) in [(200, 200, 5), (200, 32, 6), (64, 16, 7), (0, 48, 8)] {
        let cfg = SearchConfig {
            gumbel_m: 16,
            reuse_tree: true,
            ..config(Algorithm::Gumbel, 1)
        };
        let mut s = Search::new(g, cfg, seed).unwrap();
        let mut eval = Rollout::new(g, 1, seed);
        if first > 0 {
            let r = s.run(&mut eval, first).unwrap();
            s.advance(r.action).unwrap();
            assert!(
                root_child_visits(&s) > 0,
                "the reused subtree has visits at the new root"
            );
        }
        let before: Vec<u32> = {
            let t = s.tree();
            let mut v = vec![0; g.num_actions()];
            if t.len() > 1 {
                for c in t.children(ROOT) {
                    v[t.action(c)] = t.visits(c);
                }
            }
            v
        };
        let r = s.run(&mut eval, second).unwrap();
        let legal = r.policy.iter().filter(|&&p| p > 0.0).count();
        let mut own = r.search_visits.clone();
        own.sort_unstable_by(|a, b| b.cmp(a));
        let mut expected = halving_counts(legal.min(16), second);
        expected.resize(g.num_actions(), 0);
        assert_eq!(
            own, expected,
            "{first} then {second}: own visits {:?}",
            r.search_visits
        );
        for (a, &b) in before.iter().enumerate() {
            assert_eq!(r.visits[a], b + r.search_visits[a], "action {a}");
        }
        let most = *r.search_visits.iter().max().unwrap();
        assert_eq!(
            r.search_visits[r.action], most,
            "{first} then {second}: the move is the halving winner ({:?})",
            r.search_visits
        );
        s.tree().check_consistency().unwrap();
    }
}

#[test]
fn same_seed_same_search() {
    for algorithm in [Algorithm::Puct, Algorithm::Gumbel] {
        let cfg = SearchConfig {
            dirichlet_epsilon: 0.25,
            temperature_moves: 30,
            ..config(algorithm, 8)
        };
        let run = |seed: u64| {
            let mut s = Search::new(Connect4, cfg.clone(), seed).unwrap();
            let mut eval = Rollout::new(Connect4, 1, seed);
            let mut results = Vec::new();
            for _ in 0..6 {
                let r = s.run(&mut eval, 150).unwrap();
                s.advance(r.action).unwrap();
                results.push(r);
            }
            results
        };
        assert_eq!(run(7), run(7), "{algorithm:?}");
    }
}

#[test]
fn node_budget_stops_the_search_cleanly() {
    let cfg = SearchConfig {
        node_budget: 60,
        ..config(Algorithm::Puct, 4)
    };
    let mut s = Search::new(Connect4, cfg, 5).unwrap();
    let r = s.run(&mut Uniform::new(), 10_000).unwrap();
    assert!(s.stats().budget_hit);
    assert!(s.tree().len() <= 60);
    assert!(r.simulations < 10_000 && r.simulations > 0);
    assert!(Connect4.is_legal(&Connect4.initial(), r.action));
    s.tree().check_consistency().unwrap();
    // The next search, from a fresh root, runs again (the budget stopped
    // one search, not every later one).
    s.reset(Connect4.initial());
    let again = s.run(&mut Uniform::new(), 5).unwrap();
    assert_eq!(again.simulations, 5);
    // too small a budget is refused up front
    let bad = SearchConfig {
        node_budget: 5,
        ..SearchConfig::default()
    };
    assert!(Search::new(Connect4, bad, 0).is_err());
}

#[test]
fn terminal_leaves_are_resolved_without_the_evaluator() {
    let g = Connect4;
    let mut s = Search::new(g, config(Algorithm::Puct, 8), 6).unwrap();
    s.reset(g.parse_position("121212").unwrap());
    let mut eval = common::counting(Uniform::new());
    let r = s.run(&mut eval, 300).unwrap();
    assert_eq!(r.action, 0, "takes the immediate win");
    assert!(s.stats().terminal_hits > 0);
    assert_eq!(eval.positions, s.stats().requests);
    assert!(eval.positions < 300);
    assert!(r.value > 0.5);
}

#[test]
fn evaluation_cache_skips_transpositions() {
    let cfg = SearchConfig {
        eval_cache: true,
        ..config(Algorithm::Puct, 4)
    };
    let mut s = Search::new(TicTacToe, cfg, 7).unwrap();
    let mut eval = common::counting(Uniform::new());
    s.run(&mut eval, 3000).unwrap();
    let st = s.stats().clone();
    assert!(st.cache_hits > 0);
    let expanded = s.tree().check_consistency().unwrap() as u64;
    assert_eq!(st.requests + st.cache_hits, expanded);
    assert_eq!(eval.positions, st.requests);
}

fn best_move<G: Game>(game: G, position: &str, algorithm: Algorithm, sims: u32) -> String {
    let cfg = SearchConfig {
        c_puct: 3.0,
        fpu_reduction: 0.0,
        ..config(algorithm, 1)
    };
    let mut s = Search::new(game.clone(), cfg, 8).unwrap();
    s.reset(game.parse_position(position).unwrap());
    let r = s.run(&mut Rollout::new(game.clone(), 1, 8), sims).unwrap();
    game.format_move(r.action)
}

#[test]
fn rollout_search_wins_and_blocks_in_connect4() {
    for algorithm in [Algorithm::Puct, Algorithm::Gumbel] {
        // X has three in column 1 and moves: win there.
        assert_eq!(
            best_move(Connect4, "121212", algorithm, 200),
            "1",
            "{algorithm:?}"
        );
        // O to move, X threatens column 1: block.
        assert_eq!(
            best_move(Connect4, "12121", algorithm, 1000),
            "1",
            "{algorithm:?}"
        );
        // X to move; O threatens the bottom row at column 5 (O on 2,3,4).
        assert_eq!(
            best_move(Connect4, "127314", algorithm, 1000),
            "5",
            "{algorithm:?}"
        );
    }
}

#[test]
fn rollout_search_wins_and_blocks_in_gomoku() {
    // X to move with four on the 4th rank from the edge: e4 wins.
    let g = Gomoku::default();
    assert_eq!(
        best_move(g, "a4 a1 b4 c1 c4 o15 d4 o13", Algorithm::Puct, 1500),
        "e4"
    );
    // 7x7: O has four from the edge on rank 4 and X must block at e4.
    let small = Gomoku::new(7).unwrap();
    let mut p = MctsPlayer::new(small, 4000, 9).unwrap();
    let s = small.parse_position("a1 a4 c1 b4 g7 c4 g5 d4").unwrap();
    assert_eq!(small.format_move(p.choose(&s).unwrap()), "e4");
}

#[test]
fn dirichlet_noise_perturbs_root_priors_only_when_enabled() {
    let priors = |eps: f32, seed: u64| {
        let cfg = SearchConfig {
            dirichlet_epsilon: eps,
            ..config(Algorithm::Puct, 1)
        };
        let mut s = Search::new(Connect4, cfg, seed).unwrap();
        s.run(&mut Uniform::new(), 10).unwrap();
        let t = s.tree();
        t.children(ROOT).map(|c| t.prior(c)).collect::<Vec<f32>>()
    };
    let plain = priors(0.0, 1);
    assert!(plain.iter().all(|&p| (p - 1.0 / 7.0).abs() < 1e-6));
    let noisy = priors(0.25, 1);
    assert!((noisy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!(noisy.iter().any(|&p| (p - 1.0 / 7.0).abs() > 1e-3));
    assert!(
        noisy.iter().all(|&p| p >= 0.75 / 7.0 - 1e-6),
        "at least (1 - eps) of the prior stays"
    );
    assert_ne!(noisy, priors(0.25, 2), "the noise depends on the seed");
}

#[test]
fn temperature_samples_early_moves_and_is_greedy_later() {
    let cfg = SearchConfig {
        temperature_moves: 2,
        ..config(Algorithm::Puct, 1)
    };
    let first_moves: std::collections::HashSet<usize> = (0..20)
        .map(|seed| {
            let mut s = Search::new(Connect4, cfg.clone(), seed).unwrap();
            s.run(&mut Uniform::new(), 50).unwrap().action
        })
        .collect();
    assert!(first_moves.len() > 1, "sampled with temperature 1");
    // After the temperature moves, the most visited move is always played.
    let late = Connect4.parse_position("4444").unwrap();
    for seed in 0..5 {
        let mut s = Search::new(Connect4, cfg.clone(), seed).unwrap();
        s.reset(late);
        let r = s.run(&mut Uniform::new(), 50).unwrap();
        let most = r.visits.iter().copied().max().unwrap();
        assert_eq!(r.visits[r.action], most);
    }
}

#[test]
fn gumbel_samples_early_moves_from_its_improved_policy() {
    let cfg = SearchConfig {
        temperature_moves: 2,
        ..config(Algorithm::Gumbel, 1)
    };
    let mut seen = std::collections::HashSet::new();
    for seed in 0..20 {
        let mut s = Search::new(Connect4, cfg.clone(), seed).unwrap();
        let r = s.run(&mut Uniform::new(), 50).unwrap();
        assert!(
            r.policy[r.action] > 0.0,
            "sampled from the policy's support"
        );
        seen.insert(r.action);
    }
    assert!(seen.len() > 1, "sampled with temperature 1");
    // Past the temperature moves the search's own choice is played: here an
    // immediate win (columns 3 or 7 complete the bottom row's four).
    let late = Connect4.parse_position("445566").unwrap();
    for seed in 0..5 {
        let mut s = Search::new(Connect4, cfg.clone(), seed).unwrap();
        s.reset(late);
        let r = s.run(&mut Uniform::new(), 50).unwrap();
        assert!(
            r.action == 2 || r.action == 6,
            "seed {seed}: played {}",
            r.action
        );
    }
}

/// Priors 0.9 on the centre column (0.1 spread over the others) and a value
/// that says whether the first player holds the centre's bottom cell:
/// +0.5 for them if so, -0.5 if not.
struct CentreMatters {
    done: std::collections::VecDeque<Batch>,
}

impl Evaluator for CentreMatters {
    fn submit(&mut self, mut batch: Batch) -> wgzero::Result<()> {
        batch.prepare_results();
        let a = batch.actions();
        for i in 0..batch.len() {
            let w = batch.state(i).to_vec();
            let (own, opp) = (
                w[0] as u64 | (w[1] as u64) << 32,
                w[2] as u64 | (w[3] as u64) << 32,
            );
            let first_moves = w[4].is_multiple_of(2);
            let first = if first_moves { own } else { opp };
            let v = if first >> 21 & 1 == 1 { 0.5 } else { -0.5 };
            batch.value[i] = if first_moves { v } else { -v };
            let legal = batch.legal[i * a..(i + 1) * a].to_vec();
            let others = legal
                .iter()
                .enumerate()
                .filter(|&(c, &l)| c != 3 && l == 1)
                .count();
            for (c, p) in batch.policy[i * a..(i + 1) * a].iter_mut().enumerate() {
                *p = match (legal[c], c == 3) {
                    (0, _) => 0.0,
                    (_, true) => 0.9,
                    _ => 0.1 / others as f32,
                };
            }
        }
        self.done.push_back(batch);
        Ok(())
    }
    fn collect(&mut self) -> wgzero::Result<Batch> {
        Ok(self.done.pop_front().expect("a batch in flight"))
    }
    fn in_flight(&self) -> usize {
        self.done.len()
    }
}

/// KataGo's forced playouts give every root move at least about
/// `sqrt(k P N)` visits, and policy target pruning takes those visits back
/// from the target of moves that only got them by being forced; without
/// them the target is the raw visits.
#[test]
fn forced_playouts_explore_and_pruning_removes_them_from_the_target() {
    let run = |k: f32| {
        let cfg = SearchConfig {
            forced_playouts: k,
            ..config(Algorithm::Puct, 1)
        };
        let mut s = Search::new(Connect4, cfg, 1).unwrap();
        let mut eval = CentreMatters {
            done: Default::default(),
        };
        s.run(&mut eval, 400).unwrap();
        s.result().unwrap()
    };
    let plain = run(0.0);
    let forced = run(2.0);
    assert_eq!((plain.action, forced.action), (3, 3));
    let total: u32 = forced.visits.iter().sum();
    let prior = 0.1 / 6.0;
    let want = (2.0 * prior * total as f32).sqrt();
    for c in [0, 1, 2, 4, 5, 6] {
        assert!(
            forced.visits[c] as f32 >= want.floor() && forced.visits[c] > plain.visits[c],
            "column {c}: {} forced visits (want {want}), {} without",
            forced.visits[c],
            plain.visits[c]
        );
        assert_eq!(
            forced.policy[c], 0.0,
            "column {c}'s forced visits are pruned"
        );
        let raw = plain.visits[c] as f32 / plain.visits.iter().sum::<u32>() as f32;
        assert!((plain.policy[c] - raw).abs() < 1e-6);
    }
    assert!((forced.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(forced.policy[3], 1.0);
    let bad = SearchConfig {
        forced_playouts: -1.0,
        ..SearchConfig::default()
    };
    assert!(Search::new(Connect4, bad, 1).is_err());
}

/// With a score utility, a finished game is valued like the network's
/// positions: its win blended with its counted margin. On 5x5 after `c3
/// pass`, Black's pass ends the game with the whole board (25 - 7.5 =
/// 17.5 points): 1 without the utility, (1 + 0.3 * 2/pi * atan(17.5 /
/// 5.26)) / 1.3 with weight 0.3. Refused for a game without a count.
#[test]
fn the_score_utility_values_finished_games_by_their_margin() {
    use wgzero::eval::ScoreUtility;
    use wgzero::game::Go;
    let go = Go::new(5, 7.5).unwrap();
    let pass = go.pass_action().unwrap();
    let pass_value = |factor: f32| {
        let cfg = SearchConfig {
            score_utility: factor,
            ..config(Algorithm::Puct, 1)
        };
        let mut s = Search::new(go, cfg, 3).unwrap();
        s.reset(go.parse_position("c3 pass").unwrap());
        s.run(&mut Uniform::new(), 200).unwrap();
        let analysis = s.analysis().unwrap();
        let c = analysis
            .candidates
            .iter()
            .find(|c| c.action == pass)
            .unwrap();
        c.value
    };
    assert_eq!(pass_value(0.0), 1.0);
    let u = ScoreUtility::for_board(0.3, 25).unwrap().unwrap();
    let want = (1.0 + 0.3 * std::f32::consts::FRAC_2_PI * (17.5f32 / u.scale).atan()) / 1.3;
    let got = pass_value(0.3);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    assert!((u.blend(1.0, 17.5 / 25.0) - want).abs() < 1e-6);
    let cfg = SearchConfig {
        score_utility: 0.3,
        ..SearchConfig::default()
    };
    let err = Search::new(Connect4, cfg.clone(), 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("counting"), "{err}");
    let minimax = SearchConfig {
        algorithm: Algorithm::Minimax,
        ..cfg
    };
    let err = Search::new(go, minimax, 1).err().unwrap().to_string();
    assert!(err.contains("puct and gumbel"), "{err}");
}
