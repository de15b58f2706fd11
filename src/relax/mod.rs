//! The embedded MD relaxer: cut a region around a contact out of the lattice, run real MD on
//! it (Langevin at the scenario temperature, then a FIRE quench), and map the atoms back onto
//! lattice sites — no site doubly occupied, no atom lost or created, species kept.
//!
//! The pieces are usable alone:
//! - [`cut_region`]: a sphere of mobile atoms plus a frozen shell, as Cartesian positions;
//! - [`relax_contact`]: cut → MD → quench → map back, returning the site changes
//!   [`Engine::apply`](crate::engine::Engine::apply) takes;
//! - [`map_to_lattice`] / [`map_region_back`]: for an external MD engine that took atoms off the
//!   lattice and hands a configuration back.
//!
//! On a contact (sites and atom counts of the two bodies known), a KMC runner does:
//!
//! ```text
//! let r = equivalent_radius_a(engine.state().lattice(), smaller_body_atoms);
//! let spec = RegionSpec::for_contact(Centre::Site(contact_site), r, &eam);
//! let params = RelaxParams { temperature_k, seed: contact_seed, ..scenario_relax_params };
//! let out = relax_contact(engine.state(), &species_names, &eam, &spec, &params)?;
//! engine.ensure_layers(out.mapping.layers_needed);
//! engine.apply(&out.changes);
//! // log out.mapping.mean_residual_a, max_residual_a, off_lattice.len(), md_time_ps, timings
//! ```
//!
//! **Mapping rule.** Atoms go to free sites by a minimum-cost assignment (cost: squared
//! distance, so the summed squared displacement is minimal and conflicts over one site are
//! settled by whichever alternative costs least overall; see `assign`). Every atom is mapped,
//! however far it sits from a site: the KMC state is a site occupancy and the rate models are
//! defined only for atoms on sites, so an off-lattice record would leave atoms without rates,
//! and dropping them would break mass conservation. Instead an atom farther than
//! [`MapOptions::off_lattice_nn`] nearest-neighbour distances from its site (grain boundary,
//! rotated grain, stacking fault on a lattice without it) is *reported* in
//! [`Mapping::off_lattice`] with its distance, so the caller can log how much the lattice
//! representation hides. The default threshold, a quarter of the nearest-neighbour distance,
//! is half the radius of the sphere inscribed in a site's Wigner–Seitz cell: an atom within it
//! is unambiguously on that site, while thermal and relaxation residuals after a quench are
//! an order of magnitude smaller.
//!
//! **Early stopping.** What the relaxation hands back is a lattice occupancy, so that is what
//! must have settled. The MD runs in windows of [`RelaxParams::settle_window_ps`]; at the end
//! of each, the mobile atoms' positions averaged over the window (thermal vibration averages
//! out) are mapped to sites as above and compared with the previous window's occupancy. Once
//! [`RelaxParams::min_md_time_ps`] has passed, the MD stops when each of the last
//! [`RelaxParams::settle_windows`] windows changed at most `max(1, settle_changes_per_atom_ps ×
//! mobile atoms × window)` sites — the background of ordinary surface hops that KMC carries on
//! with — and never runs beyond [`RelaxParams::md_time_ps`]. The minimum time matters: a
//! single-site contact between two 3 nm Au particles at 600 K incubates for 2–4 ps with no
//! site change before the neck starts to grow. The potential energy is recorded per window
//! ([`RelaxOutcome::window_energies_ev`]) but is not the criterion: for the ~500 mobile atoms
//! of that contact, 1 ps window means scatter by about ±1 eV while the neck releases 5–10 eV
//! spread over ~10 ps, so an energy test cannot tell a settled neck from noise (measured with
//! `kmc bench relax`).

mod assign;
pub mod bench;
mod spec;
pub use spec::{RelaxPotential, RelaxSpec};

use std::time::Instant;

use hashbrown::{HashMap, HashSet};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::validate::{at_least, non_negative, non_negative_of, positive, positive_of};
use crate::lattice::{Lattice, for_each_site_within};
use crate::md::integrate::{Integrator, Md};
use crate::md::minimize::{self, FireOptions};
use crate::md::system::{ForceField, System};
use crate::md::{Potential, SimBox};
use crate::rng::{Stream, stream};
use crate::state::{MAX_SPECIES, Species, State};

/// Where a region is centred.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Centre {
    /// At the position of a lattice site (linear index).
    Site(usize),
    /// At a Cartesian point in Å (x and y may lie outside the box: they wrap).
    Point([f64; 3]),
}

/// The region handed to MD: a sphere of mobile atoms and a frozen shell around it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionSpec {
    /// Centre of the sphere.
    pub centre: Centre,
    /// Atoms closer than this to the centre move (except atoms of frozen substrate layers).
    pub radius_a: f64,
    /// Atoms in `[radius_a, radius_a + frozen_shell_a)` are in the MD but fixed, so the
    /// mobile atoms see their full environment and the region's edge stays on the lattice.
    /// [`relax_contact`] requires at least the potential's cutoff. (With exactly one cutoff the
    /// outermost frozen atoms miss their own outer neighbours, so their EAM density is a little
    /// short; a perfect crystal region still comes back within 0.02 Å of its sites.)
    pub frozen_shell_a: f64,
}

impl RegionSpec {
    /// The region for a contact at `centre` between two bodies (particles, or a particle and
    /// the film) whose smaller radius is `smaller_radius_a` (see [`equivalent_radius_a`]): a
    /// sphere of [`CONTACT_RADIUS_FACTOR`] × that radius plus a frozen shell of one potential
    /// cutoff.
    ///
    /// Why that size (3 nm Au pair touching at one site, 600 K, 10 ps, four seeds, `kmc bench
    /// relax`): the neck on the lattice is the same for regions of 10, 12.5 and 15 Å (mean 12.75
    /// contact-plane atoms, r ≈ 5.8 Å) and 14.25 atoms at 17.5 Å, so the frozen shell does not
    /// pin it; from 20 Å on, the region reaches past the particle centres, the particles turn
    /// against each other and the mapping reports tens to hundreds of off-lattice atoms (with
    /// whole particles free, about 1,500 of 1,655), which a lattice cannot hold. One particle
    /// radius keeps each body anchored to the lattice and leaves the neck more than twice its
    /// radius of room.
    pub fn for_contact(centre: Centre, smaller_radius_a: f64, potential: &dyn Potential) -> Self {
        RegionSpec {
            centre,
            radius_a: CONTACT_RADIUS_FACTOR * smaller_radius_a,
            frozen_shell_a: potential.cutoff(),
        }
    }
}

/// Region radius of [`RegionSpec::for_contact`] in units of the smaller body's radius.
pub const CONTACT_RADIUS_FACTOR: f64 = 1.0;

/// Radius in Å of a compact sphere of `n_atoms` atoms at the lattice's site density: the size
/// to pass to [`RegionSpec::for_contact`] for a particle of `n_atoms` atoms.
pub fn equivalent_radius_a(lattice: &Lattice, n_atoms: usize) -> f64 {
    let [lx, ly] = lattice.box_lengths();
    let volume_per_site = lx * ly * lattice.layer_spacing() / lattice.layer_size() as f64;
    (3.0 * n_atoms as f64 * volume_per_site / (4.0 * std::f64::consts::PI)).cbrt()
}

/// The atoms of a region, cut from a lattice state.
#[derive(Debug, Clone)]
pub struct Region {
    /// Centre in Å.
    pub centre_a: [f64; 3],
    /// Site of each atom: the mobile atoms first, then the frozen ones, each in site order.
    pub sites: Vec<usize>,
    /// Lattice species of each atom.
    pub species: Vec<Species>,
    /// Cartesian positions in Å, unwrapped around the centre (minimum image), so the region is
    /// one piece in space.
    pub positions_a: Vec<[f64; 3]>,
    /// The first `n_mobile` atoms move.
    pub n_mobile: usize,
    /// The MD box: periodic along x or y only if the region wraps onto itself along that axis
    /// (its diameter plus one shell exceeds the box), open otherwise, always open along z.
    pub simbox: SimBox,
}

impl Region {
    /// Number of atoms (mobile and frozen).
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    /// True if the region holds no atom.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The mobile atoms as `(species, position)`, e.g. to hand to an external MD engine.
    pub fn mobile_atoms(&self) -> Vec<(Species, [f64; 3])> {
        (0..self.n_mobile)
            .map(|i| (self.species[i], self.positions_a[i]))
            .collect()
    }
}

/// Cuts the sphere and its frozen shell out of `state`. Atoms of the state's frozen layers are
/// frozen even inside the sphere (the substrate stays put).
pub fn cut_region(state: &State, spec: &RegionSpec) -> Result<Region> {
    let lat = state.lattice();
    require_3d(lat)?;
    positive_of("relax.region.radius_a", spec.radius_a, "Å")?;
    non_negative_of("relax.region.frozen_shell_a", spec.frozen_shell_a, "Å")?;
    let centre = match spec.centre {
        Centre::Site(idx) => {
            if idx >= lat.n_sites() {
                return Err(Error::field(
                    "relax.region.centre",
                    format!(
                        "site {idx} is outside the lattice ({} sites)",
                        lat.n_sites()
                    ),
                ));
            }
            lat.position_of(idx)
        }
        Centre::Point(p) => {
            if p.iter().any(|c| !c.is_finite()) {
                return Err(Error::field(
                    "relax.region.centre",
                    format!("point {p:?} is not finite"),
                ));
            }
            p
        }
    };
    let outer = spec.radius_a + spec.frozen_shell_a;
    let frozen_layers = state.frozen_layers();
    let mut mobile = Vec::new();
    let mut frozen = Vec::new();
    for_each_site_within(lat, centre, outer, |s, d, d2| {
        let sp = state.species(s.idx);
        if sp == 0 {
            return;
        }
        let x = [centre[0] + d[0], centre[1] + d[1], centre[2] + d[2]];
        let inside = d2 < spec.radius_a * spec.radius_a && s.l as usize >= frozen_layers;
        if inside {
            mobile.push((s.idx, sp, x));
        } else if d2 < outer * outer {
            frozen.push((s.idx, sp, x));
        }
    });
    mobile.sort_by_key(|a| a.0);
    frozen.sort_by_key(|a| a.0);
    let n_mobile = mobile.len();
    let [lx, ly] = lat.box_lengths();
    let wraps = |l: f64| 2.0 * outer + spec.frozen_shell_a >= l;
    let all: Vec<_> = mobile.into_iter().chain(frozen).collect();
    let z_extent = all
        .iter()
        .map(|a| a.2[2])
        .fold(0.0f64, f64::max)
        .max(2.0 * outer);
    Ok(Region {
        centre_a: centre,
        sites: all.iter().map(|a| a.0).collect(),
        species: all.iter().map(|a| a.1).collect(),
        positions_a: all.iter().map(|a| a.2).collect(),
        n_mobile,
        simbox: SimBox {
            lengths: [lx, ly, z_extent.max(1.0)],
            periodic: [wraps(lx), wraps(ly), false],
        },
    })
}

/// Lattice species ↔ potential elements, matched by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeciesMap {
    /// `to_potential[s]`: the potential's species index of lattice species `s` (index 0 unused).
    to_potential: Vec<u8>,
}

impl SpeciesMap {
    /// Matches every lattice species (`species_names[s - 1]` names species `s`) with the
    /// potential element of the same name; fails naming the first species the potential lacks.
    pub fn new(species_names: &[String], potential: &dyn Potential) -> Result<Self> {
        if species_names.len() > MAX_SPECIES {
            return Err(Error::field(
                "species",
                format!("at most {MAX_SPECIES} species, got {}", species_names.len()),
            ));
        }
        let elements = potential.elements();
        let mut to_potential = vec![0u8];
        for (k, name) in species_names.iter().enumerate() {
            match elements.iter().position(|e| e == name) {
                Some(p) => to_potential.push(p as u8),
                None => {
                    return Err(Error::field(
                        format!("species[{k}]"),
                        format!(
                            "species `{name}` has no element in the relaxer's potential, which provides {}",
                            elements.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(SpeciesMap { to_potential })
    }

    /// The potential's species index of lattice species `s`, if `s` is known.
    pub fn potential_species(&self, s: Species) -> Option<u8> {
        if s == 0 {
            return None;
        }
        self.to_potential.get(s as usize).copied()
    }
}

/// How atoms are mapped back to sites.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapOptions {
    /// Candidate sites of an atom lie within this many nearest-neighbour distances.
    pub search_radius_nn: f64,
    /// If some atoms cannot all get a site, their candidate radius doubles, up to this (in
    /// nearest-neighbour distances); beyond it the mapping fails.
    pub max_search_radius_nn: f64,
    /// Atoms farther than this (in nearest-neighbour distances) from their site are reported
    /// in [`Mapping::off_lattice`].
    pub off_lattice_nn: f64,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            search_radius_nn: 1.5,
            max_search_radius_nn: 12.0,
            off_lattice_nn: 0.25,
        }
    }
}

impl MapOptions {
    fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("relax.mapping.search_radius_nn", self.search_radius_nn),
            (
                "relax.mapping.max_search_radius_nn",
                self.max_search_radius_nn,
            ),
            ("relax.mapping.off_lattice_nn", self.off_lattice_nn),
        ] {
            positive(name, v)?;
        }
        if self.max_search_radius_nn < self.search_radius_nn {
            return Err(Error::field(
                "relax.mapping.max_search_radius_nn",
                "must be at least search_radius_nn",
            ));
        }
        Ok(())
    }
}

/// An atom left far from its site.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OffLattice {
    /// Index of the atom in the mapped list.
    pub atom: usize,
    /// The site it was mapped to.
    pub site: usize,
    /// Its distance from that site, Å.
    pub distance_a: f64,
}

/// Atoms assigned to distinct lattice sites.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Site of each atom (input order); all distinct.
    pub sites: Vec<usize>,
    /// Species of each atom (input order).
    pub species: Vec<Species>,
    /// Vector from each atom to its site (lateral minimum image), Å.
    pub displacements_a: Vec<[f64; 3]>,
    /// Mean distance atom → site, Å (0 for no atoms).
    pub mean_residual_a: f64,
    /// Largest distance atom → site, Å.
    pub max_residual_a: f64,
    /// Atoms farther than the off-lattice threshold from their site.
    pub off_lattice: Vec<OffLattice>,
    /// Layers the lattice must have for every mapped site to exist (pass to
    /// [`Engine::ensure_layers`](crate::engine::Engine::ensure_layers) before applying).
    pub layers_needed: usize,
    /// How many times some atoms' candidate radius had to be widened.
    pub widenings: usize,
}

impl Mapping {
    /// The site changes that turn `state` into the mapped state, given the sites whose atoms
    /// were handed over (`released`; they are emptied unless an atom maps back onto them):
    /// `(site, species)` pairs sorted by site, `0` emptying a site. Sites at or above
    /// `layers_needed` may lie beyond the state's allocation.
    pub fn changes(&self, state: &State, released: &[usize]) -> Vec<(usize, Species)> {
        let mut target: HashMap<usize, Species> = HashMap::new();
        for &r in released {
            target.insert(r, 0);
        }
        for (&site, &sp) in self.sites.iter().zip(&self.species) {
            target.insert(site, sp);
        }
        let n = state.lattice().n_sites();
        let mut out: Vec<(usize, Species)> = target
            .into_iter()
            .filter(|&(site, sp)| {
                let now = if site < n { state.species(site) } else { 0 };
                now != sp
            })
            .collect();
        out.sort_unstable();
        out
    }
}

fn require_3d(lat: &Lattice) -> Result<()> {
    if lat.kind().is_2d() {
        return Err(Error::field(
            "lattice.kind",
            format!("the MD relaxer needs a 3-D lattice, not {:?}", lat.kind()),
        ));
    }
    Ok(())
}

/// Maps `atoms` (species, Cartesian position in Å; x and y may lie outside the box) to distinct
/// sites of `lattice` that are not `blocked`, by the minimum-cost assignment described in the
/// module docs. `blocked(idx)` is asked only for allocated sites; sites above the allocated
/// layers count as free (see [`Mapping::layers_needed`]).
pub fn map_to_lattice(
    lattice: &Lattice,
    blocked: &dyn Fn(usize) -> bool,
    atoms: &[(Species, [f64; 3])],
    opts: &MapOptions,
) -> Result<Mapping> {
    require_3d(lattice)?;
    opts.validate()?;
    if let Some((i, _)) = atoms
        .iter()
        .enumerate()
        .find(|(_, a)| a.1.iter().any(|c| !c.is_finite()))
    {
        return Err(Error::Simulation(format!(
            "atom {i} handed back to the lattice has a non-finite position"
        )));
    }
    let nn = lattice.nn_distance();
    let h = lattice.layer_spacing();
    let allocated = lattice.n_sites();
    let r_max = opts.max_search_radius_nn * nn;
    // Sites above the allocation may be needed: search on a grown copy (indices are stable).
    let top_needed = atoms
        .iter()
        .map(|a| ((a.1[2] + r_max) / h).floor())
        .fold(0.0f64, f64::max) as usize
        + 1;
    let grown;
    let lat = if top_needed > lattice.layers() {
        let mut g = lattice.clone();
        g.grow(top_needed - lattice.layers());
        grown = g;
        &grown
    } else {
        lattice
    };

    let mut col_of: HashMap<usize, u32> = HashMap::new();
    let mut col_site: Vec<usize> = Vec::new();
    let mut radius = vec![opts.search_radius_nn * nn; atoms.len()];
    let mut edges: Vec<Vec<(u32, f64)>> = vec![Vec::new(); atoms.len()];
    let fill = |i: usize,
                r: f64,
                e: &mut Vec<(u32, f64)>,
                col_of: &mut HashMap<usize, u32>,
                col_site: &mut Vec<usize>| {
        e.clear();
        for_each_site_within(lat, atoms[i].1, r, |s, _, d2| {
            if s.idx < allocated && blocked(s.idx) {
                return;
            }
            let c = *col_of.entry(s.idx).or_insert_with(|| {
                col_site.push(s.idx);
                col_site.len() as u32 - 1
            });
            e.push((c, d2));
        });
    };
    for i in 0..atoms.len() {
        fill(i, radius[i], &mut edges[i], &mut col_of, &mut col_site);
    }
    let mut widenings = 0;
    let cols = loop {
        match assign::solve(&edges, col_site.len()) {
            Ok(c) => break c,
            Err(e) => {
                widenings += 1;
                for &row in &e.rows {
                    let i = row as usize;
                    radius[i] *= 2.0;
                    if radius[i] > r_max * (1.0 + 1e-12) {
                        let p = atoms[i].1;
                        return Err(Error::Simulation(format!(
                            "atom {i} at ({:.2}, {:.2}, {:.2}) Å cannot be given a free lattice site within {:.2} Å \
                             (with {} atoms competing for the sites near it)",
                            p[0],
                            p[1],
                            p[2],
                            r_max,
                            e.rows.len()
                        )));
                    }
                    radius[i] = radius[i].min(r_max);
                    fill(i, radius[i], &mut edges[i], &mut col_of, &mut col_site);
                }
            }
        }
    };

    let [lx, ly] = lat.box_lengths();
    let off_threshold = opts.off_lattice_nn * nn;
    let mut sites = Vec::with_capacity(atoms.len());
    let mut displacements = Vec::with_capacity(atoms.len());
    let mut off_lattice = Vec::new();
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    let mut layers_needed = 0;
    for (i, &c) in cols.iter().enumerate() {
        let site = col_site[c as usize];
        let s = lat.site_at(site);
        let q = lat.position(&s);
        let p = atoms[i].1;
        let mut d = crate::vec3::sub(q, p);
        d[0] -= lx * (d[0] / lx).round();
        d[1] -= ly * (d[1] / ly).round();
        let dist = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        sum += dist;
        max = max.max(dist);
        if dist > off_threshold {
            off_lattice.push(OffLattice {
                atom: i,
                site,
                distance_a: dist,
            });
        }
        layers_needed = layers_needed.max(s.l as usize + 1);
        sites.push(site);
        displacements.push(d);
    }
    Ok(Mapping {
        sites,
        species: atoms.iter().map(|a| a.0).collect(),
        displacements_a: displacements,
        mean_residual_a: if atoms.is_empty() {
            0.0
        } else {
            sum / atoms.len() as f64
        },
        max_residual_a: max,
        off_lattice,
        layers_needed,
        widenings,
    })
}

/// Hands atoms back to `state` after they were taken from the sites `released` (e.g. by an
/// external MD engine): checks that they are the same atoms (species counts equal), maps them
/// onto free sites (the released ones and empty ones; never a site held by an atom that was
/// not released) and returns the mapping with the site changes for
/// [`Engine::apply`](crate::engine::Engine::apply) (call
/// [`Engine::ensure_layers`](crate::engine::Engine::ensure_layers) with
/// `mapping.layers_needed` first).
pub fn map_region_back(
    state: &State,
    released: &[usize],
    atoms: &[(Species, [f64; 3])],
    opts: &MapOptions,
) -> Result<(Mapping, Vec<(usize, Species)>)> {
    let n = state.lattice().n_sites();
    let mut set: HashSet<usize> = HashSet::with_capacity(released.len());
    let mut count = [0i64; MAX_SPECIES + 1];
    for &r in released {
        if r >= n || !state.cell(r).occupied() {
            return Err(Error::Simulation(format!(
                "released site {r} holds no atom"
            )));
        }
        if !set.insert(r) {
            return Err(Error::Simulation(format!("site {r} released twice")));
        }
        count[state.species(r) as usize] += 1;
    }
    for a in atoms {
        if a.0 == 0 || a.0 as usize > MAX_SPECIES {
            return Err(Error::Simulation(format!(
                "an atom handed back has species {} (valid: 1..={MAX_SPECIES})",
                a.0
            )));
        }
        count[a.0 as usize] -= 1;
    }
    if let Some(s) = count.iter().position(|&c| c != 0) {
        return Err(Error::Simulation(format!(
            "atoms handed back do not match the released ones: species {s} differs by {} atom(s) \
             (atoms may be neither lost nor created)",
            -count[s]
        )));
    }
    let blocked = |idx: usize| state.cell(idx).occupied() && !set.contains(&idx);
    let mapping = map_to_lattice(state.lattice(), &blocked, atoms, opts)?;
    let changes = mapping.changes(state, released);
    Ok((mapping, changes))
}

/// MD and quench settings of a relaxation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaxParams {
    /// Langevin bath temperature (the scenario's).
    pub temperature_k: f64,
    /// Longest MD run.
    pub md_time_ps: f64,
    /// MD always runs at least this long before early stopping may end it.
    pub min_md_time_ps: f64,
    /// MD time step; `None` picks [`auto_timestep_fs`] for the lightest mobile species.
    pub timestep_fs: Option<f64>,
    /// Langevin damping time `1/γ`.
    pub langevin_damping_fs: f64,
    /// Stop early once the lattice occupancy has settled (see the module docs).
    pub early_stop: bool,
    /// Length of the windows over which positions are averaged and mapped.
    pub settle_window_ps: f64,
    /// Settled: this many consecutive windows each changed few sites (see
    /// `settle_changes_per_atom_ps`).
    pub settle_windows: usize,
    /// A window changed few sites if at most `max(1, this × mobile atoms × window_ps)` sites
    /// changed occupancy in it: the background of ordinary surface hops, which KMC carries on.
    pub settle_changes_per_atom_ps: f64,
    /// FIRE stops when the largest force on a mobile atom is below this.
    pub quench_force_tolerance_ev_a: f64,
    /// FIRE iteration limit.
    pub quench_max_steps: usize,
    /// Verlet-list skin.
    pub skin_a: f64,
    /// How atoms are mapped back.
    pub mapping: MapOptions,
    /// Seed of the Langevin noise and initial velocities (derive it from the scenario seed and
    /// a contact counter, so a resumed run relaxes identically).
    pub seed: u64,
}

impl Default for RelaxParams {
    fn default() -> Self {
        RelaxParams {
            temperature_k: 300.0,
            md_time_ps: 10.0,
            min_md_time_ps: 5.0,
            timestep_fs: None,
            langevin_damping_fs: 100.0,
            early_stop: true,
            settle_window_ps: 1.0,
            settle_windows: 3,
            settle_changes_per_atom_ps: 0.004,
            quench_force_tolerance_ev_a: 0.02,
            quench_max_steps: 3000,
            skin_a: 1.0,
            mapping: MapOptions::default(),
            seed: 1,
        }
    }
}

impl RelaxParams {
    fn validate(&self) -> Result<()> {
        let nonneg = [
            ("relax.temperature_k", self.temperature_k),
            ("relax.md_time_ps", self.md_time_ps),
            ("relax.min_md_time_ps", self.min_md_time_ps),
            ("relax.skin_a", self.skin_a),
            (
                "relax.settle_changes_per_atom_ps",
                self.settle_changes_per_atom_ps,
            ),
        ];
        for (name, v) in nonneg {
            non_negative(name, v)?;
        }
        let pos = [
            ("relax.timestep_fs", self.timestep_fs.unwrap_or(1.0)),
            ("relax.langevin_damping_fs", self.langevin_damping_fs),
            ("relax.settle_window_ps", self.settle_window_ps),
            (
                "relax.quench_force_tolerance_ev_a",
                self.quench_force_tolerance_ev_a,
            ),
        ];
        for (name, v) in pos {
            positive(name, v)?;
        }
        at_least("relax.settle_windows", self.settle_windows, 1)?;
        self.mapping.validate()
    }
}

/// Reference of [`auto_timestep_fs`]: 4 fs for gold (196.97 amu).
const AU_MASS_AMU: f64 = 196.966_570;

/// The MD time step for atoms of mass `mass_amu`: 4 fs for Au, scaled by `sqrt(m / m_Au)`
/// (the highest phonon frequency goes as `sqrt(k / m)` and the force constants of these fcc
/// metals differ less than their masses), within [0.5, 4] fs: Ag 3.0, Pd 2.9, Cu 2.3, Ni 2.2,
/// Al 1.5 fs. For Au at 600 K (the two-particle region of the bench), NVE with 4 fs drifts by
/// 4e-7 eV/atom over 4 ps with fluctuations of 1e-5 eV/atom, and Langevin runs give the same
/// neck as with 2 fs.
pub fn auto_timestep_fs(mass_amu: f64) -> f64 {
    (4.0 * (mass_amu / AU_MASS_AMU).sqrt()).clamp(0.5, 4.0)
}

/// Wall-clock time of each stage, s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RelaxTimings {
    /// Cutting the region and building the MD system.
    pub cut_s: f64,
    /// Langevin MD (with the per-window mappings of early stopping).
    pub md_s: f64,
    /// FIRE quench.
    pub quench_s: f64,
    /// Mapping back (and the energy of the mapped state).
    pub map_s: f64,
    /// Everything.
    pub total_s: f64,
}

/// What a relaxation did.
#[derive(Debug, Clone)]
pub struct RelaxOutcome {
    /// Site changes for [`Engine::apply`](crate::engine::Engine::apply), sorted by site
    /// (0 empties a site). Call [`Engine::ensure_layers`](crate::engine::Engine::ensure_layers)
    /// with `mapping.layers_needed` first.
    pub changes: Vec<(usize, Species)>,
    /// Atoms that moved in MD.
    pub mobile_atoms: usize,
    /// Atoms in MD but fixed (frozen shell, substrate).
    pub frozen_atoms: usize,
    /// Mobile atoms that ended on another site than they started on.
    pub moved_atoms: usize,
    /// The mapping of the mobile atoms (residuals, off-lattice atoms, layers needed).
    pub mapping: Mapping,
    /// Potential energy of the region on its lattice sites before MD, eV.
    pub energy_initial_ev: f64,
    /// After the quench, eV.
    pub energy_quenched_ev: f64,
    /// With the mobile atoms put on their mapped sites, eV (what the lattice state holds).
    pub energy_mapped_ev: f64,
    /// Mean potential energy of each MD window, eV.
    pub window_energies_ev: Vec<f64>,
    /// Sites whose mapped occupancy changed during each window (the first window compares
    /// with the initial state).
    pub window_site_changes: Vec<usize>,
    /// MD time step used, fs.
    pub timestep_fs: f64,
    /// MD steps run.
    pub md_steps: u64,
    /// Verlet-list builds during the MD (the list is kept while atoms move less than half
    /// the skin).
    pub md_list_builds: u64,
    /// MD time run, ps.
    pub md_time_ps: f64,
    /// True if MD stopped early because the occupancy had settled.
    pub settled: bool,
    /// FIRE iterations.
    pub quench_steps: usize,
    /// True if FIRE reached its force tolerance.
    pub quench_converged: bool,
    /// Wall-clock times.
    pub timings: RelaxTimings,
}

/// Sites that are occupied (with their species) in `b` but not in `a`; both sorted.
fn occupancy_changes(a: &[(usize, Species)], b: &[(usize, Species)]) -> usize {
    let (mut i, mut n) = (0, 0);
    for x in b {
        while i < a.len() && a[i] < *x {
            i += 1;
        }
        if i >= a.len() || a[i] != *x {
            n += 1;
        }
    }
    n
}

/// Relaxes the region `region` of `state` with `potential`: Langevin MD at
/// `params.temperature_k` (early stopping as in the module docs), a FIRE quench, and the
/// mapping of the mobile atoms back onto free sites. The state is not changed: apply
/// `outcome.changes` (after `ensure_layers(outcome.mapping.layers_needed)`).
///
/// `species_names[s - 1]` names lattice species `s`; each must be an element of `potential`.
/// The EAM potential computes forces on several threads only above its
/// [`parallel_threshold`](crate::md::Eam::parallel_threshold) (4096 atoms by default); lower
/// it to about 1000 for contact regions of a few thousand atoms.
pub fn relax_contact(
    state: &State,
    species_names: &[String],
    potential: &dyn Potential,
    region: &RegionSpec,
    params: &RelaxParams,
) -> Result<RelaxOutcome> {
    let t0 = Instant::now();
    params.validate()?;
    let species_map = SpeciesMap::new(species_names, potential)?;
    if region.frozen_shell_a < potential.cutoff() {
        return Err(Error::field(
            "relax.region.frozen_shell_a",
            format!(
                "{} Å is thinner than the potential's cutoff ({} Å): mobile atoms at the edge \
                 would miss neighbours that are there",
                region.frozen_shell_a,
                potential.cutoff()
            ),
        ));
    }
    let cut = cut_region(state, region)?;
    let mut md_species = Vec::with_capacity(cut.len());
    for (&site, &s) in cut.sites.iter().zip(&cut.species) {
        match species_map.potential_species(s) {
            Some(p) => md_species.push(p),
            None => {
                return Err(Error::Simulation(format!(
                    "site {site} holds species {s}, but only {} species are named",
                    species_names.len()
                )));
            }
        }
    }
    let lightest = md_species[..cut.n_mobile]
        .iter()
        .map(|&p| potential.masses()[p as usize])
        .fold(f64::INFINITY, f64::min);
    let dt = params.timestep_fs.unwrap_or_else(|| {
        auto_timestep_fs(if lightest.is_finite() {
            lightest
        } else {
            AU_MASS_AMU
        })
    });
    let mut system = System::new(cut.positions_a.clone(), md_species, cut.simbox, potential)?;
    for i in cut.n_mobile..cut.len() {
        system.fixed[i] = true;
    }
    let released = &cut.sites[..cut.n_mobile];
    let occupancy = |m: &Mapping| {
        let mut v: Vec<(usize, Species)> = m
            .sites
            .iter()
            .copied()
            .zip(m.species.iter().copied())
            .collect();
        v.sort_unstable();
        v
    };
    let mut last_occupancy: Vec<(usize, Species)> =
        released.iter().map(|&s| (s, state.species(s))).collect();
    let cut_s = t0.elapsed().as_secs_f64();

    // Langevin MD with early stopping.
    let t1 = Instant::now();
    let mut rng = stream(params.seed, Stream::Md);
    let mut md = Md::new(
        system,
        potential,
        Integrator::Langevin {
            temperature_k: params.temperature_k,
            damping_fs: params.langevin_damping_fs,
        },
        dt,
        params.skin_a,
    )?;
    md.init_velocities(params.temperature_k, &mut rng);
    let energy_initial_ev = md.evaluation().energy;
    let steps_of = |ps: f64| (ps * 1000.0 / dt).round() as u64;
    let max_steps = if cut.n_mobile > 0 {
        steps_of(params.md_time_ps)
    } else {
        0
    };
    let min_steps = steps_of(params.min_md_time_ps);
    let window = steps_of(params.settle_window_ps).max(1);
    let few =
        (params.settle_changes_per_atom_ps * cut.n_mobile as f64 * (window as f64 * dt / 1000.0))
            .floor()
            .max(1.0) as usize;
    let simbox = cut.simbox;
    // Window averages of the mobile atoms' positions, followed through periodic wraps.
    let mut prev: Vec<[f64; 3]> = md.system().positions[..cut.n_mobile].to_vec();
    let mut unwrapped = prev.clone();
    let mut sum = vec![[0.0f64; 3]; cut.n_mobile];
    let mut window_energies_ev = Vec::new();
    let mut window_site_changes = Vec::new();
    let mut quiet = 0usize;
    let mut e_acc = 0.0;
    let mut settled = false;
    let mut steps = 0u64;
    while steps < max_steps {
        md.step(&mut rng);
        steps += 1;
        let e = md.evaluation().energy;
        if !e.is_finite() {
            return Err(Error::Simulation(format!(
                "relaxer MD became unstable at step {steps} (time step {dt} fs too large?)"
            )));
        }
        e_acc += e;
        let x = &md.system().positions;
        for i in 0..cut.n_mobile {
            let d = simbox.delta(prev[i], x[i]);
            for k in 0..3 {
                unwrapped[i][k] += d[k];
                sum[i][k] += unwrapped[i][k];
            }
            prev[i] = x[i];
        }
        if steps % window == 0 {
            window_energies_ev.push(e_acc / window as f64);
            e_acc = 0.0;
            let inv = 1.0 / window as f64;
            let atoms: Vec<(Species, [f64; 3])> = (0..cut.n_mobile)
                .map(|i| {
                    let p = [sum[i][0] * inv, sum[i][1] * inv, sum[i][2] * inv];
                    (cut.species[i], p)
                })
                .collect();
            sum.iter_mut().for_each(|v| *v = [0.0; 3]);
            let (m, _) = map_region_back(state, released, &atoms, &params.mapping)?;
            let now = occupancy(&m);
            let changed = occupancy_changes(&last_occupancy, &now);
            window_site_changes.push(changed);
            last_occupancy = now;
            quiet = if changed <= few { quiet + 1 } else { 0 };
            if params.early_stop && quiet >= params.settle_windows && steps >= min_steps {
                settled = true;
                break;
            }
        }
    }
    let md_time_ps = md.time_fs() / 1000.0;
    let md_list_builds = md.list_builds();
    let md_s = t1.elapsed().as_secs_f64();

    // Quench.
    let t2 = Instant::now();
    let mut system = md.into_system();
    let quench = minimize::fire(
        &mut system,
        potential,
        &FireOptions {
            force_tolerance_ev_a: params.quench_force_tolerance_ev_a,
            max_steps: params.quench_max_steps,
            skin_a: params.skin_a,
            ..Default::default()
        },
    )?;
    let quench_s = t2.elapsed().as_secs_f64();

    // Map back.
    let t3 = Instant::now();
    let atoms: Vec<(Species, [f64; 3])> = (0..cut.n_mobile)
        .map(|i| (cut.species[i], system.positions[i]))
        .collect();
    let (mapping, changes) = map_region_back(state, released, &atoms, &params.mapping)?;
    let moved_atoms = mapping
        .sites
        .iter()
        .zip(released)
        .filter(|(a, b)| a != b)
        .count();
    for (i, d) in mapping.displacements_a.iter().enumerate() {
        for k in 0..3 {
            system.positions[i][k] += d[k];
        }
    }
    let mut field = ForceField::new(potential, 0.0);
    let energy_mapped_ev = field.compute(&mut system, false).energy;
    let map_s = t3.elapsed().as_secs_f64();

    Ok(RelaxOutcome {
        changes,
        mobile_atoms: cut.n_mobile,
        frozen_atoms: cut.len() - cut.n_mobile,
        moved_atoms,
        mapping,
        energy_initial_ev,
        energy_quenched_ev: quench.energy_ev,
        energy_mapped_ev,
        window_energies_ev,
        window_site_changes,
        timestep_fs: dt,
        md_steps: steps,
        md_list_builds,
        md_time_ps,
        settled,
        quench_steps: quench.steps,
        quench_converged: quench.converged,
        timings: RelaxTimings {
            cut_s,
            md_s,
            quench_s,
            map_s,
            total_s: t0.elapsed().as_secs_f64(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::LatticeKind;

    /// The windowed scan finds exactly the sites a brute-force scan finds, on every 3-D lattice,
    /// near the periodic edges, and for spheres wider than the box.
    #[test]
    fn site_scan_matches_brute_force() {
        for kind in LatticeKind::ALL.into_iter().filter(|k| !k.is_2d()) {
            let lat = Lattice::new(kind, 3.6, [8, 8], 14).unwrap();
            let [lx, ly] = lat.box_lengths();
            for (p, r) in [
                ([0.3, 0.2, 9.0], 5.0),
                ([lx - 0.1, 0.5 * ly, 3.0], 7.5),
                ([-4.0, ly + 3.0, 11.0], 4.0),
                ([0.5 * lx, 0.5 * ly, 12.0], 0.7 * lx.max(ly)),
            ] {
                let mut got = Vec::new();
                for_each_site_within(&lat, p, r, |s, d, d2| {
                    let q = lat.position(&s);
                    assert!((q[2] - p[2] - d[2]).abs() < 1e-9);
                    assert!((d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - d2).abs() < 1e-9);
                    got.push(s.idx);
                });
                let mut want = Vec::new();
                for idx in 0..lat.n_sites() {
                    let q = lat.position_of(idx);
                    let mut d = crate::vec3::sub(q, p);
                    d[0] -= lx * (d[0] / lx).round();
                    d[1] -= ly * (d[1] / ly).round();
                    if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r {
                        want.push(idx);
                    }
                }
                let n = got.len();
                got.sort_unstable();
                got.dedup();
                assert_eq!(got.len(), n, "{kind:?}: a site visited twice");
                assert_eq!(got, want, "{kind:?} at {p:?}, r = {r}");
            }
        }
    }
}
