//! `wgzero serve`: the browser page on http://127.0.0.1.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use wgzero::serve::{self, ServeConfig};

#[derive(Args)]
pub struct ServeArgs {
    /// The page's folder (built by `bash web/build.sh`).
    #[arg(long, default_value = "web/www")]
    dir: PathBuf,
    /// Port on the loopback interface (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on. The page is for this machine: listening on
    /// another interface shows it to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    let cfg = ServeConfig {
        dir: args.dir.clone(),
        addr: SocketAddr::new(args.host, args.port),
    };
    let server = serve::bind(&cfg)?;
    println!(
        "serving {} on http://{}/ (Ctrl-C stops)",
        cfg.dir.display(),
        server.addr()?
    );
    server.run()?;
    Ok(())
}
