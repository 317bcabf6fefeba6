//! The network side: the only module that sees burn and wgpu.
//!
//! - [`config`]: the network's shape, saved as JSON beside the weights;
//! - [`model`]: the residual policy/value network in burn;
//! - [`network`]: a network for one game on one device, model files;
//! - [`source`]: where a network comes from (folder, shipped, bytes, random)
//!   and the one way to open it on a device;
//! - [`encode`]: WGSL input encoding on the GPU (`shaders/`), CPU encoding otherwise;
//! - [`device`]: choosing a GPU through wgpu or burn's CPU backend (`flex`);
//! - [`evaluator`]: the [`crate::eval::Evaluator`] that runs the network on a worker thread;
//! - [`browser`] (wasm32 only): the device set-up and forward pass of a
//!   browser, both asynchronous;
//! - [`trainer`]: the optimisation step (burn autodiff, AdamW).

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod cards;
pub mod config;
pub mod cpu;
pub mod device;
pub mod encode;
#[cfg(not(target_arch = "wasm32"))]
pub mod evaluator;
pub mod kernels;
pub mod model;
pub mod network;
pub mod source;
#[cfg(not(target_arch = "wasm32"))]
pub mod trainer;

pub use config::NetConfig;
#[cfg(not(target_arch = "wasm32"))]
pub use device::{select, select_on};
pub use device::{AdapterChoice, BackendChoice, DeviceReport, Selected};
#[cfg(not(target_arch = "wasm32"))]
pub use evaluator::NetEvaluator;
pub use network::{Network, Precision};
#[cfg(not(target_arch = "wasm32"))]
pub use source::Opened;
pub use source::{ModelBytes, ModelSource};
