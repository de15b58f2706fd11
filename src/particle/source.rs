//! The particle deposition source: whole particles arriving at a flux per unit area, with a
//! size distribution, a shape and a composition, dropped at a uniformly random lateral point.

use super::template::{PlaceError, Placement, Template, index_of};
use super::{Composition, LatticeFrame, Particle, ResolvedComposition, Shape};
use crate::error::{Error, Result};
use crate::io::validate::{non_negative, non_negative_of, positive};
use crate::lattice::Lattice;
use crate::rng::{KmcRng, uniform, uniform_open0};
use crate::state::{Species, State};
use serde::{Deserialize, Serialize};

/// Distribution of the equal-volume diameter of arriving particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SizeDistribution {
    /// Every particle has this diameter.
    Fixed {
        /// Diameter, nm.
        diameter_nm: f64,
    },
    /// Normal, truncated to positive diameters by redrawing.
    Normal {
        /// Mean, nm.
        mean_nm: f64,
        /// Standard deviation, nm.
        sd_nm: f64,
    },
    /// Log-normal: `ln d` is normal with mean `ln median_nm` and standard deviation `sigma`.
    LogNormal {
        /// Median diameter, nm.
        median_nm: f64,
        /// Standard deviation of `ln d`.
        sigma: f64,
    },
}

/// Redraws of a normal diameter that came out ≤ 0 before the particle is reported unplaceable.
const MAX_REDRAWS: usize = 32;

impl SizeDistribution {
    /// A typical diameter (nm): the fixed value, the mean or the median.
    pub fn typical_nm(&self) -> f64 {
        match *self {
            SizeDistribution::Fixed { diameter_nm } => diameter_nm,
            SizeDistribution::Normal { mean_nm, .. } => mean_nm,
            SizeDistribution::LogNormal { median_nm, .. } => median_nm,
        }
    }

    /// Mean of d³ (nm³), for material-flux estimates.
    pub fn mean_cube_nm3(&self) -> f64 {
        match *self {
            SizeDistribution::Fixed { diameter_nm } => diameter_nm.powi(3),
            SizeDistribution::Normal {
                mean_nm: m,
                sd_nm: s,
            } => m * m * m + 3.0 * m * s * s,
            SizeDistribution::LogNormal { median_nm, sigma } => {
                median_nm.powi(3) * (4.5 * sigma * sigma).exp()
            }
        }
    }

    /// Checks the parameters; `field` names this distribution in messages.
    pub fn validate(&self, field: &str) -> Result<()> {
        let pos = |v: f64, name: &str| positive(format!("{field}.{name}"), v).map(|_| ());
        let nonneg = |v: f64, name: &str| non_negative(format!("{field}.{name}"), v).map(|_| ());
        match *self {
            SizeDistribution::Fixed { diameter_nm } => pos(diameter_nm, "Fixed.diameter_nm"),
            SizeDistribution::Normal { mean_nm, sd_nm } => {
                pos(mean_nm, "Normal.mean_nm")?;
                nonneg(sd_nm, "Normal.sd_nm")
            }
            SizeDistribution::LogNormal { median_nm, sigma } => {
                pos(median_nm, "LogNormal.median_nm")?;
                nonneg(sigma, "LogNormal.sigma")
            }
        }
    }

    /// Draws a diameter (nm), or `None` if a normal draw stayed ≤ 0 after the allowed redraws.
    pub fn draw(&self, rng: &mut KmcRng) -> Option<f64> {
        match *self {
            SizeDistribution::Fixed { diameter_nm } => Some(diameter_nm),
            SizeDistribution::Normal { mean_nm, sd_nm } => {
                for _ in 0..MAX_REDRAWS {
                    let d = mean_nm + sd_nm * gaussian(rng);
                    if d > 0.0 {
                        return Some(d);
                    }
                }
                None
            }
            SizeDistribution::LogNormal { median_nm, sigma } => {
                Some(median_nm * (sigma * gaussian(rng)).exp())
            }
        }
    }
}

/// A standard normal deviate (Box–Muller, one of the pair; two uniforms per draw).
fn gaussian(rng: &mut KmcRng) -> f64 {
    let u1 = uniform_open0(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Scenario spec of a particle source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticleDepositionSpec {
    /// Particles arriving per nm² of substrate per second.
    pub flux_per_nm2_s: f64,
    /// Diameter distribution.
    pub size: SizeDistribution,
    /// Shape (default sphere).
    #[serde(default)]
    pub shape: Shape,
    /// What the particles are made of.
    pub composition: Composition,
}

/// A built particle source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticleDeposition {
    /// Particles per second on the whole lattice.
    pub rate_per_s: f64,
    /// Diameter distribution.
    pub size: SizeDistribution,
    /// Shape.
    pub shape: Shape,
    /// Composition with species ids.
    pub composition: ResolvedComposition,
}

/// A particle ready to be put on the lattice.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticlePlacement {
    /// Linear index and species of each atom.
    pub atoms: Vec<(usize, Species)>,
    /// Centre site `(x, y, l)`.
    pub centre: [usize; 3],
    /// Highest layer of an atom.
    pub top_layer: usize,
    /// Diameter drawn, nm.
    pub diameter_nm: f64,
    /// Shape.
    pub shape: Shape,
    /// Shell species of a core–shell particle.
    pub shell_species: Option<Species>,
    /// True if it touches atoms (false: it rests on the bare floor).
    pub touches: bool,
}

impl ParticlePlacement {
    /// From a placement of a built particle.
    pub fn new(p: &Particle, placement: &Placement, lat: &Lattice, shell: Option<Species>) -> Self {
        ParticlePlacement {
            atoms: placement
                .sites
                .iter()
                .zip(&p.species)
                .map(|(s, &sp)| (index_of(lat, *s), sp))
                .collect(),
            centre: placement.centre,
            top_layer: placement.top_layer(),
            diameter_nm: p.diameter_nm,
            shape: p.shape,
            shell_species: shell,
            touches: placement.touches,
        }
    }
}

impl ParticleDeposition {
    /// Builds the source; checks the flux, the size parameters and that a particle of the
    /// typical diameter fits in the periodic box of `lat`. `field` names the spec in messages.
    pub fn new(
        spec: &ParticleDepositionSpec,
        composition: ResolvedComposition,
        lat: &Lattice,
        field: &str,
    ) -> Result<Self> {
        non_negative_of(
            format!("{field}.flux_per_nm2_s"),
            spec.flux_per_nm2_s,
            "particles per nm² per second",
        )?;
        spec.size.validate(&format!("{field}.size"))?;
        let frame = LatticeFrame::new(lat).map_err(|e| match e {
            Error::Input { message, .. } => Error::field(field.to_string(), message),
            other => other,
        })?;
        check_fits(
            lat,
            &frame,
            spec.shape,
            spec.size.typical_nm(),
            &composition,
        )
        .map_err(|m| Error::field(format!("{field}.size"), m))?;
        let [lx, ly] = lat.box_lengths();
        let area_nm2 = lx * ly / (crate::units::NM_IN_ANGSTROM * crate::units::NM_IN_ANGSTROM);
        Ok(ParticleDeposition {
            rate_per_s: spec.flux_per_nm2_s * area_nm2,
            size: spec.size.clone(),
            shape: spec.shape,
            composition,
        })
    }

    /// Draws a particle (diameter, species arrangement, drop point, in this order from `rng`)
    /// and lands it; `Err` says why it cannot be placed.
    pub fn draw(&self, state: &State, rng: &mut KmcRng) -> Result<ParticlePlacement, String> {
        let lat = state.lattice();
        let d = self
            .size
            .draw(rng)
            .ok_or("the normal size distribution gave no positive diameter")?;
        let frame = LatticeFrame::new(lat).map_err(|e| e.to_string())?;
        let p = Particle::build_in(&frame, self.shape, d, &self.composition, rng)
            .map_err(|e| e.to_string())?;
        let [lx, ly] = lat.box_lengths();
        let px = uniform(rng) * lx;
        let py = uniform(rng) * ly;
        if p.is_empty() {
            return Err(format!("a {d:.3} nm particle holds no lattice site"));
        }
        let mut t = Template::new(&p, &frame, lat);
        let placement = t
            .land(state, &frame, px, py)
            .map_err(|e| format!("{d:.3} nm particle: {e}"))?;
        Ok(ParticlePlacement::new(
            &p,
            &placement,
            lat,
            self.composition.shell_species(),
        ))
    }
}

/// Checks that a particle of diameter `d_nm` fits the periodic box; the message says why not.
pub fn check_fits(
    lat: &Lattice,
    frame: &LatticeFrame,
    shape: Shape,
    d_nm: f64,
    composition: &ResolvedComposition,
) -> Result<(), String> {
    // Any arrangement has the same extent: a fixed seed.
    let mut rng = crate::rng::stream(0, crate::rng::Stream::ParticleBuild);
    let p =
        Particle::build_in(frame, shape, d_nm, composition, &mut rng).map_err(|e| e.to_string())?;
    if p.is_empty() {
        return Err(format!("a {d_nm} nm particle holds no lattice site"));
    }
    let mut t = Template::new(&p, frame, lat);
    t.check_fits(lat, frame).map_err(|e| match e {
        PlaceError::TooWide { .. } => {
            let [lx, ly] = lat.box_lengths();
            format!(
                "a {d_nm} nm particle is larger than the {:.2} × {:.2} nm box: {e}",
                lx / 10.0,
                ly / 10.0
            )
        }
        other => other.to_string(),
    })
}
