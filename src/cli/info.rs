//! `wgzero info`: the GPU adapters wgpu sees and the device wgzero chooses.

use anyhow::Result;
use clap::Args;

use super::DeviceArgs;
use wgzero::net::{self, BackendChoice};

#[derive(Args)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArgs,
}

pub fn info(args: &InfoArgs) -> Result<()> {
    let choice: BackendChoice = args.device.backend.into();
    let selected = args.device.select()?;
    let r = &selected.report;
    let adapters = if choice == BackendChoice::Cpu {
        net::device::list_adapters()
    } else {
        r.adapters.clone()
    };
    if args.json {
        let json = serde_json::json!({ "adapters": adapters, "chosen": r.chosen, "reason": r.reason, "f16": r.f16, "cpu_backend": r.cpu_backend });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("wgpu adapters:");
    if adapters.is_empty() {
        println!("  (none)");
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "  [{i}] {} | vendor {} | {} | {} | driver {} {} | f16 {}",
            a.name,
            a.vendor,
            a.device_type,
            a.graphics_api,
            a.driver,
            a.driver_info,
            if a.f16 { "yes" } else { "no" }
        );
    }
    println!("chosen: {}", r.chosen);
    println!("why: {}", r.reason);
    println!(
        "f16 on the chosen device: {}",
        if r.f16 { "yes" } else { "no" }
    );
    println!("CPU backend: {}", r.cpu_backend);
    Ok(())
}
