//! The network side: WGSL encoding parity, wgpu vs CPU backend, model files.
//!
//! Tests that need a wgpu adapter (Mesa lavapipe in CI) print why they skip
//! when there is none; with WGZERO_REQUIRE_GPU=1 (set by .ci/run) a missing
//! adapter fails them instead.

mod common;

use burn::tensor::{Device, Tensor};
use common::{max_rel_diff, random_states, tempdir};
use wgzero::game::{Connect4, Game, Go, Gomoku, TicTacToe};
use wgzero::net::network::CpuPath;
use wgzero::net::{self, encode, BackendChoice, NetConfig, Network};
use wgzero::Error;

/// The wgpu device (software adapters included), or None with a printed reason.
fn wgpu_device(test: &str) -> Option<Device> {
    match net::select(BackendChoice::Gpu) {
        Ok(s) if s.is_wgpu => Some(s.device),
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                Ok(s) => s.report.reason,
            };
            if std::env::var("WGZERO_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("{test}: WGZERO_REQUIRE_GPU=1 but no wgpu adapter: {why}");
            }
            println!("SKIPPED {test}: no wgpu adapter ({why})");
            None
        }
    }
}

fn cpu_planes<G: Game>(game: &G, states: &[u32]) -> Vec<f32> {
    let len = game.planes_len();
    let mut out = vec![0f32; states.len() / game.packed_words() * len];
    for (s, o) in states
        .chunks_exact(game.packed_words())
        .zip(out.chunks_exact_mut(len))
    {
        game.encode_packed(s, o);
    }
    out
}

fn check_parity<G: Game>(game: &G, device: &Device, n: usize) {
    let states = random_states(game, n, 21);
    let planes: Tensor<4> = encode::encode_wgpu(game, &states, device).unwrap();
    let [c, h, w] = game.planes_shape();
    assert_eq!(planes.dims(), [n, c, h, w]);
    let gpu: Vec<f32> = planes.into_data().try_into_vec::<f32>().unwrap();
    let cpu = cpu_planes(game, &states);
    assert_eq!(gpu.len(), cpu.len());
    let mismatches = gpu.iter().zip(&cpu).filter(|(a, b)| a != b).count();
    assert_eq!(
        mismatches,
        0,
        "{}: {mismatches} of {} values differ",
        game.name(),
        cpu.len()
    );
    // and the reference agrees with the flex path's input
    let flex: Vec<f32> = encode::encode_cpu(game, &states, &Device::flex())
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert_eq!(flex, cpu);
}

#[test]
fn wgsl_encoding_matches_the_cpu_reference_for_every_game() {
    let Some(device) = wgpu_device("wgsl_encoding_matches_the_cpu_reference_for_every_game") else {
        return;
    };
    check_parity(&Connect4, &device, 500);
    check_parity(&TicTacToe, &device, 300);
    check_parity(&Gomoku::default(), &device, 200);
    check_parity(&Gomoku::new(9).unwrap(), &device, 200);
    check_parity(&Gomoku::new(19).unwrap(), &device, 50);
    check_parity(&Go::default(), &device, 300);
    check_parity(&Go::new(19, 6.5).unwrap(), &device, 50);
    check_parity(&Go::new(5, -3.0).unwrap(), &device, 100);
    check_parity(&Connect4, &device, 1);
}

#[test]
fn wgpu_and_cpu_backends_agree_on_the_same_weights() {
    let Some(device) = wgpu_device("wgpu_and_cpu_backends_agree_on_the_same_weights") else {
        return;
    };
    let cfg = NetConfig::for_game(&Connect4).with_size(2, 16);
    backends_agree(Connect4, cfg, &device, "agree");
    // Global pooling on the GPU: a 9x9 network evaluated at 13x13.
    let go9 = Go::new(9, 7.5).unwrap();
    let cfg = NetConfig::for_game(&go9)
        .with_size(2, 16)
        .with_global_pooling();
    let dir = tempdir("agree-pooled-made");
    Network::random(go9, cfg, Device::flex(), false, 5)
        .unwrap()
        .save(&dir)
        .unwrap();
    let go13 = Go::new(13, 7.5).unwrap();
    let at13 = Network::load(go13, &dir, Device::flex(), false).unwrap();
    backends_agree(go13, at13.config().clone(), &device, "agree-pooled");
}

/// A random network of shape `cfg` on the CPU path (f32) and on `device`
/// (wgpu, inputs encoded by the WGSL kernels) gives the same outputs.
fn backends_agree<G: Game>(game: G, cfg: NetConfig, device: &Device, name: &str) {
    let dir = tempdir(name);
    // The CPU path in f32 (bf16 products, the default on CPUs with
    // AVX512-BF16, are checked against burn in tests/cpu_path.rs).
    let cpu = Network::random(game.clone(), cfg, Device::flex(), false, 5)
        .unwrap()
        .with_cpu_precision(wgzero::net::cpu::CpuPrecision::F32);
    cpu.save(&dir).unwrap();
    let gpu = Network::load(game.clone(), &dir, device.clone(), true).unwrap();
    let states = random_states(&game, 64, 22);
    let (l1, v1) = cpu.forward(&states).unwrap();
    let (l2, v2) = gpu.forward(&states).unwrap();
    let a = game.num_actions();
    assert_eq!((l1.len(), v1.len()), (64 * a, 64));
    assert_eq!((l2.len(), v2.len()), (64 * a, 64));
    let (dl, dv) = (max_rel_diff(&l1, &l2), max_rel_diff(&v1, &v2));
    assert!(
        dl < 1e-3 && dv < 1e-3,
        "{name}: logits differ by {dl}, values by {dv}"
    );
    assert!(l1.iter().chain(&v1).all(|x| x.is_finite()));
}

#[test]
fn default_connect4_network_has_about_300k_parameters() {
    let cfg = NetConfig::for_game(&Connect4);
    assert_eq!((cfg.blocks, cfg.channels), (4, 64));
    let net = Network::random(Connect4, cfg.clone(), Device::flex(), false, 1).unwrap();
    use burn::module::Module;
    // burn also counts batch-norm running means and variances (2 per channel).
    let bn_channels = cfg.channels * (1 + 2 * cfg.blocks) + 2 + 1;
    assert_eq!(net.model().num_params(), cfg.num_params() + 2 * bn_channels);
    let n = cfg.num_params();
    assert!((250_000..350_000).contains(&n), "{n} trainable parameters");
    let gomoku = NetConfig::for_game(&Gomoku::default());
    assert!(gomoku.num_params() > n);
}

/// A network with global pooling has the parameters its config counts
/// (with and without the auxiliary heads, at any board size), loads at
/// every Go size and nowhere else; one without refuses another size.
#[test]
fn a_network_with_global_pooling_plays_every_go_size() {
    use burn::module::Module;
    let go9 = Go::new(9, 7.5).unwrap();
    for aux in [false, true] {
        let mut cfg = NetConfig::for_game(&go9).with_size(2, 16);
        cfg.aux_heads = aux;
        let cfg = cfg.with_global_pooling();
        let net = Network::random(go9, cfg.clone(), Device::flex(), false, 1).unwrap();
        let bn_channels =
            cfg.channels * (1 + 2 * cfg.blocks) + cfg.policy_channels + cfg.value_channels;
        assert_eq!(net.model().num_params(), cfg.num_params() + 2 * bn_channels);
        let dir = tempdir(&format!("net-global-pooling-{aux}"));
        net.save(&dir).unwrap();
        let nine = Network::load(go9, &dir, Device::flex(), false).unwrap();
        for size in [5, 13, 19] {
            let game = Go::new(size, 6.5).unwrap();
            let big = Network::load(game, &dir, Device::flex(), false).unwrap();
            assert_eq!(big.config().game, format!("go{size}"));
            assert_eq!(big.config().num_params(), cfg.num_params());
            assert_eq!(big.id(), nine.id(), "the same weights");
            let states = random_states(&game, 3, 4);
            let (logits, values) = big.forward(&states).unwrap();
            assert_eq!(logits.len(), 3 * (size * size + 1));
            assert!(values.iter().all(|v| v.abs() <= 1.0));
        }
        let err = Network::load(Gomoku::new(9).unwrap(), &dir, Device::flex(), false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("plays go9"), "{err}");
    }
    let plain = Network::random(
        go9,
        NetConfig::for_game(&go9).with_size(1, 8),
        Device::flex(),
        false,
        1,
    )
    .unwrap();
    let dir = tempdir("net-no-global-pooling");
    plain.save(&dir).unwrap();
    let err = Network::load(Go::new(13, 7.5).unwrap(), &dir, Device::flex(), false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("plays go9, not go13"), "{err}");
    // Widening reads per-cell features: refused for a pooled value head.
    let pooled = NetConfig::for_game(&go9)
        .with_size(1, 8)
        .with_global_pooling();
    let pooled = Network::random(go9, pooled, Device::flex(), false, 1).unwrap();
    assert!(pooled.value_widened(32).is_err());
}

#[test]
fn models_round_trip_and_bad_files_fail_clearly() {
    let dir = tempdir("files");
    let game = Connect4;
    let cfg = NetConfig::for_game(&game).with_size(1, 8);
    let net = Network::random(game, cfg.clone(), Device::flex(), false, 3).unwrap();
    net.save(&dir).unwrap();
    let states = random_states(&game, 16, 23);
    let again = Network::load(game, &dir, Device::flex(), false).unwrap();
    assert_eq!(
        net.forward(&states).unwrap(),
        again.forward(&states).unwrap()
    );

    let expect_model_error = |d: &std::path::Path, needle: &str| {
        let e = Network::load(game, d, Device::flex(), false)
            .err()
            .expect("must fail");
        let text = e.to_string();
        assert!(matches!(e, Error::Model(_)), "{text}");
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
        assert!(
            text.contains(&d.display().to_string()),
            "names the folder: {text}"
        );
    };
    // truncated weights
    let bytes = std::fs::read(dir.join("model.bpk")).unwrap();
    let cut = tempdir("cut");
    std::fs::copy(dir.join("config.json"), cut.join("config.json")).unwrap();
    for len in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(cut.join("model.bpk"), &bytes[..len]).unwrap();
        expect_model_error(&cut, "model.bpk");
    }
    // another game
    let other = tempdir("other");
    Network::random(
        TicTacToe,
        NetConfig::for_game(&TicTacToe).with_size(1, 8),
        Device::flex(),
        false,
        1,
    )
    .unwrap()
    .save(&other)
    .unwrap();
    expect_model_error(&other, "tictactoe");
    // a config whose shape does not match the weights
    let shape = tempdir("shape");
    std::fs::copy(dir.join("model.bpk"), shape.join("model.bpk")).unwrap();
    let wider = serde_json::to_string(&cfg.clone().with_size(1, 16)).unwrap();
    std::fs::write(shape.join("config.json"), wider).unwrap();
    expect_model_error(&shape, "does not match");
    // not JSON, missing files
    std::fs::write(shape.join("config.json"), "{ nope").unwrap();
    expect_model_error(&shape, "config");
    expect_model_error(&tempdir("empty"), "config.json");
}

/// `deepened` appends blocks that start as the identity: the grown network
/// plays exactly like the original, saves with the new size and reloads.
#[test]
fn a_deepened_network_keeps_its_outputs() {
    let game = Connect4;
    let cfg = NetConfig::for_game(&game).with_size(2, 8);
    let net = Network::random(game, cfg, Device::flex(), false, 5).unwrap();
    let states = random_states(&game, 32, 29);
    let before = net.forward(&states).unwrap();
    let old_id = net.id().to_string();
    let grown = net.deepened(3).unwrap();
    assert_eq!(grown.config().blocks, 5);
    assert_ne!(grown.id(), old_id, "new weights, new id");
    assert_eq!(grown.forward(&states).unwrap(), before);
    let dir = tempdir("deepened");
    grown.save(&dir).unwrap();
    let again = Network::load(game, &dir, Device::flex(), false).unwrap();
    assert_eq!(again.config().blocks, 5);
    assert_eq!(again.forward(&states).unwrap(), before);
    // Too deep is a clear error, not a panic.
    let e = again.deepened(100).err().expect("must fail");
    assert!(e.to_string().contains("blocks"), "{e}");
}

/// `value_widened` gives the value head more channels whose features start
/// at zero weight: same outputs, a new size that saves and reloads, and
/// configs written before the field existed still load (as 1 channel).
#[test]
fn a_value_widened_network_keeps_its_outputs() {
    let game = Connect4;
    let cfg = NetConfig::for_game(&game).with_size(2, 8);
    assert_eq!(cfg.value_channels, 1);
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(!json.contains("value_channels"), "1 is left out: {json}");
    // burn's graph: the widened head's outputs are bit-identical there (the
    // CPU gemm path sums the hidden layer in another order).
    let net = Network::random(game, cfg.clone(), Device::flex(), false, 6)
        .unwrap()
        .with_cpu_path(CpuPath::Flex);
    let states = random_states(&game, 32, 31);
    let before = net.forward(&states).unwrap();
    let old_id = net.id().to_string();
    let wide = net.value_widened(16).unwrap();
    assert_eq!(wide.config().value_channels, 16);
    assert_ne!(wide.id(), old_id, "new weights, new id");
    assert_eq!(wide.forward(&states).unwrap(), before);
    let mut expect = cfg;
    expect.value_channels = 16;
    assert_eq!(wide.config().num_params(), expect.num_params());
    assert_eq!(
        wide.config().num_params() - NetConfig::for_game(&game).with_size(2, 8).num_params(),
        8 * 15 + 2 * 15 + 15 * 42 * 64,
        "conv, batch norm and hidden-layer weights of 15 more channels"
    );
    let dir = tempdir("value-widened");
    wide.save(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(text.contains("\"value_channels\": 16"), "{text}");
    let again = Network::load(game, &dir, Device::flex(), false)
        .unwrap()
        .with_cpu_path(CpuPath::Flex);
    assert_eq!(again.config().value_channels, 16);
    assert_eq!(again.forward(&states).unwrap(), before);
    // Not wider than now, or absurdly wide: clear errors, not panics.
    let e = again.value_widened(16).err().expect("must fail");
    assert!(e.to_string().contains("already has 16"), "{e}");
    let again = Network::load(game, &dir, Device::flex(), false).unwrap();
    let e = again.value_widened(100_000).err().expect("must fail");
    assert!(e.to_string().contains("value channels"), "{e}");
}

#[test]
fn a_model_can_be_embedded_in_the_binary() {
    const CONFIG: &str = include_str!("data/tiny_connect4/config.json");
    const WEIGHTS: &[u8] = include_bytes!("data/tiny_connect4/model.bpk");
    let game = Connect4;
    let embedded =
        Network::from_parts(game, CONFIG, WEIGHTS.to_vec(), Device::flex(), false).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_connect4");
    let from_disk = Network::load(game, &dir, Device::flex(), false).unwrap();
    let states = random_states(&game, 8, 24);
    let (logits, values) = embedded.forward(&states).unwrap();
    assert_eq!(
        (logits.clone(), values.clone()),
        from_disk.forward(&states).unwrap()
    );
    // a loaded model is identified by its bytes
    assert_eq!(embedded.id(), from_disk.id());
    assert!(!embedded.id().starts_with("random"));
}

#[test]
fn auto_prefers_the_cpu_backend_over_software_adapters() {
    let s = net::select(BackendChoice::Auto).unwrap();
    let real_gpu = s.report.adapters.iter().any(|a| a.device_type != "Cpu");
    assert_eq!(s.is_wgpu, real_gpu, "{:?}", s.report);
    let c = net::select(BackendChoice::Cpu).unwrap();
    assert!(!c.is_wgpu && c.report.chosen.contains("flex"));
}

#[test]
fn f16_inference_matches_f32_within_tolerance() {
    let Some(device) = wgpu_device("f16_inference_matches_f32_within_tolerance") else {
        return;
    };
    if !device.supports_dtype(burn::tensor::DType::F16) {
        println!(
            "SKIPPED f16_inference_matches_f32_within_tolerance: the adapter has no f16 support"
        );
        return;
    }
    let dir = tempdir("f16");
    let game = Connect4;
    Network::random(
        game,
        NetConfig::for_game(&game).with_size(2, 16),
        Device::flex(),
        false,
        6,
    )
    .unwrap()
    .save(&dir)
    .unwrap();
    let f32_net = Network::load(game, &dir, device.clone(), true).unwrap();
    let f16_net = Network::load(game, &dir, device, true)
        .unwrap()
        .with_precision(net::Precision::F16, true)
        .unwrap();
    assert!(f16_net.is_f16() && !f32_net.is_f16());
    let states = random_states(&game, 32, 25);
    let (l1, v1) = f32_net.forward(&states).unwrap();
    let (l2, v2) = f16_net.forward(&states).unwrap();
    let (dl, dv) = (max_rel_diff(&l1, &l2), max_rel_diff(&v1, &v2));
    assert!(
        dl < 2e-2 && dv < 2e-2,
        "f16 differs from f32 by {dl} (logits), {dv} (values)"
    );
    assert!(dl > 0.0 || dv > 0.0, "f16 must really run in f16");
    // f16 is refused where it is unsupported
    let cpu = Network::load(game, &dir, Device::flex(), false).unwrap();
    assert!(cpu.with_precision(net::Precision::F16, false).is_err());
}

/// `--adapter` picks one of the adapters `info` numbers, by index or by a
/// piece of its name; a wrong one is an error that lists them.
#[test]
fn the_adapter_is_chosen_by_number_or_name() {
    if wgpu_device("the_adapter_is_chosen_by_number_or_name").is_none() {
        return;
    }
    let adapters = net::device::list_adapters();
    let last = adapters.len() - 1;
    let (out, _) = common::wgzero_ok(&["info", "--adapter", &last.to_string()]);
    let want = format!("chosen: wgpu: {} (", adapters[last].name);
    assert!(out.contains(&want), "{out}");
    assert!(
        out.contains(&format!("--adapter {last}: adapter {last}")),
        "{out}"
    );
    assert!(out.contains("[0] "), "info numbers the adapters: {out}");
    // By a piece of its name, in another case.
    let word = adapters[last]
        .name
        .split_whitespace()
        .next()
        .unwrap()
        .to_uppercase();
    let unique = adapters
        .iter()
        .filter(|a| a.name.to_uppercase().contains(&word))
        .count()
        == 1;
    if unique {
        let (out, _) = common::wgzero_ok(&["info", "--adapter", &word]);
        assert!(out.contains(&want), "{out}");
    }
    let (ok, _, err) = common::wgzero(&["info", "--adapter", "99"]);
    assert!(
        !ok && err.contains("there is no adapter 99") && err.contains("[0] "),
        "{err}"
    );
    let (ok, _, err) = common::wgzero(&["info", "--adapter", "no-such-gpu"]);
    assert!(!ok && err.contains("matches no adapter"), "{err}");
    let (ok, _, err) = common::wgzero(&["info", "--adapter", "0", "--backend", "cpu"]);
    assert!(!ok && err.contains("cannot go with --backend cpu"), "{err}");
}
