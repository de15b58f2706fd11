//! The particle deposition source: whole particles arriving at a flux per unit area, with a
//! size distribution, a shape and a composition, dropped at a uniformly random lateral point.

use super::template::{PlaceError, Placement, Template, index_of};
use super::{Composition, LatticeFrame, Particle, ResolvedComposition, Shape};
use crate::error::{Error, Result};
use crate::grains::{Frame, Grains, OrientationSpec};
use crate::io::validate::{non_negative, non_negative_of, positive};
use crate::lattice::Lattice;
use crate::rng::{KmcRng, uniform, uniform_open0};
use crate::rotation;
use crate::state::{Species, State};
use crate::vec3::{Vec3, add, norm, sub};
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
    /// Crystal orientation of each particle. Given, every particle is a grain of its own
    /// (`Aligned` is epitaxial with the film, `Random` uniform on SO(3)) and lands where it
    /// first touches an atom; absent, particles are cut from the film's lattice as before.
    #[serde(default)]
    pub orientation: Option<OrientationSpec>,
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
    /// Orientation of particles that are grains (see [`ParticleDepositionSpec::orientation`]).
    pub orientation: Option<OrientationSpec>,
}

/// A particle built as a grain of its own, ready for [`crate::engine::Engine::add_grain`].
#[derive(Debug, Clone)]
pub struct GrainPlacement {
    /// Its atoms on a box lattice of the film's kind and constant.
    pub state: State,
    /// Where the box sits in the lab.
    pub frame: Frame,
    /// Diameter drawn, nm.
    pub diameter_nm: f64,
    /// Lab position of the particle's centre, Å.
    pub centre: Vec3,
    /// True if it touches atoms (false: it rests on the bare floor).
    pub touches: bool,
}

/// Grid steps added to a particle grain's box beyond the clearance its atoms need, so that
/// surface diffusion re-boxes it rarely.
const BOX_SPARE_STEPS: usize = 3;

/// The atoms of `p` on a box lattice of `film`'s kind and constant, as large as the particle
/// plus the clearance a grain needs ([`Lattice::clearance`]); returns the box's state and the
/// box position of the particle's centre.
pub fn particle_box(p: &Particle, film: &Lattice) -> Result<(State, Vec3)> {
    let probe = film.resized([8, 8], 8)?;
    let (px, py) = probe.grid();
    let [lx, ly] = probe.box_lengths();
    let (ux, uy) = (lx / px as f64, ly / py as f64);
    let rows_per_cell = py / 8;
    let clear = probe.clearance();
    let d = 2.0 * p.radius_a();
    let span = |extent: f64, unit: f64, clear: usize| {
        (extent / unit).ceil() as usize + 2 * (clear + BOX_SPARE_STEPS) + 2
    };
    let nx = span(d, ux, clear[0]);
    let ny = span(d, uy, clear[1]).div_ceil(rows_per_cell);
    let nl = span(d, film.layer_spacing(), clear[2]).next_multiple_of(6);
    let lat = film.resized([nx, ny], nl)?;
    let (gx, gy) = lat.grid();
    let c = lat.site(gx / 2, gy / 2, nl / 2);
    let pc = lat.position(&c);
    let mut st = State::new(lat.clone());
    let h = lat.layer_spacing();
    for (v, &sp) in p.displacements.iter().zip(&p.species) {
        let t = add(pc, *v);
        let l = (t[2] / h).round() as usize;
        let s = lat.nearest_in_layer(t[0], t[1], l);
        if norm(sub(lat.position(&s), t)) > 1e-6 || st.cell(s.idx).occupied() {
            return Err(Error::Simulation(format!(
                "a particle atom at {t:?} Å is no free site of its {:?} box",
                film.kind()
            )));
        }
        st.place(&s, sp);
    }
    Ok((st, pc))
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
        if let Some(o) = &spec.orientation {
            o.validate(&format!("{field}.orientation"))?;
        }
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
            orientation: spec.orientation,
        })
    }

    /// Draws a diameter, builds the particle on `lat`'s frame (its species arrangement
    /// drawn) and draws the lateral drop point, Å, in this order from `rng`.
    fn draw_particle(
        &self,
        lat: &Lattice,
        rng: &mut KmcRng,
    ) -> Result<(Particle, LatticeFrame, [f64; 2]), String> {
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
        Ok((p, frame, [px, py]))
    }

    /// Draws a particle as a grain (diameter, species arrangement, drop point, orientation, in
    /// this order from `rng`), turns it and lowers it at the drop point until an atom of it
    /// comes within one nearest-neighbour distance of an atom of any grain. `Err` says why it
    /// cannot be placed.
    pub fn draw_grain(&self, grains: &Grains, rng: &mut KmcRng) -> Result<GrainPlacement, String> {
        let (p, _, [px, py]) = self.draw_particle(grains.grain(0).state.lattice(), rng)?;
        let q = self
            .orientation
            .unwrap_or_default()
            .resolve("orientation", rng)
            .map_err(|e| e.to_string())?;
        place_grain(&p, q, grains, [px, py], None)
    }

    /// Draws a particle (diameter, species arrangement, drop point, in this order from `rng`)
    /// and lands it; `Err` says why it cannot be placed.
    pub fn draw(&self, state: &State, rng: &mut KmcRng) -> Result<ParticlePlacement, String> {
        let lat = state.lattice();
        let (p, frame, [px, py]) = self.draw_particle(lat, rng)?;
        let d = p.diameter_nm;
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

/// Particle `p` as a grain turned by `q` with its centre above lateral point `axis` (Å):
/// at height `height_a` (its centre's z; refused if an atom of it would come closer than
/// one nearest-neighbour distance to an atom already there), or lowered until it first
/// comes that close.
pub fn place_grain(
    p: &Particle,
    q: rotation::Quaternion,
    grains: &Grains,
    axis: [f64; 2],
    height_a: Option<f64>,
) -> Result<GrainPlacement, String> {
    let lat = grains.grain(0).state.lattice();
    let (state, pc) = particle_box(p, lat).map_err(|e| e.to_string())?;
    let offsets: Vec<Vec3> = p
        .displacements
        .iter()
        .map(|&v| rotation::rotate(q, v))
        .collect();
    let nn = lat.nn_distance();
    // An aligned particle is epitaxial: its centre goes to a film lattice point (laterally the
    // column nearest the drop point, vertically the first lattice layer at or above where it
    // touches), so all its atoms sit on film sites.
    let aligned = rotation::angle_deg(q) < 1e-9;
    let mut axis = axis;
    let mut contact = grains.first_contact(&offsets, axis, nn, true);
    if aligned {
        // The layer the centre comes to decides the lateral pattern it must match.
        let l = contact.map_or(0, |(z, _, _)| {
            (z / lat.layer_spacing()).round().max(0.0) as usize
        });
        let s = lat.nearest_in_layer(axis[0], axis[1], l % 6);
        let p = lat.position(&s);
        axis = [p[0], p[1]];
        contact = grains.first_contact(&offsets, axis, nn, true);
    }
    let (z, touches) = match (height_a, contact) {
        (Some(h), Some((z, _, _))) if h < z - 1e-9 => {
            return Err(format!(
                "at a height of {:.3} nm the particle overlaps atoms already there: it first \
                 touches them at {:.3} nm",
                h / crate::units::NM_IN_ANGSTROM,
                z / crate::units::NM_IN_ANGSTROM
            ));
        }
        (Some(h), c) => (h, c.is_some_and(|(z, _, _)| (h - z).abs() <= 1e-9)),
        (None, Some((z, _, _))) => (z, true),
        // Nothing below: the lowest atom rests on the floor, layer 0's plane.
        (None, None) => (
            -offsets.iter().map(|o| o[2]).fold(f64::INFINITY, f64::min),
            false,
        ),
    };
    let z = if aligned && height_a.is_none() {
        lattice_height_at_or_above(lat, axis, z)
    } else {
        z
    };
    let centre = [axis[0], axis[1], z];
    Ok(GrainPlacement {
        state,
        frame: Frame {
            rotation: q,
            origin: sub(centre, rotation::rotate(q, pc)),
        },
        diameter_nm: p.diameter_nm,
        centre,
        touches,
    })
}

/// The height of the lowest layer at or above `z` (Å) that has a lattice point at lateral
/// point `axis` (a lattice point's column; layers alternate in their lateral pattern).
fn lattice_height_at_or_above(lat: &Lattice, axis: [f64; 2], z: f64) -> f64 {
    let h = lat.layer_spacing();
    let first = (z / h - 1e-9).ceil().max(0.0);
    for k in 0..6 {
        let l = first + k as f64;
        // The pattern of a layer depends on its parity (and on l mod 3 for FCC(111)), not
        // on whether it is allocated: read it from layer l mod 6.
        let s = lat.nearest_in_layer(axis[0], axis[1], (l as usize) % 6);
        let p = lat.position(&s);
        if (p[0] - axis[0]).hypot(p[1] - axis[1]) < 1e-6 {
            return l * h;
        }
    }
    z
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
