//! Go on an `n x n` board (5 to 19, default 9) with Tromp-Taylor rules.
//!
//! - **Moves**: any empty point, or pass (the last action, `n * n`).
//!   Suicide (a move that leaves its own group without liberties and
//!   captures nothing) is illegal.
//! - **Ko**: positional superko: a move may not recreate any earlier board
//!   position (stones only, whoever is to move). The simple-ko point is
//!   tracked as well, as a fast first check and for the input planes.
//! - **End**: two passes in a row, or the move cap (`3 * n * n` actions,
//!   passes included), after which the position is scored as it stands.
//! - **Score**: Tromp-Taylor area: each player's stones plus the empty
//!   points that reach only that player's stones; White adds komi (default
//!   7.5, so no draws; an integral komi can draw). No dead-stone removal:
//!   stones on the board at the end count as alive.
//!
//! Bookkeeping is incremental: every stone knows its group (a root point),
//! groups are rings of stones, and each root holds the group's exact
//! liberty count. A move touches only its neighbours' groups: merging
//! recounts the merged group's liberties by walking its stones, a capture
//! gives each neighbouring group one liberty per removed stone. There is no
//! board-wide flood fill except when a finished game is scored.
//!
//! Points are numbered `row * n + col`, row 0 at the top; the notation is
//! GTP's: a column letter `A`..`T` without `I`, then the row counted from the
//! bottom (`E5` is the centre of 9x9), or `pass`.

use super::{bit, dihedral, mix64, zobrist_keys, Game};
use crate::error::{Error, Result};

/// Largest supported board side.
pub const MAX_SIZE: usize = 19;
/// Smallest supported board side.
pub const MIN_SIZE: usize = 5;
const MAX_CELLS: usize = MAX_SIZE * MAX_SIZE;
const NONE: u16 = u16::MAX;
/// Column letters of the GTP notation (no `I`).
const COLUMNS: &[u8; 19] = b"ABCDEFGHJKLMNOPQRST";
/// Bits of the superko pre-filter (a one-hash Bloom filter of past positions).
const FILTER_WORDS: usize = 8;
/// The packed value of "no ko point".
const PACKED_NO_KO: u32 = 511;

static ZOBRIST: [[u64; MAX_CELLS]; 2] = zobrist_keys(0x6a09_e667_f3bc_c909);

/// One point of the board.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Point {
    /// 0 empty, 1 Black's stone, 2 White's.
    color: u8,
    /// Root point of this stone's group.
    root: u16,
    /// Next stone of the same group (the group is a ring).
    next: u16,
    /// At a root: the group's exact number of liberties.
    libs: u16,
}

const EMPTY: Point = Point {
    color: 0,
    root: NONE,
    next: NONE,
    libs: 0,
};

/// A Go position with the history that superko needs.
#[derive(Clone, PartialEq, Debug)]
pub struct GoState {
    points: Vec<Point>,
    /// Actions played so far, passes included.
    moves: u16,
    /// Passes in a row at the end of the game so far.
    passes: u8,
    /// The point the simple-ko rule forbids for the side to move.
    ko: u16,
    /// Zobrist hash of the stones (not of the side to move).
    hash: u64,
    /// Hashes of every earlier board position (the current one excluded).
    history: Vec<u64>,
    /// Bloom filter over `history` (top bits of each hash).
    filter: [u64; FILTER_WORDS],
    /// Black's Tromp-Taylor score minus White's, komi included, once the game is over.
    result: Option<f32>,
    /// The last action played.
    last: u16,
}

impl GoState {
    /// The stone at `point`: `Some(0)` Black, `Some(1)` White, `None` empty.
    pub fn stone(&self, point: usize) -> Option<u8> {
        match self.points[point].color {
            0 => None,
            c => Some(c - 1),
        }
    }
    /// Liberties of the group on `point` (0 for an empty point).
    pub fn liberties(&self, point: usize) -> usize {
        match self.points[point].color {
            0 => 0,
            _ => self.points[self.points[point].root as usize].libs as usize,
        }
    }
    /// The point simple ko forbids for the side to move, if any.
    pub fn ko_point(&self) -> Option<usize> {
        (self.ko != NONE).then_some(self.ko as usize)
    }
    /// Passes in a row at the end of the game so far (2 ends it).
    pub fn passes(&self) -> usize {
        self.passes as usize
    }
    /// The last action played, if any.
    pub fn last_action(&self) -> Option<usize> {
        (self.last != NONE).then_some(self.last as usize)
    }
    /// Zobrist hash of the stones alone (positional superko compares these).
    pub fn board_hash(&self) -> u64 {
        self.hash
    }
    /// Black's area score minus White's with komi, if the game is over.
    pub fn final_score(&self) -> Option<f32> {
        self.result
    }
    fn filter_bit(h: u64) -> (usize, u64) {
        let b = (h >> 55) as usize; // 9 bits: 512 = 64 * FILTER_WORDS
        (b / 64, 1 << (b % 64))
    }
    fn seen(&self, h: u64) -> bool {
        let (w, m) = Self::filter_bit(h);
        self.filter[w] & m != 0 && (h == self.hash || self.history.contains(&h))
    }
    fn remember(&mut self, h: u64) {
        let (w, m) = Self::filter_bit(h);
        self.filter[w] |= m;
        self.history.push(h);
    }
}

/// Whether `name` is a Go game's [`Game::name`] (`go9`, `go19`, ...).
pub fn is_go_name(name: &str) -> bool {
    name.strip_prefix("go")
        .is_some_and(|n| n.parse::<usize>().is_ok())
}

/// Go rules for one board size and komi.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Go {
    n: usize,
    komi: f32,
}

impl Default for Go {
    fn default() -> Self {
        Go { n: 9, komi: 7.5 }
    }
}

/// Up to four neighbours of a point.
#[derive(Clone, Copy)]
struct Neighbours {
    list: [u16; 4],
    len: usize,
}

impl Neighbours {
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.list[..self.len].iter().map(|&p| p as usize)
    }
}

/// Up to four distinct group roots.
#[derive(Default)]
struct Roots {
    list: [u16; 4],
    len: usize,
}

impl Roots {
    fn add(&mut self, r: u16) {
        if !self.list[..self.len].contains(&r) {
            self.list[self.len] = r;
            self.len += 1;
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.list[..self.len].iter().map(|&p| p as usize)
    }
}

/// A set of points as a bit set (enough for 19x19).
struct Marks([u64; MAX_CELLS.div_ceil(64)]);

impl Marks {
    fn new() -> Self {
        Marks([0; MAX_CELLS.div_ceil(64)])
    }
    /// Marks `p`; true if it was not marked.
    fn insert(&mut self, p: usize) -> bool {
        let (w, m) = (p / 64, 1u64 << (p % 64));
        let fresh = self.0[w] & m == 0;
        self.0[w] |= m;
        fresh
    }
}

impl Go {
    /// Go on an `n x n` board (`5 <= n <= 19`) with `komi` for White (a
    /// multiple of 0.5 in `-150..=150`).
    pub fn new(n: usize, komi: f32) -> Result<Self> {
        if !(MIN_SIZE..=MAX_SIZE).contains(&n) {
            return Err(Error::config(format!(
                "go board size {n} is outside {MIN_SIZE}..={MAX_SIZE}"
            )));
        }
        if !komi.is_finite() || komi.abs() > 150.0 || (komi * 2.0).fract() != 0.0 {
            return Err(Error::config(format!(
                "komi {komi} must be a multiple of 0.5 between -150 and 150"
            )));
        }
        Ok(Go { n, komi })
    }
    /// Board side.
    pub fn size(&self) -> usize {
        self.n
    }
    /// Komi for White.
    pub fn komi(&self) -> f32 {
        self.komi
    }
    /// The same rules with another komi.
    pub fn with_komi(self, komi: f32) -> Result<Self> {
        Go::new(self.n, komi)
    }
    /// Number of points.
    pub fn points(&self) -> usize {
        self.n * self.n
    }
    /// The pass action.
    pub fn pass(&self) -> usize {
        self.n * self.n
    }
    /// Actions after which the game ends whatever happens (`3 * n * n`).
    pub fn move_cap(&self) -> usize {
        3 * self.n * self.n
    }
    fn words_per_set(&self) -> usize {
        self.points().div_ceil(32)
    }

    fn neighbours(&self, p: usize) -> Neighbours {
        let n = self.n;
        let mut out = Neighbours {
            list: [0; 4],
            len: 0,
        };
        let mut push = |q: usize| {
            out.list[out.len] = q as u16;
            out.len += 1;
        };
        if p >= n {
            push(p - n);
        }
        if !p.is_multiple_of(n) {
            push(p - 1);
        }
        if p % n != n - 1 {
            push(p + 1);
        }
        if p + n < n * n {
            push(p + n);
        }
        out
    }

    /// The stones of the group whose root is `root`.
    fn group_stones<'a>(&self, s: &'a GoState, root: usize) -> impl Iterator<Item = usize> + 'a {
        let mut cur = root;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let p = cur;
            cur = s.points[p].next as usize;
            done = cur == root;
            Some(p)
        })
    }

    /// Enemy groups (roots) that a stone of `me` on `p` would capture.
    fn captures(&self, s: &GoState, p: usize, me: u8) -> Roots {
        let mut roots = Roots::default();
        for q in self.neighbours(p).iter() {
            let pt = s.points[q];
            if pt.color != 0 && pt.color != me && s.points[pt.root as usize].libs == 1 {
                roots.add(pt.root);
            }
        }
        roots
    }

    /// Whether a stone of `me` (1 Black, 2 White) on the empty point `p` has a
    /// liberty after the move (it captures, touches an empty point, or joins
    /// a group with another liberty).
    fn has_liberty_after(&self, s: &GoState, p: usize, me: u8) -> bool {
        self.neighbours(p).iter().any(|q| {
            let pt = s.points[q];
            match pt.color {
                0 => true,
                c => {
                    let libs = s.points[pt.root as usize].libs;
                    if c == me {
                        libs > 1
                    } else {
                        libs == 1
                    }
                }
            }
        })
    }

    /// Legal apart from superko: empty, not the simple-ko point, not suicide.
    /// This is what GNU Go's rules allow (simple ko only).
    pub fn is_legal_simple_ko(&self, s: &GoState, a: usize) -> bool {
        if s.result.is_some() || a > self.pass() {
            return false;
        }
        if a == self.pass() {
            return true;
        }
        let me = self.color_to_move(s);
        s.points[a].color == 0 && a as u16 != s.ko && self.has_liberty_after(s, a, me)
    }

    /// The board hash after a stone of `me` on `p` and its captures.
    fn hash_after(&self, s: &GoState, p: usize, me: u8) -> u64 {
        let mut h = s.hash ^ ZOBRIST[me as usize - 1][p];
        for r in self.captures(s, p, me).iter() {
            for q in self.group_stones(s, r) {
                h ^= ZOBRIST[2 - me as usize][q];
            }
        }
        h
    }

    fn color_to_move(&self, s: &GoState) -> u8 {
        (s.moves & 1) as u8 + 1
    }

    /// Counts the distinct empty neighbours of the group at `root`.
    fn count_liberties(&self, s: &GoState, root: usize) -> u16 {
        let mut marks = Marks::new();
        let mut libs = 0;
        for p in self.group_stones(s, root) {
            for q in self.neighbours(p).iter() {
                if s.points[q].color == 0 && marks.insert(q) {
                    libs += 1;
                }
            }
        }
        libs
    }

    /// Puts a stone of `me` on `p`, merging groups and removing captures; returns
    /// the number of stones captured and the last one.
    fn place(&self, s: &mut GoState, p: usize, me: u8) -> (usize, usize) {
        let captured = self.captures(s, p, me);
        let nb = self.neighbours(p);
        let mut friends = Roots::default();
        let mut enemies = Roots::default();
        let mut empty = 0;
        for q in nb.iter() {
            let pt = s.points[q];
            match pt.color {
                0 => empty += 1,
                c if c == me => friends.add(pt.root),
                _ => enemies.add(pt.root),
            }
        }
        s.points[p] = Point {
            color: me,
            root: p as u16,
            next: p as u16,
            libs: empty,
        };
        s.hash ^= ZOBRIST[me as usize - 1][p];
        for r in enemies.iter() {
            s.points[r].libs -= 1;
        }
        // Merge the friendly groups into the stone's group.
        let mut root = p;
        for r in friends.iter() {
            root = self.merge(s, root, r);
        }
        if friends.len > 0 {
            let libs = self.count_liberties(s, root);
            s.points[root].libs = libs;
        }
        let mut removed = 0;
        let mut last = NONE as usize;
        for r in captured.iter() {
            let mut q = r;
            loop {
                let next = s.points[q].next as usize;
                s.points[q] = EMPTY;
                s.hash ^= ZOBRIST[2 - me as usize][q];
                let mut gain = Roots::default();
                for t in self.neighbours(q).iter() {
                    if s.points[t].color == me {
                        gain.add(s.points[t].root);
                    }
                }
                for g in gain.iter() {
                    s.points[g].libs += 1;
                }
                removed += 1;
                last = q;
                q = next;
                if q == r {
                    break;
                }
            }
        }
        (removed, last)
    }

    /// Joins the groups rooted at `a` and `b`; returns the new root.
    fn merge(&self, s: &mut GoState, a: usize, b: usize) -> usize {
        if a == b {
            return a;
        }
        // Relabel the group of `b` (walk it) to root `a`, then splice the rings.
        let mut q = b;
        loop {
            s.points[q].root = a as u16;
            q = s.points[q].next as usize;
            if q == b {
                break;
            }
        }
        let (na, nb) = (s.points[a].next, s.points[b].next);
        s.points[a].next = nb;
        s.points[b].next = na;
        a
    }

    /// Tromp-Taylor area score of the board: Black's points minus White's,
    /// komi included.
    pub fn area_score(&self, s: &GoState) -> f32 {
        let score: i32 = self
            .area_owners(s)
            .iter()
            .map(|&o| match o {
                1 => 1,
                2 => -1,
                _ => 0,
            })
            .sum();
        score as f32 - self.komi
    }

    /// Each point's owner under Tromp-Taylor area counting: 1 Black, 2
    /// White (a stone, or an empty region that reaches only that colour), 0
    /// neither (an empty region reaching both colours or none).
    pub fn area_owners(&self, s: &GoState) -> Vec<u8> {
        let cells = self.points();
        let mut owner = vec![0u8; cells];
        let mut seen = vec![false; cells];
        let mut stack = Vec::new();
        let mut region = Vec::new();
        for start in 0..cells {
            match s.points[start].color {
                0 if !seen[start] => {
                    let mut reach = 0u8; // bit 0: reaches Black, bit 1: White
                    region.clear();
                    stack.push(start);
                    seen[start] = true;
                    while let Some(p) = stack.pop() {
                        region.push(p);
                        for q in self.neighbours(p).iter() {
                            match s.points[q].color {
                                0 if !seen[q] => {
                                    seen[q] = true;
                                    stack.push(q);
                                }
                                0 => {}
                                c => reach |= c,
                            }
                        }
                    }
                    let o = if reach == 3 { 0 } else { reach };
                    for &p in &region {
                        owner[p] = o;
                    }
                }
                0 => {}
                c => owner[start] = c,
            }
        }
        owner
    }

    /// Recomputes every group and its liberties from the stones alone (for
    /// states built from stones: unpacking, symmetric images).
    fn rebuild(&self, s: &mut GoState) {
        let cells = self.points();
        let colors: Vec<u8> = s.points.iter().map(|p| p.color).collect();
        s.points = vec![EMPTY; cells];
        for (p, &c) in colors.iter().enumerate() {
            if c != 0 {
                s.points[p] = Point {
                    color: c,
                    root: p as u16,
                    next: p as u16,
                    libs: 0,
                };
                let mut root = p;
                for q in self.neighbours(p).iter() {
                    if q < p && colors[q] == c {
                        let r = s.points[q].root as usize;
                        root = if r == root {
                            root
                        } else {
                            self.merge(s, r, root)
                        };
                    }
                }
            }
        }
        for p in 0..cells {
            if s.points[p].color != 0 && s.points[p].root as usize == p {
                s.points[p].libs = self.count_liberties(s, p);
            }
        }
    }

    fn point_name(&self, p: usize) -> String {
        let (r, c) = (p / self.n, p % self.n);
        format!("{}{}", COLUMNS[c] as char, self.n - r)
    }
}

impl Game for Go {
    type State = GoState;

    fn name(&self) -> String {
        format!("go{}", self.n)
    }
    fn variant(&self) -> Option<String> {
        Some(format!("komi {}", self.komi))
    }
    fn num_actions(&self) -> usize {
        self.points() + 1
    }
    fn initial(&self) -> GoState {
        GoState {
            points: vec![EMPTY; self.points()],
            moves: 0,
            passes: 0,
            ko: NONE,
            hash: 0,
            history: Vec::new(),
            filter: [0; FILTER_WORDS],
            result: None,
            last: NONE,
        }
    }
    fn to_move(&self, s: &GoState) -> u8 {
        (s.moves & 1) as u8
    }
    fn moves_played(&self, s: &GoState) -> usize {
        s.moves as usize
    }
    fn is_legal(&self, s: &GoState, a: usize) -> bool {
        if !self.is_legal_simple_ko(s, a) {
            return false;
        }
        a == self.pass() || !s.seen(self.hash_after(s, a, self.color_to_move(s)))
    }
    fn legal_actions(&self, s: &GoState, out: &mut Vec<usize>) {
        out.clear();
        if s.result.is_some() {
            return;
        }
        out.extend((0..self.points()).filter(|&a| self.is_legal(s, a)));
        out.push(self.pass());
    }
    fn apply(&self, s: &mut GoState, a: usize) {
        debug_assert!(self.is_legal(s, a), "illegal action {a}");
        if a == self.pass() {
            s.passes += 1;
            s.ko = NONE;
        } else {
            let me = self.color_to_move(s);
            let before = s.hash;
            s.remember(before);
            let (removed, last) = self.place(s, a, me);
            s.passes = 0;
            let single = s.points[a].next as usize == a;
            s.ko = if removed == 1 && single && s.points[a].libs == 1 {
                last as u16
            } else {
                NONE
            };
        }
        s.moves += 1;
        s.last = a as u16;
        if s.passes >= 2 || s.moves as usize >= self.move_cap() {
            s.result = Some(self.area_score(s));
        }
    }
    fn terminal_value(&self, s: &GoState) -> Option<f32> {
        s.result.map(|black| {
            let v = if black > 0.0 {
                1.0
            } else if black < 0.0 {
                -1.0
            } else {
                0.0
            };
            if s.moves & 1 == 0 {
                v
            } else {
                -v
            }
        })
    }
    fn hash(&self, s: &GoState) -> u64 {
        // Side to move, passes and the ko point matter to play; history does
        // not enter (it matters only in rare superko cycles).
        s.hash ^ mix64(((s.moves & 1) as u64) | (s.passes as u64) << 1 | (s.ko as u64) << 8)
    }
    fn num_symmetries(&self) -> usize {
        8
    }
    fn symmetry_action(&self, sym: usize, a: usize) -> usize {
        if a == self.pass() {
            return a;
        }
        let (r, c) = dihedral(sym, a / self.n, a % self.n, self.n);
        r * self.n + c
    }
    /// The image keeps the move count, passes and result; its superko history
    /// is the image of the original's (Zobrist keys of mapped points).
    fn symmetry_state(&self, sym: usize, s: &GoState) -> GoState {
        let mut t = self.initial();
        for p in 0..self.points() {
            if s.points[p].color != 0 {
                let q = self.symmetry_action(sym, p);
                t.points[q].color = s.points[p].color;
                t.hash ^= ZOBRIST[s.points[p].color as usize - 1][q];
            }
        }
        self.rebuild(&mut t);
        t.moves = s.moves;
        t.passes = s.passes;
        t.result = s.result;
        t.ko = if s.ko == NONE {
            NONE
        } else {
            self.symmetry_action(sym, s.ko as usize) as u16
        };
        t.last = if s.last == NONE {
            NONE
        } else {
            self.symmetry_action(sym, s.last as usize) as u16
        };
        // Earlier positions cannot be mapped from their hashes alone; the
        // image keeps none (superko then only sees positions after it).
        t
    }

    /// `[header, komi, own (W words), opponent (W), in atari (W), two
    /// liberties (W)]` with `W = ceil(n*n / 32)`: point `i` is bit `i % 32` of
    /// word `i / 32` of each set. Header: moves (bits 0-15), passes in a row
    /// (16-17), simple-ko point (20-28, 511 for none). Komi word: `2 * komi`
    /// as an `i32`. 14 words (56 bytes) on 9x9, 50 on 19x19.
    fn packed_words(&self) -> usize {
        2 + 4 * self.words_per_set()
    }
    fn pack(&self, s: &GoState, out: &mut [u32]) {
        let w = self.words_per_set();
        out.fill(0);
        let ko = if s.ko == NONE {
            PACKED_NO_KO
        } else {
            s.ko as u32
        };
        out[0] = s.moves as u32 | (s.passes.min(3) as u32) << 16 | ko << 20;
        out[1] = ((self.komi * 2.0) as i32) as u32;
        let me = self.color_to_move(s);
        for (p, pt) in s.points.iter().enumerate() {
            if pt.color == 0 {
                continue;
            }
            let bit = 1u32 << (p % 32);
            let word = p / 32;
            let set = if pt.color == me { 0 } else { 1 };
            out[2 + set * w + word] |= bit;
            match s.points[pt.root as usize].libs {
                1 => out[2 + 2 * w + word] |= bit,
                2 => out[2 + 3 * w + word] |= bit,
                _ => {}
            }
        }
    }
    /// The board, move count, passes and ko point come back; the superko
    /// history does not (it is not packed), nor the last move.
    fn unpack(&self, words: &[u32]) -> Result<GoState> {
        if words.len() != self.packed_words() {
            return Err(Error::InvalidState(format!(
                "{} needs {} words, got {}",
                self.name(),
                self.packed_words(),
                words.len()
            )));
        }
        let w = self.words_per_set();
        let moves = (words[0] & 0xffff) as u16;
        let passes = ((words[0] >> 16) & 3) as u8;
        let ko = (words[0] >> 20) & 511;
        if words[0] >> 29 != 0 || words[0] & 0xc_0000 != 0 {
            return Err(Error::InvalidState("unused header bits are set".into()));
        }
        if words[1] as i32 != (self.komi * 2.0) as i32 {
            return Err(Error::InvalidState(format!(
                "komi {} does not match the rules' {}",
                words[1] as i32 as f32 / 2.0,
                self.komi
            )));
        }
        let mut s = self.initial();
        s.moves = moves;
        s.passes = passes;
        let me = self.color_to_move(&s);
        for set in 0..2 {
            let color = if set == 0 { me } else { 3 - me };
            let keys = &ZOBRIST[color as usize - 1];
            for (p, key) in keys.iter().enumerate().take(self.points()) {
                if bit(&words[2 + set * w..], p) {
                    if s.points[p].color != 0 {
                        return Err(Error::InvalidState("a point holds two stones".into()));
                    }
                    s.points[p].color = color;
                    s.hash ^= key;
                }
            }
        }
        let used = self.points() - 32 * (w - 1);
        if used < 32 && (0..4).any(|k| words[2 + k * w + w - 1] >> used != 0) {
            return Err(Error::InvalidState("stones outside the board".into()));
        }
        self.rebuild(&mut s);
        for p in 0..self.points() {
            let libs = s.liberties(p);
            if s.points[p].color != 0 && libs == 0 {
                return Err(Error::InvalidState(format!(
                    "the group on {} has no liberties",
                    self.point_name(p)
                )));
            }
            let (a1, a2) = (bit(&words[2 + 2 * w..], p), bit(&words[2 + 3 * w..], p));
            if (s.points[p].color != 0 && (a1 != (libs == 1) || a2 != (libs == 2)))
                || (s.points[p].color == 0 && (a1 || a2))
            {
                return Err(Error::InvalidState(format!(
                    "liberty bits of {} do not match the stones",
                    self.point_name(p)
                )));
            }
        }
        if ko != PACKED_NO_KO {
            if ko as usize >= self.points() || s.points[ko as usize].color != 0 {
                return Err(Error::InvalidState(
                    "the ko point is not an empty point".into(),
                ));
            }
            s.ko = ko as u16;
        }
        if passes >= 2 || moves as usize >= self.move_cap() {
            s.result = Some(self.area_score(&s));
        }
        Ok(s)
    }

    /// `[10, n, n]`: own stones, opponent stones, own / opponent stones in
    /// atari, own / opponent stones with two liberties, the simple-ko point,
    /// ones (the board), komi from the side to move's view / 10 (positive
    /// when it is White), and ones if the opponent's last action was a pass
    /// (passing now would end the game). No history planes: the liberty and
    /// ko planes carry what Go's history planes are mostly for.
    fn planes_shape(&self) -> [usize; 3] {
        [10, self.n, self.n]
    }
    fn encode_packed(&self, words: &[u32], out: &mut [f32]) {
        let (cells, w) = (self.points(), self.words_per_set());
        let header = words[0];
        let moves = header & 0xffff;
        let passes = (header >> 16) & 3;
        let ko = (header >> 20) & 511;
        let komi = words[1] as i32 as f32 / 2.0;
        let mover_komi = if moves & 1 == 1 { komi } else { -komi } / 10.0;
        for set in 0..2 {
            let plane = set;
            for p in 0..cells {
                out[plane * cells + p] = bit(&words[2 + set * w..], p) as u8 as f32;
            }
        }
        for (k, libset) in [2, 3].into_iter().enumerate() {
            for (side, set) in [0, 1].into_iter().enumerate() {
                let plane = 2 + 2 * k + side;
                for p in 0..cells {
                    let v = bit(&words[2 + set * w..], p) && bit(&words[2 + libset * w..], p);
                    out[plane * cells + p] = v as u8 as f32;
                }
            }
        }
        for p in 0..cells {
            out[6 * cells + p] = (p as u32 == ko) as u8 as f32;
            out[7 * cells + p] = 1.0;
            out[8 * cells + p] = mover_komi;
            out[9 * cells + p] = (passes >= 1) as u8 as f32;
        }
    }

    fn parse_move(&self, s: &GoState, text: &str) -> Result<usize> {
        let t = text.trim().to_ascii_uppercase();
        let a = if t == "PASS" {
            self.pass()
        } else {
            let err = || {
                Error::parse(
                    "a Go move",
                    text.trim(),
                    format!(
                        "expected pass, or a column letter A-{} (no I) and a row 1-{} (e.g. {})",
                        COLUMNS[self.n - 1] as char,
                        self.n,
                        self.point_name(self.points() / 2)
                    ),
                )
            };
            let mut chars = t.chars();
            let letter = chars.next().ok_or_else(err)?;
            let col = COLUMNS[..self.n]
                .iter()
                .position(|&c| c as char == letter)
                .ok_or_else(err)?;
            let rank: usize = chars.as_str().parse().map_err(|_| err())?;
            if !(1..=self.n).contains(&rank) {
                return Err(err());
            }
            (self.n - rank) * self.n + col
        };
        let illegal = |reason: &str| Error::IllegalMove {
            mv: t.clone(),
            reason: reason.into(),
        };
        if s.result.is_some() {
            return Err(illegal("the game is over"));
        }
        if a == self.pass() {
            return Ok(a);
        }
        if s.points[a].color != 0 {
            return Err(illegal("the point is occupied"));
        }
        if a as u16 == s.ko {
            return Err(illegal("ko: the stone was just captured"));
        }
        if !self.has_liberty_after(s, a, self.color_to_move(s)) {
            return Err(illegal("suicide"));
        }
        if !self.is_legal(s, a) {
            return Err(illegal("superko: it repeats an earlier position"));
        }
        Ok(a)
    }
    fn gtp_setup(&self) -> Option<Vec<String>> {
        Some(vec![
            format!("boardsize {}", self.n),
            format!("komi {}", self.komi),
        ])
    }
    fn pass_action(&self) -> Option<usize> {
        Some(self.pass())
    }
    fn ownership_cells(&self) -> usize {
        self.points()
    }
    fn final_ownership(&self, s: &GoState) -> Option<(Vec<f32>, f32)> {
        let score = s.result?;
        let owners = self
            .area_owners(s)
            .into_iter()
            .map(|o| match o {
                1 => 1.0,
                2 => -1.0,
                _ => 0.0,
            })
            .collect();
        Some((owners, score / self.points() as f32))
    }
    fn score_now(&self, s: &GoState) -> Option<f32> {
        Some(self.area_score(s))
    }
    fn format_move(&self, a: usize) -> String {
        if a == self.pass() {
            "pass".into()
        } else {
            self.point_name(a)
        }
    }
    /// Black `X`, White `O`, the last stone played in brackets, the
    /// simple-ko point `*`.
    fn render(&self, s: &GoState) -> String {
        let mut text = String::new();
        let letters = |text: &mut String| {
            text.push_str("   ");
            for &c in &COLUMNS[..self.n] {
                text.extend([' ', c as char, ' ']);
            }
            text.push('\n');
        };
        letters(&mut text);
        for r in 0..self.n {
            text.push_str(&format!("{:>2} ", self.n - r));
            for c in 0..self.n {
                let p = r * self.n + c;
                let mark = match s.points[p].color {
                    1 => 'X',
                    2 => 'O',
                    _ if s.ko as usize == p => '*',
                    _ => '.',
                };
                if s.last as usize == p {
                    text.extend(['[', mark, ']']);
                } else {
                    text.extend([' ', mark, ' ']);
                }
            }
            text.push_str(&format!(" {}\n", self.n - r));
        }
        letters(&mut text);
        text.push_str(&format!(
            "{} to move, move {}, komi {}{}\n",
            if s.moves & 1 == 0 { "Black" } else { "White" },
            s.moves + 1,
            self.komi,
            match s.result {
                Some(v) if v > 0.0 => format!(", over: B+{v}"),
                Some(v) if v < 0.0 => format!(", over: W+{}", -v),
                Some(_) => ", over: draw".into(),
                None => String::new(),
            }
        ));
        text
    }
}

// Score notation (GTP's, and how `play` announces a Go result).

/// A score as GTP writes it: `B+3.5`, `W+0.5` or `0`, from Black's margin.
pub fn score_text(black_margin: f32) -> String {
    if black_margin > 0.0 {
        format!("B+{black_margin:.1}")
    } else if black_margin < 0.0 {
        format!("W+{:.1}", -black_margin)
    } else {
        "0".into()
    }
}

/// Reads a GTP score (`B+3.5`, `W+12`, `0`) as Black's margin (finite:
/// `B+inf` and `W+NaN` are not scores).
pub fn parse_score(text: &str) -> Option<f32> {
    let t = text.trim().to_ascii_uppercase();
    if t == "0" || t == "DRAW" {
        return Some(0.0);
    }
    let (sign, rest) = match t.split_at_checked(2)? {
        ("B+", r) => (1.0, r),
        ("W+", r) => (-1.0, r),
        _ => return None,
    };
    rest.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(g: &Go, moves: &str) -> GoState {
        g.parse_position(moves).unwrap()
    }

    #[test]
    fn capture_ko_and_suicide() {
        let g = Go::new(5, 0.5).unwrap();
        // Black surrounds C3 on three sides; White C3 is captured by D3... build a ko.
        let s = play(&g, "C4 D4 B3 E3 C2 D2 pass C3 D3");
        // D3 captured C3 (White) -> simple ko at C3 for White.
        assert_eq!(s.stone(g.parse_move(&g.initial(), "C3").unwrap()), None);
        assert_eq!(s.ko_point(), Some(12));
        let err = g.parse_move(&s, "C3").unwrap_err().to_string();
        assert!(err.contains("ko"), "{err}");
        // Suicide: a lone white stone into a black eye.
        let s = play(&g, "A2 pass B1");
        let err = g.parse_move(&s, "A1").unwrap_err().to_string();
        assert!(err.contains("suicide"), "{err}");
    }

    #[test]
    fn liberties_after_merges_and_captures() {
        let g = Go::new(9, 7.5).unwrap();
        let s = play(&g, "E5 pass E6 pass D5");
        let e5 = g.parse_move(&g.initial(), "E5").unwrap();
        assert_eq!(s.liberties(e5), 7);
        let mut t = s.clone();
        g.rebuild(&mut t);
        for p in 0..g.points() {
            assert_eq!((t.stone(p), t.liberties(p)), (s.stone(p), s.liberties(p)));
        }
    }

    #[test]
    fn two_passes_end_and_score_by_area() {
        let g = Go::new(5, 0.5).unwrap();
        let s = play(&g, "C3 pass pass");
        assert_eq!(s.final_score(), Some(24.5));
        // White passed last? The side to move is White (3 actions): it lost.
        assert_eq!(g.terminal_value(&s), Some(-1.0));
    }

    /// Final ownership: stones, one-colour regions and shared regions, and
    /// the margin agrees with the area score.
    #[test]
    fn final_ownership_counts_like_the_area_score() {
        let g = Go::new(5, 0.5).unwrap();
        // Black wall on column B, White wall on column D: A is Black's, E
        // White's, C reaches both.
        let s = play(&g, "B1 D1 B2 D2 B3 D3 B4 D4 B5 D5");
        assert_eq!(g.final_ownership(&s), None, "not final yet");
        let mut s = s;
        for _ in 0..2 {
            g.apply(&mut s, g.pass());
        }
        let (own, margin) = g.final_ownership(&s).unwrap();
        for row in 0..5 {
            let o = |c: usize| own[row * 5 + c];
            assert_eq!([o(0), o(1), o(2), o(3), o(4)], [1.0, 1.0, 0.0, -1.0, -1.0]);
        }
        assert_eq!(margin * 25.0, g.area_score(&s));
        assert_eq!(own.iter().sum::<f32>() - 0.5, g.area_score(&s));
    }

    #[test]
    fn pack_unpack_round_trip() {
        let g = Go::new(9, 7.5).unwrap();
        let s = play(&g, "E5 D5 E4 D4 E3 D3 E6 D6 pass");
        let mut w = vec![0; g.packed_words()];
        g.pack(&s, &mut w);
        let t = g.unpack(&w).unwrap();
        for p in 0..g.points() {
            assert_eq!((t.stone(p), t.liberties(p)), (s.stone(p), s.liberties(p)));
        }
        assert_eq!((t.moves, t.passes, t.ko), (s.moves, s.passes, s.ko));
    }
}
