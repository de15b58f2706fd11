//! `kmc` command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Lattice kinetic Monte Carlo for metal film growth.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Generate interatomic potential files.
    #[command(subcommand)]
    Potential(PotentialCommand),
}

#[derive(Subcommand)]
enum PotentialCommand {
    /// Tabulate the Zhou–Johnson–Wadley 2004 EAM (Cu Ag Au Ni Pd Pt Al) as a LAMMPS
    /// `eam/alloy` setfl file.
    Zhou04 {
        /// Elements in species order, e.g. `Cu Ag`.
        #[arg(required = true)]
        elements: Vec<String>,
        /// Output setfl file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Potential(cmd)) => potential(cmd),
        None => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn potential(cmd: PotentialCommand) -> anyhow::Result<()> {
    match cmd {
        PotentialCommand::Zhou04 { elements, out } => {
            let names: Vec<&str> = elements.iter().map(String::as_str).collect();
            kmc::md::zhou04::write_setfl(&names, &out)?;
            println!("wrote {} ({})", out.display(), names.join(" "));
        }
    }
    Ok(())
}
