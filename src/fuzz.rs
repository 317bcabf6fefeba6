//! Fuzzing entry points: one function per decoder of outside bytes, each
//! taking arbitrary bytes and returning normally on every input (an error
//! is a normal outcome; a panic, a hang or an abort is a finding). The
//! `cargo fuzz` targets in `fuzz/` call them, and `tests/fuzz_corpus.rs`
//! replays each target's committed corpus through them on stable Rust
//! (CI's smoke run). Round trips are asserted where a decoder accepts: what
//! it read must encode back to an input it reads the same way.
//!
//! | target | what it decodes |
//! | --- | --- |
//! | `records` | a `.wgzr` game-record file, and one game as the broker carries it |
//! | `model` | a model folder's `config.json` + `model.bpk` (and the broker's network blob) |
//! | `run_files` | a run's `state.json`, its `config.toml` / a `--config` settings file, the broker's run settings |
//! | `positions` | Connect Four positions files (plain and judged) |
//! | `moves` | move lists and moves of every game's notation |
//! | `gtp_engine` | GTP command lines sent to `wgzero gtp` |
//! | `gtp_client` | an outside GTP engine's answers, scores and moves |

use crate::config::ConfigFile;
use crate::game::{Connect4, Game, Go, Gomoku, TicTacToe};
use crate::selfplay::records::{decode_game, decode_records, encode_records, GameRecord};

/// A fuzz target's function: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the folders of `fuzz/corpus/`).
pub const TARGETS: [(&str, Target); 7] = [
    ("records", records),
    ("model", model),
    ("run_files", run_files),
    ("positions", positions),
    ("moves", moves),
    ("gtp_engine", gtp_engine),
    ("gtp_client", gtp_client),
];

/// Splits `data` at the first `0xff` byte (neither part contains it).
fn split2(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The first byte picks a game (and a board size) for the rest.
fn with_game(data: &[u8], f: &mut dyn FnMut(&dyn DynGame, &[u8])) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 4 {
        0 => f(&Connect4, rest),
        1 => f(&TicTacToe, rest),
        2 => {
            if let Ok(g) = Gomoku::new(5 + (pick as usize / 4) % 15) {
                f(&g, rest)
            }
        }
        _ => {
            if let Ok(g) = Go::new(5 + (pick as usize / 4) % 15, 7.5) {
                f(&g, rest)
            }
        }
    }
}

/// What the targets need of a game, object-safe.
trait DynGame {
    fn decode_one(&self, bytes: &[u8]);
    fn moves(&self, text: &str);
}

impl<G: Game> DynGame for G {
    fn decode_one(&self, bytes: &[u8]) {
        if let Ok(g) = decode_game(self, bytes) {
            // A valid game re-encodes to a message that reads the same.
            let again = crate::selfplay::records::encode_game(self, &g);
            let back = decode_game(self, &again).expect("a re-encoded valid game decodes");
            assert_eq!(back, g, "game record round trip");
        }
    }

    fn moves(&self, text: &str) {
        // A whole move list, then each token against the start position.
        if let Ok(s) = self.parse_position(text) {
            let _ = self.render(&s);
            let mut words = vec![0u32; self.packed_words()];
            self.pack(&s, &mut words);
            let back = self.unpack(&words).expect("a reached position unpacks");
            let mut again = vec![0u32; self.packed_words()];
            self.pack(&back, &mut again);
            assert_eq!(again, words, "pack/unpack round trip");
        }
        let s = self.initial();
        for token in self.split_moves(text) {
            if let Ok(a) = self.parse_move(&s, token) {
                assert!(self.is_legal(&s, a), "parse_move gave an illegal move");
                let again = self.parse_move(&s, &self.format_move(a));
                assert_eq!(again.ok(), Some(a), "format/parse round trip of {token:?}");
            }
        }
    }
}

/// Game-record files (`.wgzr`) and one-game broker messages.
pub fn records(data: &[u8]) {
    if let Ok((header, games)) = decode_records(data) {
        // Compared as bytes: values may be NaN in a file nothing validated.
        let again = encode_records(&header, &games);
        let (h2, g2) = decode_records(&again).expect("re-encoded records decode");
        assert_eq!(h2, header, "records header round trip");
        assert_eq!(encode_records(&h2, &g2), again, "records round trip");
        let _: usize = games.iter().map(GameRecord::full_searches).sum();
    }
    with_game(data, &mut |g, rest| g.decode_one(rest));
}

/// A model folder's two files, split at the first `0xff` byte (which JSON
/// text never holds): `config.json`, then `model.bpk`. Opened on the CPU
/// backend as Connect Four and as Go 9x9; also the broker's network blob.
pub fn model(data: &[u8]) {
    use crate::net::{select, BackendChoice, ModelBytes, ModelSource};
    let (config, weights) = split2(data);
    let Ok(config_json) = std::str::from_utf8(config) else {
        return;
    };
    let bytes = ModelBytes {
        label: "fuzz".into(),
        config_json: config_json.to_string(),
        weights: weights.to_vec(),
    };
    if let Ok(selected) = select(BackendChoice::Cpu) {
        let _ = ModelSource::Bytes(bytes.clone()).open(Connect4, &selected);
        let _ = ModelSource::Bytes(bytes.clone()).open(Go::default(), &selected);
    }
    let info = crate::transport::NetworkInfo {
        model_id: bytes.model_id(),
        iteration: 0,
    };
    let _ = crate::transport::decode_network(data, &info);
}

/// A run's `state.json`, its `config.toml` (the same parser reads
/// `--config` settings files, over the training defaults), and the run
/// settings a worker reads from the broker.
pub fn run_files(data: &[u8]) {
    if let Ok(state) = serde_json::from_slice::<crate::train::store::RunState>(data) {
        let json = serde_json::to_string(&state).expect("a run state serialises");
        serde_json::from_str::<crate::train::store::RunState>(&json)
            .expect("a serialised run state reads back");
    }
    let _ = serde_json::from_slice::<crate::transport::RunSettings>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = toml::from_str::<ConfigFile>(text) {
        let _ = cfg.run.validate();
        let toml = cfg.to_toml();
        toml::from_str::<ConfigFile>(&toml).expect("settings written back read back");
    }
    let _ = ConfigFile::parse_over(text, &crate::config::training_defaults());
}

/// Connect Four positions files: plain (`eval --positions`) and judged
/// (`gen-positions`).
pub fn positions(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::positions::parse_positions(text, "fuzz");
    let _ = crate::positions::parse_judged_positions(text, "fuzz");
}

/// Move lists and single moves in every game's notation.
pub fn moves(data: &[u8]) {
    with_game(data, &mut |g, rest| {
        if let Ok(text) = std::str::from_utf8(rest) {
            g.moves(text);
        }
    });
}

/// Lines sent to `wgzero gtp` (one command per line), on a small board
/// with a tiny rollout search so that `genmove` stays fast.
pub fn gtp_engine(data: &[u8]) {
    use crate::gtp::Engine;
    use crate::players::{MctsPlayer, Player};
    let Ok(game) = Go::new(5, 7.5) else {
        return;
    };
    let factory = Box::new(|g: Go| -> crate::Result<Box<dyn Player<Go>>> {
        Ok(Box::new(MctsPlayer::new(g, 2, 0)?))
    });
    let Ok(mut engine) = Engine::new(game, factory) else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        let _ = engine.handle_line(line);
        if engine.finished() {
            break;
        }
    }
}

/// What an outside GTP engine answers: the framing of answers, scores, and
/// moves (as `genmove` returns them) on Go boards.
pub fn gtp_client(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().map(str::to_string);
    let _ = crate::players::gtp::read_answer("fuzz", &mut || {
        lines
            .next()
            .ok_or_else(|| crate::Error::Gtp("end of output".into()))
    });
    for word in text.split_whitespace().take(32) {
        if let Some(m) = crate::game::go::parse_score(word) {
            // Go scores are whole or half points: those write and read back.
            if (m * 2.0).fract() == 0.0 && m.abs() < 1e6 {
                let back = crate::game::go::parse_score(&crate::game::go::score_text(m));
                assert_eq!(back, Some(m), "score round trip of {word:?}");
            }
        }
        if let Ok(g) = Go::new(9, 7.5) {
            let _ = g.parse_move(&g.initial(), word);
        }
    }
}
