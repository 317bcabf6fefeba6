//! The network in a web browser (wasm32 only): WebGPU through burn's wgpu
//! backend, or wgzero's CPU (gemm) path when the browser has no usable
//! WebGPU adapter.
//!
//! A browser cannot block: the device is opened with
//! [`open_webgpu`] and read back with [`Network::forward_async`], both
//! asynchronous (burn's synchronous reads panic on wasm). Everything else
//! (games, search, encoding kernels, model files) is the native code.

use burn::tensor::wgpu::{wgpu, WgpuBackend};
use burn::tensor::{Device, Transaction};

use super::device::{DeviceReport, Selected};
use super::encode;
use super::network::{read_outputs, write_outputs, CpuPath, Network};
use crate::error::{Error, Result};
use crate::eval::Batch;
use crate::game::Game;

/// Opens the browser's WebGPU adapter for burn. The adapter's name and
/// whether it offers `timestamp-query` (cubecl-wgpu needs it: without it
/// the caller falls back to [`open_cpu`]) are in the report's `chosen`.
pub async fn open_webgpu() -> Result<Selected> {
    let (device, setup) = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_with_setup_async()
        .await
        .map_err(|e| Error::Device(format!("cannot open the WebGPU adapter: {e}")))?;
    let info = setup.adapter.get_info();
    let f16 = setup
        .adapter
        .features()
        .contains(wgpu::Features::SHADER_F16);
    // Browsers often keep the adapter's name to themselves (fingerprinting);
    // the page then shows what `GPUAdapter.info` says.
    let name = if info.name.is_empty() {
        "WebGPU adapter (the browser gives no name)".to_string()
    } else {
        info.name.clone()
    };
    Ok(Selected {
        device,
        is_wgpu: true,
        real_gpu: false,
        report: DeviceReport {
            adapters: Vec::new(),
            chosen: format!("webgpu: {name}"),
            reason: "the browser's WebGPU adapter".into(),
            f16,
            cpu_backend: CpuPath::Gemm.describe(),
        },
    })
}

/// The CPU fallback: burn's `flex` device holds the weights, wgzero's gemm
/// path (wasm SIMD128 kernels) evaluates.
pub fn open_cpu(reason: &str) -> Selected {
    Selected {
        device: Device::flex(),
        is_wgpu: false,
        real_gpu: false,
        report: DeviceReport {
            adapters: Vec::new(),
            chosen: "cpu: wasm gemm".into(),
            reason: reason.to_string(),
            f16: false,
            cpu_backend: CpuPath::Gemm.describe(),
        },
    }
}

/// The input planes of `states` (`[n, W]` packed words) as the game's WGSL
/// kernel computes them on the WebGPU device `selected`, read back: the
/// browser side of the kernels' parity test (the CPU reference is
/// [`super::encode::cpu_planes`]).
pub async fn encode_on_gpu<G: Game>(
    game: &G,
    states: &[u32],
    selected: &Selected,
) -> Result<Vec<f32>> {
    if !selected.is_wgpu {
        return Err(Error::Device("the WGSL kernels run on WebGPU only".into()));
    }
    let planes = encode::encode_wgpu(game, states, &selected.device)?;
    let data = planes
        .into_data_async()
        .await
        .map_err(|e| Error::Device(format!("reading the planes: {e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("reading the planes: {e:?}")))
}

impl<G: Game> Network<G> {
    /// [`Network::forward`] for a browser: the same computation, read back
    /// asynchronously. Policy logits `[n, A]` and values `[n]`.
    pub async fn forward_async(&self, states: &[u32]) -> Result<(Vec<f32>, Vec<f32>)> {
        if !self.gpu_encode() {
            // The CPU path computes on the calling thread: nothing to await.
            return self.forward(states);
        }
        self.count_states(states)?;
        let (logits, value) = self.forward_on_device(states)?;
        let data = Transaction::default()
            .register(logits)
            .register(value)
            .execute_async()
            .await
            .map_err(|e| Error::Device(format!("reading results: {e:?}")))?;
        read_outputs(data)
    }
}

/// Fills `batch`'s policy (softmax over legal actions) and value with
/// `network`'s outputs, read back asynchronously: what the native
/// evaluator thread does for a search, for a browser's search loop.
pub async fn evaluate_batch<G: Game>(network: &Network<G>, batch: &mut Batch) -> Result<()> {
    batch.prepare_results();
    if batch.is_empty() {
        return Ok(());
    }
    let (logits, values) = network.forward_async(&batch.states).await?;
    write_outputs(batch, &logits, &values)
}
