//! Picking where the network runs: a GPU through wgpu, or burn's CPU backend.

#[cfg(not(target_arch = "wasm32"))]
use std::sync::Mutex;

#[cfg(not(target_arch = "wasm32"))]
use burn::tensor::wgpu::{wgpu, WgpuBackend};
use burn::tensor::Device;
#[cfg(not(target_arch = "wasm32"))]
use burn::tensor::{DType, DeviceKind};
use serde::Serialize;

use crate::error::{Error, Result};

/// What the user asked for with `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// A real GPU through wgpu if there is one, else the CPU backend.
    Auto,
    /// wgpu, even on a software (CPU) adapter such as Mesa lavapipe.
    Gpu,
    /// burn's CPU backend (flex).
    Cpu,
}

/// One adapter as wgpu reports it.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterReport {
    pub name: String,
    pub vendor: String,
    pub device_type: String,
    pub graphics_api: String,
    pub driver: String,
    pub driver_info: String,
    pub f16: bool,
    #[serde(skip)]
    #[cfg(not(target_arch = "wasm32"))]
    kind: wgpu::DeviceType,
    #[serde(skip)]
    #[cfg(not(target_arch = "wasm32"))]
    backend: wgpu::Backend,
}

/// Where the network runs and why.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceReport {
    /// Every adapter wgpu sees.
    pub adapters: Vec<AdapterReport>,
    /// `wgpu: <adapter>` or `cpu: flex`.
    pub chosen: String,
    /// Why it was chosen.
    pub reason: String,
    /// Whether the chosen device runs f16.
    pub f16: bool,
    /// How the CPU backend runs inference: wgzero's gemm path with the SIMD
    /// level its kernels use, or burn's `flex` (`WGZERO_CPU_PATH=flex`).
    pub cpu_backend: String,
}

/// The device the network runs on.
#[derive(Clone, Debug)]
pub struct Selected {
    pub device: Device,
    /// True for wgpu (encoding runs in WGSL), false for the CPU backend.
    pub is_wgpu: bool,
    /// True for a wgpu adapter that is real hardware (not a CPU/software adapter).
    pub real_gpu: bool,
    pub report: DeviceReport,
}

#[cfg(not(target_arch = "wasm32"))]
fn vendor_name(id: u32) -> String {
    match id {
        0x10de => "NVIDIA".into(),
        0x1002 | 0x1022 => "AMD".into(),
        0x8086 => "Intel".into(),
        0x106b => "Apple".into(),
        0x5143 => "Qualcomm".into(),
        0x13b5 => "ARM".into(),
        0x10005 => "Mesa".into(),
        0 => "unknown".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Makes burn's default device its CPU backend (`flex`) unless `BURN_DEVICE`
/// already names one.
///
/// Every network wgzero runs is opened on an explicit device ([`select`]);
/// the one thing burn puts on its default device is a loaded optimiser
/// state (moved to the parameters' device at the next step). Left alone,
/// that default is wgpu, so resuming a training run on the CPU backend
/// started a (software) Vulkan device: the drivers loaded, about 75 MB more
/// resident memory (measured on a Connect Four run), driver warnings on stderr. Call it first thing in `main`, before
/// any thread exists: it sets an environment variable.
#[cfg(not(target_arch = "wasm32"))]
pub fn pin_default_device() {
    if std::env::var_os("BURN_DEVICE").is_none() {
        std::env::set_var("BURN_DEVICE", "flex");
    }
}

/// Gives Mesa's window-system code the runtime folder it insists on. With
/// `XDG_RUNTIME_DIR` unset or not a folder (a service, `sudo`, a container),
/// probing adapters with Mesa installed prints `error: XDG_RUNTIME_DIR is
/// invalid or not set` twice, which reads as wgzero failing. wgzero draws
/// nothing, so a private folder of its own (`$TMPDIR/wgzero-runtime-UID`,
/// mode 0700) serves. Linux and the BSDs only; call it first thing in
/// `main`, before any thread exists: it sets an environment variable.
#[cfg(not(target_arch = "wasm32"))]
pub fn quiet_mesa_runtime_dir() {
    #[cfg(all(unix, not(target_vendor = "apple")))]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let valid = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .is_some_and(|d| d.is_absolute() && d.is_dir());
        if valid {
            return;
        }
        // SAFETY: getuid has no failure mode.
        let uid = unsafe { libc::getuid() };
        let dir = std::env::temp_dir().join(format!("wgzero-runtime-{uid}"));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        let ours = std::fs::metadata(&dir).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0
        });
        if ours {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

/// Every adapter wgpu can see (Vulkan, Metal, DX12; GL when none of those has one).
#[cfg(not(target_arch = "wasm32"))]
pub fn list_adapters() -> Vec<AdapterReport> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    // GL is probed only when no primary API (Vulkan, Metal, DX12) has an adapter:
    // probing it spams warnings on headless machines and it is the slowest path.
    let mut adapters =
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    if adapters.is_empty() {
        adapters = futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::GL));
    }
    adapters
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            AdapterReport {
                name: info.name.clone(),
                vendor: vendor_name(info.vendor),
                device_type: format!("{:?}", info.device_type),
                graphics_api: format!("{:?}", info.backend),
                driver: info.driver.clone(),
                driver_info: info.driver_info.clone(),
                f16: a.features().contains(wgpu::Features::SHADER_F16),
                kind: info.device_type,
                backend: info.backend,
            }
        })
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
fn rank(a: &AdapterReport) -> (u8, u8) {
    let kind = match a.kind {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = match a.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, api)
}

#[cfg(not(target_arch = "wasm32"))]
fn api_of(b: wgpu::Backend) -> WgpuBackend {
    match b {
        wgpu::Backend::Vulkan => WgpuBackend::Vulkan,
        wgpu::Backend::Metal => WgpuBackend::Metal,
        wgpu::Backend::Dx12 => WgpuBackend::Dx12,
        wgpu::Backend::Gl => WgpuBackend::Gl,
        _ => WgpuBackend::Auto,
    }
}

/// Opens the adapter `chosen` (from `adapters`) as a burn device. A wgpu
/// runtime can be initialised once per process, so opened devices are kept.
#[cfg(not(target_arch = "wasm32"))]
fn open_wgpu(adapters: &[AdapterReport], chosen: usize) -> Result<Device> {
    static OPENED: Mutex<Vec<(String, Device)>> = Mutex::new(Vec::new());
    let key = format!(
        "{:?}/{:?}/{}",
        adapters[chosen].kind, adapters[chosen].backend, adapters[chosen].name
    );
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, d)) = opened.iter().find(|(k, _)| *k == key) {
        return Ok(d.clone());
    }
    let device = open_new(adapters, chosen)?;
    opened.push((key, device.clone()));
    Ok(device)
}

#[cfg(not(target_arch = "wasm32"))]
fn open_new(adapters: &[AdapterReport], chosen: usize) -> Result<Device> {
    let a = &adapters[chosen];
    // burn counts adapters of each type from zero, per graphics API.
    let index = adapters[..chosen]
        .iter()
        .filter(|b| b.kind == a.kind && b.backend == a.backend)
        .count();
    let kind = match a.kind {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu(index),
        wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu(index),
        wgpu::DeviceType::VirtualGpu => DeviceKind::VirtualGpu(index),
        wgpu::DeviceType::Cpu => DeviceKind::Cpu,
        wgpu::DeviceType::Other => DeviceKind::DefaultDevice,
    };
    Device::wgpu_options()
        .device_kind(kind)
        .graphics_api(api_of(a.backend))
        .init()
        .map_err(|e| Error::Device(format!("cannot open {} ({:?}): {e}", a.name, a.backend)))
}

#[cfg(not(target_arch = "wasm32"))]
fn flex(adapters: Vec<AdapterReport>, reason: String) -> Selected {
    Selected {
        device: Device::flex(),
        is_wgpu: false,
        real_gpu: false,
        report: DeviceReport {
            adapters,
            chosen: "cpu: flex".into(),
            reason,
            f16: false,
            cpu_backend: super::network::CpuPath::from_env().describe(),
        },
    }
}

/// A wgpu adapter named on the command line (`--adapter`): its index in
/// [`list_adapters`]' order (what `wgzero info` numbers), or a piece of
/// its name (case-insensitive; it must match exactly one adapter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterChoice {
    Index(usize),
    Name(String),
}

impl std::str::FromStr for AdapterChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::parse(
                "an adapter",
                s,
                "give its index in `wgzero info`'s list or part of its name",
            ));
        }
        Ok(match s.parse::<usize>() {
            Ok(i) => AdapterChoice::Index(i),
            Err(_) => AdapterChoice::Name(s.to_string()),
        })
    }
}

/// The index of the adapter `want` names among `adapters`, or an error
/// that lists them.
#[cfg(not(target_arch = "wasm32"))]
pub fn find_adapter(adapters: &[AdapterReport], want: &AdapterChoice) -> Result<usize> {
    let listing = || {
        if adapters.is_empty() {
            "wgpu finds no adapter on this machine".to_string()
        } else {
            let names: Vec<String> = adapters
                .iter()
                .enumerate()
                .map(|(i, a)| format!("[{i}] {} ({})", a.name, a.graphics_api))
                .collect();
            format!("the adapters are {}", names.join(", "))
        }
    };
    match want {
        AdapterChoice::Index(i) if *i < adapters.len() => Ok(*i),
        AdapterChoice::Index(i) => Err(Error::Device(format!(
            "--adapter {i}: there is no adapter {i}; {}",
            listing()
        ))),
        AdapterChoice::Name(n) => {
            let lower = n.to_lowercase();
            let hits: Vec<usize> = (0..adapters.len())
                .filter(|&i| adapters[i].name.to_lowercase().contains(&lower))
                .collect();
            match hits.as_slice() {
                [i] => Ok(*i),
                [] => Err(Error::Device(format!(
                    "--adapter {n:?} matches no adapter; {}",
                    listing()
                ))),
                _ => Err(Error::Device(format!(
                    "--adapter {n:?} matches {} adapters (give an index); {}",
                    hits.len(),
                    listing()
                ))),
            }
        }
    }
}

/// Chooses and opens the device for `choice` ([`select_on`] with no
/// adapter named).
#[cfg(not(target_arch = "wasm32"))]
pub fn select(choice: BackendChoice) -> Result<Selected> {
    select_on(choice, None)
}

/// Chooses and opens the device for `choice`, on the adapter `adapter`
/// names if it names one (any kind, a software one included: it was asked
/// for; with `--backend cpu` it is an error).
///
/// Without one, `auto` takes the best real GPU (discrete, then integrated,
/// then virtual; Vulkan / Metal / DX12 before GL) and otherwise burn's CPU
/// backend: a CPU adapter (software Vulkan) runs the network far slower
/// than the CPU backend. `gpu` takes the best adapter of any kind, CPU
/// adapters included.
#[cfg(not(target_arch = "wasm32"))]
pub fn select_on(choice: BackendChoice, adapter: Option<&AdapterChoice>) -> Result<Selected> {
    if choice == BackendChoice::Cpu {
        if adapter.is_some() {
            return Err(Error::Config(
                "--adapter names a GPU adapter; it cannot go with --backend cpu".into(),
            ));
        }
        return Ok(flex(Vec::new(), "--backend cpu".into()));
    }
    let adapters = list_adapters();
    if let Some(want) = adapter {
        let i = find_adapter(&adapters, want)?;
        let reason = format!("--adapter {}: adapter {i}", describe_choice(want));
        return open_selected(adapters, i, reason);
    }
    let mut order: Vec<usize> = (0..adapters.len()).collect();
    order.sort_by_key(|&i| rank(&adapters[i]));
    let best_gpu = order
        .iter()
        .copied()
        .find(|&i| adapters[i].kind != wgpu::DeviceType::Cpu);
    let chosen = match (choice, best_gpu) {
        (_, Some(i)) => i,
        (BackendChoice::Auto, None) => {
            let reason = if adapters.is_empty() {
                "no wgpu adapter found".to_string()
            } else {
                "only CPU (software) adapters found; burn's CPU backend is much faster than software Vulkan".to_string()
            };
            return Ok(flex(adapters, reason));
        }
        (_, None) => match order.first() {
            Some(&i) => i,
            None => {
                return Err(Error::Device(
                    "--backend gpu: wgpu finds no adapter at all".into(),
                ))
            }
        },
    };
    let a = &adapters[chosen];
    let reason = match (choice, a.kind) {
        (BackendChoice::Gpu, wgpu::DeviceType::Cpu) => {
            "--backend gpu on a software adapter (no GPU found)".into()
        }
        (BackendChoice::Gpu, _) => "--backend gpu: best GPU adapter".into(),
        _ => format!("best GPU adapter ({:?}, {:?})", a.kind, a.backend),
    };
    open_selected(adapters, chosen, reason)
}

#[cfg(not(target_arch = "wasm32"))]
fn describe_choice(c: &AdapterChoice) -> String {
    match c {
        AdapterChoice::Index(i) => i.to_string(),
        AdapterChoice::Name(n) => format!("{n:?}"),
    }
}

/// Opens adapter `chosen` of `adapters` as the selected device.
#[cfg(not(target_arch = "wasm32"))]
fn open_selected(adapters: Vec<AdapterReport>, chosen: usize, reason: String) -> Result<Selected> {
    let device = open_wgpu(&adapters, chosen)?;
    let a = &adapters[chosen];
    let f16 = a.f16 && device.supports_dtype(DType::F16);
    let real_gpu = a.kind != wgpu::DeviceType::Cpu;
    Ok(Selected {
        report: DeviceReport {
            chosen: format!("wgpu: {} ({:?}, {:?})", a.name, a.kind, a.backend),
            reason,
            f16,
            cpu_backend: super::network::CpuPath::from_env().describe(),
            adapters,
        },
        device,
        is_wgpu: true,
        real_gpu,
    })
}
