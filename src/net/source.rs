//! Where a network comes from, and the one way to open it on a device:
//! `train`, `eval`, `play`, `selfplay`, `bench` and `new-model` all go
//! through [`ModelSource`].

use std::path::PathBuf;

use super::config::NetConfig;
#[cfg(not(target_arch = "wasm32"))]
use super::cpu::{ConvAlgo, CpuPrecision};
use super::device::Selected;
#[cfg(not(target_arch = "wasm32"))]
use super::evaluator::NetEvaluator;
#[cfg(not(target_arch = "wasm32"))]
use super::network::Precision;
use super::network::{model_id, Network, CONFIG_FILE, WEIGHTS_FILE};
use crate::error::{Error, Result};
use crate::files::{read_model_bytes, read_model_text};
use crate::game::Game;

/// A network's origin.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A model folder: `config.json` + `model.bpk`.
    Folder(PathBuf),
    /// The game's model shipped in the binary ([`crate::models::shipped`]).
    Shipped,
    /// A model already read into memory (a checkpoint, an `--init-model`).
    Bytes(ModelBytes),
    /// Random weights, seeded; `config: None` is the game's default shape.
    Random {
        config: Option<NetConfig>,
        seed: u64,
    },
}

/// A model's `config.json` text and `model.bpk` bytes, and a label naming
/// it in errors and logs.
#[derive(Clone, Debug)]
pub struct ModelBytes {
    pub label: String,
    pub config_json: String,
    pub weights: Vec<u8>,
}

impl ModelBytes {
    /// The id of its weights, as in checkpoint metadata.
    pub fn model_id(&self) -> String {
        model_id(&self.weights)
    }
}

/// A network running on its worker thread, and what it is.
#[cfg(not(target_arch = "wasm32"))]
pub struct Opened {
    pub eval: NetEvaluator,
    /// The id of its weights (`random-SEED` for random weights).
    pub model_id: String,
    /// Whether inference runs in f16.
    pub f16: bool,
    /// Whether the network has auxiliary heads ([`NetConfig::aux_heads`]).
    pub aux_heads: bool,
}

/// The file in a run folder that names its best checkpoint (the run folder
/// layout is the training loop's, `crate::train::store`; only the `best`
/// field is read here).
pub const RUN_STATE_FILE: &str = "state.json";

impl ModelSource {
    /// The model a folder names, as every command takes `--model`: a run
    /// folder (it holds `state.json`) means its best checkpoint, any other
    /// folder is a model folder (`config.json` + `model.bpk`).
    pub fn at(path: &std::path::Path) -> Result<ModelSource> {
        let state = path.join(RUN_STATE_FILE);
        if !state.exists() {
            return Ok(ModelSource::Folder(path.to_path_buf()));
        }
        let text = read_model_text(&state)?;
        let best = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["best"].as_str().map(str::to_string))
            .ok_or_else(|| {
                Error::Model(format!(
                    "{}: not a run state (no `best` checkpoint)",
                    state.display()
                ))
            })?;
        Ok(ModelSource::Folder(path.join(best)))
    }

    /// How errors and logs name the model.
    pub fn label(&self) -> String {
        match self {
            ModelSource::Folder(dir) => dir.display().to_string(),
            ModelSource::Shipped => "shipped model".into(),
            ModelSource::Bytes(m) => m.label.clone(),
            ModelSource::Random { seed, .. } => format!("random weights (seed {seed})"),
        }
    }

    /// The model's files, read (`None` for random weights). A missing file
    /// or a game without a shipped model is an [`Error::Model`].
    pub fn read<G: Game>(&self, game: &G) -> Result<Option<ModelBytes>> {
        Ok(match self.resolve(game)? {
            Weights::Bytes(m) => Some(m),
            Weights::Random { .. } => None,
        })
    }

    /// The weights to build the network from: read (the files' errors
    /// come from here), or the recipe of random ones.
    fn resolve<G: Game>(&self, game: &G) -> Result<Weights> {
        Ok(match self {
            ModelSource::Folder(dir) => Weights::Bytes(ModelBytes {
                label: dir.display().to_string(),
                config_json: read_model_text(&dir.join(CONFIG_FILE))?,
                weights: read_model_bytes(&dir.join(WEIGHTS_FILE))?,
            }),
            ModelSource::Shipped => match crate::models::shipped(&game.name()) {
                Some((json, weights)) => Weights::Bytes(ModelBytes {
                    label: self.label(),
                    config_json: json.to_string(),
                    weights: weights.to_vec(),
                }),
                None => {
                    return Err(Error::Model(format!(
                        "there is no shipped model for {}",
                        game.name()
                    )))
                }
            },
            ModelSource::Bytes(m) => Weights::Bytes(m.clone()),
            ModelSource::Random { config, seed } => Weights::Random {
                config: config.clone(),
                seed: *seed,
            },
        })
    }

    /// The network on `selected`'s device (config, shapes and weights
    /// checked; errors name the model).
    pub fn open<G: Game>(&self, game: G, selected: &Selected) -> Result<Network<G>> {
        self.resolve(&game)?.build(game, selected)
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// The network on a worker thread of its own, inferring in `precision`.
    /// The files are read here, so their errors come back at once.
    pub fn evaluator<G: Game>(
        &self,
        game: &G,
        selected: &Selected,
        precision: Precision,
    ) -> Result<Opened> {
        self.evaluator_scored(game, selected, precision, 0.0)
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// [`ModelSource::evaluator`] whose values are blended with the score
    /// head's margin by a score utility of weight `score_utility`
    /// ([`Network::with_score_utility`]; 0 = off).
    pub fn evaluator_scored<G: Game>(
        &self,
        game: &G,
        selected: &Selected,
        precision: Precision,
        score_utility: f32,
    ) -> Result<Opened> {
        let cpu = (ConvAlgo::from_env(), CpuPrecision::from_env());
        self.evaluator_with(game, selected, precision, cpu, score_utility)
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// [`ModelSource::evaluator_scored`] with the CPU path's 3x3
    /// convolutions computed by `cpu.0` with products in `cpu.1` (the
    /// benchmark measures each path).
    pub fn evaluator_with<G: Game>(
        &self,
        game: &G,
        selected: &Selected,
        precision: Precision,
        cpu: (ConvAlgo, CpuPrecision),
        score_utility: f32,
    ) -> Result<Opened> {
        let weights = self.resolve(game)?;
        let (game, selected) = (game.clone(), selected.clone());
        let (id_tx, id_rx) = std::sync::mpsc::channel();
        let eval = NetEvaluator::spawn(move || {
            let network = weights
                .build(game, &selected)?
                .with_precision(precision, selected.real_gpu)?
                .with_conv_algo(cpu.0)
                .with_cpu_precision(cpu.1)
                .with_score_utility(score_utility)?;
            let _ = id_tx.send((
                network.id().to_string(),
                network.is_f16(),
                network.config().aux_heads,
            ));
            Ok(network)
        })?;
        let (model_id, f16, aux_heads) = id_rx.recv().unwrap_or_default();
        Ok(Opened {
            eval,
            model_id,
            f16,
            aux_heads,
        })
    }
}

/// A [`ModelSource`] with its files read.
enum Weights {
    Bytes(ModelBytes),
    Random {
        config: Option<NetConfig>,
        seed: u64,
    },
}

impl Weights {
    /// The network on `selected`'s device.
    fn build<G: Game>(self, game: G, selected: &Selected) -> Result<Network<G>> {
        let (device, gpu) = (selected.device.clone(), selected.is_wgpu);
        match self {
            Weights::Bytes(m) => Network::from_parts(game, &m.config_json, m.weights, device, gpu)
                .map_err(|e| e.in_model(&m.label)),
            Weights::Random { config, seed } => {
                let config = config.unwrap_or_else(|| NetConfig::for_game(&game));
                Network::random(game, config, device, gpu, seed)
            }
        }
    }
}
