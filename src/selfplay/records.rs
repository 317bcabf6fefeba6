//! Game records: the versioned binary format that self-play writes and
//! training reads.
//!
//! A record file (`*.wgzr`) is little-endian:
//!
//! ```text
//! magic    4 bytes  "WGZR"
//! version  u32      3 (versions 1 and 2, with 64-bit ids, are still read;
//!                   version 1 has no `flags`)
//! game     u16 length + UTF-8 bytes   (Game::name, e.g. "connect4")
//! words    u32      packed words per position (Game::packed_words)
//! actions  u32      size of the action space
//! count    u32      number of games
//! then `count` games:
//!   game_id   u128  (u64 before version 3) globally unique: a worker's
//!                   random 64-bit id in the high half, its game counter in
//!                   the low half; 0 in the high half for games of the
//!                   single-process loop (see [`GameId`])
//!   model_id  u16 length + UTF-8 bytes   (Network::id, or "rollout", ...)
//!   outcome   i8    result for the player who moved first: 1 win, 0 draw, -1 loss
//!   moves     u32   number of positions
//!   then `moves` positions:
//!     packed   words x u32   the position before the move (Game::pack)
//!     to_move  u8            0 or 1
//!     action   u16           the move played
//!     value    f32           the search's value of the position, for the side to move
//!     policy   actions x f32 the search policy target (sums to 1)
//!     flags    u8            bit 0: a full search (its policy is a training
//!                            target); clear for playout-cap fast searches
//! ```
//!
//! Files are written whole and atomically (temporary file, fsync, rename), so
//! a reader never sees a partial file.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::game::Game;

/// Format version written by this build.
pub const RECORDS_VERSION: u32 = 3;
const MAGIC: &[u8; 4] = b"WGZR";

/// One position of a game and its training targets.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionRecord {
    pub packed: Vec<u32>,
    pub to_move: u8,
    pub action: u16,
    pub value: f32,
    pub policy: Vec<f32>,
    /// Whether the move came from a full search (playout-cap randomisation:
    /// only full searches give policy targets).
    pub full_search: bool,
}

/// A game's id: globally unique across the machines of a run. The high 64
/// bits name the process that played it (a random id drawn when a worker
/// starts; 0 for the single-process loop, whose ids stay as they were), the
/// low 64 bits count that process's games.
pub struct GameId;

impl GameId {
    /// The id of game `counter` of process `origin`.
    pub fn from_parts(origin: u64, counter: u64) -> u128 {
        ((origin as u128) << 64) | counter as u128
    }

    /// The process half of an id.
    pub fn origin(id: u128) -> u64 {
        (id >> 64) as u64
    }

    /// The counter half of an id.
    pub fn counter(id: u128) -> u64 {
        id as u64
    }

    /// 64 bits standing for the id (for hashing): the id itself when the
    /// high half is 0, so that the single-process loop's choices by id
    /// (held-out games) are what they were with 64-bit ids.
    pub fn fold(id: u128) -> u64 {
        let hi = Self::origin(id);
        Self::counter(id) ^ if hi == 0 { 0 } else { crate::game::mix64(hi) }
    }

    /// The id as 32 hex digits (message ids, file names).
    pub fn hex(id: u128) -> String {
        format!("{id:032x}")
    }
}

/// One finished game.
#[derive(Clone, Debug, PartialEq)]
pub struct GameRecord {
    pub game_id: u128,
    pub model_id: String,
    /// Result for the first player: 1 win, 0 draw, -1 loss.
    pub outcome: i8,
    pub positions: Vec<PositionRecord>,
}

impl GameRecord {
    /// The game's result for the side to move in position `i` (the value target).
    pub fn value_target(&self, i: usize) -> f32 {
        let o = self.outcome as f32;
        if self.positions[i].to_move == 0 {
            o
        } else {
            -o
        }
    }

    /// Positions searched in full: the ones a replay buffer keeps as
    /// training targets.
    pub fn full_searches(&self) -> usize {
        self.positions.iter().filter(|p| p.full_search).count()
    }
}

/// A record file's header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordsHeader {
    pub game: String,
    pub words: usize,
    pub actions: usize,
}

impl RecordsHeader {
    /// The header of `game`'s records.
    pub fn of<G: Game>(game: &G) -> Self {
        RecordsHeader {
            game: game.name(),
            words: game.packed_words(),
            actions: game.num_actions(),
        }
    }

    /// Checks that the records of `path` (with this header) are `game`'s.
    pub fn check<G: Game>(&self, game: &G, path: &Path) -> Result<()> {
        if *self != Self::of(game) {
            return Err(Error::Parse {
                what: "game records",
                input: path.display().to_string(),
                reason: format!("records of {}, not {}", self.game, game.name()),
            });
        }
        Ok(())
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

/// Serialises games into the record format.
pub fn encode_records(header: &RecordsHeader, games: &[GameRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&RECORDS_VERSION.to_le_bytes());
    put_str(&mut out, &header.game);
    out.extend_from_slice(&(header.words as u32).to_le_bytes());
    out.extend_from_slice(&(header.actions as u32).to_le_bytes());
    out.extend_from_slice(&(games.len() as u32).to_le_bytes());
    for g in games {
        out.extend_from_slice(&g.game_id.to_le_bytes());
        put_str(&mut out, &g.model_id);
        out.push(g.outcome as u8);
        out.extend_from_slice(&(g.positions.len() as u32).to_le_bytes());
        for p in &g.positions {
            debug_assert_eq!(p.packed.len(), header.words);
            debug_assert_eq!(p.policy.len(), header.actions);
            p.packed
                .iter()
                .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
            out.push(p.to_move);
            out.extend_from_slice(&p.action.to_le_bytes());
            out.extend_from_slice(&p.value.to_le_bytes());
            p.policy
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            out.push(p.full_search as u8);
        }
    }
    out
}

/// Writes a record file atomically.
pub fn write_records(path: &Path, header: &RecordsHeader, games: &[GameRecord]) -> Result<()> {
    crate::files::write_atomic(path, &encode_records(header, games))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.at + n > self.bytes.len() {
            return Err(Error::Parse {
                what: "game records",
                input: String::new(),
                reason: format!("truncated at byte {} (needs {n} more)", self.at),
            });
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().unwrap()))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| bad("a name is not UTF-8"))
    }
}

fn bad(reason: &str) -> Error {
    Error::Parse {
        what: "game records",
        input: String::new(),
        reason: reason.into(),
    }
}

/// Parses a record file's bytes.
pub fn decode_records(bytes: &[u8]) -> Result<(RecordsHeader, Vec<GameRecord>)> {
    let mut c = Cursor { bytes, at: 0 };
    if c.take(4)? != MAGIC {
        return Err(bad("not a wgzero record file (bad magic)"));
    }
    let version = c.u32()?;
    if !(1..=RECORDS_VERSION).contains(&version) {
        return Err(bad(&format!(
            "record version {version} is not supported (this build reads {RECORDS_VERSION})"
        )));
    }
    let header = RecordsHeader {
        game: c.string()?,
        words: c.u32()? as usize,
        actions: c.u32()? as usize,
    };
    if header.words == 0 || header.words > 4096 || header.actions == 0 || header.actions > 1 << 16 {
        return Err(bad("implausible header sizes"));
    }
    let count = c.u32()? as usize;
    let mut games = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let game_id = if version >= 3 {
            c.u128()?
        } else {
            c.u64()? as u128
        };
        let model_id = c.string()?;
        let outcome = c.u8()? as i8;
        if !(-1..=1).contains(&outcome) {
            return Err(bad("outcome out of range"));
        }
        let moves = c.u32()? as usize;
        let mut positions = Vec::with_capacity(moves.min(1 << 12));
        for _ in 0..moves {
            let packed = (0..header.words)
                .map(|_| c.u32())
                .collect::<Result<Vec<_>>>()?;
            let to_move = c.u8()?;
            let action = c.u16()?;
            let value = c.f32()?;
            let policy = (0..header.actions)
                .map(|_| c.f32())
                .collect::<Result<Vec<_>>>()?;
            let full_search = version < 2 || c.u8()? & 1 == 1;
            if to_move > 1 || action as usize >= header.actions {
                return Err(bad("position fields out of range"));
            }
            positions.push(PositionRecord {
                packed,
                to_move,
                action,
                value,
                policy,
                full_search,
            });
        }
        games.push(GameRecord {
            game_id,
            model_id,
            outcome,
            positions,
        });
    }
    if c.at != bytes.len() {
        return Err(bad("trailing bytes after the last game"));
    }
    Ok((header, games))
}

/// Reads a record file.
pub fn read_records(path: &Path) -> Result<(RecordsHeader, Vec<GameRecord>)> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    decode_records(&bytes).map_err(|e| match e {
        Error::Parse { what, reason, .. } => Error::Parse {
            what,
            input: path.display().to_string(),
            reason,
        },
        other => other,
    })
}

/// Writes games to a folder in chunks of [`RecordChunks::GAMES_PER_FILE`]
/// games (`games-NNNNNN.wgzr`, numbered after the files already there), each
/// file written atomically, so an interrupted run keeps every full chunk.
pub struct RecordChunks {
    dir: PathBuf,
    header: RecordsHeader,
    first: usize,
    written: usize,
    pending: Vec<GameRecord>,
}

impl RecordChunks {
    pub const GAMES_PER_FILE: usize = 64;

    /// A writer into `dir` (created if needed) for `game`'s records.
    pub fn new<G: Game>(game: &G, dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(RecordChunks {
            first: crate::files::next_numbered(dir, "games-", ".wgzr")?,
            dir: dir.to_path_buf(),
            header: RecordsHeader::of(game),
            written: 0,
            pending: Vec::new(),
        })
    }

    /// Adds a game; a full chunk is written out.
    pub fn push(&mut self, record: GameRecord) -> Result<()> {
        self.pending.push(record);
        if self.pending.len() >= Self::GAMES_PER_FILE {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the games not yet written (a last, shorter chunk).
    pub fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let name = format!("games-{:06}.wgzr", self.first + self.written);
            write_records(&self.dir.join(name), &self.header, &self.pending)?;
            self.pending.clear();
            self.written += 1;
        }
        Ok(())
    }

    /// Files written so far.
    pub fn files_written(&self) -> usize {
        self.written
    }
}

/// One game as a record file of one game (a broker message's payload).
pub fn encode_game<G: Game>(game: &G, record: &GameRecord) -> Vec<u8> {
    encode_records(&RecordsHeader::of(game), std::slice::from_ref(record))
}

/// Reads a message that should hold exactly one of `game`'s games, and
/// checks the game against the rules ([`validate_game`]). The error says
/// what is wrong; nothing here panics on hostile bytes.
pub fn decode_game<G: Game>(game: &G, bytes: &[u8]) -> std::result::Result<GameRecord, String> {
    let (header, mut games) = decode_records(bytes).map_err(|e| e.to_string())?;
    if header != RecordsHeader::of(game) {
        return Err(format!(
            "records of {} ({} words, {} actions), not {}",
            header.game,
            header.words,
            header.actions,
            game.name()
        ));
    }
    if games.len() != 1 {
        return Err(format!("{} games in one message, not 1", games.len()));
    }
    let record = games.pop().expect("one game");
    validate_game(game, &record)?;
    Ok(record)
}

/// Checks a game record against the rules: it starts at the initial
/// position, every stored position is the one the moves before it reach,
/// every move is legal, the game ends where the rules end it with the
/// recorded outcome, and every value and policy is finite and in range.
pub fn validate_game<G: Game>(game: &G, g: &GameRecord) -> std::result::Result<(), String> {
    if g.positions.is_empty() {
        return Err("a game without positions".into());
    }
    let mut s = game.initial();
    let mut packed = vec![0u32; game.packed_words()];
    for (i, p) in g.positions.iter().enumerate() {
        let at = |what: &str| format!("position {i}: {what}");
        if game.terminal_value(&s).is_some() {
            return Err(at("the game was already over"));
        }
        game.pack(&s, &mut packed);
        if p.packed != packed {
            return Err(at("not the position the moves before it reach"));
        }
        if p.to_move != game.to_move(&s) {
            return Err(at("wrong side to move"));
        }
        let a = p.action as usize;
        if a >= game.num_actions() || !game.is_legal(&s, a) {
            return Err(at(&format!("illegal move {a}")));
        }
        if !(p.value.is_finite() && p.value.abs() <= 1.0 + 1e-4) {
            return Err(at(&format!("value {} out of range", p.value)));
        }
        if p.policy.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(at("a policy entry is negative or not finite"));
        }
        let sum: f32 = p.policy.iter().sum();
        if (sum - 1.0).abs() > 1e-3 {
            return Err(at(&format!("policy sums to {sum}, not 1")));
        }
        game.apply(&mut s, a);
    }
    let Some(v) = game.terminal_value(&s) else {
        return Err("the game does not end after its last move".into());
    };
    let first = if game.to_move(&s) == 0 { v } else { -v };
    if first.round() as i8 != g.outcome {
        return Err(format!(
            "outcome {} but the rules give {}",
            g.outcome,
            first.round() as i8
        ));
    }
    if g.model_id.is_empty() {
        return Err("no model id".into());
    }
    Ok(())
}
