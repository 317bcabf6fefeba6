//! The CPU inference path (folded batch norm, im2col + gemm) against burn's
//! graph on the `flex` backend: same weights, same inputs, every game's
//! default network, outputs within 1e-4 (relative to 1 + |x|).

mod common;

use burn::tensor::Device;
use common::{max_rel_diff, random_states, tempdir};
use wgzero::game::{Connect4, Game, Go, Gomoku, TicTacToe};
use wgzero::net::cpu::{ConvAlgo, CpuPrecision};
use wgzero::net::kernels::Simd;
use wgzero::net::network::CpuPath;
use wgzero::net::trainer::{TrainBatch, TrainConfig, Trainer};
use wgzero::net::{NetConfig, Network};

const TOLERANCE: f32 = 1e-4;

/// A few training steps, so that batch norm's running statistics (folded
/// into the convolutions by the CPU path) are not the initial 0 and 1.
fn trained<G: Game>(net: Network<G>, game: &G) -> Network<G> {
    let n = 64;
    let states = random_states(game, n, 9);
    let a = game.num_actions();
    let batch = TrainBatch {
        packed: states,
        policy: vec![1.0 / a as f32; n * a],
        value: (0..n).map(|i| (i % 3) as f32 - 1.0).collect(),
        ..TrainBatch::default()
    };
    let mut trainer = Trainer::new(&net, TrainConfig::default());
    for _ in 0..3 {
        trainer.step(&batch).unwrap();
    }
    let mut net = net;
    net.set_model(trainer.model(), "trained".into());
    net
}

/// Every 3x3 convolution algorithm on every SIMD level this CPU runs.
fn paths() -> Vec<(ConvAlgo, Simd)> {
    let mut out = Vec::new();
    for algo in [ConvAlgo::Winograd, ConvAlgo::Im2col] {
        for simd in Simd::available() {
            out.push((algo, simd));
        }
    }
    out
}

/// Every f32 path of [`paths`] against burn's graph on `states`, to
/// [`TOLERANCE`]; `label` names the network in failures.
fn assert_f32_paths_match_flex<G: Game>(net: Network<G>, states: &[u32], label: &str) {
    let net = net.with_cpu_path(CpuPath::Flex);
    let flex = net.forward(states).unwrap();
    let mut net = net.with_cpu_path(CpuPath::Gemm);
    // Both ways of computing the 3x3 convolutions, on every SIMD level.
    for (algo, simd) in paths() {
        net = net
            .with_conv_algo(algo)
            .with_simd(simd)
            .with_cpu_precision(CpuPrecision::F32);
        let gemm = net.forward(states).unwrap();
        let (dl, dv) = (
            max_rel_diff(&gemm.0, &flex.0),
            max_rel_diff(&gemm.1, &flex.1),
        );
        assert!(
            dl < TOLERANCE && dv < TOLERANCE,
            "{label} ({algo:?}, {simd:?}): logits differ by {dl}, values by {dv}"
        );
        assert!(gemm.0.iter().chain(&gemm.1).all(|x| x.is_finite()));
    }
}

fn check<G: Game>(game: G, n: usize) {
    let cfg = NetConfig::for_game(&game);
    let net = Network::random(game.clone(), cfg, Device::flex(), false, 3).unwrap();
    let net = trained(net, &game);
    let states = random_states(&game, n, 21);
    assert_f32_paths_match_flex(net, &states, &game.name());
}

#[test]
fn the_gemm_path_matches_burn_for_every_game() {
    assert_eq!(CpuPath::from_env(), CpuPath::Gemm, "the default path");
    assert_eq!(
        ConvAlgo::from_env(),
        ConvAlgo::Winograd,
        "the default 3x3 path"
    );
    // Odd sizes: uneven chunks across threads, and a single position.
    check(Connect4, 37);
    check(Connect4, 1);
    check(TicTacToe, 19);
    check(Gomoku::new(15).unwrap(), 9);
    check(Gomoku::new(9).unwrap(), 5);
}

/// bf16 products (where the CPU has them): each Winograd product's inputs
/// rounded to 8 bits of mantissa, through nine convolutions, so outputs
/// agree with burn's to a few percent, not 1e-4 (what that costs in play is
/// measured on the validation file, docs/performance.md).
const BF16_TOLERANCE: f32 = 5e-2;

fn check_bf16<G: Game>(game: G, net: Network<G>, states: &[u32]) {
    if !wgzero::net::kernels::has_bf16() {
        println!("bf16 products not checked: this CPU has no AVX512-BF16");
        return;
    }
    let net = net.with_cpu_path(CpuPath::Flex);
    let flex = net.forward(states).unwrap();
    let net = net
        .with_cpu_path(CpuPath::Gemm)
        .with_conv_algo(ConvAlgo::Winograd)
        .with_simd(Simd::Avx512)
        .with_cpu_precision(CpuPrecision::Bf16);
    let bf16 = net.forward(states).unwrap();
    let (dl, dv) = (
        max_rel_diff(&bf16.0, &flex.0),
        max_rel_diff(&bf16.1, &flex.1),
    );
    assert!(
        dl < BF16_TOLERANCE && dv < BF16_TOLERANCE,
        "{} bf16: logits differ by {dl}, values by {dv}",
        game.name()
    );
    // It is really another computation, not the f32 one.
    let f32 = net
        .with_cpu_precision(CpuPrecision::F32)
        .forward(states)
        .unwrap();
    assert!(max_rel_diff(&bf16.0, &f32.0) > 0.0);
}

#[test]
fn bf16_products_stay_close_to_burn() {
    for n in [37, 1] {
        let game = Connect4;
        let net =
            Network::random(game, NetConfig::for_game(&game), Device::flex(), false, 3).unwrap();
        let net = trained(net, &game);
        check_bf16(game, net, &random_states(&game, n, 21));
    }
    let game = Gomoku::new(9).unwrap();
    let net = Network::random(game, NetConfig::for_game(&game), Device::flex(), false, 3).unwrap();
    let net = trained(net, &game);
    check_bf16(game, net, &random_states(&game, 5, 21));
    let (json, weights) = wgzero::models::shipped("connect4").unwrap();
    let net = Network::from_parts(Connect4, json, weights.to_vec(), Device::flex(), false).unwrap();
    check_bf16(Connect4, net, &random_states(&Connect4, 64, 5));
}

#[test]
fn the_gemm_path_matches_burn_on_the_shipped_model() {
    let (json, weights) = wgzero::models::shipped("connect4").unwrap();
    let net = Network::from_parts(Connect4, json, weights.to_vec(), Device::flex(), false).unwrap();
    let states = random_states(&Connect4, 64, 5);
    assert_f32_paths_match_flex(net, &states, "the shipped model");
}

/// A Go network with global pooling, trained a little on 9x9 and loaded
/// at 5x5, 7x7, 13x13 and 19x19: the same weights, and the CPU path agrees
/// with burn's graph at every size (the pooled means, the size-scaled mean,
/// the maxima, the per-cell logits and the pass).
#[test]
fn the_gemm_path_matches_burn_with_global_pooling_at_every_size() {
    let go9 = Go::new(9, 7.5).unwrap();
    let cfg = NetConfig::for_game(&go9)
        .with_size(2, 32)
        .with_global_pooling();
    let net = Network::random(go9, cfg, Device::flex(), false, 3).unwrap();
    let net = trained(net, &go9);
    let dir = tempdir("cpu-path-global-pooling");
    net.save(&dir).unwrap();
    for (size, n) in [(9, 13), (5, 3), (7, 1), (13, 6), (19, 4)] {
        let game = Go::new(size, 7.5).unwrap();
        let net = Network::load(game, &dir, Device::flex(), false).unwrap();
        assert_eq!(net.config().input, [10, size, size]);
        let states = random_states(&game, n, 21);
        let (logits, values) = net.forward(&states).unwrap();
        assert_eq!((logits.len(), values.len()), (n * (size * size + 1), n));
        assert_f32_paths_match_flex(net, &states, &format!("pooled go{size}"));
    }
}

/// The shipped Go network with a score utility: the CPU path agrees with
/// burn's graph, and both give the blend of the value head's value and the
/// score head's margin that [`ScoreUtility`] defines. Refused for a network
/// without a score head and for a negative weight.
#[test]
fn the_score_utility_blends_value_and_score_on_both_paths() {
    use wgzero::eval::ScoreUtility;
    let go9 = Go::new(9, 7.5).unwrap();
    let (json, weights) = wgzero::models::shipped(&go9.name()).unwrap();
    let open = || Network::from_parts(go9, json, weights.to_vec(), Device::flex(), false).unwrap();
    let states = random_states(&go9, 24, 5);
    // f32 products: the views come from burn's graph in f32.
    let gemm = |net: Network<Go>| {
        net.with_cpu_path(CpuPath::Gemm)
            .with_cpu_precision(CpuPrecision::F32)
    };
    let plain = gemm(open());
    let (_, values) = plain.forward(&states).unwrap();
    let views = plain.final_views(&states).unwrap().unwrap();
    let scored = open().with_score_utility(0.3).unwrap();
    assert_f32_paths_match_flex(scored, &states, "go9 with a score utility");
    let scored = gemm(open()).with_score_utility(0.3).unwrap();
    let (_, blended) = scored.forward(&states).unwrap();
    let utility = ScoreUtility::for_board(0.3, 81).unwrap().unwrap();
    assert!((utility.scale - 9.4737).abs() < 1e-3);
    let want: Vec<f32> = values
        .iter()
        .zip(&views)
        .map(|(&v, view)| utility.blend(v, view.score / 81.0))
        .collect();
    let diff = max_rel_diff(&blended, &want);
    assert!(diff < TOLERANCE, "blend differs by {diff}");
    assert!(blended.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        max_rel_diff(&blended, &values) > 1e-3,
        "the score changed nothing"
    );
    // Off: the value alone.
    let off = gemm(open()).with_score_utility(0.0).unwrap();
    assert_eq!(off.forward(&states).unwrap().1, values);
    // Refusals.
    let err = open().with_score_utility(-0.1).err().unwrap().to_string();
    assert!(err.contains("0 or more"), "{err}");
    let (json, weights) = wgzero::models::shipped("connect4").unwrap();
    let c4 = Network::from_parts(Connect4, json, weights.to_vec(), Device::flex(), false).unwrap();
    let err = c4.with_score_utility(0.3).err().unwrap().to_string();
    assert!(err.contains("score head"), "{err}");
}
