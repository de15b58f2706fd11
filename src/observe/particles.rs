//! Coalescence observables of particle films: particles and components, necks, radii of
//! gyration, surface atoms and area, surface composition, core–shell integrity, coverage,
//! thickness and percolation.
//!
//! Definitions (z is the lattice coordination, 12 on FCC; "film atoms" are the atoms above
//! the substrate layers; a particle's atoms are those that arrived with it, wherever they are):
//!
//! * **surface atom**: a film atom with fewer than z occupied nearest neighbours (substrate
//!   neighbours count, so the interface with the substrate is not surface).
//! * **normalised surface area**: over the components holding particle atoms,
//!   Σ N_surf / Σ S(N), where N is a component's atom count and S(N) = α N^(2/3) + β N^(1/3)
//!   the surface atoms of a sphere of N atoms cut from the same lattice (α, β fitted once to
//!   24 spheres of 100 to 10,000 atoms). A compact free sphere gives ≈ 1, two touching equal
//!   spheres ≈ 2^(1/3) ≈ 1.26 (exactly so for large ones).
//! * **surface fraction** of species s: the fraction of film surface atoms that are s.
//! * **core–shell integrity**: over the core–shell particles, the fraction of their surface
//!   atoms that are of the shell species (1 for an intact shell).
//! * **radius of gyration** of a particle: √(Σ |r − c|² / N) about its centre of mass c, with
//!   periodic images resolved about the circular mean of x and y.
//! * **neck** between particles p and q: they share at least one nearest-neighbour bond. Its
//!   radius is that of the circle with the area of the narrowest cross-section of the pair
//!   between their centres: with u the unit vector from c_p to c_q and s the coordinate along
//!   u, N(s) counts the bonds between atoms of p ∪ q that the plane at s cuts; the cut area is
//!   A(s) = N(s) / ρ_b(u), with ρ_b(u) = Σ_{b·u>0} (b·u) / Ω the density of cut bonds per unit
//!   area of a perfect crystal (b the nearest-neighbour vectors, Ω the atomic volume); the
//!   neck radius is √(min_{0<s<|c_q−c_p|} A(s) / π). Counting cut bonds rather than atoms in a
//!   slab gives the area without any choice of slab width, for any direction of u.
//! * **covered fraction**: fraction of lattice columns with a film atom (projected coverage).
//! * **thickness**: film atoms × Ω / box area (the equivalent thickness of a dense film).
//! * **percolation**: a component of film atoms that reaches its own periodic image along x
//!   (or y) spans the box along x (y). Found by a breadth-first search that carries each atom's
//!   periodic image index; meeting an atom again with another image index proves the wrap.

use crate::engine::contact::{ContactTracker, NONE};
use crate::lattice::Lattice;
use crate::particle::{LatticeFrame, Particle, ResolvedComposition, Shape};
use crate::state::State;
use crate::vec3::sub;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A `u32` per site above `offset` (dense: one pass over a film costs no hashing), with a
/// small map for the few sites below.
struct SiteMap {
    offset: usize,
    dense: Vec<u32>,
    below: HashMap<usize, u32>,
}

impl SiteMap {
    fn new(offset: usize, n_sites: usize) -> Self {
        SiteMap {
            offset,
            dense: vec![NONE; n_sites.saturating_sub(offset)],
            below: HashMap::new(),
        }
    }

    fn set(&mut self, site: usize, v: u32) {
        if site >= self.offset {
            self.dense[site - self.offset] = v;
        } else {
            self.below.insert(site, v);
        }
    }

    fn get(&self, site: usize) -> Option<u32> {
        let v = if site >= self.offset {
            self.dense.get(site - self.offset).copied().unwrap_or(NONE)
        } else {
            self.below.get(&site).copied().unwrap_or(NONE)
        };
        (v != NONE).then_some(v)
    }
}

/// Per-particle observables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticleStats {
    /// Particle id.
    pub id: u32,
    /// Atoms that still carry its identity.
    pub atoms: usize,
    /// Index of its component among [`Coalescence::component_sizes`]: the one holding most of
    /// its atoms (an atom that wandered off must not move the particle elsewhere).
    pub component: Option<usize>,
    /// Centre of mass, Å (x, y wrapped into the box).
    pub centre_a: [f64; 3],
    /// Radius of gyration, Å.
    pub rg_a: f64,
    /// Its atoms at the surface.
    pub surface_atoms: usize,
    /// Its surface atoms by species (index = species − 1).
    pub surface_by_species: Vec<usize>,
    /// Fraction of its surface atoms of the shell species (core–shell particles).
    pub shell_integrity: Option<f64>,
}

/// A neck between two particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neck {
    /// Lower particle id.
    pub a: u32,
    /// Higher particle id.
    pub b: u32,
    /// Nearest-neighbour bonds between their atoms.
    pub bonds: usize,
    /// Neck radius, Å.
    pub radius_a: f64,
}

/// Coalescence observables at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coalescence {
    /// Particles with at least one atom.
    pub particles: usize,
    /// Connected components of film atoms.
    pub components: usize,
    /// Components holding particle atoms.
    pub aggregates: usize,
    /// Contacts raised since the start.
    pub contacts: u64,
    /// Necks (bonded particle pairs).
    pub necks: Vec<Neck>,
    /// Mean neck radius, Å (NaN without necks).
    pub neck_radius_mean_a: f64,
    /// Largest neck radius, Å (NaN without necks).
    pub neck_radius_max_a: f64,
    /// Mean radius of gyration of the particles, Å (NaN without particles).
    pub rg_mean_a: f64,
    /// Film atoms at the surface.
    pub surface_atoms: usize,
    /// Normalised surface area of the particle aggregates (NaN without particles).
    pub surface_area_norm: f64,
    /// Fraction of film surface atoms of each species (index = species − 1).
    pub surface_fraction: Vec<f64>,
    /// Core–shell integrity (NaN without core–shell particles).
    pub core_shell_integrity: f64,
    /// Fraction of columns covered by film atoms.
    pub covered_fraction: f64,
    /// Equivalent film thickness, nm.
    pub thickness_nm: f64,
    /// A component spans the box along x, along y.
    pub percolating: [bool; 2],
    /// Atoms of each component, largest first.
    pub component_sizes: Vec<usize>,
    /// Per-particle observables, by id.
    pub per_particle: Vec<ParticleStats>,
}

/// Lattice constants of the observables, computed once per lattice.
#[derive(Debug, Clone)]
pub struct CoalescenceContext {
    /// Surface atoms of a sphere of N atoms ≈ `surface_fit.0 · N^(2/3) + surface_fit.1 · N^(1/3)`.
    pub surface_fit: (f64, f64),
    /// The lattice frame (nearest-neighbour vectors, atomic volume).
    pub frame: LatticeFrame,
}

impl CoalescenceContext {
    /// Fits the surface-atom count of spheres cut from `lat`'s kind (24 diameters from 6 to
    /// 28 nearest-neighbour distances, about 100 to 10,000 atoms) by least squares.
    pub fn new(lat: &Lattice) -> crate::Result<Self> {
        let frame = LatticeFrame::new(lat)?;
        let mut rng = crate::rng::stream(0, crate::rng::Stream::ParticleBuild);
        let (mut s11, mut s12, mut s22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for k in 0..24 {
            let d_nm = (6.0 + k as f64 * 22.0 / 23.0) * lat.nn_distance() / 10.0;
            let p = Particle::build_in(
                &frame,
                Shape::Sphere,
                d_nm,
                &ResolvedComposition::Pure(1),
                &mut rng,
            )?;
            let n = p.len() as f64;
            let (x1, x2) = (n.powf(2.0 / 3.0), n.cbrt());
            let y = surface_atoms_of(&frame, &p.keys) as f64;
            s11 += x1 * x1;
            s12 += x1 * x2;
            s22 += x2 * x2;
            b1 += x1 * y;
            b2 += x2 * y;
        }
        let det = s11 * s22 - s12 * s12;
        Ok(CoalescenceContext {
            surface_fit: ((b1 * s22 - b2 * s12) / det, (s11 * b2 - s12 * b1) / det),
            frame,
        })
    }

    /// Surface atoms of a sphere of `n` atoms (the fit).
    pub fn sphere_surface_atoms(&self, n: f64) -> f64 {
        self.surface_fit.0 * n.powf(2.0 / 3.0) + self.surface_fit.1 * n.cbrt()
    }

    /// Density of cut nearest-neighbour bonds per Å² of a plane with unit normal `u`.
    pub fn cut_bond_density(&self, u: [f64; 3]) -> f64 {
        self.frame
            .nn
            .iter()
            .map(|b| b[0] * u[0] + b[1] * u[1] + b[2] * u[2])
            .filter(|&x| x > 1e-12)
            .sum::<f64>()
            / self.frame.atomic_volume
    }
}

/// Atoms with fewer than z neighbours within a set of lattice vectors.
fn surface_atoms_of(frame: &LatticeFrame, keys: &[[i32; 3]]) -> usize {
    let set: hashbrown::HashSet<[i32; 3]> = keys.iter().copied().collect();
    let nn: Vec<[i32; 3]> = frame.nn.iter().map(|&v| frame.key(v)).collect();
    keys.iter()
        .filter(|k| {
            nn.iter()
                .any(|n| !set.contains(&[k[0] + n[0], k[1] + n[1], k[2] + n[2]]))
        })
        .count()
}

/// The columns of the per-particle CSV (`particles.csv`), species names appended.
pub fn particle_csv_header(species: &[String]) -> String {
    let mut h = String::from(
        "time_s,particle,atoms,component,x_a,y_a,z_a,rg_a,surface_atoms,shell_integrity",
    );
    for s in species {
        h.push_str(&format!(",surface_{s}"));
    }
    h
}

/// The columns of `necks.csv`.
pub const NECK_CSV_HEADER: &str = "time_s,particle_a,particle_b,bonds,neck_radius_a";

/// The series columns the coalescence observables add, species names appended.
pub fn series_columns(species: &[String]) -> String {
    let mut h = String::from(
        "particles,components,aggregates,contacts,necks,neck_radius_mean_a,neck_radius_max_a,rg_mean_a,surface_atoms,surface_area_norm",
    );
    for s in species {
        h.push_str(&format!(",surface_fraction_{s}"));
    }
    h.push_str(",core_shell_integrity,covered_fraction,thickness_nm,percolating_x,percolating_y");
    h
}

impl Coalescence {
    /// Measures `state` with the identities and components of `tracker`.
    pub fn measure(
        state: &State,
        tracker: &mut ContactTracker,
        ctx: &CoalescenceContext,
        n_species: usize,
    ) -> Self {
        let lat = state.lattice();
        let z = lat.coordination() as u8;
        let base = tracker.substrate_layers();
        let list = tracker.film_atoms_list();
        let n_particles = tracker.particles().len();
        let records = tracker.particles().to_vec();
        let mut particle_sites: Vec<Vec<usize>> = vec![Vec::new(); n_particles];
        let mut pid_of = SiteMap::new(base * lat.layer_size(), lat.n_sites());
        let mut comp_size: HashMap<u32, usize> = HashMap::new();
        let mut comp_surface: HashMap<u32, usize> = HashMap::new();
        let mut comp_has_particle: HashMap<u32, bool> = HashMap::new();
        let mut surface_by_species = vec![0usize; n_species];
        let mut surface = 0usize;
        let mut root_of = SiteMap::new(base * lat.layer_size(), lat.n_sites());
        for &(site, root, pid) in &list {
            *comp_size.entry(root).or_insert(0) += 1;
            root_of.set(site, root);
            let c = state.cell(site);
            if c.coordination() < z {
                surface += 1;
                *comp_surface.entry(root).or_insert(0) += 1;
                if let Some(x) = surface_by_species.get_mut(c.species() as usize - 1) {
                    *x += 1;
                }
            }
            if pid != NONE {
                particle_sites[pid as usize].push(site);
                pid_of.set(site, pid);
                comp_has_particle.insert(root, true);
            }
        }
        for (site, pid) in tracker.substrate_particle_atoms() {
            particle_sites[pid as usize].push(site);
            pid_of.set(site, pid);
        }
        // Components, largest first; ties by root for a stable order.
        let mut comps: Vec<(usize, u32)> = comp_size.iter().map(|(&r, &n)| (n, r)).collect();
        comps.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let comp_index: HashMap<u32, usize> = comps
            .iter()
            .enumerate()
            .map(|(i, &(_, r))| (r, i))
            .collect();
        let (mut s_num, mut s_den) = (0.0, 0.0);
        // Summed in component order: hash-map order would change the last digits run to run.
        for &(_, r) in comps
            .iter()
            .filter(|c| comp_has_particle.contains_key(&c.1))
        {
            let n = comp_size[&r] as f64;
            s_num += *comp_surface.get(&r).unwrap_or(&0) as f64;
            s_den += ctx.sphere_surface_atoms(n);
        }
        // Per particle.
        let [lx, ly] = lat.box_lengths();
        let mut per = Vec::with_capacity(n_particles);
        let mut centres = vec![[0.0; 3]; n_particles];
        let (mut shell_s, mut shell_t) = (0usize, 0usize);
        let (mut rg_sum, mut rg_n) = (0.0, 0usize);
        for (pid, sites) in particle_sites.iter().enumerate() {
            let rec = &records[pid];
            let mut sb = vec![0usize; n_species];
            let mut surf = 0;
            for &s in sites {
                let c = state.cell(s);
                if (s / lat.layer_size()) >= base && c.coordination() < z {
                    surf += 1;
                    if let Some(x) = sb.get_mut(c.species() as usize - 1) {
                        *x += 1;
                    }
                }
            }
            let positions: Vec<[f64; 3]> = sites.iter().map(|&s| lat.position_of(s)).collect();
            let (centre, rg) = centre_and_rg(&positions, lx, ly);
            centres[pid] = centre;
            let shell_integrity = rec.shell_species.and_then(|sh| {
                let n_sh = sb.get(sh as usize - 1).copied().unwrap_or(0);
                (surf > 0).then(|| {
                    shell_s += n_sh;
                    shell_t += surf;
                    n_sh as f64 / surf as f64
                })
            });
            if !sites.is_empty() {
                rg_sum += rg;
                rg_n += 1;
            }
            per.push(ParticleStats {
                id: pid as u32,
                atoms: sites.len(),
                component: majority_component(sites, &root_of, &comp_index),
                centre_a: centre,
                rg_a: rg,
                surface_atoms: surf,
                surface_by_species: sb,
                shell_integrity,
            });
        }
        // Necks: bonds between atoms of different particles.
        let mut pair_bonds: HashMap<(u32, u32), usize> = HashMap::new();
        for (p, sites) in particle_sites.iter().enumerate() {
            let p = p as u32;
            for &site in sites {
                let s = lat.site_at(site);
                for o in &lat.class_tables(s.class).neighbors {
                    let Some(m) = lat.index_at(&s, o) else {
                        continue;
                    };
                    if let Some(q) = pid_of.get(m) {
                        if p < q {
                            *pair_bonds.entry((p, q)).or_insert(0) += 1;
                        }
                    }
                }
            }
        }
        let mut pairs: Vec<((u32, u32), usize)> = pair_bonds.into_iter().collect();
        pairs.sort_unstable();
        let necks: Vec<Neck> = pairs
            .into_iter()
            .map(|((a, b), bonds)| Neck {
                a,
                b,
                bonds,
                radius_a: neck_radius(
                    lat,
                    ctx,
                    &particle_sites[a as usize],
                    &particle_sites[b as usize],
                    centres[a as usize],
                    centres[b as usize],
                    &pid_of,
                    (a, b),
                ),
            })
            .collect();
        let radii: Vec<f64> = necks.iter().map(|n| n.radius_a).collect();
        let film_atoms = list.len() as f64;
        let covered = state
            .column_tops()
            .iter()
            .filter(|&&t| t >= base as i32)
            .count() as f64
            / lat.layer_size() as f64;
        let nan = f64::NAN;
        Coalescence {
            particles: per.iter().filter(|p| p.atoms > 0).count(),
            components: tracker.components(),
            aggregates: comp_has_particle.len(),
            contacts: tracker.total_contacts(),
            neck_radius_mean_a: if radii.is_empty() {
                nan
            } else {
                radii.iter().sum::<f64>() / radii.len() as f64
            },
            neck_radius_max_a: radii.iter().copied().fold(nan, f64::max),
            necks,
            rg_mean_a: if rg_n > 0 { rg_sum / rg_n as f64 } else { nan },
            surface_atoms: surface,
            surface_area_norm: if s_den > 0.0 { s_num / s_den } else { nan },
            surface_fraction: surface_by_species
                .iter()
                .map(|&c| {
                    if surface > 0 {
                        c as f64 / surface as f64
                    } else {
                        0.0
                    }
                })
                .collect(),
            core_shell_integrity: if shell_t > 0 {
                shell_s as f64 / shell_t as f64
            } else {
                nan
            },
            covered_fraction: covered,
            thickness_nm: film_atoms * ctx.frame.atomic_volume / (lx * ly) / 10.0,
            percolating: percolation(state, base),
            component_sizes: comps.iter().map(|c| c.0).collect(),
            per_particle: per,
        }
    }

    /// The series columns (see [`series_columns`]) of this measurement.
    pub fn series_fields(&self) -> String {
        let mut s = format!(
            "{},{},{},{},{},{},{},{},{},{}",
            self.particles,
            self.components,
            self.aggregates,
            self.contacts,
            self.necks.len(),
            self.neck_radius_mean_a,
            self.neck_radius_max_a,
            self.rg_mean_a,
            self.surface_atoms,
            self.surface_area_norm
        );
        for f in &self.surface_fraction {
            s.push_str(&format!(",{f}"));
        }
        s.push_str(&format!(
            ",{},{},{},{},{}",
            self.core_shell_integrity,
            self.covered_fraction,
            self.thickness_nm,
            u8::from(self.percolating[0]),
            u8::from(self.percolating[1])
        ));
        s
    }

    /// Rows of `particles.csv` at `time_s`.
    pub fn particle_rows(&self, time_s: f64) -> Vec<String> {
        self.per_particle
            .iter()
            .map(|p| {
                let mut r = format!(
                    "{time_s},{},{},{},{},{},{},{},{},{}",
                    p.id,
                    p.atoms,
                    p.component.map_or(String::new(), |c| c.to_string()),
                    p.centre_a[0],
                    p.centre_a[1],
                    p.centre_a[2],
                    p.rg_a,
                    p.surface_atoms,
                    p.shell_integrity.map_or(String::new(), |x| x.to_string())
                );
                for c in &p.surface_by_species {
                    r.push_str(&format!(",{c}"));
                }
                r
            })
            .collect()
    }

    /// Rows of `necks.csv` at `time_s`.
    pub fn neck_rows(&self, time_s: f64) -> Vec<String> {
        self.necks
            .iter()
            .map(|n| format!("{time_s},{},{},{},{}", n.a, n.b, n.bonds, n.radius_a))
            .collect()
    }
}

/// Centre of mass (x, y wrapped into the box) and radius of gyration of periodic positions:
/// images are resolved about the circular mean of x and y (exact for sets narrower than half
/// the box).
pub fn centre_and_rg(positions: &[[f64; 3]], lx: f64, ly: f64) -> ([f64; 3], f64) {
    if positions.is_empty() {
        return ([f64::NAN; 3], f64::NAN);
    }
    let tau = 2.0 * std::f64::consts::PI;
    let circ = |k: usize, l: f64| {
        let (s, c) = positions.iter().fold((0.0, 0.0), |(s, c), p| {
            let a = p[k] / l * tau;
            (s + a.sin(), c + a.cos())
        });
        (s.atan2(c) / tau * l).rem_euclid(l)
    };
    let ref_x = circ(0, lx);
    let ref_y = circ(1, ly);
    let n = positions.len() as f64;
    let unwrapped: Vec<[f64; 3]> = positions
        .iter()
        .map(|p| {
            let mut dx = p[0] - ref_x;
            let mut dy = p[1] - ref_y;
            dx -= lx * (dx / lx).round();
            dy -= ly * (dy / ly).round();
            [ref_x + dx, ref_y + dy, p[2]]
        })
        .collect();
    let mut c = [0.0; 3];
    for p in &unwrapped {
        for k in 0..3 {
            c[k] += p[k] / n;
        }
    }
    let rg2 = unwrapped
        .iter()
        .map(|p| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2))
        .sum::<f64>()
        / n;
    ([c[0].rem_euclid(lx), c[1].rem_euclid(ly), c[2]], rg2.sqrt())
}

/// The component (index) holding most of `sites`; ties go to the larger component.
fn majority_component(
    sites: &[usize],
    root_of: &SiteMap,
    comp_index: &HashMap<u32, usize>,
) -> Option<usize> {
    let mut count: HashMap<usize, usize> = HashMap::new();
    for &s in sites {
        if let Some(c) = root_of.get(s).and_then(|r| comp_index.get(&r).copied()) {
            *count.entry(c).or_insert(0) += 1;
        }
    }
    count
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(c, _)| c)
}

/// Neck radius between particles `ids.0` (atoms `a`, centre `ca`) and `ids.1` (`b`, `cb`).
#[allow(clippy::too_many_arguments)]
fn neck_radius(
    lat: &Lattice,
    ctx: &CoalescenceContext,
    a: &[usize],
    b: &[usize],
    ca: [f64; 3],
    cb: [f64; 3],
    pid_of: &SiteMap,
    ids: (u32, u32),
) -> f64 {
    let [lx, ly] = lat.box_lengths();
    let mut axis = sub(cb, ca);
    axis[0] -= lx * (axis[0] / lx).round();
    axis[1] -= ly * (axis[1] / ly).round();
    let len = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
    if len < 1e-9 {
        return f64::NAN;
    }
    let u = [axis[0] / len, axis[1] / len, axis[2] / len];
    let min_image = |mut d: [f64; 3]| {
        d[0] -= lx * (d[0] / lx).round();
        d[1] -= ly * (d[1] / ly).round();
        d
    };
    // Each atom is placed relative to its own particle's centre, and the far end of a bond
    // by the bond vector, so no distance ever approaches half the box.
    let proj = |site: usize, own: u32| {
        let p = lat.position_of(site);
        let (c, shift) = if own == ids.0 { (ca, 0.0) } else { (cb, len) };
        let d = min_image(sub(p, c));
        d[0] * u[0] + d[1] * u[1] + d[2] * u[2] + shift
    };
    let mut events: Vec<(f64, i32)> = Vec::new();
    for (&site, own) in a
        .iter()
        .map(|s| (s, ids.0))
        .chain(b.iter().map(|s| (s, ids.1)))
    {
        let s = lat.site_at(site);
        let ps = proj(site, own);
        let p = lat.position_of(site);
        for o in &lat.class_tables(s.class).neighbors {
            let Some(m) = lat.index_at(&s, o) else {
                continue;
            };
            if m <= site {
                continue;
            }
            match pid_of.get(m) {
                Some(q) if q == ids.0 || q == ids.1 => {}
                _ => continue,
            }
            let q = lat.position_of(m);
            let bond = min_image(sub(q, p));
            let pm = ps + bond[0] * u[0] + bond[1] * u[1] + bond[2] * u[2];
            let (lo, hi) = if ps < pm { (ps, pm) } else { (pm, ps) };
            if hi - lo > 1e-9 {
                events.push((lo, 1));
                events.push((hi, -1));
            }
        }
    }
    // N(s) is constant between consecutive event coordinates; take its minimum over the
    // intervals inside (0, len).
    events.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let mut count = 0i64;
    let mut best = i64::MAX;
    let mut k = 0;
    while k < events.len() {
        let x = events[k].0;
        while k < events.len() && events[k].0 - x < 1e-9 {
            count += events[k].1 as i64;
            k += 1;
        }
        if k < events.len() {
            let next = events[k].0;
            if next > 0.0 && x < len {
                best = best.min(count);
            }
        }
    }
    if best == i64::MAX {
        return f64::NAN;
    }
    let area = best as f64 / ctx.cut_bond_density(u);
    (area / std::f64::consts::PI).sqrt()
}

/// Whether a component of film atoms (layers ≥ `substrate_layers`) wraps around the periodic
/// box along x and along y.
pub fn percolation(state: &State, substrate_layers: usize) -> [bool; 2] {
    let lat = state.lattice();
    let (nx, ny) = lat.grid();
    let ls = lat.layer_size();
    let Some(top) = state.top_layer() else {
        return [false; 2];
    };
    // Image indices packed as (ix + 2^15) << 16 | (iy + 2^15); u32::MAX = not visited.
    let off = substrate_layers * ls;
    let end = (top + 1) * ls;
    if end <= off {
        return [false; 2];
    }
    let mut image = vec![u32::MAX; end - off];
    let pack = |ix: i32, iy: i32| (((ix + 32768) as u32) << 16) | ((iy + 32768) as u32 & 0xFFFF);
    let unpack = |v: u32| ((v >> 16) as i32 - 32768, (v & 0xFFFF) as i32 - 32768);
    let mut out = [false; 2];
    let mut queue = VecDeque::new();
    for idx in off..end {
        if !state.cell(idx).occupied() || image[idx - off] != u32::MAX {
            continue;
        }
        image[idx - off] = pack(0, 0);
        queue.push_back(idx);
        while let Some(site) = queue.pop_front() {
            let s = lat.site_at(site);
            let (ix, iy) = unpack(image[site - off]);
            for o in &lat.class_tables(s.class).neighbors {
                let l = s.l as i64 + o.dl as i64;
                if l < substrate_layers as i64 || l > top as i64 {
                    continue;
                }
                let rx = s.x as i64 + o.dx as i64;
                let ry = s.y as i64 + o.dy as i64;
                let (wx, wy) = (rx.div_euclid(nx as i64), ry.div_euclid(ny as i64));
                let m = (l as usize * ny + ry.rem_euclid(ny as i64) as usize) * nx
                    + rx.rem_euclid(nx as i64) as usize;
                if !state.cell(m).occupied() {
                    continue;
                }
                let im = (ix + wx as i32, iy + wy as i32);
                let v = image[m - off];
                if v == u32::MAX {
                    image[m - off] = pack(im.0, im.1);
                    queue.push_back(m);
                } else {
                    let (jx, jy) = unpack(v);
                    out[0] |= jx != im.0;
                    out[1] |= jy != im.1;
                }
            }
        }
        if out[0] && out[1] {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests;
