//! Models shipped inside the binary (`models/` in the repository).

/// The shipped model of `game` (its `config.json` text and `model.bpk`
/// bytes), if there is one. Go of every size gets the 9x9 network: it has
/// global pooling, so its weights play every board size (docs/go.md).
pub fn shipped(game: &str) -> Option<(&'static str, &'static [u8])> {
    match game {
        "connect4" => Some((
            include_str!("../models/connect4/config.json"),
            include_bytes!("../models/connect4/model.bpk"),
        )),
        // The browser build (wasm32) plays Connect Four and Go only: the
        // other networks stay out of its download.
        #[cfg(not(target_arch = "wasm32"))]
        "gomoku15" => Some((
            include_str!("../models/gomoku15/config.json"),
            include_bytes!("../models/gomoku15/model.bpk"),
        )),
        go if crate::game::go::is_go_name(go) => Some((
            include_str!("../models/go9/config.json"),
            include_bytes!("../models/go9/model.bpk"),
        )),
        #[cfg(not(target_arch = "wasm32"))]
        "ohhell" => Some((
            include_str!("../models/ohhell/config.json"),
            include_bytes!("../models/ohhell/model.bpk"),
        )),
        _ => None,
    }
}
