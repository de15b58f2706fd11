//! `kmc potential`: interatomic potential files.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

/// Generates interatomic potential files.
#[derive(Subcommand)]
pub enum PotentialCommand {
    /// Tabulates the Zhou–Johnson–Wadley 2004 EAM (Cu Ag Au Ni Pd Pt Al) as a LAMMPS
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

impl PotentialCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        match self {
            PotentialCommand::Zhou04 { elements, out } => {
                let names: Vec<&str> = elements.iter().map(String::as_str).collect();
                kmc::md::zhou04::write_setfl(&names, &out)?;
                outln!("wrote {} ({})", out.display(), names.join(" "));
                Ok(())
            }
        }
    }
}
