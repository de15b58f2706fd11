//! The embedded MD relaxer: take the region of a contact off the lattice, run real MD on it
//! (a Nosé–Hoover chain at the scenario temperature until the contact settles, then a FIRE
//! quench), and map the atoms back onto lattice sites — no site doubly occupied, no atom lost
//! or created, species kept.
//!
//! The pieces are usable alone:
//! - [`cut_contact`] / [`cut_region`]: the region (whole bodies and/or a sphere, plus a frozen
//!   shell) as Cartesian positions with body labels;
//! - [`relax_region`] / [`relax_contact`]: cut → MD → quench → map back, returning the site
//!   changes [`Engine::apply`](crate::engine::Engine::apply) takes and the contact report;
//! - [`map_to_lattice`] / [`map_region_back`]: for an external MD engine that took atoms off the
//!   lattice and hands a configuration back.
//!
//! **Region.** A contact joins two bodies. Each body that is a particle is released *whole*
//! (all its atoms mobile) while the bodies' atoms together stay within a limit
//! ([`RelaxSpec::whole_particles_max_atoms`], default 2,500: two 3 nm particles); the film or
//! substrate side, and a body above the limit, is cut by a sphere around the contact point
//! ([`RegionSpec`]). Every other atom within one potential cutoff of the sphere or of a whole
//! body's atom is frozen, so mobile atoms see their full environment; atoms of the state's
//! frozen layers stay frozen. Why whole: on two 3 nm Au spheres touching at one site at 600 K
//! (`kmc bench relax`, module [`mod@bench`]), a sphere of 15, 20 or 25 Å around the contact leaves
//! the rest of each particle frozen, and the frozen part pins the centres: the neck reaches
//! 6.2–7.8 Å in 10 ps and the cut parts do not approach, while whole particles snap together as
//! in free MD (neck 4.1 → 10.2–10.9 Å, centres 29.7 → 22.8–24.1 Å in 10 ps, seeds 1–3; README,
//! "Contact relaxation", for the table and the commands). Each body starts at rest as a whole (its atoms
//! thermal): the KMC state has no velocities, and a whole particle's thermal drift can tear a
//! one-atom contact open. When no atom is frozen (two free particles) the cluster's linear and
//! angular momentum are zeroed at the start and after every window, so it neither drifts nor
//! spins.
//!
//! **Thermostat** ([`Thermostat`]): a Nosé–Hoover chain (period 100 fs by default) leaves the
//! collective snap of the contact nearly Newtonian; a Langevin bath (selectable) damps it —
//! with 100 fs damping and the settle criterion the whole 3 nm pair stops at a neck of 7.3–8.1
//! Å with the centres 1–2.6 Å closer, where Nosé–Hoover reaches 9.7–11.7 Å and 5.5–7.6 Å.
//!
//! **Settle criterion.** The contact stage is over when the contact has stopped changing
//! faster than the KMC that follows can carry on: the MD runs in windows of
//! [`RelaxParams::settle_window_ps`]; per window the neck radius of the window-mean positions
//! (the definition of [`crate::observe::analyze`], on the two bodies' mobile atoms) and the
//! mean potential energy are recorded. After [`RelaxParams::min_md_time_ps`] the MD stops when
//! the least-squares slopes over the last [`RelaxParams::settle_fit_windows`] windows are both
//! small: |d neck/dt| ≤ [`RelaxParams::settle_neck_rate_a_per_ps`] and |d PE/dt| ≤
//! [`RelaxParams::settle_energy_rate_ev_per_ps`]; it never runs beyond
//! [`RelaxParams::md_time_ps`]. Without body labels (a bare sphere) the neck rate is zero and
//! the energy alone decides. Defaults, from the 3 nm Au pair at 600 K (`kmc bench relax
//! --whole --radii 15 --times 20 --no-early-stop --series`): the snap grows the neck by
//! ~5 Å/ps in the first picosecond and ~0.5 Å/ps up to 6 ps; after it, the neck creeps on by
//! 0.1–0.2 Å/ps (surface diffusion, which KMC carries on), so 0.2 Å/ps ends the MD after the
//! snap; the window-mean energy of 1,655 atoms scatters by ±3 eV per 0.5 ps window, so a slope
//! over 8 windows (4 ps) has a standard error of about 1 eV/ps and 2 eV/ps separates the
//! release of the snap (5–10 eV/ps in its first picoseconds) from noise. The minimum time, 8
//! ps, is for incubation: the shoulder contact of `two_au_particles` (neck 2.3 Å) sits flat
//! for several ps before it snaps; with 4 ps it was declared settled before snapping for
//! seeds 1, 2 and 3, with 8 ps it snapped for all three (`kmc run
//! scenarios/two_au_particles.ron --events 1 --seed S` with `relax: Some((min_md_time_ps:
//! ..))`). The cap, 20 ps, lets that contact finish its snap (it typically runs to the cap:
//! neck 2.3 → 9.5–11.6 Å); on the sphere pair the neck at 30 ps lies within the seed spread of
//! the neck at 20 ps (10.5–12.7 against 10.5–12.6 Å), and the criterion stopped it at 8.5–13 ps
//! with 9.7–11.7 Å.
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
//! an order of magnitude smaller. Whole particles turn by 4–12° in the snap (reported per body,
//! [`BodyMotion`]); on the one global lattice most of their atoms are then off-lattice, which
//! particles with their own crystal frames (grains) are to remove.

mod assign;
pub mod bench;
mod grains;
mod spec;
pub use grains::{
    FIT_TRIM_NN, GrainRegion, GrainRelaxOutcome, MIN_SEPARATION_NN, MergePlan, merge_plan,
    relax_grains,
};
pub use spec::{DEFAULT_WHOLE_PARTICLES_MAX_ATOMS, MergeSpec, RelaxPotential, RelaxSpec};

use std::time::Instant;

use hashbrown::{HashMap, HashSet};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::validate::{at_least, non_negative, non_negative_of, positive, positive_of};
use crate::lattice::{Lattice, for_each_site_within};
use crate::md::integrate::{Integrator, Md};
use crate::md::minimize::{self, FireOptions};
use crate::md::system::{ForceField, System};
use crate::md::{Potential, SimBox, geometry};
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
    /// The sphere for a contact at `centre` between two bodies (particles, or a particle and
    /// the film) whose smaller radius is `smaller_radius_a` (see [`equivalent_radius_a`]): a
    /// sphere of [`CONTACT_RADIUS_FACTOR`] × that radius plus a frozen shell of one potential
    /// cutoff. It cuts the film side of a contact and bodies too large to be released whole
    /// ([`ContactRegion`]).
    ///
    /// A sphere pins what it cuts: on a 3 nm Au pair at 600 K (`kmc bench relax --radii
    /// 15,20,25 --times 10,20 --no-early-stop --seeds 1,2`) the neck reaches 6.2–6.5 Å with 15
    /// Å, 7.4–7.8 Å with 20 and 25 Å, against 10.2–10.9 Å for whole particles, and the cut
    /// parts do not approach; from 25 Å the cut particles turn against their frozen rims and
    /// hundreds of atoms come back off-lattice. So particles are released whole where they
    /// fit, and one radius of the smaller body only bounds the film side.
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

/// The region of a contact: whole bodies where they are small enough, cut by a sphere
/// otherwise (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRegion {
    /// The sphere around the contact point: its atoms (not in frozen layers) move, and its
    /// frozen shell surrounds them.
    pub sphere: RegionSpec,
    /// Sites of each body released whole (all its atoms mobile, with a frozen shell of
    /// `sphere.frozen_shell_a` around it where other atoms are); empty for a body the sphere
    /// cuts.
    pub whole: [Vec<usize>; 2],
    /// The sites of the two atoms whose bond made the contact: when neither body is whole, the
    /// plane through the bond's midpoint normal to it separates the bodies' atoms.
    pub bond: Option<[usize; 2]>,
}

impl ContactRegion {
    /// Only the sphere, without body labels.
    pub fn sphere(spec: RegionSpec) -> Self {
        ContactRegion {
            sphere: spec,
            whole: [Vec::new(), Vec::new()],
            bond: None,
        }
    }
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
    /// Body (0 or 1) of each atom, if labelled (see [`cut_contact`]).
    pub body: Vec<Option<u8>>,
    /// Whether each body was released whole.
    pub whole: [bool; 2],
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
    cut_contact(state, &ContactRegion::sphere(*spec))
}

/// Cuts a contact region out of `state`: the atoms of the whole bodies and of the sphere move
/// (except atoms of frozen layers); every other atom within the frozen shell of the sphere or
/// of a whole body's atom is frozen. Mobile atoms are labelled with their body: a whole body's
/// atoms with its own; with one body whole, every other mobile atom with the other body; with
/// none whole, by the side of the bond's normal plane (no labels without a bond).
pub fn cut_contact(state: &State, region: &ContactRegion) -> Result<Region> {
    let spec = &region.sphere;
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
    let n_sites = lat.n_sites();
    for (k, w) in region.whole.iter().enumerate() {
        if let Some(&s) = w.iter().find(|&&s| s >= n_sites || state.species(s) == 0) {
            return Err(Error::Simulation(format!(
                "body {k} of the contact lists site {s}, which holds no atom"
            )));
        }
    }
    let [lx, ly] = lat.box_lengths();
    // Position of a site, unwrapped around the centre (minimum image).
    let near = |idx: usize| {
        let q = lat.position_of(idx);
        let mut d = crate::vec3::sub(q, centre);
        d[0] -= lx * (d[0] / lx).round();
        d[1] -= ly * (d[1] / ly).round();
        crate::vec3::add(centre, d)
    };
    let outer = spec.radius_a + spec.frozen_shell_a;
    let frozen_layers = state.frozen_layers();
    let movable = |idx: usize| lat.site_at(idx).l as usize >= frozen_layers;
    // site -> (species, position, mobile, body)
    let mut atoms: HashMap<usize, (Species, [f64; 3], bool, Option<u8>)> = HashMap::new();
    for (k, w) in region.whole.iter().enumerate() {
        for &s in w {
            atoms.insert(s, (state.species(s), near(s), movable(s), Some(k as u8)));
        }
    }
    for_each_site_within(lat, centre, outer, |s, d, d2| {
        let sp = state.species(s.idx);
        if sp == 0 || atoms.contains_key(&s.idx) {
            return;
        }
        let x = [centre[0] + d[0], centre[1] + d[1], centre[2] + d[2]];
        let inside = d2 < spec.radius_a * spec.radius_a && s.l as usize >= frozen_layers;
        if inside || d2 < outer * outer {
            atoms.insert(s.idx, (sp, x, inside, None));
        }
    });
    // The frozen shell around the whole bodies.
    if spec.frozen_shell_a > 0.0 {
        let mut shell = Vec::new();
        for w in &region.whole {
            for &s in w {
                for_each_site_within(lat, near(s), spec.frozen_shell_a, |t, _, _| {
                    if state.species(t.idx) != 0 && !atoms.contains_key(&t.idx) {
                        shell.push(t.idx);
                    }
                });
            }
        }
        for t in shell {
            atoms
                .entry(t)
                .or_insert_with(|| (state.species(t), near(t), false, None));
        }
    }
    let whole = [!region.whole[0].is_empty(), !region.whole[1].is_empty()];
    let label_rest: Option<Box<dyn Fn([f64; 3]) -> u8>> = match (whole, region.bond) {
        ([true, false], _) => Some(Box::new(|_| 1)),
        ([false, true], _) => Some(Box::new(|_| 0)),
        ([false, false], Some([a, b])) => {
            let (pa, pb) = (near(a), near(b));
            let u = crate::vec3::sub(pb, pa);
            let mid = crate::vec3::scale(crate::vec3::add(pa, pb), 0.5);
            Some(Box::new(move |x| {
                u8::from(crate::vec3::dot(crate::vec3::sub(x, mid), u) > 0.0)
            }))
        }
        _ => None,
    };
    let mut list: Vec<_> = atoms.into_iter().collect();
    // Mobile first, each part in site order.
    list.sort_by_key(|(s, a)| (!a.2, *s));
    let n_mobile = list.iter().filter(|(_, a)| a.2).count();
    let body: Vec<Option<u8>> = list
        .iter()
        .map(|(_, a)| match (a.3, &label_rest) {
            (Some(b), _) => Some(b),
            (None, Some(f)) if a.2 => Some(f(a.1)),
            _ => None,
        })
        .collect();
    let (mut ext_x, mut ext_y) = (0.0f64, 0.0f64);
    for (_, a) in &list {
        ext_x = ext_x.max((a.1[0] - centre[0]).abs());
        ext_y = ext_y.max((a.1[1] - centre[1]).abs());
    }
    let wraps = |ext: f64, l: f64| 2.0 * ext + spec.frozen_shell_a >= l;
    let z_extent = list
        .iter()
        .map(|a| a.1.1[2])
        .fold(0.0f64, f64::max)
        .max(2.0 * outer);
    Ok(Region {
        centre_a: centre,
        sites: list.iter().map(|a| a.0).collect(),
        species: list.iter().map(|a| a.1.0).collect(),
        positions_a: list.iter().map(|a| a.1.1).collect(),
        body,
        whole,
        n_mobile,
        simbox: SimBox {
            lengths: [lx, ly, z_extent.max(1.0)],
            periodic: [wraps(ext_x, lx), wraps(ext_y, ly), false],
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

    let mut columns = assign::Columns::new();
    let mut radius = vec![opts.search_radius_nn * nn; atoms.len()];
    let mut edges: Vec<Vec<(u32, f64)>> = vec![Vec::new(); atoms.len()];
    let fill = |i: usize, r: f64, e: &mut Vec<(u32, f64)>, columns: &mut assign::Columns<usize>| {
        e.clear();
        for_each_site_within(lat, atoms[i].1, r, |s, _, d2| {
            if s.idx < allocated && blocked(s.idx) {
                return;
            }
            e.push((columns.id(s.idx), d2));
        });
    };
    for i in 0..atoms.len() {
        fill(i, radius[i], &mut edges[i], &mut columns);
    }
    let (cols, widenings) = assign::solve_widening(
        &mut edges,
        columns.len(),
        &mut radius,
        r_max,
        |i, r, e| {
            fill(i, r, e, &mut columns);
            columns.len()
        },
    )
    .map_err(|u| {
        let p = atoms[u.row].1;
        Error::Simulation(format!(
            "atom {} at ({:.2}, {:.2}, {:.2}) Å cannot be given a free lattice site within {:.2} Å \
             (with {} atoms competing for the sites near it)",
            u.row, p[0], p[1], p[2], r_max, u.competing
        ))
    })?;

    let [lx, ly] = lat.box_lengths();
    let off_threshold = opts.off_lattice_nn * nn;
    let mut sites = Vec::with_capacity(atoms.len());
    let mut displacements = Vec::with_capacity(atoms.len());
    let mut off_lattice = Vec::new();
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    let mut layers_needed = 0;
    for (i, &c) in cols.iter().enumerate() {
        let site = columns.keys[c as usize];
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

/// The thermostat of the contact MD.
///
/// Nosé–Hoover by default: a deterministic chain thermostat leaves the dynamics of the
/// contact (the collective snap of the two bodies towards each other) nearly Newtonian while
/// holding the temperature, as free MD of coalescence is run; a Langevin bath damps every
/// atom's momentum, collective motion included, and with a damping time of 100 fs halves the
/// neck reached in 10 ps (measured, issue 13).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Thermostat {
    /// Nosé–Hoover chain of three (LAMMPS `fix nvt`), period `tau_fs` (100 fs, LAMMPS
    /// practice for metals: a hundred time steps).
    NoseHoover {
        /// Thermostat period.
        tau_fs: f64,
    },
    /// Langevin bath (BAOAB) with damping time `1/γ`.
    Langevin {
        /// Damping time.
        damping_fs: f64,
    },
}

impl Default for Thermostat {
    fn default() -> Self {
        Thermostat::NoseHoover { tau_fs: 100.0 }
    }
}

impl Thermostat {
    /// Checks the time constant (field path under `relax.thermostat`).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Thermostat::NoseHoover { tau_fs } => {
                positive_of("relax.thermostat.tau_fs", tau_fs, "fs")?
            }
            Thermostat::Langevin { damping_fs } => {
                positive_of("relax.thermostat.damping_fs", damping_fs, "fs")?
            }
        };
        Ok(())
    }

    fn integrator(&self, temperature_k: f64) -> Integrator {
        match *self {
            Thermostat::NoseHoover { tau_fs } => Integrator::NoseHooverChain {
                temperature_k,
                tau_fs,
                chain_length: 3,
            },
            Thermostat::Langevin { damping_fs } => Integrator::Langevin {
                temperature_k,
                damping_fs,
            },
        }
    }
}

/// MD and quench settings of a relaxation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaxParams {
    /// Bath temperature (the scenario's).
    pub temperature_k: f64,
    /// Longest MD run (the cap of the settle criterion).
    pub md_time_ps: f64,
    /// MD always runs at least this long before the settle criterion may end it.
    pub min_md_time_ps: f64,
    /// MD time step; `None` picks [`auto_timestep_fs`] for the lightest mobile species.
    pub timestep_fs: Option<f64>,
    /// Thermostat.
    pub thermostat: Thermostat,
    /// Stop once the contact has settled (see the module docs); otherwise run to the cap.
    pub early_stop: bool,
    /// Length of the windows over which positions and potential energy are averaged.
    pub settle_window_ps: f64,
    /// Rates are least-squares slopes over this many last windows.
    pub settle_fit_windows: usize,
    /// Settled: the neck radius changes by less than this (Å per ps) ...
    pub settle_neck_rate_a_per_ps: f64,
    /// ... and the window-mean potential energy by less than this (eV per ps).
    pub settle_energy_rate_ev_per_ps: f64,
    /// FIRE stops when the largest force on a mobile atom is below this.
    pub quench_force_tolerance_ev_a: f64,
    /// FIRE iteration limit.
    pub quench_max_steps: usize,
    /// Verlet-list skin.
    pub skin_a: f64,
    /// How atoms are mapped back.
    pub mapping: MapOptions,
    /// Seed of the initial velocities and Langevin noise (derive it from the scenario seed
    /// and a contact counter, so a resumed run relaxes identically).
    pub seed: u64,
}

impl Default for RelaxParams {
    fn default() -> Self {
        RelaxParams {
            temperature_k: 300.0,
            md_time_ps: DEFAULT_MD_CAP_PS,
            min_md_time_ps: DEFAULT_MIN_MD_PS,
            timestep_fs: None,
            thermostat: Thermostat::default(),
            early_stop: true,
            settle_window_ps: 0.5,
            settle_fit_windows: 8,
            settle_neck_rate_a_per_ps: DEFAULT_NECK_RATE_A_PER_PS,
            settle_energy_rate_ev_per_ps: DEFAULT_ENERGY_RATE_EV_PER_PS,
            quench_force_tolerance_ev_a: 0.02,
            quench_max_steps: 3000,
            skin_a: 1.0,
            mapping: MapOptions::default(),
            seed: 1,
        }
    }
}

/// Default MD cap, ps (see the module docs for the measurement).
pub const DEFAULT_MD_CAP_PS: f64 = 20.0;
/// Default minimum MD time, ps: a one-site contact can incubate for several ps, neck and
/// energy flat, before it snaps; 4 ps stopped the shoulder contact of `two_au_particles` in its
/// incubation for 3 seeds of 3, 8 ps let it snap in all 3 (module docs).
pub const DEFAULT_MIN_MD_PS: f64 = 8.0;
/// Default neck-rate threshold, Å/ps (see the module docs).
pub const DEFAULT_NECK_RATE_A_PER_PS: f64 = 0.2;
/// Default energy-release threshold, eV/ps (see the module docs).
pub const DEFAULT_ENERGY_RATE_EV_PER_PS: f64 = 2.0;

impl RelaxParams {
    /// Checks every value, naming the field under `relax`.
    pub fn validate(&self) -> Result<()> {
        let nonneg = [
            ("relax.temperature_k", self.temperature_k),
            ("relax.md_time_ps", self.md_time_ps),
            ("relax.min_md_time_ps", self.min_md_time_ps),
            ("relax.skin_a", self.skin_a),
            (
                "relax.settle_neck_rate_a_per_ps",
                self.settle_neck_rate_a_per_ps,
            ),
            (
                "relax.settle_energy_rate_ev_per_ps",
                self.settle_energy_rate_ev_per_ps,
            ),
        ];
        for (name, v) in nonneg {
            non_negative(name, v)?;
        }
        let pos = [
            ("relax.timestep_fs", self.timestep_fs.unwrap_or(1.0)),
            ("relax.settle_window_ps", self.settle_window_ps),
            (
                "relax.quench_force_tolerance_ev_a",
                self.quench_force_tolerance_ev_a,
            ),
        ];
        for (name, v) in pos {
            positive(name, v)?;
        }
        self.thermostat.validate()?;
        if matches!(self.thermostat, Thermostat::NoseHoover { .. }) && self.temperature_k <= 0.0 {
            return Err(Error::field(
                "relax.temperature_k",
                "a Nosé–Hoover thermostat needs a positive temperature (use Langevin for 0 K)",
            ));
        }
        at_least("relax.settle_fit_windows", self.settle_fit_windows, 2)?;
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
    /// MD (with the per-window observables of the settle criterion).
    pub md_s: f64,
    /// FIRE quench.
    pub quench_s: f64,
    /// Mapping back (and the energy of the mapped state).
    pub map_s: f64,
    /// Everything.
    pub total_s: f64,
}

/// Rigid motion of one body of the contact from the lattice start to the quenched end: the
/// rotation that best maps its mobile atoms' start onto their end positions (mass-weighted
/// Kabsch fit about its centre) and the displacement of its mass centre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BodyMotion {
    /// Mobile atoms of the body.
    pub atoms: usize,
    /// True if the whole body was mobile (not cut by the region).
    pub whole: bool,
    /// Rotation angle, degrees.
    pub rotation_deg: f64,
    /// Displacement of the mass centre, Å.
    pub translation_a: f64,
}

/// What a relaxation did.
#[derive(Debug, Clone)]
pub struct RelaxOutcome {
    /// Site changes for [`Engine::apply`](crate::engine::Engine::apply), sorted by site
    /// (0 empties a site). Call [`Engine::ensure_layers`](crate::engine::Engine::ensure_layers)
    /// with `mapping.layers_needed` first.
    pub changes: Vec<(usize, Species)>,
    /// Sites of the mobile atoms, in the order of `mapping.sites` (the atoms' origins).
    pub released: Vec<usize>,
    /// Atoms that moved in MD.
    pub mobile_atoms: usize,
    /// Atoms in MD but fixed (frozen shell, substrate).
    pub frozen_atoms: usize,
    /// Mobile atoms that ended on another site than they started on.
    pub moved_atoms: usize,
    /// The mapping of the mobile atoms (residuals, off-lattice atoms, layers needed).
    pub mapping: Mapping,
    /// Rigid motion of the two bodies (zero when the region has no body labels).
    pub bodies: [BodyMotion; 2],
    /// Neck radius between the bodies on their lattice sites before MD, Å (definition of
    /// [`crate::observe::analyze`]; 0 without body labels).
    pub neck_before_a: f64,
    /// Neck radius after the quench, Å.
    pub neck_after_a: f64,
    /// Distance of the bodies' mass centres before MD, Å (their mobile atoms).
    pub centre_distance_before_a: f64,
    /// After the quench, Å.
    pub centre_distance_after_a: f64,
    /// True if the free cluster's linear and angular momentum were zeroed (no frozen atom).
    pub momentum_zeroed: bool,
    /// Potential energy of the region on its lattice sites before MD, eV.
    pub energy_initial_ev: f64,
    /// After the quench, eV.
    pub energy_quenched_ev: f64,
    /// With the mobile atoms put on their mapped sites, eV (what the lattice state holds).
    pub energy_mapped_ev: f64,
    /// Mean potential energy of each MD window, eV.
    pub window_energies_ev: Vec<f64>,
    /// Neck radius of the window-mean positions of each MD window, Å.
    pub window_necks_a: Vec<f64>,
    /// MD time step used, fs.
    pub timestep_fs: f64,
    /// MD steps run.
    pub md_steps: u64,
    /// Verlet-list builds during the MD (the list is kept while atoms move less than half
    /// the skin).
    pub md_list_builds: u64,
    /// MD time run, ps.
    pub md_time_ps: f64,
    /// True if MD stopped before the cap because the contact had settled.
    pub settled: bool,
    /// FIRE iterations.
    pub quench_steps: usize,
    /// True if FIRE reached its force tolerance.
    pub quench_converged: bool,
    /// Wall-clock times.
    pub timings: RelaxTimings,
}

/// Least-squares slope of `y` against `x`.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

/// The two-body observables of a configuration of a labelled region.
struct Bodies {
    idx: [Vec<usize>; 2],
    masses: Vec<f64>,
    h: f64,
    omega: f64,
}

impl Bodies {
    fn new(region: &Region, masses: Vec<f64>, nn: f64) -> Self {
        let mut idx = [Vec::new(), Vec::new()];
        for i in 0..region.n_mobile {
            if let Some(b) = region.body[i] {
                idx[b as usize].push(i);
            }
        }
        Bodies {
            idx,
            masses,
            h: nn * (2.0f64 / 3.0).sqrt(),
            omega: nn * nn * nn / std::f64::consts::SQRT_2,
        }
    }

    fn labelled(&self) -> bool {
        !self.idx[0].is_empty() && !self.idx[1].is_empty()
    }

    /// (neck radius, centre distance).
    fn observe(&self, x: &[[f64; 3]]) -> (f64, f64) {
        if !self.labelled() {
            return (0.0, 0.0);
        }
        let ca = geometry::mass_centre(x, &self.masses, &self.idx[0]);
        let cb = geometry::mass_centre(x, &self.masses, &self.idx[1]);
        let pair: Vec<usize> = self.idx[0].iter().chain(&self.idx[1]).copied().collect();
        let (_, neck) = geometry::neck_radius(x, &pair, ca, cb, self.h, self.omega);
        (neck, crate::vec3::norm(crate::vec3::sub(cb, ca)))
    }

    fn motion(&self, k: usize, whole: bool, x0: &[[f64; 3]], x1: &[[f64; 3]]) -> BodyMotion {
        let idx = &self.idx[k];
        if idx.is_empty() {
            return BodyMotion::default();
        }
        let r: Vec<[f64; 3]> = idx.iter().map(|&i| x0[i]).collect();
        let c: Vec<[f64; 3]> = idx.iter().map(|&i| x1[i]).collect();
        let w: Vec<f64> = idx.iter().map(|&i| self.masses[i]).collect();
        let q = crate::rotation::kabsch(&r, &c, &w);
        let c0 = geometry::mass_centre(x0, &self.masses, idx);
        let c1 = geometry::mass_centre(x1, &self.masses, idx);
        BodyMotion {
            atoms: idx.len(),
            whole,
            rotation_deg: crate::rotation::misorientation_deg([1.0, 0.0, 0.0, 0.0], q),
            translation_a: crate::vec3::norm(crate::vec3::sub(c1, c0)),
        }
    }
}

/// What the MD and quench of a cut region produced (shared by [`relax_region`] and the
/// relaxation over grains).
pub(crate) struct MdRun {
    /// The quenched system (positions wrapped into its box).
    pub system: System,
    /// Start positions (the cut's).
    pub x0: Vec<[f64; 3]>,
    /// Quenched positions, unwrapped against the start.
    pub x1: Vec<[f64; 3]>,
    /// Two-body observables before MD and after the quench (as in [`RelaxOutcome`]).
    pub neck_before_a: f64,
    pub neck_after_a: f64,
    pub centre_distance_before_a: f64,
    pub centre_distance_after_a: f64,
    pub motions: [BodyMotion; 2],
    pub energy_initial_ev: f64,
    pub quench: minimize::MinimizeResult,
    pub window_energies_ev: Vec<f64>,
    pub window_necks_a: Vec<f64>,
    /// Time step, fs.
    pub dt: f64,
    pub steps: u64,
    pub md_list_builds: u64,
    pub md_time_ps: f64,
    pub settled: bool,
    /// No atom was frozen: momentum was zeroed.
    pub free_cluster: bool,
    /// Wall-clock seconds of the MD and of the quench.
    pub md_s: f64,
    pub quench_s: f64,
}

/// Thermostatted MD of the cut region until the contact settles, then a FIRE quench (module
/// docs); `nn` is the lattice's nearest-neighbour distance (for the neck definition).
pub(crate) fn run_md(
    cut: &Region,
    species_names: &[String],
    species_map: &SpeciesMap,
    potential: &dyn Potential,
    params: &RelaxParams,
    nn: f64,
) -> Result<MdRun> {
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
    let bodies = Bodies::new(cut, system.masses.clone(), nn);
    let x0 = cut.positions_a.clone();
    let (neck_before_a, centre_distance_before_a) = bodies.observe(&x0);

    // Thermostatted MD until the contact settles.
    let t1 = Instant::now();
    let mut rng = stream(params.seed, Stream::Md);
    let free_cluster = cut.n_mobile == cut.len() && cut.n_mobile > 1;
    let mut md = Md::new(
        system,
        potential,
        params.thermostat.integrator(params.temperature_k),
        dt,
        params.skin_a,
    )?;
    md.init_velocities(params.temperature_k, &mut rng);
    // Each body starts at rest as a whole (its atoms thermal): the KMC state it comes from
    // has no velocities, and a random thermal drift of a whole particle (~0.6 Å/ps for 800
    // Au atoms at 600 K) can tear a one-atom contact open before it snaps.
    for k in 0..2 {
        if cut.whole[k] {
            md.system_mut().remove_rigid_motion_of(&bodies.idx[k]);
        }
    }
    if free_cluster {
        md.remove_rigid_motion();
    }
    md.system_mut().scale_to_temperature(params.temperature_k);
    let energy_initial_ev = md.evaluation().energy;
    let steps_of = |ps: f64| (ps * 1000.0 / dt).round() as u64;
    let max_steps = if cut.n_mobile > 0 {
        steps_of(params.md_time_ps)
    } else {
        0
    };
    let min_steps = steps_of(params.min_md_time_ps);
    let window = steps_of(params.settle_window_ps).max(1);
    let window_ps = window as f64 * dt / 1000.0;
    let simbox = cut.simbox;
    // Window averages of the atoms' positions, followed through periodic wraps (frozen atoms
    // stay where they are).
    let mut prev: Vec<[f64; 3]> = md.system().positions.clone();
    let mut unwrapped = prev.clone();
    let mut sum = vec![[0.0f64; 3]; cut.n_mobile];
    let mut mean_x = x0.clone();
    let mut window_energies_ev = Vec::new();
    let mut window_necks_a = Vec::new();
    let mut e_acc = 0.0;
    let mut settled = false;
    let mut steps = 0u64;
    let fit = params.settle_fit_windows;
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
            for i in 0..cut.n_mobile {
                mean_x[i] = sum[i].map(|s| s * inv);
            }
            sum.iter_mut().for_each(|v| *v = [0.0; 3]);
            window_necks_a.push(bodies.observe(&mean_x).0);
            if free_cluster {
                // Langevin noise and rounding give the free pair a net momentum; it would
                // drift and spin, which no lattice can hold.
                md.remove_rigid_motion();
            }
            let n = window_energies_ev.len();
            if params.early_stop && n >= fit && steps >= min_steps {
                let t: Vec<f64> = (n - fit..n).map(|k| (k as f64 + 0.5) * window_ps).collect();
                let neck_rate = slope(&t, &window_necks_a[n - fit..]).abs();
                let e_rate = slope(&t, &window_energies_ev[n - fit..]).abs();
                if neck_rate <= params.settle_neck_rate_a_per_ps
                    && e_rate <= params.settle_energy_rate_ev_per_ps
                {
                    settled = true;
                    break;
                }
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
    // Quenched positions, unwrapped against the start (no atom moves half a box).
    let x1: Vec<[f64; 3]> = x0
        .iter()
        .zip(&system.positions)
        .map(|(a, b)| crate::vec3::add(*a, simbox.delta(*a, *b)))
        .collect();
    let (neck_after_a, centre_distance_after_a) = bodies.observe(&x1);
    let motions = [
        bodies.motion(0, cut.whole[0], &x0, &x1),
        bodies.motion(1, cut.whole[1], &x0, &x1),
    ];

    Ok(MdRun {
        system,
        x0,
        x1,
        neck_before_a,
        neck_after_a,
        centre_distance_before_a,
        centre_distance_after_a,
        motions,
        energy_initial_ev,
        quench,
        window_energies_ev,
        window_necks_a,
        dt,
        steps,
        md_list_builds,
        md_time_ps,
        settled,
        free_cluster,
        md_s,
        quench_s,
    })
}

/// Relaxes the sphere `region` of `state` (no body labels: the settle criterion uses the
/// energy alone); see [`relax_region`].
pub fn relax_contact(
    state: &State,
    species_names: &[String],
    potential: &dyn Potential,
    region: &RegionSpec,
    params: &RelaxParams,
) -> Result<RelaxOutcome> {
    relax_region(
        state,
        species_names,
        potential,
        &ContactRegion::sphere(*region),
        params,
    )
}

/// Relaxes the contact region `region` of `state` with `potential`: thermostatted MD at
/// `params.temperature_k` until the contact settles (module docs), a FIRE quench, and the
/// mapping of the mobile atoms back onto free sites. The state is not changed: apply
/// `outcome.changes` (after `ensure_layers(outcome.mapping.layers_needed)`), or move the
/// atoms `outcome.released[i] → outcome.mapping.sites[i]`.
///
/// `species_names[s - 1]` names lattice species `s`; each must be an element of `potential`.
/// The EAM potential computes forces on several threads only above its
/// [`parallel_threshold`](crate::md::Eam::parallel_threshold) (4096 atoms by default); lower
/// it to about 1000 for contact regions of a few thousand atoms.
pub fn relax_region(
    state: &State,
    species_names: &[String],
    potential: &dyn Potential,
    region: &ContactRegion,
    params: &RelaxParams,
) -> Result<RelaxOutcome> {
    let t0 = Instant::now();
    params.validate()?;
    let species_map = SpeciesMap::new(species_names, potential)?;
    if region.sphere.frozen_shell_a < potential.cutoff() {
        return Err(Error::field(
            "relax.region.frozen_shell_a",
            format!(
                "{} Å is thinner than the potential's cutoff ({} Å): mobile atoms at the edge \
                 would miss neighbours that are there",
                region.sphere.frozen_shell_a,
                potential.cutoff()
            ),
        ));
    }
    let cut = cut_contact(state, region)?;
    let run = run_md(
        &cut,
        species_names,
        &species_map,
        potential,
        params,
        state.lattice().nn_distance(),
    )?;
    let cut_s = t0.elapsed().as_secs_f64() - run.md_s - run.quench_s;
    let MdRun {
        mut system,
        neck_before_a,
        neck_after_a,
        centre_distance_before_a,
        centre_distance_after_a,
        motions,
        energy_initial_ev,
        quench,
        window_energies_ev,
        window_necks_a,
        dt,
        steps,
        md_list_builds,
        md_time_ps,
        settled,
        free_cluster,
        md_s,
        quench_s,
        ..
    } = run;
    let released = cut.sites[..cut.n_mobile].to_vec();

    // Map back.
    let t3 = Instant::now();
    let atoms: Vec<(Species, [f64; 3])> = (0..cut.n_mobile)
        .map(|i| (cut.species[i], system.positions[i]))
        .collect();
    let (mapping, changes) = map_region_back(state, &released, &atoms, &params.mapping)?;
    let moved_atoms = mapping
        .sites
        .iter()
        .zip(&released)
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
        released,
        mobile_atoms: cut.n_mobile,
        frozen_atoms: cut.len() - cut.n_mobile,
        moved_atoms,
        mapping,
        bodies: motions,
        neck_before_a,
        neck_after_a,
        centre_distance_before_a,
        centre_distance_after_a,
        momentum_zeroed: free_cluster,
        energy_initial_ev,
        energy_quenched_ev: quench.energy_ev,
        energy_mapped_ev,
        window_energies_ev,
        window_necks_a,
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
