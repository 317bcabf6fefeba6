//! Hot paths besides search overhead: input encoding (CPU reference and the
//! WGSL kernel), the network forward at a few batch sizes, and one self-play
//! wave. Each iteration reads its results back (the device has finished) and
//! checks them.

use burn::tensor::{Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use wgzero::eval::{Batch, Evaluator, Uniform};
use wgzero::game::{Connect4, Game};
use wgzero::net::{self, encode, BackendChoice, NetConfig, NetEvaluator, Network};
use wgzero::selfplay::{self, SelfPlayConfig};

fn positions(n: usize) -> Vec<u32> {
    wgzero::bench::forward::random_batch(&Connect4, n, 1).states
}

fn encoding(c: &mut Criterion) {
    let n = 1024;
    let states = positions(n);
    let stones = |t: Tensor<4>| -> f32 { t.sum().into_scalar() };
    let expected = stones(encode::encode_cpu(&Connect4, &states, &Device::flex()));
    let mut group = c.benchmark_group("encoding_connect4");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("cpu_reference", |b| {
        let mut planes = vec![0f32; 84];
        b.iter(|| {
            for s in states.chunks_exact(5) {
                Connect4.encode_packed(s, &mut planes);
            }
            planes[0]
        })
    });
    match net::select(BackendChoice::Gpu) {
        Ok(sel) if sel.is_wgpu => {
            group.bench_function("wgsl_kernel", |b| {
                b.iter(|| {
                    let t = encode::encode_wgpu(&Connect4, &states, &sel.device).unwrap();
                    assert_eq!(stones(t), expected);
                })
            });
            group.bench_function("cpu_encode_and_upload", |b| {
                b.iter(|| {
                    assert_eq!(
                        stones(encode::encode_cpu(&Connect4, &states, &sel.device)),
                        expected
                    )
                })
            });
        }
        _ => println!("encoding_connect4/wgsl_kernel skipped: no wgpu adapter"),
    }
    group.finish();
}

fn forward(c: &mut Criterion) {
    let g = Connect4;
    let mut eval = NetEvaluator::spawn(move || {
        Network::random(g, NetConfig::for_game(&g), Device::flex(), false, 0)
    })
    .unwrap();
    let states = positions(256);
    let mut group = c.benchmark_group("forward_connect4_flex");
    group.sample_size(10);
    for n in [1usize, 64, 256] {
        let mut batch = Batch::new(&g, n);
        for i in 0..n {
            let s = g.unpack(&states[i * 5..(i + 1) * 5]).unwrap();
            batch.push(&g, &s);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                batch = eval.evaluate(std::mem::take(&mut batch)).unwrap();
                batch.check_results().unwrap();
            })
        });
    }
    group.finish();
}

fn selfplay_wave(c: &mut Criterion) {
    // A short self-play run with the uniform evaluator: the cost of the
    // select / absorb waves and batch assembly without a network.
    let cfg = SelfPlayConfig {
        games: 32,
        simulations: 32,
        batch: 64,
        leaves_per_game: 8,
        threads: 1,
        ..SelfPlayConfig::default()
    };
    let mut group = c.benchmark_group("selfplay_waves_uniform");
    group.sample_size(10);
    group.bench_function("32_games_32_sims", |b| {
        b.iter(|| {
            let mut eval = Uniform::new();
            let r = selfplay::run(
                &Connect4,
                &mut eval,
                "bench",
                &cfg,
                &mut |_| Ok(()),
                &mut |_| {},
            )
            .unwrap();
            assert!(r.evaluated_exactly_once && r.games == 32);
            assert_eq!(eval.stats().positions, 0);
            r.evaluations
        })
    });
    group.finish();
}

criterion_group!(benches, encoding, forward, selfplay_wave);
criterion_main!(benches);
