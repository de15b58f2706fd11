//! `kmc` command-line interface.

use clap::Parser;

/// Lattice kinetic Monte Carlo for metal film growth.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
