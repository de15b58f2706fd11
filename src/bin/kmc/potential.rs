//! `kmc potential`: interatomic potential files.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

/// Generates interatomic potential files.
#[derive(Subcommand)]
pub enum PotentialCommand {
    /// Tabulates the Zhou–Johnson–Wadley 2004 EAM (Cu Ag Au Ni Pd Pt Al Pb Fe Mo Ta W Mg Co Ti
    /// Zr, any subset) as a LAMMPS `eam/alloy` setfl file.
    Zhou04 {
        /// Elements in species order, e.g. `Cu Ag` or `Fe W Ti`.
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
                let known: Vec<&str> = kmc::md::zhou04::table()
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                if let Some(bad) = names.iter().find(|n| !known.contains(n)) {
                    anyhow::bail!(
                        "no Zhou 2004 parameters for `{bad}`: the potential covers {} (symbols \
                         are case-sensitive)",
                        known.join(", ")
                    );
                }
                kmc::md::zhou04::write_setfl(&names, &out)?;
                outln!("wrote {} ({})", out.display(), names.join(" "));
                Ok(())
            }
        }
    }
}
