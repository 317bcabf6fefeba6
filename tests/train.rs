//! Replay buffer and the training step (CPU backend).

use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgzero::eval::Uniform;
use wgzero::game::{Connect4, Game};
use wgzero::net::trainer::{TrainConfig, Trainer};
use wgzero::net::{NetConfig, Network};
use wgzero::selfplay::records::GameRecord;
use wgzero::selfplay::{self, SelfPlayConfig};
use wgzero::train::ReplayBuffer;

fn games(n: usize) -> Vec<GameRecord> {
    let cfg = SelfPlayConfig {
        games: n,
        simulations: 16,
        batch: 32,
        leaves_per_game: 4,
        threads: 1,
        ..SelfPlayConfig::default()
    };
    let mut out = Vec::new();
    selfplay::run(
        &Connect4,
        &mut Uniform::new(),
        "uniform",
        &cfg,
        &mut |g| {
            out.push(g);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    out
}

#[test]
fn the_replay_buffer_keeps_a_window_and_augments_with_symmetries() {
    let g = Connect4;
    let records = games(6);
    let total: usize = records.iter().map(|r| r.positions.len()).sum();
    let mut buf = ReplayBuffer::new(g, 25);
    for r in &records {
        buf.push_game(r).unwrap();
    }
    assert_eq!(buf.len(), total.min(25));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let batch = buf.sample(200, true, &mut rng).unwrap();
    assert_eq!(batch.len(), 200);
    for i in 0..200 {
        let words = &batch.packed[i * 5..(i + 1) * 5];
        let s = g
            .unpack(words)
            .expect("augmented positions are valid positions");
        let policy = &batch.policy[i * 7..(i + 1) * 7];
        assert!((policy.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        // the target only covers legal moves, mirrored or not
        for (a, &p) in policy.iter().enumerate() {
            assert!(p == 0.0 || g.is_legal(&s, a));
        }
        assert!([-1.0, 0.0, 1.0].contains(&batch.value[i]));
    }
    // One asymmetric position (X in column 1, all policy on column 2) comes
    // back both as itself and mirrored (X in column 7, policy on column 6).
    let s = g.parse_position("1").unwrap();
    let mut packed = vec![0u32; 5];
    g.pack(&s, &mut packed);
    let one = GameRecord {
        game_id: 0,
        model_id: "test".into(),
        outcome: 1,
        positions: vec![wgzero::selfplay::records::PositionRecord {
            packed: packed.clone(),
            to_move: 1,
            action: 1,
            value: 0.0,
            policy: vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            full_search: true,
        }],
    };
    let mut single = ReplayBuffer::new(g, 10);
    single.push_game(&one).unwrap();
    let batch = single.sample(64, true, &mut rng).unwrap();
    let mut mirror = vec![0u32; 5];
    g.pack(&g.parse_position("7").unwrap(), &mut mirror);
    let (mut same, mut mirrored) = (0, 0);
    for i in 0..64 {
        let (words, policy) = (
            &batch.packed[i * 5..(i + 1) * 5],
            &batch.policy[i * 7..(i + 1) * 7],
        );
        if words == packed.as_slice() {
            assert_eq!(policy[1], 1.0);
            same += 1;
        } else {
            assert_eq!(words, mirror.as_slice());
            assert_eq!(policy[5], 1.0);
            mirrored += 1;
        }
        assert_eq!(batch.value[i], -1.0, "X won, O is to move");
    }
    assert!(same > 0 && mirrored > 0, "{same} / {mirrored}");
    // value targets are the result for the side to move
    let r = &records[0];
    for i in 0..r.positions.len() {
        let sign = if r.positions[i].to_move == 0 {
            1.0
        } else {
            -1.0
        };
        assert_eq!(r.value_target(i), sign * r.outcome as f32);
    }
}

/// A one-position game record: `moves` played, the policy target, the result.
fn one_position(moves: &str, policy: [f32; 7], outcome: i8) -> GameRecord {
    let g = Connect4;
    let mut packed = vec![0u32; 5];
    g.pack(&g.parse_position(moves).unwrap(), &mut packed);
    GameRecord {
        game_id: 0,
        model_id: "test".into(),
        outcome,
        positions: vec![wgzero::selfplay::records::PositionRecord {
            packed,
            to_move: (moves.len() % 2) as u8,
            action: 0,
            value: 0.0,
            policy: policy.to_vec(),
            full_search: true,
        }],
    }
}

/// With merging, a repeated position is one entry whose targets are the
/// mean of its sightings, drawn `1 + log2(n)` times as often as a single
/// one; without, it is stored twice.
#[test]
fn merged_duplicates_average_their_targets_and_weigh_more() {
    let g = Connect4;
    let a1 = one_position("4", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1);
    let a2 = one_position("4", [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], -1);
    let a3 = one_position("4", [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], -1);
    let a4 = one_position("4", [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], -1);
    let b = one_position("3", [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 0);
    let mut plain = ReplayBuffer::new(g, 10);
    let mut merged = ReplayBuffer::new(g, 10).with_merging(true);
    for r in [&a1, &a2, &a3, &a4, &b] {
        plain.push_game(r).unwrap();
        merged.push_game(r).unwrap();
    }
    assert_eq!(plain.len(), 5);
    assert_eq!((merged.len(), merged.merged()), (2, 3));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = 6000;
    let batch = merged.sample(n, false, &mut rng).unwrap();
    let mut repeated = 0;
    for i in 0..n {
        let policy = &batch.policy[i * 7..(i + 1) * 7];
        if policy[2] == 1.0 {
            assert_eq!(batch.value[i], 0.0);
            continue;
        }
        repeated += 1;
        assert!((policy[0] - 0.25).abs() < 1e-6 && (policy[1] - 0.75).abs() < 1e-6);
        // results for the side to move (O): -1, then +1 three times
        assert!((batch.value[i] - 0.5).abs() < 1e-6, "{}", batch.value[i]);
    }
    // weight 1 + log2(4) = 3 against 1: three quarters of the draws
    let share = repeated as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.03, "{share}");
    // A window of one: the merged entry leaves when a newer one arrives,
    // and the position starts afresh when seen again.
    let mut small = ReplayBuffer::new(g, 1).with_merging(true);
    for r in [&a1, &a2, &b, &a2] {
        small.push_game(r).unwrap();
    }
    assert_eq!((small.len(), small.merged()), (1, 1));
    let batch = small.sample(4, false, &mut rng).unwrap();
    assert_eq!(&batch.policy[..7], &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn training_reduces_the_loss_and_the_weights_serve_inference() {
    let g = Connect4;
    let mut buf = ReplayBuffer::new(g, 10_000);
    for r in &games(8) {
        buf.push_game(r).unwrap();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let batch = buf.sample(64, false, &mut rng).unwrap();
    let mut net = Network::random(
        g,
        NetConfig::for_game(&g).with_size(1, 16),
        Device::flex(),
        false,
        3,
    )
    .unwrap();
    let cfg = TrainConfig {
        batch_size: 64,
        learning_rate: 3e-3,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&net, cfg);
    let before = trainer.evaluate(&batch).unwrap();
    for _ in 0..60 {
        let s = trainer.step(&batch).unwrap();
        assert!(s.policy_loss.is_finite() && s.value_loss.is_finite());
    }
    let after = trainer.evaluate(&batch).unwrap();
    let (b, a) = (
        before.policy_loss + before.value_loss,
        after.policy_loss + after.value_loss,
    );
    assert!(a < 0.8 * b, "loss {b} -> {a}");
    assert!(after.value_loss < before.value_loss);
    assert_eq!(trainer.steps(), 60);
    // the trained weights go back into the network and run inference
    net.set_model(trainer.model(), "trained".into());
    let (logits, values) = net.forward(&batch.packed[..5 * 8]).unwrap();
    assert!(logits.iter().chain(&values).all(|x| x.is_finite()));
    // optimiser state round trip; garbage is refused
    let bytes = trainer.optimizer_bytes().unwrap();
    assert!(!bytes.is_empty());
    trainer.load_optimizer(bytes).unwrap();
    trainer.step(&batch).unwrap();
    assert!(trainer.load_optimizer(vec![1, 2, 3]).is_err());
}

#[test]
fn value_targets_mix_in_the_search_value_when_asked() {
    let g = Connect4;
    let mut packed = vec![0u32; 5];
    g.pack(&g.parse_position("1").unwrap(), &mut packed);
    // The first player won; the position has the second player to move, whose
    // search thought it stood at +0.5.
    let record = GameRecord {
        game_id: 0,
        model_id: "test".into(),
        outcome: 1,
        positions: vec![wgzero::selfplay::records::PositionRecord {
            packed,
            to_move: 1,
            action: 1,
            value: 0.5,
            policy: vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            full_search: true,
        }],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let target = |w: f32, rng: &mut ChaCha8Rng| {
        let mut buf = ReplayBuffer::new(g, 4).with_value_search_weight(w);
        buf.push_game(&record).unwrap();
        buf.sample(1, false, rng).unwrap().value[0]
    };
    assert_eq!(target(0.0, &mut rng), -1.0, "the game's result alone");
    assert_eq!(target(1.0, &mut rng), 0.5, "the search's value alone");
    assert!((target(0.5, &mut rng) - -0.25).abs() < 1e-6);
}
