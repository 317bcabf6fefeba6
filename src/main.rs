//! The `wgzero` command line: parse the arguments, run the command, print
//! the error. Each command lives in its own file under `cli/`.

mod cli;

use clap::Parser;

fn main() {
    wgzero::net::device::pin_default_device();
    wgzero::net::device::quiet_mesa_runtime_dir();
    let args = cli::Cli::parse();
    if let Err(e) = args.command.run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
