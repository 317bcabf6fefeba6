//! Input encoding on the device: the WGSL kernels of `shaders/` expand a
//! batch of packed states into input planes on the GPU, so only the packed
//! words cross the bus. On the CPU backend the game's reference encoding
//! feeds the network directly.

use burn::backend::wgpu::{
    into_contiguous, CubeDim, CubeTensor, KernelSource, SourceKernel, SourceTemplate,
};
use burn::backend::Wgpu;
use burn::tensor::{DType, Device, Int, Shape, Tensor, TensorData};
use cubecl::prelude::{CubeCount, KernelId};
use cubecl::server::KernelArguments;

use crate::error::{Error, Result};
use crate::game::Game;

const WORKGROUP: u32 = 64;

/// A WGSL kernel of `shaders/`, one type per file (the type keys burn's
/// kernel cache).
macro_rules! wgsl_kernel {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        struct $name;
        impl KernelSource for $name {
            fn source(&self) -> SourceTemplate {
                SourceTemplate::new(include_str!(concat!("../../shaders/", $file)))
            }
            fn id(&self) -> KernelId {
                KernelId::new::<Self>()
            }
            fn lang(&self) -> &'static str {
                "wgsl"
            }
        }
    };
}

wgsl_kernel!(
    /// Connect Four's kernel.
    Connect4Wgsl,
    "encode_connect4.wgsl"
);
wgsl_kernel!(
    /// The kernel for games packed as plain bit planes (Gomoku, tic-tac-toe).
    BitplanesWgsl,
    "encode_bitplanes.wgsl"
);
wgsl_kernel!(
    /// Go's kernel.
    GoWgsl,
    "encode_go.wgsl"
);

#[cfg(not(target_arch = "wasm32"))]
wgsl_kernel!(
    /// Oh Hell's information-state kernel.
    OhHellWgsl,
    "encode_ohhell.wgsl"
);

#[cfg(not(target_arch = "wasm32"))]
/// Features `[n, F]` of a card game's packed information states (`[n, W]`,
/// the only data uploaded), computed on a wgpu `device` by the game's WGSL
/// kernel ([`ImperfectGame::info_kernel`]).
pub fn encode_info_wgpu<G: crate::cards::ImperfectGame>(
    game: &G,
    states: &[u32],
    device: &Device,
) -> Result<Tensor<2>> {
    let (name, extra) = game
        .info_kernel()
        .ok_or_else(|| Error::Device(format!("no WGSL encoding kernel for {}", game.name())))?;
    if name != "ohhell" {
        return Err(Error::Device(format!("no WGSL kernel named {name}")));
    }
    let words = game.info_words();
    let n = states.len() / words;
    let mut params = vec![n as u32];
    params.extend(extra);
    let shape = Shape::new([n, game.info_len()]);
    let out = run_kernel(OhHellWgsl, states, words, shape, &params, device)?;
    Ok(Tensor::from_primitive::<Wgpu>(out))
}

/// Uploads `states` (`[n, words]` packed words) and `params` to a wgpu
/// `device`, runs `kernel` with one invocation per output value, and returns
/// its f32 output of `shape`.
fn run_kernel<K: KernelSource + 'static>(
    kernel: K,
    states: &[u32],
    words: usize,
    shape: Shape,
    params: &[u32],
    device: &Device,
) -> Result<CubeTensor> {
    let n = states.len() / words;
    let packed: Tensor<2, Int> = Tensor::from_data(
        TensorData::new(states.to_vec(), [n, words]),
        (device, DType::U32),
    );
    let packed: CubeTensor = into_contiguous(
        packed
            .try_into_primitive::<Wgpu>()
            .map_err(|_| Error::Device("the tensor is not on a wgpu device".into()))?,
    );
    let client = packed.client.clone();
    let total = shape.num_elements();
    let out = CubeTensor::new_contiguous(
        client.clone(),
        packed.device.clone(),
        shape,
        client.empty(total.max(1) * 4),
        DType::F32,
    );
    let params = client.create_from_slice(bytemuck::cast_slice(params));
    let groups = (total as u32).div_ceil(WORKGROUP).max(1);
    let count = CubeCount::Static(groups.min(65535), groups.div_ceil(65535), 1);
    let args = KernelArguments::new()
        .with_buffer(packed.handle.clone().binding())
        .with_buffer(out.handle.clone().binding())
        .with_buffer(params.binding());
    let dim = CubeDim::new_1d(WORKGROUP);
    client.launch(Box::new(SourceKernel::new(kernel, dim)), count, args);
    Ok(out)
}

/// Which kernel encodes a game, and its parameters after `n`.
#[derive(Clone, Copy)]
enum Layout {
    Connect4,
    Bitplanes { cells: u32, wpp: u32, words: u32 },
    Go { cells: u32, wpp: u32, words: u32 },
}

fn layout<G: Game>(game: &G) -> Result<Layout> {
    let [c, h, w] = game.planes_shape();
    let name = game.name();
    if name == "connect4" {
        return Ok(Layout::Connect4);
    }
    if (name.starts_with("gomoku") || name == "tictactoe") && c == 2 {
        let cells = (h * w) as u32;
        return Ok(Layout::Bitplanes {
            cells,
            wpp: cells.div_ceil(32),
            words: game.packed_words() as u32,
        });
    }
    if crate::game::go::is_go_name(&name) && c == 10 {
        let cells = (h * w) as u32;
        return Ok(Layout::Go {
            cells,
            wpp: cells.div_ceil(32),
            words: game.packed_words() as u32,
        });
    }
    Err(Error::Device(format!("no WGSL encoding kernel for {name}")))
}

/// Packed-state bytes uploaded per position with the kernel, and f32-plane
/// bytes per position without it.
pub fn upload_bytes<G: Game>(game: &G) -> (usize, usize) {
    (4 * game.packed_words(), 4 * game.planes_len())
}

/// The CPU reference encoding of `states` (`[n, W]` packed words) as f32
/// planes `[n, C, H, W]` on the host.
pub fn cpu_planes<G: Game>(game: &G, states: &[u32]) -> Vec<f32> {
    let (words, len) = (game.packed_words(), game.planes_len());
    let mut planes = vec![0f32; states.len() / words * len];
    for (s, out) in states.chunks_exact(words).zip(planes.chunks_exact_mut(len)) {
        game.encode_packed(s, out);
    }
    planes
}

/// Planes `[n, C, H, W]` on `device` from the CPU reference encoding of `states` (`[n, W]`).
pub fn encode_cpu<G: Game>(game: &G, states: &[u32], device: &Device) -> Tensor<4> {
    let n = states.len() / game.packed_words();
    let [c, h, w] = game.planes_shape();
    Tensor::from_data(
        TensorData::new(cpu_planes(game, states), [n, c, h, w]),
        device,
    )
}

/// Planes `[n, C, H, W]` computed on a wgpu `device` by the game's WGSL kernel
/// from `states` (`[n, W]` packed words, the only data uploaded).
pub fn encode_wgpu<G: Game>(game: &G, states: &[u32], device: &Device) -> Result<Tensor<4>> {
    let words = game.packed_words();
    let n = states.len() / words;
    let [c, h, w] = game.planes_shape();
    let shape = Shape::new([n, c, h, w]);
    let out = match layout(game)? {
        Layout::Connect4 => run_kernel(Connect4Wgsl, states, words, shape, &[n as u32], device)?,
        Layout::Bitplanes { cells, wpp, words } => {
            let params = [n as u32, cells, wpp, words];
            run_kernel(
                BitplanesWgsl,
                states,
                words as usize,
                shape,
                &params,
                device,
            )?
        }
        Layout::Go { cells, wpp, words } => {
            let params = [n as u32, cells, wpp, words];
            run_kernel(GoWgsl, states, words as usize, shape, &params, device)?
        }
    };
    Ok(Tensor::from_primitive::<Wgpu>(out))
}

/// Which encoding [`encode_checksum`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodePath {
    /// The CPU reference encoding, uploaded as f32 planes.
    Cpu,
    /// The game's WGSL kernel on packed states (wgpu devices only).
    Kernel,
}

/// Encodes `states` on `selected`'s device by `path` and reads the sum of
/// the planes back, so the device has finished when it returns: what
/// `wgzero bench` times and checks.
pub fn encode_checksum<G: Game>(
    game: &G,
    states: &[u32],
    selected: &super::Selected,
    path: EncodePath,
) -> Result<f32> {
    let planes = match path {
        EncodePath::Cpu => encode_cpu(game, states, &selected.device),
        EncodePath::Kernel => encode_wgpu(game, states, &selected.device)?,
    };
    Ok(planes.sum().into_scalar())
}

/// The sum of the CPU reference planes of `states`, computed on burn's CPU
/// backend: the expected [`encode_checksum`].
pub fn reference_checksum<G: Game>(game: &G, states: &[u32]) -> f32 {
    encode_cpu(game, states, &Device::flex())
        .sum()
        .into_scalar()
}
