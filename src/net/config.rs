//! The network's shape: a plain struct saved as JSON beside the weights.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::game::Game;

/// Version of the model-config JSON written by this build.
pub const CONFIG_VERSION: u32 = 1;

/// Shape of a policy/value network and the game it plays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// Format version of this file ([`CONFIG_VERSION`]).
    pub version: u32,
    /// The game's [`Game::name`], e.g. `connect4`.
    pub game: String,
    /// Input planes `[C, H, W]` ([`Game::planes_shape`]).
    pub input: [usize; 3],
    /// Size of the action space (policy logits).
    pub actions: usize,
    /// Residual blocks (two 3x3 convolutions each).
    pub blocks: usize,
    /// Channels of the stem and of every block.
    pub channels: usize,
    /// Hidden units of the value head.
    pub value_hidden: usize,
    /// Channels of the value head's 1x1 convolution, the features its hidden
    /// layer sees per board cell (default 1, AlphaZero's; omitted from the
    /// JSON when 1, so files written before this field existed load as is).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub value_channels: usize,
    /// KataGo's auxiliary heads, trained on the final ownership of every
    /// cell, the final score and the opponent's reply (games with
    /// [`Game::ownership_cells`]: Go). Inference does not read them.
    /// Default false (omitted from the JSON when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub aux_heads: bool,
    /// KataGo's global pooling (Go only): every residual block adds biases
    /// computed from its channels' board-wide mean, size-scaled mean and
    /// maximum; the policy head gives a logit per point from a 1x1
    /// convolution (pass from the pooled features) and the value head reads
    /// pooled features. No layer depends on the board's size, so the same
    /// weights play every size 5-19 (`input` and `actions` then record the
    /// size the network was made for). Default false (omitted when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub global_pooling: bool,
    /// Channels of the policy head's 1x1 convolution (default 2,
    /// AlphaZero's; [`NetConfig::with_global_pooling`] makes it 16).
    #[serde(default = "two", skip_serializing_if = "is_two")]
    pub policy_channels: usize,
}

fn two() -> usize {
    2
}

fn is_two(n: &usize) -> bool {
    *n == 2
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

impl NetConfig {
    /// The default network for `game`: Connect Four and tic-tac-toe 4 blocks x
    /// 64 channels (about 300k parameters for Connect Four); Gomoku 6 blocks x
    /// 96 channels; Go 6 blocks x 64 channels.
    pub fn for_game<G: Game>(game: &G) -> Self {
        let name = game.name();
        let (blocks, channels) = if name.starts_with("gomoku") {
            (6, 96)
        } else if crate::game::go::is_go_name(&name) {
            (6, 64)
        } else {
            (4, 64)
        };
        NetConfig {
            version: CONFIG_VERSION,
            game: name,
            input: game.planes_shape(),
            actions: game.num_actions(),
            blocks,
            channels,
            value_hidden: 64,
            value_channels: 1,
            aux_heads: false,
            global_pooling: false,
            policy_channels: 2,
        }
    }

    /// The same network with KataGo's global pooling
    /// ([`NetConfig::global_pooling`]): policy head 16 channels, value head
    /// at least 16 (what it pools).
    pub fn with_global_pooling(mut self) -> Self {
        self.global_pooling = true;
        self.policy_channels = 16;
        self.value_channels = self.value_channels.max(16);
        self
    }

    /// This config for `game`: itself, or for a network with global pooling
    /// made for another Go board size, the same network with `game`'s name,
    /// input and actions (the weights do not depend on the size). Fails as
    /// [`NetConfig::check_game`] does.
    pub fn for_board<G: Game>(&self, game: &G) -> Result<NetConfig> {
        let name = game.name();
        let other_size = self.global_pooling
            && self.game != name
            && crate::game::go::is_go_name(&self.game)
            && crate::game::go::is_go_name(&name)
            && self.input[0] == game.planes_shape()[0];
        if !other_size {
            self.check_game(game)?;
            return Ok(self.clone());
        }
        let mut cfg = self.clone();
        cfg.game = name;
        cfg.input = game.planes_shape();
        cfg.actions = game.num_actions();
        cfg.check_game(game)?;
        Ok(cfg)
    }

    /// Same game, another size.
    pub fn with_size(mut self, blocks: usize, channels: usize) -> Self {
        self.blocks = blocks;
        self.channels = channels;
        self
    }

    /// Checks that this config describes a network for `game`.
    pub fn check_game<G: Game>(&self, game: &G) -> Result<()> {
        if self.game != game.name() {
            return Err(Error::Model(format!(
                "the model plays {}, not {}",
                self.game,
                game.name()
            )));
        }
        if self.aux_heads && game.ownership_cells() == 0 {
            return Err(Error::Model(format!(
                "the model has auxiliary heads, which {} has no targets for",
                game.name()
            )));
        }
        let [_, h, w] = self.input;
        if self.global_pooling && self.actions != h * w + 1 {
            return Err(Error::Model(format!(
                "global pooling needs an action per cell and a pass ({} has {} actions for {} cells)",
                game.name(),
                self.actions,
                h * w
            )));
        }
        if self.input != game.planes_shape() || self.actions != game.num_actions() {
            return Err(Error::Model(format!(
                "the model expects input {:?} and {} actions; {} has {:?} and {}",
                self.input,
                self.actions,
                game.name(),
                game.planes_shape(),
                game.num_actions()
            )));
        }
        Ok(())
    }

    /// Checks the fields' ranges.
    pub fn validate(&self) -> Result<()> {
        if self.version != CONFIG_VERSION {
            return Err(Error::Model(format!(
                "model config version {} is not supported (this build reads version {CONFIG_VERSION})",
                self.version
            )));
        }
        let [c, h, w] = self.input;
        if c == 0 || h == 0 || w == 0 || self.actions == 0 {
            return Err(Error::Model("empty input or action space".into()));
        }
        if !(1..=1024).contains(&self.channels)
            || self.blocks > 64
            || !(1..=4096).contains(&self.value_hidden)
            || !(1..=256).contains(&self.value_channels)
            || !(1..=256).contains(&self.policy_channels)
        {
            return Err(Error::Model(format!(
                "unreasonable size: {} blocks, {} channels, {} value units, {} value channels, {} policy channels",
                self.blocks, self.channels, self.value_hidden, self.value_channels, self.policy_channels
            )));
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn num_params(&self) -> usize {
        if self.global_pooling {
            return self.pooled_params();
        }
        let [c, h, w] = self.input;
        let (ch, cells) = (self.channels, h * w);
        let bn = |n: usize| 2 * n;
        let stem = c * ch * 9 + bn(ch);
        let blocks = self.blocks * 2 * (ch * ch * 9 + bn(ch));
        let ph = self.policy_channels;
        let policy = ch * ph + bn(ph) + ph * cells * self.actions + self.actions;
        let vc = self.value_channels;
        let hidden = self.value_hidden;
        let value = ch * vc + bn(vc) + vc * cells * hidden + hidden + hidden + 1;
        let aux = if self.aux_heads {
            (ch + 1) + (hidden + 1) + (ph * cells * self.actions + self.actions)
        } else {
            0
        };
        stem + blocks + policy + value + aux
    }

    /// [`NetConfig::num_params`] of a network with global pooling (the
    /// same at every board size).
    fn pooled_params(&self) -> usize {
        let c = self.input[0];
        let (ch, ph, vc, hidden) = (
            self.channels,
            self.policy_channels,
            self.value_channels,
            self.value_hidden,
        );
        let bn = |n: usize| 2 * n;
        let dense = |i: usize, o: usize| i * o + o;
        let stem = c * ch * 9 + bn(ch);
        let blocks = self.blocks * (2 * (ch * ch * 9 + bn(ch)) + dense(3 * ch, ch));
        // 1x1 convolution, pooled biases, a logit per cell, the pass.
        let policy = ch * ph + bn(ph) + dense(3 * ph, ph) + dense(ph, 1) + dense(3 * ph, 1);
        let value = ch * vc + bn(vc) + dense(3 * vc, hidden) + dense(hidden, 1);
        let aux = if self.aux_heads {
            dense(ch, 1) + dense(hidden, 1) + dense(ph, 1) + dense(3 * ph, 1)
        } else {
            0
        };
        stem + blocks + policy + value + aux
    }

    /// Multiply-adds of one position's forward pass, the convolutions counted
    /// as direct ones (whatever algorithm computes them): what GFLOP/s
    /// figures are quoted against (2 FLOPs per multiply-add).
    pub fn macs_per_position(&self) -> usize {
        let [c, h, w] = self.input;
        let (ch, cells) = (self.channels, h * w);
        let stem = cells * 9 * c * ch;
        let blocks = self.blocks * 2 * cells * 9 * ch * ch;
        let (ph, vc) = (self.policy_channels, self.value_channels);
        if self.global_pooling {
            let pooled = self.blocks * 3 * ch * ch;
            let policy = cells * ch * ph + 3 * ph * ph + cells * ph + 3 * ph;
            let value = cells * ch * vc + 3 * vc * self.value_hidden + self.value_hidden;
            return stem + blocks + pooled + policy + value;
        }
        let policy = cells * ch * ph + ph * cells * self.actions;
        let value = cells * ch * vc + vc * cells * self.value_hidden + self.value_hidden;
        stem + blocks + policy + value
    }
}
