//! Search overhead: simulations/s on Connect Four and 9x9 Go with the
//! `Uniform` evaluator (so the network costs nothing and only the search and
//! the rules are timed), on one thread, and for Connect Four with rayon over
//! many independent games.
//!
//! Each iteration runs whole searches of `SIMS` simulations from the start
//! position and checks that every simulation was completed.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;

use wgzero::eval::Uniform;
use wgzero::game::{Connect4, Game, Go};
use wgzero::mcts::{Algorithm, Search, SearchConfig};

const SIMS: u32 = 800;
const GAMES_PER_THREAD: usize = 16;

fn searcher<G: Game>(
    game: G,
    algorithm: Algorithm,
    leaves: usize,
    seed: u64,
) -> (Search<G>, Uniform) {
    let cfg = SearchConfig {
        algorithm,
        leaves_per_gather: leaves,
        ..SearchConfig::default()
    };
    (Search::new(game, cfg, seed).unwrap(), Uniform::new())
}

/// One search of `SIMS` simulations from the start; checks its own result.
fn one_search<G: Game>((search, eval): &mut (Search<G>, Uniform)) -> u64 {
    let start = search.game().initial();
    search.reset(start);
    let r = search.run(eval, SIMS).unwrap();
    assert_eq!(r.simulations, SIMS);
    assert_eq!(r.visits.iter().sum::<u32>(), SIMS);
    SIMS as u64
}

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("search_overhead_1thread");
    group.throughput(Throughput::Elements(SIMS as u64));
    for (algorithm, name) in [(Algorithm::Puct, "puct"), (Algorithm::Gumbel, "gumbel")] {
        for leaves in [1, 8] {
            let mut s = searcher(Connect4, algorithm, leaves, 1);
            group.bench_function(BenchmarkId::new(name, format!("k{leaves}")), |b| {
                b.iter(|| one_search(&mut s))
            });
            let mut s = searcher(Go::default(), algorithm, leaves, 1);
            group.bench_function(
                BenchmarkId::new(format!("go9_{name}"), format!("k{leaves}")),
                |b| b.iter(|| one_search(&mut s)),
            );
        }
    }
    group.finish();
}

fn rayon_games(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("search_overhead_rayon");
    for threads in 1..=cores {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let games = GAMES_PER_THREAD * threads;
        let mut searches: Vec<_> = (0..games)
            .map(|i| searcher(Connect4, Algorithm::Puct, 8, i as u64))
            .collect();
        group.throughput(Throughput::Elements(SIMS as u64 * games as u64));
        group.bench_function(
            BenchmarkId::new("puct_k8", format!("{threads}threads")),
            |b| {
                b.iter(|| {
                    let total: u64 = pool.install(|| searches.par_iter_mut().map(one_search).sum());
                    assert_eq!(total, SIMS as u64 * games as u64);
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, single_thread, rayon_games);
criterion_main!(benches);
