//! Coalescence observables of external trajectories (`kmc analyze`): extended XYZ as ASE
//! writes it and LAMMPS text dumps, many frames of the same atoms in the same order, two
//! particles.
//!
//! Definitions (d the nearest-neighbour distance, Ω = d³/√2 the FCC atomic volume, masses
//! from the element names, Zhou et al. 2004 table):
//!
//! * **centres** c_A, c_B: mass-weighted centres of each particle's atoms; **centre distance**
//!   |c_B − c_A|.
//! * **radius of gyration** of the whole pair: √(Σ m_i |r_i − c|² / Σ m_i) about its centre of
//!   mass c (a uniform sphere of radius R gives √(3/5) R).
//! * **neck radius**: with u = (c_B − c_A)/|c_B − c_A| and s_i = (r_i − c_A)·u for the atoms of
//!   both particles, the tent-weighted count of atoms in the plane at s is
//!   W(s) = Σ_i max(0, 1 − |s_i − s| / h), h the interplanar spacing along u (default: that of
//!   close-packed planes, h = d √(2/3)). Tents of half-width h centred on planes h apart sum
//!   to one, so W(s) is the number of atoms of one plane at any s, and the cut area is
//!   A(s) = W(s) · Ω / h (for the default h, Ω / h = (√3/2) d², the area per atom of a
//!   close-packed plane). The contact point s* minimises W over [0, |c_B − c_A|], and the
//!   neck radius is the radius of the disk of that area, r = √(A(s*) / π) (0 when the plane
//!   cuts no atom: the particles are apart).
//! * **misorientation**: each particle's core (its atoms within `core_fraction` · R of its
//!   centre in frame 0, R = √(5/3) R_g of the particle, so surface diffusion does not enter)
//!   is fitted by the rotation that best maps its frame-0 positions onto the current ones
//!   (Kabsch, [`crate::rotation::kabsch`], mass-weighted, about the core's own centre); the
//!   reported angle is that of the relative rotation R_B R_Aᵀ. It is the **change** of the
//!   pair's misorientation since frame 0 (0 at frame 0 whatever the particles' crystal
//!   orientations), not the absolute grain misorientation. That one is reported once, for
//!   frame 0, when both cores are FCC: each core's lattice orientation is fitted to the ideal
//!   (a/2)⟨110⟩ bond vectors ([`fcc_orientation`]) and the angle between the two is reduced by
//!   the 24 rotations of the cube ([`cubic_misorientation_deg`]). The **grain
//!   misorientation** of every frame is that absolute angle for the frame-0 orientations each
//!   carried by its core's fitted rotation: it falls when the pair turns towards alignment
//!   and rises when it turns away, which the change since frame 0 (unsigned) cannot tell.
//! * **surface atom**: coordination number (neighbours closer than r_c = (1 + √2)/2 · d,
//!   midway between the first and second FCC shells) of at most 9. CN 9 is the close-packed
//!   (111) facet and every less dense facet, edge or vertex has fewer; an atom with 10 or 11
//!   neighbours lies under a step or an adatom and is covered, so counting it (the old
//!   "CN < 12") adds a layer of subsurface atoms wherever a facet is incomplete — on a cut
//!   sphere that is most of the surface, and it biases the surface composition of a pair
//!   towards the particle with the rougher cut. A bulk atom must lose three neighbours at
//!   once to be counted, so thermal motion does not make bulk atoms surface atoms.
//! * **surface fraction** of species s: surface atoms of s over all surface atoms.
//!
//! Periodic axes: each atom is moved to the periodic image closest to its previous position
//! (frame 0: closest to its particle's first atom, then particle B as a whole to the image
//! closest to A), so particles smaller than half the box stay whole and face each other.

use crate::error::{Error, Location, Result};
use crate::io::Frame;
use crate::md::SimBox;
pub use crate::md::geometry::{mass_centre, neck_radius, radius_of_gyration};
use crate::md::neighbor::NeighborList;
use crate::observe::structure::{
    AtomSet, FormFactor, PairDistribution, XrdPattern, debye_pattern, pair_distribution,
};
use crate::vec3::{Vec3, add, cross, dot, norm, norm2, scale, sub};
use std::path::{Path, PathBuf};

/// Largest coordination number of a surface atom.
pub const SURFACE_MAX_CN: u32 = 9;

/// The coordination cutoff in nearest-neighbour distances: midway between the first (1) and
/// second (√2) FCC shells.
pub const CN_CUTOFF_NN: f64 = 0.5 * (1.0 + std::f64::consts::SQRT_2);

/// Per-atom columns tried, in order, when no label column is named.
pub const LABEL_COLUMNS: [&str; 3] = ["particle", "mol", "molecule"];

/// A trajectory file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrajectoryFormat {
    /// Extended XYZ (ASE, OVITO, kmc).
    Xyz,
    /// LAMMPS text dump.
    Dump,
}

impl TrajectoryFormat {
    /// Parses `xyz` (or `extxyz`) or `dump` (or `lammps`).
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "xyz" | "extxyz" => Ok(TrajectoryFormat::Xyz),
            "dump" | "lammps" | "lammpstrj" => Ok(TrajectoryFormat::Dump),
            _ => Err(Error::field(
                "format",
                format!("unknown trajectory format `{name}` (expected xyz or dump)"),
            )),
        }
    }

    /// The format of `text` read from `path`: a dump starts with `ITEM: TIMESTEP`.
    pub fn sniff(text: &str) -> Self {
        match text.lines().find(|l| !l.trim().is_empty()) {
            Some(l) if l.starts_with("ITEM:") => TrajectoryFormat::Dump,
            _ => TrajectoryFormat::Xyz,
        }
    }
}

/// Settings of an analysis; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeOptions {
    /// File format (default: from the file's first line).
    pub format: Option<TrajectoryFormat>,
    /// Per-atom column holding particle labels (default: the first of [`LABEL_COLUMNS`]
    /// present, else labels from the first frame).
    pub label_column: Option<String>,
    /// Nearest-neighbour distance d, Å (default: the median over frame-0 atoms of the distance
    /// to their nearest neighbour).
    pub nn_distance_a: Option<f64>,
    /// Interplanar spacing h along the centre–centre axis, Å (default d √(2/3)).
    pub plane_spacing_a: Option<f64>,
    /// Core radius as a fraction of the particle radius (misorientation fit).
    pub core_fraction: f64,
    /// Also compute g(r) and XRD every this many frames (the last frame always).
    pub structure_every: Option<usize>,
    /// Particle labels from the atom order: the first this many atoms are particle A, the
    /// rest B (before any label column).
    pub first_particle_atoms: Option<usize>,
    /// g(r) range and bin, Å.
    pub gr_max_a: f64,
    /// g(r) bin width, Å.
    pub gr_bin_a: f64,
    /// XRD wavelength, Å (Cu Kα1).
    pub xrd_wavelength_a: f64,
    /// XRD 2θ range, degrees, and number of points.
    pub xrd_two_theta_deg: (f64, f64, usize),
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            format: None,
            label_column: None,
            nn_distance_a: None,
            plane_spacing_a: None,
            core_fraction: 0.7,
            structure_every: None,
            first_particle_atoms: None,
            gr_max_a: 12.0,
            gr_bin_a: 0.05,
            xrd_wavelength_a: 1.5406,
            xrd_two_theta_deg: (20.0, 100.0, 801),
        }
    }
}

/// Observables of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRow {
    /// Frame index, from 0.
    pub frame: usize,
    /// Time in ps if every frame carries `time_ps` or `time_fs` (as `kmc md` writes), else the
    /// step (else the frame index).
    pub time: f64,
    /// Neck radius, Å.
    pub neck_radius_a: f64,
    /// Mass-weighted radius of gyration of the pair, Å.
    pub rg_a: f64,
    /// Distance between the particles' mass centres, Å.
    pub centre_distance_a: f64,
    /// Change of the misorientation since frame 0, degrees.
    pub misorientation_deg: f64,
    /// Absolute misorientation of the two cores' FCC lattices, degrees, reduced by cubic
    /// symmetry (0 to 62.8°): each core's frame-0 lattice orientation ([`fcc_orientation`])
    /// carried by its fitted rotation since frame 0; NaN if a frame-0 core is not FCC. It
    /// tells a pair turning towards alignment (decreasing) from one turning away.
    pub grain_misorientation_deg: f64,
    /// Surface atoms (CN ≤ [`SURFACE_MAX_CN`]).
    pub surface_atoms: usize,
    /// Fraction of the surface atoms of each species (order of [`Analysis::species`]).
    pub surface_fraction: Vec<f64>,
}

/// g(r) and XRD of one frame.
#[derive(Debug, Clone)]
pub struct Structure {
    /// Frame index.
    pub frame: usize,
    /// Partial pair distributions.
    pub gr: PairDistribution,
    /// Debye powder pattern.
    pub xrd: XrdPattern,
}

/// The analysis of a trajectory.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Species names.
    pub species: Vec<String>,
    /// Name of the time column: `time_ps` or `step`.
    pub time_column: &'static str,
    /// One row per frame.
    pub rows: Vec<FrameRow>,
    /// Nearest-neighbour distance used, Å.
    pub nn_distance_a: f64,
    /// Interplanar spacing used, Å.
    pub plane_spacing_a: f64,
    /// Where the particle labels came from.
    pub labels_from: String,
    /// Atoms of particle A and B.
    pub particle_atoms: [usize; 2],
    /// g(r) and XRD of the frames asked for.
    pub structure: Vec<Structure>,
    /// Absolute misorientation of the two particles in frame 0, degrees, if both cores are
    /// FCC crystals ([`fcc_orientation`], reduced by cubic symmetry).
    pub initial_misorientation_deg: Option<f64>,
}

/// A trajectory read from a file, with the line each frame starts on (for error messages).
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// The file.
    pub path: Option<PathBuf>,
    /// Its format.
    pub format: TrajectoryFormat,
    /// The frames.
    pub frames: Vec<Frame>,
    /// 1-based line of each frame's first line.
    pub lines: Vec<usize>,
}

impl Trajectory {
    /// Reads every frame of `path`.
    pub fn read(path: &Path, format: Option<TrajectoryFormat>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, Some(path), format)
    }

    /// Parses trajectory text; `path` names it in errors.
    pub fn parse(
        text: &str,
        path: Option<&Path>,
        format: Option<TrajectoryFormat>,
    ) -> Result<Self> {
        let format = format.unwrap_or_else(|| TrajectoryFormat::sniff(text));
        let frames = match format {
            TrajectoryFormat::Xyz => crate::io::xyz::parse(text, path)?,
            TrajectoryFormat::Dump => crate::io::dump::parse(text, path)?,
        };
        let lines = frame_lines(text, format);
        Ok(Trajectory {
            path: path.map(Path::to_path_buf),
            format,
            frames,
            lines,
        })
    }

    fn at(&self, frame: usize, offset: usize) -> Location {
        let loc = Location {
            path: self.path.clone(),
            ..Default::default()
        };
        match self.lines.get(frame) {
            Some(&l) => loc.line(l + offset),
            None => loc,
        }
    }

    /// Line offset, within a frame, of the line naming the per-atom columns.
    fn header_offset(&self) -> usize {
        match self.format {
            TrajectoryFormat::Xyz => 1,
            TrajectoryFormat::Dump => 8,
        }
    }
}

/// First line (1-based) of each frame, walking the text as the readers do.
fn frame_lines(text: &str, format: TrajectoryFormat) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut ln = 0;
    while ln < lines.len() {
        if lines[ln].trim().is_empty() {
            ln += 1;
            continue;
        }
        out.push(ln + 1);
        let n = match format {
            TrajectoryFormat::Xyz => lines[ln].trim().parse::<usize>().ok(),
            TrajectoryFormat::Dump => lines.get(ln + 3).and_then(|l| l.trim().parse().ok()),
        };
        let Some(n) = n else { break };
        ln += n + if format == TrajectoryFormat::Xyz {
            2
        } else {
            9
        };
    }
    out
}

/// Atomic mass (amu) of an element of the Zhou et al. (2004) table.
pub fn mass_amu(name: &str) -> Option<f64> {
    crate::md::zhou04::element(name).ok().map(|e| e.mass_amu)
}

pub use crate::rotation::{
    Quaternion, cubic_misorientation_deg, cubic_rotations, kabsch, misorientation_deg, rotate,
};

/// The crystal orientation of an FCC core: the rotation taking the ideal nearest-neighbour
/// vectors (a/2)⟨110⟩ (cube axes along x, y, z) onto the bonds (shorter than `cutoff`) of the
/// atoms `core`. A first guess maps two bonds of the central atom 60° apart onto [110] and an
/// ideal vector 60° from it; then every bond is paired with the ideal vector nearest to it under that guess and the
/// rotation is refitted to all pairs (Kabsch). `None` if the bonds are not FCC-like (mean
/// mismatch above a fifth of the bond length).
pub fn fcc_orientation(
    positions: &[Vec3],
    core: &[usize],
    centre: Vec3,
    cutoff: f64,
) -> Option<Quaternion> {
    let ideal: Vec<Vec3> = {
        let mut v = Vec::new();
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            for sa in [1.0, -1.0] {
                for sb in [1.0, -1.0] {
                    let mut t = [0.0; 3];
                    t[a] = sa * std::f64::consts::FRAC_1_SQRT_2;
                    t[b] = sb * std::f64::consts::FRAC_1_SQRT_2;
                    v.push(t);
                }
            }
        }
        v
    };
    let simbox = SimBox {
        lengths: [0.0; 3],
        periodic: [false; 3],
    };
    let nl = NeighborList::build(positions, &simbox, cutoff, 0.0, false);
    let bonds_of = |i: usize| -> Vec<Vec3> {
        nl.of(i)
            .iter()
            .map(|&e| NeighborList::displacement(positions, &simbox, i, e))
            .filter(|d| norm(*d) < cutoff)
            .collect()
    };
    let central = *core.iter().min_by(|&&i, &&j| {
        norm2(sub(positions[i], centre)).total_cmp(&norm2(sub(positions[j], centre)))
    })?;
    let b0 = bonds_of(central);
    let unit = |v: Vec3| scale(v, 1.0 / norm(v));
    let (b1, b2) = b0.iter().enumerate().find_map(|(k, &p)| {
        b0[k + 1..]
            .iter()
            .find(|&&q| (dot(unit(p), unit(q)) - 0.5).abs() < 0.1)
            .map(|&q| (p, q))
    })?;
    // Triads: the rotation taking (t1, t2) onto the directions of (b1, b2). Pairs of ⟨110⟩
    // 60° apart form two classes under the proper cube rotations (mirror images), so t2 is
    // each of the four ideal vectors 60° from t1 in turn, and the guess that maps the central
    // atom's bonds best onto ideal ones is kept.
    let triad = |p: Vec3, q: Vec3| {
        let e1 = unit(p);
        let e3 = unit(cross(p, q));
        [e1, cross(e3, e1), e3]
    };
    let fb = triad(b1, b2);
    let map = |ft: &[Vec3; 3], t: Vec3| -> Vec3 {
        let c = [dot(t, ft[0]), dot(t, ft[1]), dot(t, ft[2])];
        add(
            add(scale(fb[0], c[0]), scale(fb[1], c[1])),
            scale(fb[2], c[2]),
        )
    };
    let nearest = |ft: &[Vec3; 3], b: Vec3| -> (Vec3, f64) {
        let nb = norm(b);
        ideal
            .iter()
            .map(|&t| (t, norm(sub(scale(map(ft, t), nb), b))))
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .unwrap_or(([0.0; 3], f64::INFINITY))
    };
    let ft = ideal
        .iter()
        .filter(|&&t| (dot(ideal[0], t) - 0.5).abs() < 1e-9)
        .map(|&t| triad(ideal[0], t))
        .min_by(|x, y| {
            let score = |ft: &[Vec3; 3]| b0.iter().map(|&b| nearest(ft, b).1).sum::<f64>();
            score(x).total_cmp(&score(y))
        })?;
    let (mut from, mut to, mut len) = (Vec::new(), Vec::new(), 0.0);
    for &i in core {
        for b in bonds_of(i) {
            let nb = norm(b);
            let t = nearest(&ft, b).0;
            // Each bond with its inverse, so both sets are centred at the origin.
            from.extend([scale(t, nb), scale(t, -nb)]);
            to.extend([b, scale(b, -1.0)]);
            len += 2.0 * nb;
        }
    }
    if from.is_empty() {
        return None;
    }
    let q = kabsch(&from, &to, &vec![1.0; from.len()]);
    let miss: f64 = from
        .iter()
        .zip(&to)
        .map(|(t, b)| norm(sub(rotate(q, *t), *b)))
        .sum();
    (miss < 0.2 * len).then_some(q)
}

/// Coordination numbers: neighbours closer than `cutoff` (periodic along `pbc` axes of
/// lengths `lengths`, positions relative to the box origin).
pub fn coordination(
    positions: &[Vec3],
    lengths: [f64; 3],
    pbc: [bool; 3],
    cutoff: f64,
) -> Vec<u32> {
    let simbox = SimBox {
        lengths,
        periodic: pbc,
    };
    let nl = NeighborList::build(positions, &simbox, cutoff, 0.0, false);
    let c2 = cutoff * cutoff;
    (0..positions.len())
        .map(|i| {
            nl.of(i)
                .iter()
                .filter(|&&e| norm2(NeighborList::displacement(positions, &simbox, i, e)) < c2)
                .count() as u32
        })
        .collect()
}

/// Median distance of an atom to its nearest neighbour.
pub fn median_nn_distance(positions: &[Vec3], lengths: [f64; 3], pbc: [bool; 3]) -> f64 {
    // Any metal's nearest neighbours lie within 4 Å; atoms without one are ignored.
    let simbox = SimBox {
        lengths,
        periodic: pbc,
    };
    let nl = NeighborList::build(positions, &simbox, 4.0, 0.0, false);
    let mut d: Vec<f64> = (0..positions.len())
        .filter_map(|i| {
            nl.of(i)
                .iter()
                .map(|&e| norm(NeighborList::displacement(positions, &simbox, i, e)))
                .filter(|&r| r > 1e-6)
                .min_by(f64::total_cmp)
        })
        .collect();
    if d.is_empty() {
        return f64::NAN;
    }
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

/// Splits frame-0 atoms into two particles: the two largest connected components (bonds
/// shorter than `cutoff`) if there are two or more (other atoms join the nearer centre),
/// else the two halves of a plane through the centre of mass normal to the longest principal
/// axis. Returns labels 0/1 and how they were found.
pub fn split_in_two(
    positions: &[Vec3],
    masses: &[f64],
    lengths: [f64; 3],
    pbc: [bool; 3],
    cutoff: f64,
) -> (Vec<u8>, &'static str) {
    let n = positions.len();
    let simbox = SimBox {
        lengths,
        periodic: pbc,
    };
    let nl = NeighborList::build(positions, &simbox, cutoff, 0.0, true);
    let mut uf = petgraph::unionfind::UnionFind::<usize>::new(n);
    let c2 = cutoff * cutoff;
    for i in 0..n {
        for &e in nl.of(i) {
            if norm2(NeighborList::displacement(positions, &simbox, i, e)) < c2 {
                uf.union(i, e.j as usize);
            }
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| uf.find(i)).collect();
    let mut sizes = hashbrown::HashMap::new();
    for &r in &roots {
        *sizes.entry(r).or_insert(0usize) += 1;
    }
    let mut comps: Vec<(usize, usize)> = sizes.into_iter().map(|(r, s)| (s, r)).collect();
    // Largest first; ties by root, so the order never depends on the map.
    comps.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let all: Vec<usize> = (0..n).collect();
    if comps.len() >= 2 {
        let (ra, rb) = (comps[0].1, comps[1].1);
        let ia: Vec<usize> = all.iter().copied().filter(|&i| roots[i] == ra).collect();
        let ib: Vec<usize> = all.iter().copied().filter(|&i| roots[i] == rb).collect();
        let (ca, cb) = (
            mass_centre(positions, masses, &ia),
            mass_centre(positions, masses, &ib),
        );
        let labels = (0..n)
            .map(|i| match roots[i] {
                r if r == ra => 0,
                r if r == rb => 1,
                _ => u8::from(norm2(sub(positions[i], cb)) < norm2(sub(positions[i], ca))),
            })
            .collect();
        // Lower label for the particle whose centre comes first along x, y, z.
        return (orient(labels, ca, cb), "connectivity of the first frame");
    }
    let c = mass_centre(positions, masses, &all);
    let mut t = [[0.0; 3]; 3];
    for (p, &m) in positions.iter().zip(masses) {
        let d = sub(*p, c);
        for a in 0..3 {
            for b in 0..3 {
                t[a][b] += m * d[a] * d[b];
            }
        }
    }
    let axis = longest_axis(t);
    let labels: Vec<u8> = positions
        .iter()
        .map(|p| u8::from(dot(sub(*p, c), axis) > 0.0))
        .collect();
    (
        labels,
        "a plane through the centre of mass of the first frame, normal to its longest axis",
    )
}

fn orient(labels: Vec<u8>, ca: Vec3, cb: Vec3) -> Vec<u8> {
    let d = sub(cb, ca);
    let first = d.iter().copied().find(|x| x.abs() > 1e-9).unwrap_or(1.0);
    if first > 0.0 {
        labels
    } else {
        labels.into_iter().map(|l| 1 - l).collect()
    }
}

/// The eigenvector of the largest eigenvalue of a symmetric 3×3 matrix (power iteration on the
/// matrix shifted to be positive definite), with its first non-zero component positive.
fn longest_axis(t: [[f64; 3]; 3]) -> Vec3 {
    let tr = t[0][0] + t[1][1] + t[2][2];
    let mut v: Vec3 = [1.0, 0.7, 0.3];
    for _ in 0..500 {
        let mut w = [0.0; 3];
        for a in 0..3 {
            w[a] = dot(t[a], v) + tr * v[a];
        }
        let l = norm(w);
        if l == 0.0 {
            break;
        }
        v = scale(w, 1.0 / l);
    }
    let first = v.iter().copied().find(|x| x.abs() > 1e-12).unwrap_or(1.0);
    if first < 0.0 { scale(v, -1.0) } else { v }
}

fn time_of(f: &Frame) -> Option<f64> {
    let get = |k: &str| f.info(k).and_then(|v| v.parse::<f64>().ok());
    // A bare `time` (ASE's own unit, or anything) is not trusted to be in ps.
    get("time_ps").or_else(|| get("time_fs").map(|t| t * 1e-3))
}

/// Analyses a trajectory (see the module notes for the definitions).
pub fn analyze(traj: &Trajectory, opts: &AnalyzeOptions) -> Result<Analysis> {
    let frames = &traj.frames;
    let hdr = traj.header_offset();
    let f0 = frames
        .first()
        .ok_or_else(|| Error::input(traj.at(0, 0), "the trajectory holds no frame"))?;
    let n = f0.len();
    for (k, f) in frames.iter().enumerate().skip(1) {
        if f.len() != n {
            return Err(Error::input(
                traj.at(k, 0),
                format!("frame {k} has {} atoms, frame 0 has {n}", f.len()),
            ));
        }
        if let Some(i) = (0..n).find(|&i| f.name(i) != f0.name(i)) {
            return Err(Error::input(
                traj.at(k, hdr + 1 + i).field("species"),
                format!(
                    "atom {} is {} in frame {k} but {} in frame 0 (atoms must keep their order; \
                     LAMMPS: dump_modify sort id)",
                    i + 1,
                    f.name(i),
                    f0.name(i)
                ),
            ));
        }
    }
    for (k, f) in frames.iter().enumerate() {
        if let Some(a) =
            (0..3).find(|&a| f.pbc[a] && (f.lengths[a].is_nan() || f.lengths[a] <= 0.0))
        {
            return Err(Error::input(
                traj.at(k, 1).field("Lattice"),
                format!(
                    "frame {k} is periodic along {} but its cell length there is {}",
                    ["x", "y", "z"][a],
                    f.lengths[a]
                ),
            ));
        }
    }
    let mut an = Analyzer::start(f0, None, opts, |frame, offset| traj.at(frame, offset), hdr)?;
    let timed = frames.iter().all(|f| time_of(f).is_some());
    let species = f0.names.clone();
    let ns = species.len();
    let mut rows = Vec::with_capacity(frames.len());
    let mut structure = Vec::new();
    for (k, f) in frames.iter().enumerate() {
        let mut row = an
            .push(f)
            .map_err(|e| relocate(e, traj.at(k, 0).field("pos")))?;
        if !timed {
            row.time = f.step.map_or(k as f64, |s| s as f64);
        }
        let last = k + 1 == frames.len();
        if last || opts.structure_every.is_some_and(|e| e > 0 && k % e == 0) {
            let atoms = AtomSet {
                positions: an.positions().to_vec(),
                species: f0.types.iter().map(|&t| t as usize).collect(),
                periodic_xy: (f.pbc[0] && f.pbc[1]).then_some([f.lengths[0], f.lengths[1]]),
            };
            let ff: Vec<FormFactor> = species.iter().map(|s| FormFactor::of(s)).collect();
            let (t0, t1, np) = opts.xrd_two_theta_deg;
            structure.push(Structure {
                frame: k,
                gr: pair_distribution(&atoms, ns, opts.gr_max_a, opts.gr_bin_a, an.omega),
                xrd: debye_pattern(&atoms, &ff, opts.xrd_wavelength_a, (t0, t1), np),
            });
        }
        rows.push(row);
    }
    Ok(Analysis {
        species,
        time_column: if timed { "time_ps" } else { "step" },
        rows,
        nn_distance_a: an.nn,
        plane_spacing_a: an.h,
        labels_from: an.labels_from.clone(),
        particle_atoms: [an.ia.len(), an.ib.len()],
        structure,
        initial_misorientation_deg: an.initial_misorientation_deg(),
    })
}

/// Puts a location on an error that has none (an analyzer error about a frame).
fn relocate(e: Error, at: Location) -> Error {
    match e {
        Error::Input { location, message }
            if location.path.is_none() && location.line.is_none() =>
        {
            Error::Input {
                location: at,
                message,
            }
        }
        other => other,
    }
}

/// The analysis frame by frame: set up on the first frame (labels, d, h, cores, orientations),
/// then one [`FrameRow`] per frame pushed. [`analyze`] drives it over a file; `kmc md` drives it
/// during a run, so both give the same numbers from the same code.
#[derive(Debug, Clone)]
pub struct Analyzer {
    masses: Vec<f64>,
    masses_of: Vec<f64>,
    types: Vec<u32>,
    names: Vec<String>,
    swaps: bool,
    ns: usize,
    ia: Vec<usize>,
    ib: Vec<usize>,
    pair: Vec<usize>,
    core_a: Vec<usize>,
    core_b: Vec<usize>,
    /// Frame-0 positions (whole particles, B facing A).
    pos0: Vec<Vec3>,
    /// Each atom's constant shift that makes its particle whole and B face A.
    shift: Vec<Vec3>,
    /// Last frame's positions, unwrapped frame to frame, without `shift`.
    prev: Option<Vec<Vec3>>,
    /// Last frame's analysed positions.
    current: Vec<Vec3>,
    orient0: Option<(Quaternion, Quaternion)>,
    frames: usize,
    nn: f64,
    h: f64,
    omega: f64,
    rc: f64,
    labels_from: String,
}

impl Analyzer {
    /// Sets up on the first frame `f0`. Labels: `labels` if given (0 and 1 per atom), else
    /// `opts.first_particle_atoms`, else a label column, else the two particles of `f0`.
    pub fn new(f0: &Frame, labels: Option<&[u8]>, opts: &AnalyzeOptions) -> Result<Self> {
        let mut an = Self::start(f0, labels, opts, |_, _| Location::default(), 0)?;
        an.labels_from = match labels {
            Some(_) => "the run's construction".to_string(),
            None => an.labels_from,
        };
        Ok(an)
    }

    fn start(
        f0: &Frame,
        given: Option<&[u8]>,
        opts: &AnalyzeOptions,
        at: impl Fn(usize, usize) -> Location,
        hdr: usize,
    ) -> Result<Self> {
        let n = f0.len();
        if n < 2 {
            return Err(Error::input(
                at(0, 0),
                format!("frame 0 has {n} atoms; two particles need more"),
            ));
        }
        // Species: a dump without `element` names its types by number.
        let mut masses_of = Vec::with_capacity(f0.names.len());
        for name in &f0.names {
            let m = mass_amu(name).ok_or_else(|| {
                let msg = if name.parse::<u32>().is_ok() {
                    format!(
                        "atoms have no species (type {name} has no element name); write the \
                         element per atom (LAMMPS: `dump ... element`, `dump_modify ... element`)"
                    )
                } else {
                    let known: Vec<&str> = crate::md::zhou04::table()
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect();
                    format!(
                        "no atomic mass known for species `{name}` (known: {})",
                        known.join(" ")
                    )
                };
                Error::input(at(0, hdr).field("species"), msg)
            })?;
            masses_of.push(m);
        }
        let masses: Vec<f64> = f0.types.iter().map(|&t| masses_of[t as usize]).collect();
        let p: Vec<Vec3> = f0.positions.iter().map(|x| sub(*x, f0.origin)).collect();
        if p.iter().flatten().any(|x| !x.is_finite()) {
            return Err(Error::input(
                at(0, 0).field("pos"),
                "frame 0 has a position that is not a finite number",
            ));
        }
        let nn = match opts.nn_distance_a {
            Some(d) => crate::io::validate::positive_of("nn_distance_a", d, "Å")?,
            None => {
                let d = median_nn_distance(&p, f0.lengths, f0.pbc);
                if !d.is_finite() {
                    return Err(Error::input(
                        at(0, 0),
                        "no two atoms of frame 0 lie within 4 Å: cannot find the \
                         nearest-neighbour distance (give it)",
                    ));
                }
                d
            }
        };
        let h = match opts.plane_spacing_a {
            Some(h) => crate::io::validate::positive_of("plane_spacing_a", h, "Å")?,
            None => nn * (2.0f64 / 3.0).sqrt(),
        };
        crate::io::validate::fraction("core_fraction", opts.core_fraction)?;
        let omega = nn * nn * nn / std::f64::consts::SQRT_2;
        let rc = CN_CUTOFF_NN * nn;

        // Labels.
        let (labels, labels_from): (Vec<u8>, String) = if let Some(l) = given {
            if l.len() != n {
                return Err(Error::field(
                    "labels",
                    format!("{} labels for {n} atoms", l.len()),
                ));
            }
            (l.to_vec(), "the caller".to_string())
        } else if let Some(k) = opts.first_particle_atoms {
            if k == 0 || k >= n {
                return Err(Error::field(
                    "first_particle_atoms",
                    format!("is {k}; with {n} atoms it must be from 1 to {}", n - 1),
                ));
            }
            (
                (0..n).map(|i| u8::from(i >= k)).collect(),
                format!("the atom order (the first {k} atoms are particle A)"),
            )
        } else {
            let named = opts.label_column.clone();
            let column = match &named {
                Some(c) => Some(f0.column(c).ok_or_else(|| {
                    let have: Vec<&str> = f0.columns.iter().map(|c| c.name.as_str()).collect();
                    Error::input(
                        at(0, hdr).field(c.clone()),
                        format!(
                            "no per-atom column `{c}` (the file has: {})",
                            if have.is_empty() {
                                "none".to_string()
                            } else {
                                have.join(", ")
                            }
                        ),
                    )
                })?),
                None => LABEL_COLUMNS.iter().find_map(|c| f0.column(c)),
            };
            match column {
                Some(c) => (
                    labels_from_column(c, at(0, hdr).field(c.name.clone()))?,
                    format!("column `{}`", c.name),
                ),
                None => {
                    // Wrap each atom next to atom 0 first: the split needs whole particles.
                    let mut p0 = p.clone();
                    let first = p0[0];
                    for x in &mut p0 {
                        unwrap_near(x, first, f0);
                    }
                    let (l, how) = split_in_two(&p0, &masses, f0.lengths, f0.pbc, rc);
                    (l, how.to_string())
                }
            }
        };
        let ia: Vec<usize> = (0..n).filter(|&i| labels[i] == 0).collect();
        let ib: Vec<usize> = (0..n).filter(|&i| labels[i] == 1).collect();
        if ia.is_empty() || ib.is_empty() {
            return Err(Error::input(
                at(0, hdr),
                format!("labels from {labels_from}: one particle has no atom"),
            ));
        }
        // Make each particle whole in frame 0 (about its first atom), and carry that through.
        let mut shift = vec![[0.0; 3]; n];
        for idx in [&ia, &ib] {
            let anchor = p[idx[0]];
            for &i in idx.iter() {
                let mut x = p[i];
                unwrap_near(&mut x, anchor, f0);
                shift[i] = sub(x, p[i]);
            }
        }
        let whole: Vec<Vec3> = p.iter().zip(&shift).map(|(x, s)| add(*x, *s)).collect();
        // ... and put B at the image of its centre closest to A's centre.
        let (ca0, cb0) = (
            mass_centre(&whole, &masses, &ia),
            mass_centre(&whole, &masses, &ib),
        );
        let mut near = cb0;
        unwrap_near(&mut near, ca0, f0);
        let sb = sub(near, cb0);
        for &i in &ib {
            shift[i] = add(shift[i], sb);
        }
        let pos0: Vec<Vec3> = p.iter().zip(&shift).map(|(x, s)| add(*x, *s)).collect();
        let pair: Vec<usize> = ia.iter().chain(&ib).copied().collect();
        // Cores in frame 0.
        let core = |idx: &[usize]| -> Vec<usize> {
            let c = mass_centre(&pos0, &masses, idx);
            let r = (5.0f64 / 3.0).sqrt() * radius_of_gyration(&pos0, &masses, idx);
            let rc = opts.core_fraction * r;
            let v: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| norm(sub(pos0[i], c)) <= rc)
                .collect();
            // A particle too small for a core of three atoms is fitted whole.
            if v.len() < 3 { idx.to_vec() } else { v }
        };
        let (core_a, core_b) = (core(&ia), core(&ib));
        let orient0 = {
            let orient = |idx: &[usize], core: &[usize]| {
                fcc_orientation(&pos0, core, mass_centre(&pos0, &masses, idx), rc)
            };
            match (orient(&ia, &core_a), orient(&ib, &core_b)) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            }
        };
        Ok(Analyzer {
            masses,
            masses_of,
            types: f0.types.clone(),
            names: f0.names.clone(),
            swaps: false,
            ns: f0.names.len(),
            ia,
            ib,
            pair,
            core_a,
            core_b,
            pos0,
            shift,
            prev: None,
            current: Vec::new(),
            orient0,
            frames: 0,
            nn,
            h,
            omega,
            rc,
            labels_from,
        })
    }

    /// Where the particle labels came from.
    pub fn labels_from(&self) -> &str {
        &self.labels_from
    }

    /// Nearest-neighbour distance d and interplanar spacing h used, Å.
    pub fn spacings(&self) -> (f64, f64) {
        (self.nn, self.h)
    }

    /// Atoms of particle A and B.
    pub fn particle_atoms(&self) -> [usize; 2] {
        [self.ia.len(), self.ib.len()]
    }

    /// Absolute misorientation of the two FCC cores in the first frame, degrees (cubic
    /// symmetry), if both are FCC.
    pub fn initial_misorientation_deg(&self) -> Option<f64> {
        self.orient0.map(|(a, b)| cubic_misorientation_deg(a, b))
    }

    /// The last pushed frame's positions, unwrapped (whole particles, B facing A).
    pub fn positions(&self) -> &[Vec3] {
        &self.current
    }

    /// Lets later frames exchange species between atoms (Monte Carlo swaps of a hybrid MD/MC
    /// run): a frame may then carry any permutation of the first frame's species, and each
    /// frame is analysed with its own species and masses.
    pub fn allow_species_swaps(mut self) -> Self {
        self.swaps = true;
        self
    }

    /// Analyses the next frame (the same atoms in the same order as the first, with the same
    /// species unless [`Self::allow_species_swaps`]); its time is the frame's `time_ps` or
    /// `time_fs`, else its step, else its index.
    pub fn push(&mut self, f: &Frame) -> Result<FrameRow> {
        let n = self.masses.len();
        if f.len() == n && f.types != self.types && self.swaps && f.names == self.names {
            let count = |t: &[u32]| {
                let mut c = vec![0usize; self.names.len()];
                for &x in t {
                    if let Some(v) = c.get_mut(x as usize) {
                        *v += 1;
                    }
                }
                c
            };
            if count(&f.types) == count(&self.types) {
                self.types.clone_from(&f.types);
                self.masses = f
                    .types
                    .iter()
                    .map(|&t| self.masses_of[t as usize])
                    .collect();
            }
        }
        if f.len() != n || f.types != self.types {
            return Err(Error::field(
                "frame",
                format!(
                    "frame {} has {} atoms or other species than the first ({n} atoms)",
                    self.frames,
                    f.len()
                ),
            ));
        }
        let k = self.frames;
        let mut p: Vec<Vec3> = f.positions.iter().map(|x| sub(*x, f.origin)).collect();
        if let Some(prev) = &self.prev {
            for (x, x0) in p.iter_mut().zip(prev) {
                unwrap_near(x, *x0, f);
            }
        }
        if p.iter().flatten().any(|x| !x.is_finite()) {
            return Err(Error::field(
                "pos",
                format!("frame {k} has a position that is not a finite number"),
            ));
        }
        self.current = p
            .iter()
            .zip(&self.shift)
            .map(|(x, s)| add(*x, *s))
            .collect();
        self.prev = Some(p);
        self.frames += 1;
        let (masses, pos) = (&self.masses, &self.current);
        let (ia, ib) = (&self.ia, &self.ib);
        let (ca, cb) = (mass_centre(pos, masses, ia), mass_centre(pos, masses, ib));
        let (_, neck) = neck_radius(pos, &self.pair, ca, cb, self.h, self.omega);
        let cn = coordination(pos, f.lengths, f.pbc, self.rc);
        let mut by_species = vec![0usize; self.ns];
        let mut surface = 0;
        for i in 0..n {
            if cn[i] <= SURFACE_MAX_CN {
                surface += 1;
                by_species[self.types[i] as usize] += 1;
            }
        }
        let fit = |idx: &[usize]| -> Quaternion {
            let r: Vec<Vec3> = idx.iter().map(|&i| self.pos0[i]).collect();
            let c: Vec<Vec3> = idx.iter().map(|&i| pos[i]).collect();
            let w: Vec<f64> = idx.iter().map(|&i| masses[i]).collect();
            kabsch(&r, &c, &w)
        };
        let (qa, qb) = (fit(&self.core_a), fit(&self.core_b));
        let grain = self.orient0.map_or(f64::NAN, |(oa, ob)| {
            cubic_misorientation_deg(
                crate::rotation::compose(qa, oa),
                crate::rotation::compose(qb, ob),
            )
        });
        Ok(FrameRow {
            frame: k,
            time: time_of(f).unwrap_or_else(|| f.step.map_or(k as f64, |s| s as f64)),
            neck_radius_a: neck,
            rg_a: radius_of_gyration(pos, masses, &self.pair),
            centre_distance_a: norm(sub(cb, ca)),
            misorientation_deg: misorientation_deg(qa, qb),
            grain_misorientation_deg: grain,
            surface_atoms: surface,
            surface_fraction: by_species
                .iter()
                .map(|&c| {
                    if surface > 0 {
                        c as f64 / surface as f64
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
        })
    }
}

/// Moves `x` by whole periods along `f`'s periodic axes to the image closest to `near`.
fn unwrap_near(x: &mut Vec3, near: Vec3, f: &Frame) {
    for a in 0..3 {
        let l = f.lengths[a];
        if f.pbc[a] && l > 0.0 {
            x[a] -= l * ((x[a] - near[a]) / l).round();
        }
    }
}

/// Particle labels from a per-atom column: its two distinct values, the smaller one first.
fn labels_from_column(c: &crate::io::Column, at: Location) -> Result<Vec<u8>> {
    use crate::io::Values;
    let keys: Vec<String> = match &c.values {
        Values::Int(v) => v.iter().map(|x| format!("{x:020}")).collect(),
        Values::Real(v, _) => v.iter().map(|x| format!("{x:e}")).collect(),
        Values::Str(v) => v.clone(),
    };
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    if c.width != 1 || distinct.len() != 2 {
        return Err(Error::input(
            at,
            format!(
                "a label column needs exactly two distinct values (two particles), `{}` has {}",
                c.name,
                distinct.len()
            ),
        ));
    }
    Ok(keys.iter().map(|k| u8::from(*k == distinct[1])).collect())
}

/// The CSV header of [`Analysis::csv`] for the time column `time_column` and `species`.
pub fn analysis_header(time_column: &str, species: &[String]) -> String {
    let mut h = format!(
        "frame,{time_column},neck_radius_a,rg_a,centre_distance_a,misorientation_deg,\
         grain_misorientation_deg,surface_atoms"
    );
    for s in species {
        h.push_str(&format!(",surface_fraction_{s}"));
    }
    h
}

impl FrameRow {
    /// The row as [`Analysis::csv`] writes it (no line end).
    pub fn csv(&self) -> String {
        let mut out = format!(
            "{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{}",
            self.frame,
            self.time,
            self.neck_radius_a,
            self.rg_a,
            self.centre_distance_a,
            self.misorientation_deg,
            self.grain_misorientation_deg,
            self.surface_atoms
        );
        for f in &self.surface_fraction {
            out.push_str(&format!(",{f:.6}"));
        }
        out
    }
}

impl Analysis {
    /// The CSV header: `frame,time_ps|step,neck_radius_a,rg_a,centre_distance_a,
    /// misorientation_deg,grain_misorientation_deg,surface_atoms,surface_fraction_<Sp>...`.
    pub fn header(&self) -> String {
        analysis_header(self.time_column, &self.species)
    }

    /// The per-frame CSV.
    pub fn csv(&self) -> String {
        let mut out = self.header();
        out.push('\n');
        for r in &self.rows {
            out.push_str(&r.csv());
            out.push('\n');
        }
        out
    }

    /// Writes `analyze.csv`, and `gr_<frame>.csv`, `xrd_<frame>.csv` per structure frame,
    /// into `dir` (created), each atomically; returns the files written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut out = Vec::new();
        let p = dir.join("analyze.csv");
        crate::io::write_bytes(&p, self.csv().as_bytes())?;
        out.push(p);
        for s in &self.structure {
            let mut gr = String::from("r_a");
            for &(a, b) in &s.gr.pairs {
                gr.push_str(&format!(",g_{}_{}", self.species[a], self.species[b]));
            }
            gr.push('\n');
            for (k, r) in s.gr.r.iter().enumerate() {
                gr.push_str(&format!("{r:.4}"));
                for g in &s.gr.g {
                    gr.push_str(&format!(",{:.6}", g[k]));
                }
                gr.push('\n');
            }
            let p = dir.join(format!("gr_{}.csv", s.frame));
            crate::io::write_bytes(&p, gr.as_bytes())?;
            out.push(p);
            let mut x = format!(
                "# Debye pattern, wavelength {} Å, intensity per atom (electrons²)\n\
                 two_theta_deg,q_inv_a,intensity\n",
                s.xrd.wavelength_a
            );
            for k in 0..s.xrd.q.len() {
                x.push_str(&format!(
                    "{:.4},{:.6},{:.6}\n",
                    s.xrd.two_theta_deg[k], s.xrd.q[k], s.xrd.intensity[k]
                ));
            }
            let p = dir.join(format!("xrd_{}.csv", s.frame));
            crate::io::write_bytes(&p, x.as_bytes())?;
            out.push(p);
        }
        Ok(out)
    }
}

/// Reads `path` and analyses it; errors name the file.
pub fn analyze_file(path: &Path, opts: &AnalyzeOptions) -> Result<Analysis> {
    let traj = Trajectory::read(path, opts.format)?;
    analyze(&traj, opts).map_err(|e| e.in_file(path))
}

#[cfg(test)]
mod tests;
