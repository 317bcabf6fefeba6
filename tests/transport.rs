//! The transport contract, run against both implementations: the shared
//! folder and NATS JetStream (a real nats-server on 127.0.0.1).

mod common;

use std::time::Duration;

use wgzero::net::ModelBytes;
use wgzero::transport::{connect, FolderTransport, NetworkInfo, RunSettings, Transport};

fn model(seed: u8) -> ModelBytes {
    ModelBytes {
        label: "test".into(),
        config_json: format!("{{\"seed\": {seed}}}"),
        weights: (0..5000u32).map(|i| (i as u8) ^ seed).collect(),
    }
}

fn info_of(m: &ModelBytes, iteration: u64) -> NetworkInfo {
    NetworkInfo {
        model_id: m.model_id(),
        iteration,
    }
}

fn id(i: u32) -> String {
    format!("{i:032x}")
}

/// Every game fetched within `wait`, by up to 100 at a time.
fn fetch_all(t: &mut dyn Transport) -> Vec<wgzero::transport::Incoming> {
    let mut out = Vec::new();
    loop {
        let got = t.fetch_games(100, Duration::from_millis(300)).unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// The contract: `open` gives a fresh connection to the same run.
fn contract(open: &dyn Fn() -> Box<dyn Transport>) {
    let mut t = open();
    // Settings.
    assert_eq!(t.settings().unwrap(), None);
    let settings = RunSettings {
        game: "connect4".into(),
        komi: None,
        config_toml: "[selfplay]\ngames = 8\n".into(),
    };
    t.put_settings(&settings).unwrap();
    assert_eq!(open().settings().unwrap(), Some(settings));

    // Networks: best is stored, read back, checked; poll_best sees each once.
    assert_eq!(t.best().unwrap(), None);
    let mut watcher = open();
    assert_eq!(watcher.poll_best().unwrap(), None);
    let (m1, m2) = (model(1), model(2));
    t.put_best(&info_of(&m1, 0), &m1).unwrap();
    assert_eq!(t.best().unwrap(), Some(info_of(&m1, 0)));
    assert_eq!(watcher.poll_best().unwrap(), Some(info_of(&m1, 0)));
    assert_eq!(watcher.poll_best().unwrap(), None, "seen once");
    let got = watcher.get_network(&info_of(&m1, 0)).unwrap();
    assert_eq!(
        (got.config_json, got.weights),
        (m1.config_json.clone(), m1.weights.clone())
    );
    t.put_best(&info_of(&m2, 3), &m2).unwrap();
    let mut seen = None;
    for _ in 0..50 {
        seen = watcher.poll_best().unwrap();
        if seen.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen, Some(info_of(&m2, 3)), "a promotion reaches a watcher");
    // A blob that is not the network its id names is refused.
    let forged = NetworkInfo {
        model_id: m1.model_id(),
        iteration: 9,
    };
    let blob = wgzero::transport::encode_network(&m2);
    assert!(wgzero::transport::decode_network(&blob, &forged).is_err());

    // Games: delivered in publication order until acknowledged; an id
    // published twice is kept once.
    let mut consumer = open();
    consumer.open_games().unwrap();
    let mut publisher = open();
    let games: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (id(i), vec![i as u8; 100 + i as usize]))
        .collect();
    for r in publisher.publish_games(&games) {
        assert!(!r.unwrap().duplicate);
    }
    let again = publisher.publish_game(&id(2), games[2].1.clone()).unwrap();
    assert!(again.duplicate, "the same id again is a duplicate");
    let first = fetch_all(consumer.as_mut());
    let ids: Vec<_> = first.iter().map(|g| g.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        (0..6).map(id).collect::<Vec<_>>(),
        "each once, in order"
    );
    for g in &first {
        assert_eq!(
            g.payload,
            games[usize::from_str_radix(g.id.as_deref().unwrap(), 16).unwrap()].1
        );
    }
    for g in &first[..4] {
        consumer.ack_game(g).unwrap();
    }
    // A new consumer (a restarted trainer) gets the unacknowledged ones at once.
    drop(consumer);
    let mut consumer = open();
    consumer.open_games().unwrap();
    let second = fetch_all(consumer.as_mut());
    let ids: Vec<_> = second.iter().map(|g| g.id.clone().unwrap()).collect();
    assert_eq!(ids, vec![id(4), id(5)], "unacknowledged games come again");
    assert!(second.iter().all(|g| g.deliveries >= 1));
    for g in &second {
        consumer.ack_game(g).unwrap();
    }
    consumer.open_games().unwrap();
    assert!(
        fetch_all(consumer.as_mut()).is_empty(),
        "acknowledged games are gone"
    );
    // Later games follow.
    publisher.publish_game(&id(7), vec![7; 10]).unwrap();
    let third = fetch_all(consumer.as_mut());
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].id.as_deref(), Some(id(7).as_str()));
}

#[test]
fn folder_transport_keeps_the_contract() {
    let dir = common::tempdir("transport-folder");
    let d = dir.clone();
    contract(&move || Box::new(FolderTransport::open(&d, "contract").unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nats_transport_keeps_the_contract() {
    let Some(server) = common::nats_server("transport-nats") else {
        return;
    };
    let url = server.url();
    // The trainer creates the run's stream and buckets.
    drop(connect(&url, "contract", true).unwrap());
    contract(&move || connect(&url, "contract", false).unwrap());
}

#[test]
fn bad_broker_urls_and_run_names_are_clear_errors() {
    let e = connect("http://x", "run", false).err().unwrap().to_string();
    assert!(e.contains("nats://"), "{e}");
    let e = connect("dir:/tmp", "a.b", false).err().unwrap().to_string();
    assert!(e.contains("run name"), "{e}");
    let port = wgzero::transport::server::free_port().unwrap();
    let e = connect(&format!("nats://127.0.0.1:{port}"), "run", false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cannot reach the broker"), "{e}");
}

#[test]
fn a_game_the_broker_refuses_for_good_is_parked_and_the_others_published() {
    // A server whose payload limit is 2 KB: a 4 KB record can never be
    // published. It must leave the queue (parked in rejected/ with its
    // reason), while the games around it are published, and the drain ends.
    let Some(server) = common::nats_server_with("transport-rejected", "max_payload: 2KB") else {
        return;
    };
    let url = server.url();
    let mut trainer = connect(&url, "rej", true).unwrap();
    let dir = common::tempdir("rejected-spool");
    let spool = wgzero::worker::spool::Spool::open(&dir).unwrap();
    spool.put(&id(1), &[1u8; 100]).unwrap();
    spool.put(&id(2), &[2u8; 4096]).unwrap();
    spool.put(&id(3), &[3u8; 100]).unwrap();
    let worker = connect(&url, "rej", false).unwrap();
    let left = wgzero::worker::drain_spool(worker, &spool, Duration::from_secs(30)).unwrap();
    assert_eq!(left, 0, "the drain did not end");
    assert!(spool.list().unwrap().is_empty());
    let parked = dir.join("rejected");
    assert_eq!(
        std::fs::read(parked.join(format!("{}.wgzr", id(2))))
            .unwrap()
            .len(),
        4096
    );
    let why = std::fs::read_to_string(parked.join(format!("{}.why.txt", id(2)))).unwrap();
    assert!(why.contains("payload"), "{why}");
    trainer.open_games().unwrap();
    let got: Vec<Option<String>> = fetch_all(trainer.as_mut())
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(got, vec![Some(id(1)), Some(id(3))]);
    let _ = std::fs::remove_dir_all(&dir);
}
