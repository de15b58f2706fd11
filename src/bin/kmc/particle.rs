//! `kmc particle`: nanoparticles cut from a lattice.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

/// Builds nanoparticles.
#[derive(Subcommand)]
pub enum ParticleCommand {
    /// Cuts a particle from the lattice and writes it as extended XYZ.
    Build {
        /// sphere, truncated-octahedron, cuboctahedron, rhombic-dodecahedron (cubic lattices)
        /// or hexagonal-prism (Hcp0001).
        #[arg(long, default_value = "sphere")]
        shape: String,
        /// Equal-volume diameter, nm.
        #[arg(long = "d-nm")]
        d_nm: f64,
        /// Core (or only) species, e.g. Cu.
        #[arg(long, required_unless_present = "alloy")]
        core: Option<String>,
        /// Shell species and thickness, e.g. Ag:0.5nm.
        #[arg(long, conflicts_with_all = ["alloy", "janus"])]
        shell: Option<String>,
        /// Random alloy instead of a core, e.g. Ag:0.3,Au:0.7.
        #[arg(long, conflicts_with_all = ["core", "janus"])]
        alloy: Option<String>,
        /// Janus particle: the species of the +axis half (the core species is the other).
        #[arg(long)]
        janus: Option<String>,
        /// Normal of the Janus plane: x, y or z.
        #[arg(long, default_value = "x")]
        axis: String,
        /// Lattice kind (which crystal direction is z).
        #[arg(long, default_value = "Fcc100")]
        lattice: String,
        /// Lattice constant in Å (default: Zhou 2004 EAM value of the core element, its
        /// nearest neighbours at the element's r_e).
        #[arg(long)]
        a: Option<f64>,
        /// c/a of an Hcp0001 lattice (default: the ideal √(8/3)).
        #[arg(long = "c-over-a")]
        c_over_a: Option<f64>,
        /// Seed of a random alloy's arrangement.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (.xyz).
        #[arg(long)]
        out: PathBuf,
    },
}

impl ParticleCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        match self {
            ParticleCommand::Build {
                shape,
                d_nm,
                core,
                shell,
                alloy,
                janus,
                axis,
                lattice,
                a,
                c_over_a,
                seed,
                out,
            } => {
                use kmc::particle::{Composition, build_standalone, parse_alloy, parse_shell};
                let core = core.unwrap_or_default();
                let composition = match (alloy, shell, janus) {
                    (Some(al), _, _) => Composition::Alloy(parse_alloy(&al)?),
                    (None, Some(sh), _) => {
                        let (shell, shell_nm) = parse_shell(&sh)?;
                        Composition::CoreShell {
                            core,
                            shell,
                            shell_nm,
                        }
                    }
                    (None, None, Some(second)) => Composition::Janus {
                        first: core,
                        second,
                        axis: kmc::particle::parse_axis(&axis)?,
                    },
                    (None, None, None) => Composition::Pure(core),
                };
                let req = kmc::particle::BuildRequest {
                    shape: kmc::particle::Shape::parse(&shape)?,
                    diameter_nm: d_nm,
                    composition,
                    lattice: kmc::particle::parse_lattice_kind(&lattice)?,
                    lattice_constant_a: a,
                    c_over_a,
                    seed,
                };
                let (p, names, a) = build_standalone(&req)?;
                p.write_xyz(&out, &names, a)?;
                let counts: Vec<String> = names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| {
                        let c = p.species.iter().filter(|&&s| s as usize == k + 1).count();
                        format!("{c} {n}")
                    })
                    .collect();
                outln!(
                    "wrote {}: {:?}, d = {d_nm} nm, a = {a:.4} Å, {} atoms ({})",
                    out.display(),
                    p.shape,
                    p.len(),
                    counts.join(", ")
                );
                Ok(())
            }
        }
    }
}
