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

/// A 5x5 Go game as a record, every position a full search: Black walls
/// column B, White column D, both pass (no captures: every stone is its
/// colour's at the end).
fn walls_record() -> (wgzero::game::Go, GameRecord) {
    use wgzero::selfplay::records::PositionRecord;
    let g = wgzero::game::Go::new(5, 0.5).unwrap();
    let (moves, _) = g
        .parse_moves("B1 D1 B2 D2 B3 D3 B4 D4 B5 D5 pass pass")
        .unwrap();
    let mut s = g.initial();
    let mut positions = Vec::new();
    for (i, &a) in moves.iter().enumerate() {
        let mut packed = vec![0; g.packed_words()];
        g.pack(&s, &mut packed);
        positions.push(PositionRecord {
            packed,
            to_move: (i % 2) as u8,
            action: a as u16,
            value: 0.0,
            policy: vec![1.0 / g.num_actions() as f32; g.num_actions()],
            full_search: true,
        });
        g.apply(&mut s, a);
    }
    let record = GameRecord {
        game_id: 1,
        model_id: "test".into(),
        outcome: 1,
        positions,
    };
    (g, record)
}

#[test]
fn go_positions_carry_final_ownership_score_and_reply_targets() {
    let (g, record) = walls_record();
    let mut buf = ReplayBuffer::new(g, 100);
    buf.push_game(&record).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let plain = buf.sample(1, false, &mut rng).unwrap();
    assert_eq!((plain.ownership.len(), plain.reply.len()), (25, 26));
    let (cells, a, w) = (25, g.num_actions(), g.packed_words());
    let batch = buf.sample(400, true, &mut rng).unwrap();
    let mut seen_sides = [false; 2];
    for i in 0..400 {
        let s = g.unpack(&batch.packed[i * w..(i + 1) * w]).unwrap();
        let own = &batch.ownership[i * cells..(i + 1) * cells];
        assert_eq!(batch.ownership_mask[i], 1.0);
        let mover = g.to_move(&s);
        seen_sides[mover as usize] = true;
        // Every stone on the board ends as its colour's: +1 for the side
        // to move's, -1 for the other's, under whatever symmetry.
        let black_sign = if mover == 0 { 1.0 } else { -1.0 };
        // 10 points each, komi 0.5: Black loses by 0.5 of 25 cells.
        let want = -0.5 / 25.0 * black_sign;
        assert!(
            (batch.score[i] - want).abs() < 1e-6,
            "score {}",
            batch.score[i]
        );
        for (p, &o) in own.iter().enumerate() {
            match s.stone(p) {
                Some(0) => assert_eq!(o, black_sign, "sample {i} point {p}"),
                Some(_) => assert_eq!(o, -black_sign, "sample {i} point {p}"),
                None => {}
            }
        }
        // The centre column is shared, the outer ones owned.
        assert_eq!(own.iter().filter(|&&o| o == 0.0).count(), 5);
        let reply = &batch.reply[i * a..(i + 1) * a];
        if batch.reply_mask[i] == 1.0 {
            let r = reply.iter().position(|&x| x == 1.0).unwrap();
            assert_eq!(reply.iter().sum::<f32>(), 1.0);
            assert!(g.is_legal(&s, r), "the reply {r} is legal in its position");
        } else {
            assert!(reply.iter().all(|&x| x == 0.0));
        }
    }
    assert_eq!(seen_sides, [true, true]);
    assert!(
        batch.reply_mask.contains(&0.0),
        "the last position has no reply"
    );
}

#[test]
fn auxiliary_heads_train_and_round_trip() {
    // AlphaZero's heads, and KataGo's global pooling (a logit per cell
    // and the pass for the policy and the reply, pooled value features).
    for pooled in [false, true] {
        aux_heads_learn(pooled);
    }
    let (g, record) = walls_record();
    let mut buf = ReplayBuffer::new(g, 100);
    buf.push_game(&record).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let batch = buf.sample(32, true, &mut rng).unwrap();
    // Without heads the auxiliary losses are 0 and the targets unused.
    let plain = Network::random(
        g,
        NetConfig::for_game(&g).with_size(1, 8),
        Device::flex(),
        false,
        3,
    )
    .unwrap();
    let s = Trainer::new(&plain, TrainConfig::default())
        .evaluate(&batch)
        .unwrap();
    assert_eq!(
        (s.ownership_loss, s.score_loss, s.reply_loss),
        (0.0, 0.0, 0.0)
    );
    // A game without the targets refuses a network with the heads.
    let mut c4 = NetConfig::for_game(&Connect4);
    c4.aux_heads = true;
    let err = Network::random(Connect4, c4, Device::flex(), false, 1)
        .err()
        .unwrap();
    assert!(err.to_string().contains("auxiliary"), "{err}");
}

/// The auxiliary heads learn their targets, save, load and read back.
fn aux_heads_learn(pooled: bool) {
    let (g, record) = walls_record();
    let mut buf = ReplayBuffer::new(g, 100);
    buf.push_game(&record).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let batch = buf.sample(32, true, &mut rng).unwrap();
    let mut cfg = NetConfig::for_game(&g).with_size(1, 8);
    cfg.aux_heads = true;
    if pooled {
        cfg = cfg.with_global_pooling();
    }
    let mut net = Network::random(g, cfg, Device::flex(), false, 3).unwrap();
    let mut trainer = Trainer::new(
        &net,
        TrainConfig {
            batch_size: 32,
            learning_rate: 3e-3,
            ..TrainConfig::default()
        },
    );
    assert!(trainer.has_aux());
    let before = trainer.evaluate(&batch).unwrap();
    for _ in 0..40 {
        trainer.step(&batch).unwrap();
    }
    let after = trainer.evaluate(&batch).unwrap();
    assert!(before.ownership_loss > 0.0 && before.reply_loss > 0.0);
    assert!(
        after.ownership_loss < 0.8 * before.ownership_loss,
        "ownership {} -> {}",
        before.ownership_loss,
        after.ownership_loss
    );
    assert!(after.reply_loss < before.reply_loss);
    // Saved and loaded with its heads; inference reads policy and value.
    net.set_model(trainer.model(), "trained".into());
    let dir = std::env::temp_dir().join(format!("wgzero-aux-{pooled}-{}", std::process::id()));
    net.save(&dir).unwrap();
    let back = Network::load(g, &dir, Device::flex(), false).unwrap();
    assert!(back.config().aux_heads);
    assert_eq!(back.config().global_pooling, pooled);
    let w = g.packed_words();
    let (l1, v1) = net.forward(&batch.packed[..4 * w]).unwrap();
    let (l2, v2) = back.forward(&batch.packed[..4 * w]).unwrap();
    assert_eq!((l1, v1), (l2, v2));
    std::fs::remove_dir_all(&dir).unwrap();
    // The heads read back as the targets were written: the side to move's
    // expected owner of each point (the trained sign agrees with the
    // target's on the points that end owned) and its margin in points.
    let views = back.final_views(&batch.packed[..8 * w]).unwrap().unwrap();
    let (mut agree, mut owned) = (0, 0);
    for (i, v) in views.iter().enumerate() {
        assert_eq!(v.ownership.len(), 25);
        assert!(v.ownership.iter().all(|o| (-1.0..=1.0).contains(o)));
        assert!(v.score.is_finite());
        for (p, &o) in v.ownership.iter().enumerate() {
            let t = batch.ownership[i * 25 + p];
            if t != 0.0 {
                owned += 1;
                agree += (o.signum() == t) as usize;
            }
        }
    }
    assert!(agree * 10 >= owned * 9, "{agree} of {owned} signs agree");
}
