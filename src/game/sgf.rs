//! Go games as SGF (FF[4]), through the `sgf-parse` crate: written for any
//! viewer (Sabaki, GoGui, GNU Go's `--infile`, `loadsgf`), read back for
//! GTP's `loadsgf`.
//!
//! wgzero's positions alternate from an empty board, so a record is a size,
//! a komi and a list of moves. Reading takes the first game's main line;
//! two moves of one colour in a row get a pass of the other between them;
//! setup stones (`AB`, `AW`, `AE`: handicap and edited positions) are
//! refused with a clear error, as are moves off the board and illegal ones.

use sgf_parse::go::{Move, Point, Prop};
use sgf_parse::{SgfNode, SgfProp, SimpleText};

use super::go::GoState;
use super::{Game, Go};
use crate::error::{Error, Result};

/// What a record says besides the moves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SgfInfo {
    /// Black's and White's names.
    pub black: Option<String>,
    pub white: Option<String>,
    /// The result in SGF's form (`B+3.5`, `W+R`, `0`).
    pub result: Option<String>,
    /// A comment on the root node.
    pub comment: Option<String>,
}

/// A game read from SGF: its rules and its moves (action ids from the
/// empty board, passes inserted where one colour moved twice).
#[derive(Clone, Debug, PartialEq)]
pub struct SgfGame {
    pub game: Go,
    pub moves: Vec<usize>,
    pub info: SgfInfo,
}

/// The SGF of `moves` (legal, from the empty board) under `game`'s rules:
/// FF[4], GM[1], CA[UTF-8], SZ, KM, RU[Chinese] (area scoring, as
/// Tromp-Taylor), AP[wgzero], then one node per move.
pub fn write_sgf(game: &Go, moves: &[usize], info: &SgfInfo) -> String {
    game_tree(game, moves, info).serialize()
}

/// Several games as one SGF collection.
pub fn write_collection(games: &[(Go, Vec<usize>, SgfInfo)]) -> String {
    games
        .iter()
        .map(|(g, m, i)| game_tree(g, m, i).serialize())
        .collect::<Vec<_>>()
        .join("\n")
}

fn game_tree(game: &Go, moves: &[usize], info: &SgfInfo) -> SgfNode<Prop> {
    let text = |s: &str| SimpleText {
        text: s.to_string(),
    };
    let n = game.size() as u8;
    let mut root = vec![
        Prop::FF(4),
        Prop::GM(1),
        Prop::CA(text("UTF-8")),
        Prop::AP((text("wgzero"), text(env!("CARGO_PKG_VERSION")))),
        // SZ[9] rather than the crate's SZ[9:9]: older readers know only the first.
        Prop::Unknown("SZ".into(), vec![n.to_string()]),
        Prop::KM(f64::from(game.komi())),
        Prop::RU(text("Chinese")),
    ];
    if let Some(b) = &info.black {
        root.push(Prop::PB(text(b)));
    }
    if let Some(w) = &info.white {
        root.push(Prop::PW(text(w)));
    }
    if let Some(r) = &info.result {
        root.push(Prop::RE(text(r)));
    }
    if let Some(c) = &info.comment {
        root.push(Prop::C(sgf_parse::Text { text: c.clone() }));
    }
    // Nodes from the last move back, each the only child of the one before.
    let mut child: Option<SgfNode<Prop>> = None;
    for (i, &a) in moves.iter().enumerate().rev() {
        let mv = if a == game.pass() {
            Move::Pass
        } else {
            let size = game.size();
            Move::Move(Point {
                x: (a % size) as u8,
                y: (a / size) as u8,
            })
        };
        let prop = if i % 2 == 0 { Prop::B(mv) } else { Prop::W(mv) };
        child = Some(SgfNode::new(vec![prop], child.into_iter().collect(), false));
    }
    SgfNode::new(root, child.into_iter().collect(), true)
}

/// SGF's `RE` of a game ended in `s`: `B+R` / `W+R` when the side
/// `resigned_winner` (0 Black, 1 White) won by resignation, else the area
/// score as GTP writes it ([`super::go::score_text`]: `B+3.5`, `W+0.5`, `0`).
pub fn result_text(game: &Go, s: &GoState, resigned_winner: Option<u8>) -> String {
    match resigned_winner {
        Some(0) => "B+R".into(),
        Some(_) => "W+R".into(),
        None => super::go::score_text(game.area_score(s)),
    }
}

/// Reads the first game of an SGF text (its main line), checking every move.
pub fn read_sgf(text: &str) -> Result<SgfGame> {
    let bad = |reason: String| Error::parse("an SGF file", &first_chars(text), reason);
    let nodes = sgf_parse::go::parse(text).map_err(|e| bad(e.to_string()))?;
    let root = nodes
        .into_iter()
        .next()
        .ok_or_else(|| bad("no game in it".into()))?;
    let mut size = 19usize;
    let mut komi = 7.5f32;
    let mut info = SgfInfo::default();
    for p in root.properties() {
        match p {
            Prop::SZ((w, h)) if w == h => size = *w as usize,
            Prop::SZ((w, h)) => return Err(bad(format!("a {w}x{h} board is not square"))),
            Prop::KM(k) => komi = *k as f32,
            Prop::PB(t) => info.black = Some(t.text.clone()),
            Prop::PW(t) => info.white = Some(t.text.clone()),
            Prop::RE(t) => info.result = Some(t.text.clone()),
            Prop::C(t) => info.comment = Some(t.text.clone()),
            Prop::HA(h) if *h >= 2 => {
                return Err(bad(format!(
                    "a handicap game (HA[{h}]): wgzero's positions alternate from an empty board"
                )))
            }
            _ => {}
        }
    }
    let game = Go::new(size, komi).map_err(|e| bad(e.to_string()))?;
    let mut s = game.initial();
    let mut moves = Vec::new();
    for (k, node) in root.main_variation().enumerate() {
        for p in node.properties() {
            if matches!(p, Prop::AB(_) | Prop::AW(_) | Prop::AE(_)) {
                return Err(bad(format!(
                    "node {k} places setup stones ({}): wgzero's positions alternate from an empty board",
                    p.identifier()
                )));
            }
        }
        let Some(prop) = node.get_move() else {
            continue;
        };
        let (color, mv) = match prop {
            Prop::B(m) => (0u8, *m),
            Prop::W(m) => (1u8, *m),
            _ => continue,
        };
        let a = action_of(&game, mv).ok_or_else(|| {
            bad(format!(
                "move {} of node {k} is off a {size}x{size} board",
                prop
            ))
        })?;
        if game.to_move(&s) != color {
            // One colour twice in a row: the other passed.
            play_checked(&game, &mut s, game.pass(), k)?;
            moves.push(game.pass());
        }
        play_checked(&game, &mut s, a, k)?;
        moves.push(a);
    }
    Ok(SgfGame { game, moves, info })
}

/// The position after the first `n` moves of a read game.
pub fn position_after(g: &SgfGame, n: usize) -> GoState {
    let mut s = g.game.initial();
    for &a in g.moves.iter().take(n) {
        g.game.apply(&mut s, a);
    }
    s
}

fn play_checked(game: &Go, s: &mut GoState, a: usize, node: usize) -> Result<()> {
    if game.terminal_value(s).is_some() {
        return Err(Error::IllegalMove {
            mv: game.format_move(a),
            reason: format!("node {node}: the game is over (two passes)"),
        });
    }
    game.play(s, a).map_err(|e| match e {
        Error::IllegalMove { mv, reason } => Error::IllegalMove {
            mv,
            reason: format!("node {node}: {reason}"),
        },
        other => other,
    })
}

/// The action of an SGF move; `tt` on boards up to 19 is a pass (FF[3]).
fn action_of(game: &Go, mv: Move) -> Option<usize> {
    let n = game.size();
    match mv {
        Move::Pass => Some(game.pass()),
        Move::Move(Point { x, y }) if x == 19 && y == 19 && n <= 19 => Some(game.pass()),
        Move::Move(Point { x, y }) if (x as usize) < n && (y as usize) < n => {
            Some(y as usize * n + x as usize)
        }
        Move::Move(_) => None,
    }
}

fn first_chars(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_game_round_trips_with_passes_and_captures() {
        let g = Go::new(5, 6.5).unwrap();
        // Black captures at A1 (White's A1 stone) then both pass.
        let s = g.parse_position("A2 A1 B1 pass pass").unwrap();
        let moves: Vec<usize> = {
            let mut t = g.initial();
            let mut v = Vec::new();
            for m in ["A2", "A1", "B1", "pass", "pass"] {
                let a = g.parse_move(&t, m).unwrap();
                g.apply(&mut t, a);
                v.push(a);
            }
            v
        };
        let info = SgfInfo {
            black: Some("wgzero".into()),
            white: Some("GNU Go [level 1]".into()),
            result: Some("B+R".into()),
            comment: None,
        };
        let text = write_sgf(&g, &moves, &info);
        assert!(text.starts_with("(;"), "{text}");
        assert!(text.contains("SZ[5]") && text.contains("KM[6.5]"), "{text}");
        assert!(text.contains(";B[ad];W[ae];B[be];W[];B[])"), "{text}");
        assert!(text.contains("PW[GNU Go [level 1\\]]"), "{text}");
        let back = read_sgf(&text).unwrap();
        assert_eq!(back.moves, moves);
        assert_eq!(back.info, info);
        assert_eq!(back.game, g);
        assert_eq!(position_after(&back, 5), s);
    }

    #[test]
    fn bad_records_are_refused_clearly() {
        for (sgf, want) in [
            ("(;GM[1]SZ[9];B[ee];W[ee])", "illegal move E5: node 2"),
            ("(;GM[1]SZ[9];B[zz])", "off a 9x9 board"),
            ("(;GM[1]SZ[9]AB[ee];W[cc])", "setup stones"),
            ("(;GM[1]SZ[9]HA[2];W[cc])", "handicap"),
            ("(;GM[1]SZ[9:7];B[aa])", "not square"),
            ("(;GM[1]SZ[30])", "board"),
            ("not sgf", "SGF"),
            ("(;GM[1]SZ[9];B[];W[];B[ee])", "game is over"),
        ] {
            let e = read_sgf(sgf).unwrap_err().to_string();
            assert!(e.contains(want), "{sgf}: {e}");
        }
        // Two black moves in a row: White passed between them; `tt` is a pass.
        let g = read_sgf("(;GM[1]SZ[9]KM[7];B[ee];B[cc];W[tt])").unwrap();
        let go = Go::new(9, 7.0).unwrap();
        assert_eq!(g.moves.len(), 4);
        assert_eq!(g.moves[1], go.pass());
        assert_eq!(g.moves[3], go.pass());
    }
}
