//! The relaxer's reference problems, cut from an FCC(100) lattice: two spherical particles
//! touching at one site, and one particle touching a (100) film at one site; used by
//! `kmc bench relax`, the tests and the convergence study (neck radius against MD time and
//! region radius).
//!
//! The neck is measured on the lattice state after mapping back (what KMC continues from): the
//! atoms of the (200) plane through the contact site, perpendicular to the line of centres
//! (x for the pair, z for the particle on the film), give the neck radius `sqrt(N · A / π)`
//! with `A = a²/2` the area per atom of that plane.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Centre, ContactRegion, RegionSpec, RelaxOutcome, RelaxParams, relax_region};
use crate::error::{Error, Result};
use crate::lattice::{Lattice, LatticeKind};
use crate::md::{Eam, Potential, zhou04};
use crate::state::{Species, State};

/// Which reference contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Geometry {
    /// Two equal particles, centres on a line along x.
    TwoParticles,
    /// A particle sitting on a film of this many (100) layers (the lowest two frozen).
    ParticleOnFilm {
        /// Film thickness in atomic layers.
        film_layers: usize,
    },
}

/// A contact between spheres of lattice sites (species 1), touching at the site `contact`
/// (which belongs to both bodies).
#[derive(Debug, Clone)]
pub struct ContactSample {
    /// The lattice state holding only the bodies.
    pub state: State,
    /// The contact site.
    pub contact: usize,
    /// Normal of the contact plane: 0 (x) for two particles, 2 (z) for a particle on a film.
    pub axis: usize,
    /// Particle radius, Å.
    pub radius_a: f64,
    /// Lattice constant, Å.
    pub lattice_constant_a: f64,
    /// Sites of each body: the particle on the −x side and the one on the +x side, or the
    /// particle and the film (the contact site counts to the first).
    pub bodies: [Vec<usize>; 2],
    /// Two sites one lattice constant either side of the contact along the contact normal,
    /// one in each body: the plane halfway between them separates the bodies.
    pub bond: [usize; 2],
}

impl ContactSample {
    /// Builds `geometry` with particles of diameter `diameter_nm` on a lattice of constant `a`
    /// (Å). The box leaves at least 2 nm of vacuum laterally and allocates the layers above.
    pub fn new(geometry: Geometry, diameter_nm: f64, a: f64) -> Result<Self> {
        if !(diameter_nm.is_finite() && diameter_nm > 0.2 && diameter_nm < 50.0) {
            return Err(Error::field(
                "diameter_nm",
                format!("must lie in (0.2, 50) nm, got {diameter_nm}"),
            ));
        }
        let r = 5.0 * diameter_nm;
        let gap = 20.0;
        let h = a / 2.0;
        let (cells_x, l_c, film, axis) = match geometry {
            Geometry::TwoParticles => (
                ((4.0 * r + 2.0 * gap) / a).ceil() as usize,
                ((r + gap) / h).ceil() as usize,
                0,
                0,
            ),
            Geometry::ParticleOnFilm { film_layers } => (
                ((2.0 * r + 2.0 * gap) / a).ceil() as usize,
                film_layers,
                film_layers,
                2,
            ),
        };
        let cells_y = ((2.0 * r + 2.0 * gap) / a).ceil() as usize;
        let layers = l_c + ((2.0 * r + gap) / h).ceil() as usize + 1;
        let lat = Lattice::new(LatticeKind::Fcc100, a, [cells_x, cells_y], layers)?;
        let (nx, ny) = lat.grid();
        let contact_site = lat.site(nx / 2, ny / 2, l_c);
        let pc = lat.position(&contact_site);
        let centres: Vec<[f64; 3]> = match geometry {
            Geometry::TwoParticles => vec![[pc[0] - r, pc[1], pc[2]], [pc[0] + r, pc[1], pc[2]]],
            Geometry::ParticleOnFilm { .. } => vec![[pc[0], pc[1], pc[2] + r]],
        };
        let mut state = State::new(lat);
        state.fill_layers(film, 1)?;
        state.set_frozen_layers(film.min(2));
        let mut sites = Vec::new();
        // Sites on a sphere's surface count as inside (the contact site lies on it).
        let r_in = r * (1.0 + 1e-9);
        for c in centres {
            super::for_each_site_within(state.lattice(), c, r_in, |s, _, _| sites.push(s));
        }
        sites.sort_by_key(|s| s.idx);
        sites.dedup_by_key(|s| s.idx);
        for s in &sites {
            if !state.cell(s.idx).occupied() {
                state.place(s, 1);
            }
        }
        let mut bodies = [Vec::new(), Vec::new()];
        for s in &sites {
            let p = state.lattice().position(s);
            let second = s.idx != contact_site.idx && p[axis] > pc[axis];
            bodies[usize::from(second)].push(s.idx);
        }
        if film > 0 {
            // The film is the second body, the particle (above the contact) the first.
            bodies.swap(0, 1);
            let lat = state.lattice();
            bodies[1] = (0..lat.n_sites())
                .filter(|&i| state.cell(i).occupied() && (lat.site_at(i).l as usize) < film)
                .collect();
        }
        let lat = state.lattice();
        let l_c = contact_site.l as usize;
        let bond = if axis == 0 {
            [
                lat.nearest_in_layer(pc[0] - a, pc[1], l_c).idx,
                lat.nearest_in_layer(pc[0] + a, pc[1], l_c).idx,
            ]
        } else {
            [
                lat.nearest_in_layer(pc[0], pc[1], l_c + 2).idx,
                lat.nearest_in_layer(pc[0], pc[1], l_c - 2).idx,
            ]
        };
        Ok(ContactSample {
            state,
            contact: contact_site.idx,
            axis,
            radius_a: r,
            lattice_constant_a: a,
            bodies,
            bond,
        })
    }

    /// Two particles of diameter `diameter_nm` (see [`ContactSample::new`]).
    pub fn two_particles(diameter_nm: f64, a: f64) -> Result<Self> {
        Self::new(Geometry::TwoParticles, diameter_nm, a)
    }

    /// The contact region: a sphere of `radius_a` around the contact site with a frozen shell
    /// of `shell_a`; the particles released whole if `whole` (the film stays cut).
    pub fn region(&self, radius_a: f64, shell_a: f64, whole: bool) -> ContactRegion {
        let film = self.axis == 2;
        let whole_bodies = match (whole, film) {
            (false, _) => [Vec::new(), Vec::new()],
            (true, false) => self.bodies.clone(),
            (true, true) => [self.bodies[0].clone(), Vec::new()],
        };
        ContactRegion {
            sphere: RegionSpec {
                centre: Centre::Site(self.contact),
                radius_a,
                frozen_shell_a: shell_a,
            },
            whole: whole_bodies,
            bond: Some(self.bond),
        }
    }

    /// Atoms in the contact plane of `state` (a state on this sample's lattice).
    pub fn neck_atoms(&self, state: &State) -> usize {
        let lat = state.lattice();
        let c = lat.position_of(self.contact)[self.axis];
        let eps = 0.25 * self.lattice_constant_a;
        (0..lat.n_sites())
            .filter(|&idx| {
                state.cell(idx).occupied() && (lat.position_of(idx)[self.axis] - c).abs() < eps
            })
            .count()
    }

    /// Neck radius in Å from the contact-plane atom count (see the module docs).
    pub fn neck_radius_a(&self, state: &State) -> f64 {
        let area = self.lattice_constant_a * self.lattice_constant_a / 2.0;
        (self.neck_atoms(state) as f64 * area / std::f64::consts::PI).sqrt()
    }
}

/// Applies site changes (as returned by the relaxer) to a bare state, growing it as needed:
/// what [`Engine::apply`](crate::engine::Engine::apply) does, without rates.
pub fn apply_changes(state: &mut State, layers_needed: usize, changes: &[(usize, Species)]) {
    state.ensure_layers(layers_needed);
    for &(idx, sp) in changes {
        let s = state.lattice().site_at(idx);
        match (state.species(idx), sp) {
            (0, 0) => {}
            (0, _) => state.place(&s, sp),
            (_, 0) => {
                state.remove(&s);
            }
            _ => state.set_species(idx, sp),
        }
    }
}

/// One case of the relaxer benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BenchCase {
    /// Region radius around the contact, Å.
    pub region_radius_a: f64,
    /// Longest MD time, ps.
    pub md_time_ps: f64,
    /// Early stopping on.
    pub early_stop: bool,
    /// Particles released whole (the film, if any, cut by the sphere); otherwise the sphere
    /// cuts both bodies.
    pub whole: bool,
    /// Seed of the MD.
    pub seed: u64,
}

/// Every combination of region radius, MD time and seed (radius-major), whole particles or
/// not.
pub fn cases(
    radii_a: &[f64],
    md_times_ps: &[f64],
    seeds: &[u64],
    early_stop: bool,
    whole: bool,
) -> Vec<BenchCase> {
    let mut out = Vec::new();
    for &r in radii_a {
        for &t in md_times_ps {
            for &seed in seeds {
                out.push(BenchCase {
                    region_radius_a: r,
                    md_time_ps: t,
                    early_stop,
                    whole,
                    seed,
                });
            }
        }
    }
    out
}

/// Settings shared by all cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSetup {
    /// The contact.
    pub geometry: Geometry,
    /// Element (Zhou 2004 EAM).
    pub element: String,
    /// Particle diameter, nm.
    pub diameter_nm: f64,
    /// Relaxation parameters (temperature, time step, ...); `md_time_ps` and `early_stop` are
    /// set per case.
    pub params: RelaxParams,
    /// EAM atom count from which forces are computed on several threads.
    pub parallel_threshold: usize,
}

impl Default for BenchSetup {
    fn default() -> Self {
        BenchSetup {
            geometry: Geometry::TwoParticles,
            element: "Au".into(),
            diameter_nm: 3.0,
            params: RelaxParams {
                temperature_k: 600.0,
                ..Default::default()
            },
            parallel_threshold: 1024,
        }
    }
}

/// One line of the benchmark table.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// The case.
    pub case: BenchCase,
    /// Contact-plane atoms before.
    pub neck_atoms_before: usize,
    /// Contact-plane atoms after.
    pub neck_atoms_after: usize,
    /// Neck radius after, Å.
    pub neck_radius_a: f64,
    /// Atoms in the whole state (must not change).
    pub atoms_before: u64,
    /// Atoms after.
    pub atoms_after: u64,
    /// The relaxer's report.
    pub outcome: RelaxOutcome,
}

/// Header of [`BenchRow::line`].
pub const BENCH_HEADER: &str = "region_A  whole  seed  mobile  frozen  md_ps  settled  neck0_A  neck1_A  dist0_A  dist1_A  rot0_deg  rot1_deg  moved  lat_neck_r_A  resid_mean_A  resid_max_A  off_lat  dE_mapped_eV  md_s  total_s";

impl BenchRow {
    /// The row as one line of text under [`BENCH_HEADER`].
    pub fn line(&self) -> String {
        let o = &self.outcome;
        let mut s = String::new();
        let _ = write!(
            s,
            "{:>8.1}  {:>5}  {:>4}  {:>6}  {:>6}  {:>5.1}  {:>7}  {:>7.2}  {:>7.2}  {:>7.2}  {:>7.2}  {:>8.2}  {:>8.2}  {:>5}  {:>12.2}  {:>12.3}  {:>11.3}  {:>7}  {:>12.2}  {:>4.1}  {:>7.1}",
            self.case.region_radius_a,
            if self.case.whole { "yes" } else { "no" },
            self.case.seed,
            o.mobile_atoms,
            o.frozen_atoms,
            o.md_time_ps,
            if o.settled { "yes" } else { "no" },
            o.neck_before_a,
            o.neck_after_a,
            o.centre_distance_before_a,
            o.centre_distance_after_a,
            o.bodies[0].rotation_deg,
            o.bodies[1].rotation_deg,
            o.moved_atoms,
            self.neck_radius_a,
            o.mapping.mean_residual_a,
            o.mapping.max_residual_a,
            o.mapping.off_lattice.len(),
            o.energy_mapped_ev - o.energy_initial_ev,
            o.timings.md_s,
            o.timings.total_s
        );
        s
    }
}

/// Relaxes the two-particle contact once per case and measures the neck; `each` sees every
/// row as soon as it is done.
pub fn run(
    setup: &BenchSetup,
    cases: &[BenchCase],
    mut each: impl FnMut(&BenchRow),
) -> Result<Vec<BenchRow>> {
    let el = zhou04::element(&setup.element)?;
    let mut eam = Eam::from_setfl(&zhou04::setfl(&[setup.element.as_str()])?)?;
    eam.parallel_threshold = setup.parallel_threshold;
    let pair = ContactSample::new(setup.geometry, setup.diameter_nm, el.lattice_constant())?;
    let names = vec![setup.element.clone()];
    let before = pair.neck_atoms(&pair.state);
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let params = RelaxParams {
            md_time_ps: case.md_time_ps,
            min_md_time_ps: setup.params.min_md_time_ps.min(case.md_time_ps),
            early_stop: case.early_stop,
            seed: case.seed,
            ..setup.params
        };
        let region = pair.region(case.region_radius_a, eam.cutoff(), case.whole);
        let outcome = relax_region(&pair.state, &names, &eam, &region, &params)?;
        let mut after = pair.state.clone();
        apply_changes(&mut after, outcome.mapping.layers_needed, &outcome.changes);
        let row = BenchRow {
            case: *case,
            neck_atoms_before: before,
            neck_atoms_after: pair.neck_atoms(&after),
            neck_radius_a: pair.neck_radius_a(&after),
            atoms_before: pair.state.n_atoms(),
            atoms_after: after.n_atoms(),
            outcome,
        };
        each(&row);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relax::equivalent_radius_a;

    #[test]
    fn pair_has_the_expected_size_and_a_one_atom_contact() {
        let a = 4.08;
        let p = ContactSample::two_particles(3.0, a).unwrap();
        // A sphere of radius R holds about (4/3)πR³ · 4/a³ fcc sites; the two share one.
        let per_sphere = 4.0 / 3.0 * std::f64::consts::PI * 15f64.powi(3) * 4.0 / a.powi(3);
        let n = p.state.n_atoms() as f64;
        assert!(
            (n / (2.0 * per_sphere - 1.0) - 1.0).abs() < 0.05,
            "{n} atoms"
        );
        let r = equivalent_radius_a(p.state.lattice(), (n as usize).div_ceil(2));
        assert!((r / 15.0 - 1.0).abs() < 0.03, "equivalent radius {r}");
        assert_eq!(p.neck_atoms(&p.state), 1);
        assert_eq!(p.state.clone().rebuild_derived(), 0);
        // On a film: one atom in the first layer above it, the film's own layer below.
        let f = ContactSample::new(Geometry::ParticleOnFilm { film_layers: 6 }, 3.0, a).unwrap();
        assert_eq!(f.neck_atoms(&f.state), 1);
        let ls = f.state.lattice().layer_size();
        assert_eq!(f.state.layer_atoms()[5], ls as u64);
        assert!(
            (f.state.n_atoms() as f64 - 6.0 * ls as f64 - per_sphere).abs() < 0.05 * per_sphere
        );
    }
}
