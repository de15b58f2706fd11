//! The contact stage over grains: MD on the atoms of two touching grains (whole particle
//! grains where they fit, a sphere of the film), a rigid-body fit of each whole grain's motion
//! that turns and moves its crystal frame, and the mapping of every mobile atom onto a free
//! site of its own grain or of the grain it touches.
//!
//! **Region.** Lab positions through the frames, unwrapped around the contact point by the
//! film's period. A particle grain of the contact is released whole while the two grains'
//! released atoms stay within [`GrainRegion::whole_max_atoms`] (the smaller first) and it lies
//! within half a film period (less one shell) of the contact point, so it is one piece in the
//! MD; the film, and a grain too large, is cut by a sphere of [`GrainRegion::radius_a`] around
//! the contact point (atoms of the film's frozen layers stay frozen). Every other atom of any
//! grain within [`GrainRegion::frozen_shell_a`] of a mobile atom is in the MD, frozen. The MD,
//! the settle criterion and the quench are those of [`crate::relax`] (body 0 and body 1 are the
//! two grains).
//!
//! **Frames.** A grain released whole moved as a body: the mass-weighted Kabsch fit of its
//! atoms from start to quench gives a rotation about its start centre and a shift of that
//! centre, and its frame is moved by exactly that ([`Frame::moved`]), so its lattice follows
//! the crystal the MD turned. A cut grain keeps its frame (its frozen rim held it).
//!
//! **Mapping.** Each mobile atom may go to a free site of its own grain or of the other grain
//! of the contact (grain-boundary migration in the MD): one minimum-cost assignment over the
//! union of the candidate sites, cost the squared distance, plus a switch penalty of
//! (`off_lattice_nn` · d_nn)² for a site of the other grain. So an atom changes grain only
//! where it sits on the other lattice and off its own: with the default quarter of a
//! nearest-neighbour distance an atom 0.1 d_nn from a site of the other grain switches only
//! if its own nearest free site is more than 0.27 d_nn away. A site is not free if a real
//! atom that stays holds it, or if a frozen atom of another grain lies within half a
//! nearest-neighbour distance of it (the sites of two grains interleave at a boundary).
//! Candidates widen as in [`super::map_to_lattice`] when atoms compete.

use super::{BodyMotion, MapOptions, Region, RelaxParams, SpeciesMap, assign, run_md};
use crate::error::{Error, Result};
use crate::grains::{Frame, Grains};
use crate::lattice::{Lattice, for_each_site_within};
use crate::md::{Potential, SimBox};
use crate::rotation;
use crate::state::Species;
use crate::vec3::{Vec3, add, norm, scale, sub};
use hashbrown::{HashMap, HashSet};
use std::time::Instant;

/// Sites of two grains closer than this (in nearest-neighbour distances) are not both
/// taken: 0.75 d_nn (2.2 Å in Au) is where the EAM pair repulsion of two atoms rises past an
/// eV, while the sites across a grain boundary's interface lie 0.8–1 d_nn apart.
pub const MIN_SEPARATION_NN: f64 = 0.75;

/// The region of a contact between two grains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrainRegion {
    /// The two grains.
    pub grains: [usize; 2],
    /// Contact point in the lab, Å.
    pub point_a: Vec3,
    /// Radius of the mobile sphere that cuts a body not released whole (the film), Å.
    pub radius_a: f64,
    /// Frozen shell around the mobile atoms, Å (at least the potential's cutoff).
    pub frozen_shell_a: f64,
    /// Most atoms the two grains may release whole together (0: never whole).
    pub whole_max_atoms: usize,
}

/// What a relaxation over grains did; hand `frames`, `removed`, `placed` and `film_moves` to
/// [`Engine::regrain`](crate::engine::Engine::regrain).
#[derive(Debug, Clone)]
pub struct GrainRelaxOutcome {
    /// New frames of the particle grains released whole.
    pub frames: Vec<(usize, Frame)>,
    /// `(grain, site)` of each mobile atom that ends elsewhere.
    pub removed: Vec<(usize, usize)>,
    /// `(grain, site, species)` where those atoms end.
    pub placed: Vec<(usize, usize, Species)>,
    /// Film atoms that stay in the film on another site, `(from, to)`.
    pub film_moves: Vec<(usize, usize)>,
    /// Whether each grain of the contact was released whole.
    pub whole: [bool; 2],
    /// Atoms that moved in MD.
    pub mobile_atoms: usize,
    /// Atoms in MD but fixed.
    pub frozen_atoms: usize,
    /// Mobile atoms that ended on another site (of either grain).
    pub moved_atoms: usize,
    /// Mobile atoms that ended in the other grain.
    pub switched_atoms: usize,
    /// Mean and largest distance of a quenched atom from its site, Å.
    pub mean_residual_a: f64,
    /// Largest such distance, Å.
    pub max_residual_a: f64,
    /// Atoms farther than `off_lattice_nn` d_nn from their site.
    pub off_lattice: usize,
    /// Rigid motion of each grain's mobile atoms.
    pub bodies: [BodyMotion; 2],
    /// Neck radius between the grains before MD and after the quench, Å.
    pub neck_before_a: f64,
    /// After the quench, Å.
    pub neck_after_a: f64,
    /// Distance of the grains' mobile mass centres before MD, Å.
    pub centre_distance_before_a: f64,
    /// After the quench, Å.
    pub centre_distance_after_a: f64,
    /// Cubic misorientation of the two grains after the contact stage, degrees.
    pub misorientation_deg: f64,
    /// Potential energy of the region before MD, eV.
    pub energy_initial_ev: f64,
    /// With the mobile atoms on their mapped sites, eV.
    pub energy_mapped_ev: f64,
    /// MD time, ps, and steps.
    pub md_time_ps: f64,
    /// MD steps.
    pub md_steps: u64,
    /// MD stopped early because the contact had settled.
    pub settled: bool,
    /// Wall-clock seconds of the MD, and of everything.
    pub md_s: f64,
    /// Everything, s.
    pub total_s: f64,
}

/// One atom of the region: its grain and site, species and position (unwrapped around the
/// contact point).
#[derive(Debug, Clone, Copy)]
struct RegionAtom {
    grain: usize,
    site: usize,
    species: Species,
    x: Vec3,
}

/// Relaxes the contact `region` between two grains of `grains` with `potential` (module
/// docs). `grains` is not changed.
pub fn relax_grains(
    grains: &Grains,
    species_names: &[String],
    potential: &dyn Potential,
    region: &GrainRegion,
    params: &RelaxParams,
) -> Result<GrainRelaxOutcome> {
    let t0 = Instant::now();
    params.validate()?;
    let species_map = SpeciesMap::new(species_names, potential)?;
    if region.frozen_shell_a < potential.cutoff() {
        return Err(Error::field(
            "relax.region.frozen_shell_a",
            format!(
                "{} Å is thinner than the potential's cutoff ({} Å)",
                region.frozen_shell_a,
                potential.cutoff()
            ),
        ));
    }
    let [ga, gb] = region.grains;
    if ga == gb || ga.max(gb) >= grains.len() {
        return Err(Error::Simulation(format!(
            "a contact between grains {ga} and {gb} of {}",
            grains.len()
        )));
    }
    let film = grains.grain(0).state.lattice();
    let nn = film.nn_distance();
    let (atoms, n_mobile, whole) = cut(grains, region)?;
    let [lx, ly] = film.box_lengths();
    let centre = region.point_a;
    let (mut ext_x, mut ext_y, mut top) = (0.0f64, 0.0f64, 0.0f64);
    for a in &atoms {
        ext_x = ext_x.max((a.x[0] - centre[0]).abs());
        ext_y = ext_y.max((a.x[1] - centre[1]).abs());
        top = top.max(a.x[2]);
    }
    let shell = region.frozen_shell_a;
    let wraps = |ext: f64, l: f64| 2.0 * ext + shell >= l;
    let cut = Region {
        centre_a: centre,
        sites: (0..atoms.len()).collect(),
        species: atoms.iter().map(|a| a.species).collect(),
        positions_a: atoms.iter().map(|a| a.x).collect(),
        body: atoms
            .iter()
            .enumerate()
            .map(|(i, a)| (i < n_mobile).then_some(u8::from(a.grain == gb)))
            .collect(),
        whole,
        n_mobile,
        simbox: SimBox {
            lengths: [lx, ly, top.max(2.0 * (region.radius_a + shell)).max(1.0)],
            periodic: [wraps(ext_x, lx), wraps(ext_y, ly), false],
        },
    };
    let mut run = run_md(&cut, species_names, &species_map, potential, params, nn)?;

    // New frames of the grains released whole.
    let mut frames: Vec<(usize, Frame)> = Vec::new();
    for (k, &g) in region.grains.iter().enumerate() {
        if !whole[k] || g == 0 {
            continue;
        }
        let idx: Vec<usize> = (0..n_mobile).filter(|&i| atoms[i].grain == g).collect();
        let (turn, c0, c1) = crystalline_fit(&idx, &run.x0, &run.x1, &run.system.masses, nn);
        let old = grains.grain(g).frame;
        // The MD saw the grain at the film image nearest the contact point.
        let first = idx[0];
        let image = sub(
            atoms[first].x,
            grains.grain(g).lab_position(atoms[first].site),
        );
        let at_image = Frame {
            rotation: old.rotation,
            origin: add(old.origin, image),
        };
        frames.push((g, at_image.moved(turn, c0, sub(c1, c0))));
    }
    let frame_of = |g: usize| -> Frame {
        frames
            .iter()
            .find(|f| f.0 == g)
            .map_or(grains.grain(g).frame, |f| f.1)
    };

    // Map every mobile atom to a free site of its grain or the other.
    let opts = &params.mapping;
    let mapped = map_onto_grains(grains, region, &atoms, n_mobile, &run.x1, &frame_of, opts)?;
    let off = opts.off_lattice_nn * nn;
    let mut out_removed = Vec::new();
    let mut out_placed = Vec::new();
    let mut film_moves = Vec::new();
    let (mut switched, mut sum, mut max, mut off_lattice) = (0, 0.0f64, 0.0f64, 0);
    for (i, m) in mapped.iter().enumerate() {
        let a = &atoms[i];
        sum += m.distance_a;
        max = max.max(m.distance_a);
        if m.distance_a > off {
            off_lattice += 1;
        }
        if m.grain != a.grain {
            switched += 1;
        }
        if (m.grain, m.site) != (a.grain, a.site) {
            out_removed.push((a.grain, a.site));
            out_placed.push((m.grain, m.site, a.species));
            if a.grain == 0 && m.grain == 0 {
                film_moves.push((a.site, m.site));
            }
        }
        // The energy of the mapped state: the atom on its site.
        for k in 0..3 {
            run.system.positions[i][k] += m.to_site[k];
        }
    }
    let mut field = crate::md::system::ForceField::new(potential, 0.0);
    let energy_mapped_ev = field.compute(&mut run.system, false).energy;
    let misorientation_deg =
        rotation::cubic_misorientation_deg(frame_of(ga).rotation, frame_of(gb).rotation);
    Ok(GrainRelaxOutcome {
        frames,
        moved_atoms: out_removed.len(),
        removed: out_removed,
        placed: out_placed,
        film_moves,
        whole,
        mobile_atoms: n_mobile,
        frozen_atoms: atoms.len() - n_mobile,
        switched_atoms: switched,
        mean_residual_a: if n_mobile > 0 {
            sum / n_mobile as f64
        } else {
            0.0
        },
        max_residual_a: max,
        off_lattice,
        bodies: run.motions,
        neck_before_a: run.neck_before_a,
        neck_after_a: run.neck_after_a,
        centre_distance_before_a: run.centre_distance_before_a,
        centre_distance_after_a: run.centre_distance_after_a,
        misorientation_deg,
        energy_initial_ev: run.energy_initial_ev,
        energy_mapped_ev,
        md_time_ps: run.md_time_ps,
        md_steps: run.steps,
        settled: run.settled,
        md_s: run.md_s,
        total_s: t0.elapsed().as_secs_f64(),
    })
}

/// Atoms whose end lies farther than this (in d_nn) from where the grain's rigid motion takes
/// their start did not move with the crystal: they are left out of the next fit.
pub const FIT_TRIM_NN: f64 = 0.15;

/// The rigid motion of the crystal part of a grain from `x0` to `x1` (its atoms `idx`,
/// weights `masses`): a mass-weighted Kabsch fit, refitted on the atoms that follow the fit
/// within [`FIT_TRIM_NN`] until that set stops changing (at most 10 rounds). Why trimmed: a
/// particle that lands twisted on a substrate turns its bottom layers into register with the
/// substrate within picoseconds while the rest turns less, and the neck atoms of two
/// particles move far; a fit of all atoms averages over those and puts the lattice of none
/// (measured on a 3 nm Au particle twisted 20° on Au(100) at 600 K: the all-atom fit left
/// the median atom 0.38 Å from its lattice, the next contact's fit 1.1 Å). Returns (rotation,
/// start centre, end centre) of the fitted atoms.
fn crystalline_fit(
    idx: &[usize],
    x0: &[Vec3],
    x1: &[Vec3],
    masses: &[f64],
    nn: f64,
) -> (rotation::Quaternion, Vec3, Vec3) {
    let mut set: Vec<usize> = idx.to_vec();
    let mut fit = (rotation::IDENTITY, [0.0; 3], [0.0; 3]);
    for _ in 0..10 {
        let w: Vec<f64> = set.iter().map(|&i| masses[i]).collect();
        let r: Vec<Vec3> = set.iter().map(|&i| x0[i]).collect();
        let c: Vec<Vec3> = set.iter().map(|&i| x1[i]).collect();
        let turn = rotation::kabsch(&r, &c, &w);
        let (c0, c1) = (weighted_mean(&r, &w), weighted_mean(&c, &w));
        fit = (turn, c0, c1);
        let next: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| {
                let p = add(c1, rotation::rotate(turn, sub(x0[i], c0)));
                norm(sub(p, x1[i])) <= FIT_TRIM_NN * nn
            })
            .collect();
        // Too few crystalline atoms to fit: keep the last fit.
        if next.len() < 4 || next == set {
            break;
        }
        set = next;
    }
    fit
}

fn weighted_mean(x: &[Vec3], w: &[f64]) -> Vec3 {
    let (mut c, mut m) = ([0.0; 3], 0.0);
    for (p, &wi) in x.iter().zip(w) {
        c = add(c, scale(*p, wi));
        m += wi;
    }
    scale(c, 1.0 / m)
}

/// The real atoms of grain `g`, in site order.
fn atoms_of(grains: &Grains, g: usize) -> Vec<usize> {
    let st = &grains.grain(g).state;
    (0..st.lattice().n_sites())
        .filter(|&i| st.cell(i).occupied() && !st.is_ghost(i))
        .collect()
}

/// The region's atoms (mobile first, then frozen, each by grain and site), the number of
/// mobile ones, and which grains are whole.
fn cut(grains: &Grains, region: &GrainRegion) -> Result<(Vec<RegionAtom>, usize, [bool; 2])> {
    let film = &grains.grain(0).state;
    let flat = film.lattice();
    let [lx, ly] = flat.box_lengths();
    let p0 = region.point_a;
    if p0.iter().any(|c| !c.is_finite()) {
        return Err(Error::Simulation(format!(
            "contact point {p0:?} is not finite"
        )));
    }
    let image = |p: Vec3| -> Vec3 {
        [
            p[0] - lx * ((p[0] - p0[0]) / lx).round(),
            p[1] - ly * ((p[1] - p0[1]) / ly).round(),
            p[2],
        ]
    };
    let shell = region.frozen_shell_a;
    let atom = |g: usize, site: usize| {
        let gr = grains.grain(g);
        RegionAtom {
            grain: g,
            site,
            species: gr.state.species(site),
            x: image(gr.lab_position(site)),
        }
    };
    // Whole particle grains: the smaller first, while they fit.
    let mut lists: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    let mut fits = [false, false];
    for (k, &g) in region.grains.iter().enumerate() {
        if g == 0 {
            continue;
        }
        lists[k] = atoms_of(grains, g);
        fits[k] = lists[k].iter().all(|&s| {
            let x = atom(g, s).x;
            (x[0] - p0[0]).abs() <= 0.5 * lx - shell && (x[1] - p0[1]).abs() <= 0.5 * ly - shell
        });
    }
    let order = if lists[0].len() <= lists[1].len() {
        [0, 1]
    } else {
        [1, 0]
    };
    let mut whole = [false, false];
    let mut total = 0;
    for k in order {
        let n = lists[k].len();
        if n > 0 && fits[k] && total + n <= region.whole_max_atoms {
            total += n;
            whole[k] = true;
        }
    }
    let mut mobile: Vec<RegionAtom> = Vec::new();
    let mut is_mobile: HashSet<(usize, usize)> = HashSet::new();
    let r2 = region.radius_a * region.radius_a;
    for (k, &g) in region.grains.iter().enumerate() {
        if whole[k] {
            for &s in &lists[k] {
                mobile.push(atom(g, s));
            }
        } else if g == 0 {
            let frozen_layers = film.frozen_layers();
            for_each_site_within(flat, p0, region.radius_a, |s, _, _| {
                if film.cell(s.idx).occupied()
                    && !film.is_ghost(s.idx)
                    && s.l as usize >= frozen_layers
                {
                    mobile.push(atom(0, s.idx));
                }
            });
        } else {
            for &s in &lists[k] {
                let a = atom(g, s);
                let d = sub(a.x, p0);
                if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r2 {
                    mobile.push(a);
                }
            }
        }
    }
    mobile.sort_by_key(|a| (a.grain, a.site));
    for a in &mobile {
        is_mobile.insert((a.grain, a.site));
    }
    // Frozen: every other atom within one shell of a mobile atom.
    let bins = Bins::new(mobile.iter().map(|a| a.x), shell);
    let reach = mobile
        .iter()
        .map(|a| norm(sub(a.x, p0)))
        .fold(0.0f64, f64::max)
        + shell;
    let mut frozen: Vec<RegionAtom> = Vec::new();
    for_each_site_within(flat, p0, reach, |s, _, _| {
        if film.cell(s.idx).occupied() && !film.is_ghost(s.idx) && !is_mobile.contains(&(0, s.idx))
        {
            let a = atom(0, s.idx);
            if bins.any_within(a.x, shell) {
                frozen.push(a);
            }
        }
    });
    // A third grain that a mobile atom reaches is frozen whole (up to the size limit): a
    // whole grain moves by several Å in the MD, and would otherwise walk into the part of
    // its neighbour that the shell left out.
    for g in 1..grains.len() {
        let all = atoms_of(grains, g);
        let third = !region.grains.contains(&g) && all.len() <= region.whole_max_atoms;
        let mut near = Vec::new();
        let mut touched = false;
        for &s in &all {
            if is_mobile.contains(&(g, s)) {
                continue;
            }
            let a = atom(g, s);
            let within = norm(sub(a.x, p0)) <= reach && bins.any_within(a.x, shell);
            touched |= within;
            if within || third {
                near.push((a, within));
            }
        }
        if touched {
            frozen.extend(near.into_iter().filter(|n| third || n.1).map(|n| n.0));
        }
    }
    frozen.sort_by_key(|a| (a.grain, a.site));
    let n_mobile = mobile.len();
    mobile.extend(frozen);
    Ok((mobile, n_mobile, whole))
}

/// Points binned in cubes of one radius, for "is any point within r of x" (r ≤ the bin).
struct Bins {
    size: f64,
    map: HashMap<(i64, i64, i64), Vec<Vec3>>,
    idx: HashMap<(i64, i64, i64), Vec<u32>>,
    points: Vec<Vec3>,
}

impl Bins {
    fn new(points: impl Iterator<Item = Vec3>, size: f64) -> Self {
        let mut map: HashMap<(i64, i64, i64), Vec<Vec3>> = HashMap::new();
        let mut idx: HashMap<(i64, i64, i64), Vec<u32>> = HashMap::new();
        let points: Vec<Vec3> = points.collect();
        for (n, &p) in points.iter().enumerate() {
            map.entry(Self::key(p, size)).or_default().push(p);
            idx.entry(Self::key(p, size)).or_default().push(n as u32);
        }
        Bins {
            size,
            map,
            idx,
            points,
        }
    }

    fn key(p: Vec3, size: f64) -> (i64, i64, i64) {
        (
            (p[0] / size).floor() as i64,
            (p[1] / size).floor() as i64,
            (p[2] / size).floor() as i64,
        )
    }

    /// Indices (in insertion order) of the points within `r` of `x`.
    fn within(&self, x: Vec3, r: f64) -> Vec<u32> {
        let (i, j, k) = Self::key(x, self.size);
        let mut out = Vec::new();
        for a in i - 1..=i + 1 {
            for b in j - 1..=j + 1 {
                for c in k - 1..=k + 1 {
                    if let Some(v) = self.idx.get(&(a, b, c)) {
                        for &n in v {
                            if norm(sub(self.points[n as usize], x)) <= r {
                                out.push(n);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn any_within(&self, x: Vec3, r: f64) -> bool {
        let (i, j, k) = Self::key(x, self.size);
        for a in i - 1..=i + 1 {
            for b in j - 1..=j + 1 {
                for c in k - 1..=k + 1 {
                    if let Some(v) = self.map.get(&(a, b, c))
                        && v.iter().any(|p| norm(sub(*p, x)) <= r)
                    {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Where one mobile atom went.
#[derive(Debug, Clone, Copy)]
struct Mapped {
    grain: usize,
    site: usize,
    distance_a: f64,
    /// From the atom to its site, Å.
    to_site: Vec3,
}

/// The minimum-cost assignment of the mobile atoms (quenched at `x`) to free sites of their
/// grain or the other grain of the contact, frames as `frame_of` gives them (module docs).
fn map_onto_grains(
    grains: &Grains,
    region: &GrainRegion,
    atoms: &[RegionAtom],
    n_mobile: usize,
    x: &[Vec3],
    frame_of: &dyn Fn(usize) -> Frame,
    opts: &MapOptions,
) -> Result<Vec<Mapped>> {
    let film_lat = grains.grain(0).state.lattice();
    let nn = film_lat.nn_distance();
    let [lx, ly] = film_lat.box_lengths();
    let r_max = opts.max_search_radius_nn * nn;
    let penalty = (opts.off_lattice_nn * nn).powi(2);
    let min_sep = MIN_SEPARATION_NN * nn;
    // The film may need layers above its allocation: search a grown copy.
    let h = film_lat.layer_spacing();
    let top_needed = x[..n_mobile]
        .iter()
        .map(|p| ((p[2] + r_max) / h).floor())
        .fold(0.0f64, f64::max) as usize
        + 1;
    let grown_film: Lattice = if top_needed > film_lat.layers() {
        let mut g = film_lat.clone();
        g.grow(top_needed - film_lat.layers());
        g
    } else {
        film_lat.clone()
    };
    let released: HashSet<(usize, usize)> = atoms[..n_mobile]
        .iter()
        .map(|a| (a.grain, a.site))
        .collect();
    // Every atom that stays, of any grain (the region's frozen shell may not reach where a
    // whole grain moved to), by grain, unwrapped around the contact point.
    let p0 = region.point_a;
    let stay: Vec<(usize, Vec3)> = grains
        .atoms_with_sites()
        .into_iter()
        .filter(|a| !released.contains(&(a.0, a.1)))
        .map(|a| {
            let p = a.2;
            (
                a.0,
                [
                    p[0] - lx * ((p[0] - p0[0]) / lx).round(),
                    p[1] - ly * ((p[1] - p0[1]) / ly).round(),
                    p[2],
                ],
            )
        })
        .collect();
    let frozen_bins: [Bins; 2] = [0, 1].map(|k| {
        let g = region.grains[k];
        Bins::new(stay.iter().filter(|a| a.0 != g).map(|a| a.1), nn)
    });
    let frames = [frame_of(region.grains[0]), frame_of(region.grains[1])];
    // Free sites of the k-th grain within r of lab point p: (site, distance, site - p).
    let candidates = |k: usize, p: Vec3, r: f64, out: &mut Vec<(usize, f64, Vec3)>| {
        let g = region.grains[k];
        let st = &grains.grain(g).state;
        let n = st.lattice().n_sites();
        let taken = |idx: usize| {
            idx < n && st.cell(idx).occupied() && !st.is_ghost(idx) && !released.contains(&(g, idx))
        };
        if g == 0 {
            for_each_site_within(&grown_film, p, r, |s, d, d2| {
                if taken(s.idx) {
                    return;
                }
                let q = add(p, d);
                if frozen_bins[k].any_within(q, min_sep) {
                    return;
                }
                out.push((s.idx, d2.sqrt(), d));
            });
        } else {
            let lat = st.lattice();
            let f = frames[k];
            let q = f.to_crystal(p);
            for_each_site_within(lat, q, r, |s, _, _| {
                let c = lat.position(&s);
                let d = norm(sub(c, q));
                if d > r || taken(s.idx) {
                    return;
                }
                let lab = f.to_lab(c);
                // The lab site next to p, on the film's period.
                let mut v = sub(lab, p);
                v[0] -= lx * (v[0] / lx).round();
                v[1] -= ly * (v[1] / ly).round();
                if frozen_bins[k].any_within(add(p, v), min_sep) {
                    return;
                }
                out.push((s.idx, d, v));
            });
        }
    };
    let k_of = |g: usize| usize::from(g == region.grains[1] && g != region.grains[0]);
    let mut columns = assign::Columns::new();
    let mut radius = vec![opts.search_radius_nn * nn; n_mobile];
    let mut edges: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_mobile];
    let mut geo: Vec<HashMap<u32, (f64, Vec3)>> = vec![HashMap::new(); n_mobile];
    type Geo = HashMap<u32, (f64, Vec3)>;
    let fill = |i: usize,
                r: f64,
                edges: &mut [Vec<(u32, f64)>],
                geo: &mut [Geo],
                columns: &mut assign::Columns<(usize, usize)>| {
        edges[i].clear();
        geo[i].clear();
        let own = k_of(atoms[i].grain);
        let mut c = Vec::new();
        for k in [own, 1 - own] {
            c.clear();
            candidates(k, x[i], r, &mut c);
            for &(site, d, v) in &c {
                let col = columns.id((region.grains[k], site));
                let cost = d * d + if k == own { 0.0 } else { penalty };
                edges[i].push((col, cost));
                geo[i].insert(col, (d, v));
            }
        }
    };
    for i in 0..n_mobile {
        fill(i, radius[i], &mut edges, &mut geo, &mut columns);
    }
    // Two atoms put on sites of different grains closer than `min_sep` would meet the next
    // MD nearly on top of each other: the one farther from its site gives that site up and
    // the assignment is solved again.
    let mut banned: HashSet<(usize, u32)> = HashSet::new();
    let cols = 'solve: loop {
        let live: Vec<Vec<(u32, f64)>> = edges
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.iter()
                    .copied()
                    .filter(|&(c, _)| !banned.contains(&(i, c)))
                    .collect()
            })
            .collect();
        let cols = match assign::solve(&live, columns.len()) {
            Ok(c) => c,
            Err(e) => {
                for &row in &e.rows {
                    let i = row as usize;
                    radius[i] *= 2.0;
                    if radius[i] > r_max * (1.0 + 1e-12) {
                        let p = x[i];
                        return Err(Error::Simulation(format!(
                            "atom {i} of grain {} at ({:.2}, {:.2}, {:.2}) Å cannot be given a free \
                             site of grain {} or {} within {r_max:.2} Å",
                            atoms[i].grain, p[0], p[1], p[2], region.grains[0], region.grains[1]
                        )));
                    }
                    radius[i] = radius[i].min(r_max);
                    fill(i, radius[i], &mut edges, &mut geo, &mut columns);
                }
                continue;
            }
        };
        let at: Vec<Vec3> = (0..n_mobile)
            .map(|i| add(x[i], geo[i][&cols[i]].1))
            .collect();
        let bins = Bins::new(at.iter().copied(), min_sep);
        let mut clash = false;
        for i in 0..n_mobile {
            for j in bins.within(at[i], min_sep) {
                let (gi, gj) = (
                    columns.keys[cols[i] as usize].0,
                    columns.keys[cols[j as usize] as usize].0,
                );
                let j = j as usize;
                if j <= i || gi == gj {
                    continue;
                }
                let loser = if geo[i][&cols[i]].0 >= geo[j][&cols[j]].0 {
                    i
                } else {
                    j
                };
                banned.insert((loser, cols[loser]));
                clash = true;
            }
        }
        if !clash {
            break 'solve cols;
        }
    };
    Ok(cols
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (grain, site) = columns.keys[c as usize];
            let (distance_a, to_site) = geo[i][&c];
            Mapped {
                grain,
                site,
                distance_a,
                to_site,
            }
        })
        .collect())
}

/// How two touching grains stand after their contact stage (see [`merge_plan`]).
#[derive(Debug, Clone)]
pub enum MergePlan {
    /// The boundary persists.
    Persist {
        /// Cubic misorientation, degrees.
        misorientation_deg: f64,
        /// Lattice offset at the merging grain's centre, nearest-neighbour distances (NaN if
        /// the misorientation already kept them apart).
        offset_nn: f64,
    },
    /// The grain `.0` that keeps the atoms must first have its box grown by `.1` sites on
    /// every side ([`Engine::grow_grain_box`](crate::engine::Engine::grow_grain_box)); then
    /// ask again.
    GrowBox(usize, usize),
    /// Merge: hand `removed` and `placed` to
    /// [`Engine::regrain`](crate::engine::Engine::regrain); grain `gone` is then empty.
    Merge {
        /// The grain that takes the atoms (the film if it is one of the two, else the larger).
        keep: usize,
        /// The grain that gives them up.
        gone: usize,
        /// Its atoms' sites.
        removed: Vec<(usize, usize)>,
        /// Their sites in `keep`.
        placed: Vec<(usize, usize, Species)>,
        /// Mean and largest distance of an atom from the site it took, Å.
        mean_residual_a: f64,
        /// Largest, Å.
        max_residual_a: f64,
    },
}

/// Decides whether grains `a` and `b` merge ([`super::MergeSpec`]: in register, or the
/// merging grain a remnant of fewer than `min_atoms` atoms) and, if so, maps every
/// atom of the merging grain onto a free site of the other by the minimum-cost assignment of
/// the mapping (a site is not free if a real atom of the keeping grain or an atom of a third
/// grain holds it).
pub fn merge_plan(
    grains: &Grains,
    a: usize,
    b: usize,
    spec: &super::MergeSpec,
    opts: &MapOptions,
) -> Result<MergePlan> {
    let (na, nb) = (
        grains.grain(a).state.n_atoms(),
        grains.grain(b).state.n_atoms(),
    );
    let keep = if a == 0 || b == 0 {
        0
    } else if na > nb || (na == nb && a < b) {
        a
    } else {
        b
    };
    let gone = if keep == a { b } else { a };
    let (fk, fg) = (grains.grain(keep).frame, grains.grain(gone).frame);
    let mis = rotation::cubic_misorientation_deg(fk.rotation, fg.rotation);
    let persist = |offset_nn: f64| MergePlan::Persist {
        misorientation_deg: mis,
        offset_nn,
    };
    let sites = atoms_of(grains, gone);
    if sites.is_empty() {
        return Ok(persist(f64::NAN));
    }
    let remnant = sites.len() < spec.min_atoms;
    if !remnant && (spec.below_deg <= 0.0 || mis >= spec.below_deg) {
        return Ok(persist(f64::NAN));
    }
    let lat_g = grains.grain(gone).state.lattice();
    let nn = lat_g.nn_distance();
    let lab: Vec<Vec3> = sites
        .iter()
        .map(|&s| grains.grain(gone).lab_position(s))
        .collect();
    let centre = scale(
        lab.iter().fold([0.0; 3], |c, p| add(c, *p)),
        1.0 / lab.len() as f64,
    );
    // The lattice point of `gone` nearest its centre, and the nearest site of `keep` to it.
    let q = fg.to_crystal(centre);
    let mut best: Option<(f64, Vec3)> = None;
    for_each_site_within(lat_g, q, 2.0 * nn, |_, d, d2| {
        if best.is_none_or(|b| d2 < b.0) {
            best = Some((d2, add(q, d)));
        }
    });
    let Some((_, point)) = best else {
        return Ok(persist(f64::NAN));
    };
    let offset = nearest_lattice_distance(
        grains.grain(keep).state.lattice(),
        fk.to_crystal(fg.to_lab(point)),
    );
    let offset_nn = offset / nn;
    if !remnant && offset_nn > spec.offset_nn {
        return Ok(persist(offset_nn));
    }
    let st = &grains.grain(keep).state;
    let lat_k = st.lattice();
    let r_max = opts.max_search_radius_nn * nn;
    let crystal: Vec<Vec3> = lab.iter().map(|&p| fk.to_crystal(p)).collect();
    // A particle grain's box must hold every atom clear of its edges.
    if keep != 0 {
        let [bx, by] = lat_k.box_lengths();
        let bz = (lat_k.layers() - 1) as f64 * lat_k.layer_spacing();
        let clear = (crate::lattice::MAX_RANGE + 2) as f64 * nn;
        let mut deficit = 0.0f64;
        for c in &crystal {
            for (x, l) in [(c[0], bx), (c[1], by), (c[2], bz)] {
                deficit = deficit.max(clear - x).max(x - (l - clear));
            }
        }
        if deficit > 0.0 {
            let step = lat_k.layer_spacing().min(nn / 2.0);
            return Ok(MergePlan::GrowBox(
                keep,
                (deficit / step).ceil() as usize + 1,
            ));
        }
    }
    // The film may need layers above its allocation.
    let h = lat_k.layer_spacing();
    let grown: Lattice = {
        let top = crystal
            .iter()
            .map(|c| ((c[2] + r_max) / h).floor())
            .fold(0.0f64, f64::max) as usize
            + 1;
        let mut l = lat_k.clone();
        if keep == 0 && top > l.layers() {
            l.grow(top - l.layers());
        }
        l
    };
    let n = lat_k.n_sites();
    let free = |idx: usize| -> bool {
        if idx >= n {
            return true;
        }
        if st.is_ghost(idx) {
            return grains
                .ghost_source(keep, idx)
                .is_none_or(|(k, _)| k == gone);
        }
        !st.cell(idx).occupied()
    };
    let mut columns = assign::Columns::new();
    let mut radius = vec![opts.search_radius_nn * nn; crystal.len()];
    let mut edges: Vec<Vec<(u32, f64)>> = vec![Vec::new(); crystal.len()];
    let fill = |i: usize, r: f64, e: &mut Vec<(u32, f64)>, columns: &mut assign::Columns<usize>| {
        e.clear();
        let c = crystal[i];
        for_each_site_within(&grown, c, r, |s, _, _| {
            let d = norm(sub(grown.position(&s), c));
            // The film wraps; a particle grain's box wrap is no physical image.
            let d2 = if keep == 0 {
                let mut v = sub(grown.position(&s), c);
                let [lx, ly] = grown.box_lengths();
                v[0] -= lx * (v[0] / lx).round();
                v[1] -= ly * (v[1] / ly).round();
                v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
            } else {
                d * d
            };
            if d2 > r * r || !free(s.idx) {
                return;
            }
            e.push((columns.id(s.idx), d2));
        });
    };
    for i in 0..crystal.len() {
        fill(i, radius[i], &mut edges[i], &mut columns);
    }
    let (cols, _) =
        assign::solve_widening(&mut edges, columns.len(), &mut radius, r_max, |i, r, e| {
            fill(i, r, e, &mut columns);
            columns.len()
        })
        .map_err(|u| {
            Error::Simulation(format!(
                "merging grain {gone} into grain {keep}: its atom at site {} finds no free site \
             within {r_max:.2} Å",
                sites[u.row]
            ))
        })?;
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    let mut placed = Vec::with_capacity(sites.len());
    for (i, &c) in cols.iter().enumerate() {
        let d = edges[i]
            .iter()
            .find(|e| e.0 == c)
            .map_or(0.0, |e| e.1.sqrt());
        sum += d;
        max = max.max(d);
        placed.push((
            keep,
            columns.keys[c as usize],
            grains.grain(gone).state.species(sites[i]),
        ));
    }
    Ok(MergePlan::Merge {
        keep,
        gone,
        removed: sites.iter().map(|&s| (gone, s)).collect(),
        placed,
        mean_residual_a: sum / sites.len() as f64,
        max_residual_a: max,
    })
}

/// Distance from crystal point `c` to the nearest site of `lat`'s lattice continued without
/// end: laterally the lattice wraps by itself, and vertically `c` is moved by whole multiples
/// of [`crate::grains::REBOX_MARGIN`] layers (a multiple of every stacking period) into the
/// allocated layers.
fn nearest_lattice_distance(lat: &Lattice, c: Vec3) -> f64 {
    let period = crate::grains::REBOX_MARGIN;
    let mut l = lat.clone();
    if l.layers() < 3 * period {
        l.grow(3 * period - l.layers());
    }
    let h = l.layer_spacing();
    let span = period as f64 * h;
    let mid = 0.5 * l.layers() as f64 * h;
    let z = c[2] - span * ((c[2] - mid) / span).round();
    let p = [c[0], c[1], z];
    let mut best = f64::INFINITY;
    for_each_site_within(&l, p, l.nn_distance(), |_, _, d2| {
        best = best.min(d2.sqrt())
    });
    best
}

#[cfg(test)]
#[path = "grains_tests.rs"]
mod tests;
