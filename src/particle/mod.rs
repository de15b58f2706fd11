//! Nanoparticles cut from the lattice: shapes, compositions, and the Cartesian description of
//! a particle as a set of lattice vectors from its centre site.
//!
//! A particle is site-centred: its centre is a lattice site and every atom sits on a lattice
//! site, so it has the full point symmetry of the lattice around that site. The shape is cut in
//! the crystal frame (the cubic axes found from the lattice itself), so the same particle lands
//! with {111} and {100} facets on an Fcc100, Fcc111 or Fcc110 film alike.
//!
//! **Size.** `diameter_nm` is the *equal-volume* diameter: a truncated octahedron or
//! cuboctahedron of diameter d has the volume π d³ / 6 of the sphere of diameter d, so the atom
//! count, ≈ π d³ / (6 Ω) with Ω the atomic volume, does not depend on the shape.
//!
//! * sphere: every site with `|r| ≤ d/2`;
//! * truncated octahedron (regular, Archimedean): `max |u_i| ≤ h`, `|u_1| + |u_2| + |u_3| ≤ 3h/2`
//!   (volume 4 h³), `u` the coordinates along the cubic axes;
//! * cuboctahedron: `max |u_i| ≤ h`, `|u_1| + |u_2| + |u_3| ≤ 2h` (volume 20 h³ / 3);
//! * rhombic dodecahedron (the {110} Wulff-like shape of BCC): `|u_i| + |u_j| ≤ s` for every
//!   pair `i ≠ j` (volume 2 s³);
//! * hexagonal prism (HCP): six {10-10} side facets at distance `R` from the axis and two (0001)
//!   faces at `±R` along c, so its height equals its width across flats (volume 4√3 R³); `u`
//!   are then the coordinates along [2-1-10], [01-10] and [0001].
//!
//! The cubic polyhedra need cubic axes and refuse Hcp0001; the prism needs the hexagonal axes
//! and refuses the cubic lattices.
//!
//! Sites on a surface to within 1e-9 Å are inside.
//!
//! **Depth** of an atom is its distance to the geometric surface measured inward (along the
//! facet normal for polyhedra): `d/2 − |r|` for a sphere, the smallest distance to a facet plane
//! otherwise. A core–shell particle with shell thickness `t` has shell-species atoms where
//! depth < t and core-species atoms where depth ≥ t.

pub mod source;
pub mod template;

use crate::error::{Error, Result};
use crate::io::validate::{non_negative, positive_of};
use crate::lattice::{Lattice, LatticeKind};
use crate::md::build::{Axis, random_species};
use crate::rng::KmcRng;
use crate::state::Species;
use crate::vec3::{cross, dot, norm, sub};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use source::{ParticleDeposition, ParticleDepositionSpec, SizeDistribution};
pub use template::Template;

/// Particle shapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// All sites within a sphere.
    #[default]
    Sphere,
    /// The regular truncated octahedron: eight {111} hexagons and six {100} squares.
    TruncatedOctahedron,
    /// The cuboctahedron: eight {111} triangles and six {100} squares.
    Cuboctahedron,
    /// The rhombic dodecahedron: twelve {110} rhombi (BCC's close-packed planes).
    RhombicDodecahedron,
    /// The regular hexagonal prism of HCP: six {10-10} sides and the two (0001) faces, as
    /// high as it is wide across flats.
    HexagonalPrism,
}

/// Most atoms one particle may have (about 70 nm of Au; building it takes about a second per
/// million atoms and some 50 bytes per atom).
pub const MAX_PARTICLE_ATOMS: usize = 10_000_000;

const INV_SQRT3: f64 = 0.577_350_269_189_625_8;
const SQRT3: f64 = 1.732_050_807_568_877_2;

impl Shape {
    /// Parses a command-line name (`sphere`, `truncated-octahedron`, `cuboctahedron`,
    /// `rhombic-dodecahedron`, `hexagonal-prism`; the RON variant names are accepted too).
    pub fn parse(name: &str) -> Result<Shape> {
        let n = name.to_ascii_lowercase().replace(['-', '_', ' '], "");
        match n.as_str() {
            "sphere" => Ok(Shape::Sphere),
            "truncatedoctahedron" | "to" => Ok(Shape::TruncatedOctahedron),
            "cuboctahedron" | "cubeoctahedron" | "co" => Ok(Shape::Cuboctahedron),
            "rhombicdodecahedron" | "rd" => Ok(Shape::RhombicDodecahedron),
            "hexagonalprism" | "hexprism" => Ok(Shape::HexagonalPrism),
            _ => Err(Error::field(
                "shape",
                format!(
                    "unknown shape `{name}` (expected sphere, truncated-octahedron, \
                     cuboctahedron, rhombic-dodecahedron or hexagonal-prism)"
                ),
            )),
        }
    }

    /// The shape's size parameter for an equal-volume diameter `d` (Å): the radius of a
    /// sphere, the half-extent `h` along ⟨100⟩ of a polyhedron.
    pub fn size_parameter(self, d: f64) -> f64 {
        let v = std::f64::consts::PI * d * d * d / 6.0;
        match self {
            Shape::Sphere => 0.5 * d,
            Shape::TruncatedOctahedron => (v / 4.0).cbrt(),
            Shape::Cuboctahedron => (3.0 * v / 20.0).cbrt(),
            Shape::RhombicDodecahedron => (v / 2.0).cbrt(),
            Shape::HexagonalPrism => (v / (4.0 * SQRT3)).cbrt(),
        }
    }

    /// Refuses a shape whose facets the lattice lacks: the cubic polyhedra on HCP, the
    /// hexagonal prism on a cubic lattice. `field` names the shape in the input.
    pub fn check_lattice(self, kind: LatticeKind, field: &str) -> Result<()> {
        let hexagonal = kind == LatticeKind::Hcp0001;
        let ok = match self {
            Shape::Sphere => true,
            Shape::HexagonalPrism => hexagonal,
            Shape::TruncatedOctahedron | Shape::Cuboctahedron | Shape::RhombicDodecahedron => {
                !hexagonal
            }
        };
        if ok {
            return Ok(());
        }
        let needs = if hexagonal {
            "a cubic lattice (its facets are cut along the cubic axes); on Hcp0001 use Sphere \
             or HexagonalPrism"
        } else {
            "an Hcp0001 lattice (its facets are cut along the hexagonal axes)"
        };
        Err(Error::field(
            field,
            format!("{self:?} on {kind:?}: the shape needs {needs}"),
        ))
    }

    /// Depth below the surface (Å, positive inside) of a point with crystal-frame
    /// coordinates `u`, for size parameter `p`.
    pub fn depth(self, u: [f64; 3], p: f64) -> f64 {
        let (a, b, c) = (u[0].abs(), u[1].abs(), u[2].abs());
        match self {
            Shape::Sphere => p - (a * a + b * b + c * c).sqrt(),
            Shape::TruncatedOctahedron => {
                (p - a.max(b).max(c)).min((1.5 * p - (a + b + c)) * INV_SQRT3)
            }
            Shape::Cuboctahedron => (p - a.max(b).max(c)).min((2.0 * p - (a + b + c)) * INV_SQRT3),
            Shape::RhombicDodecahedron => {
                (p - (a + b).max(b + c).max(a + c)) * std::f64::consts::FRAC_1_SQRT_2
            }
            Shape::HexagonalPrism => {
                // Side normals at 30°, 90°, 150° from u_1 (the ±y pair and its 60° images).
                let side = b.max(0.5 * (SQRT3 * a + b));
                (p - side).min(p - c)
            }
        }
    }

    /// Largest distance of a point of the shape from its centre, for size parameter `p`.
    pub fn circumradius(self, p: f64) -> f64 {
        match self {
            Shape::Sphere => p,
            // Vertices (0, h/2, h) and permutations.
            Shape::TruncatedOctahedron => p * 1.25f64.sqrt(),
            // Vertices (h, h, 0) and permutations.
            Shape::Cuboctahedron => p * std::f64::consts::SQRT_2,
            // Vertices (s, 0, 0) and permutations.
            Shape::RhombicDodecahedron => p,
            // Corners at 2R/√3 from the axis and R above the middle.
            Shape::HexagonalPrism => p * (4.0 / 3.0 + 1.0f64).sqrt(),
        }
    }
}

/// What a particle is made of (species by name, as in the scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Composition {
    /// One species.
    Pure(String),
    /// A random substitutional alloy `[(species, fraction)]`; the counts are exact (largest
    /// remainder) and the arrangement is drawn from the run's random stream.
    Alloy(Vec<(String, f64)>),
    /// A core of one species inside a shell of another.
    CoreShell {
        /// Core species.
        core: String,
        /// Shell species.
        shell: String,
        /// Shell thickness, nm (measured inward from the geometric surface).
        shell_nm: f64,
    },
    /// Two halves: `first` where the coordinate along `axis` (from the centre) is negative,
    /// `second` where it is positive; atoms on the dividing plane are split by the next axis
    /// (then the one after), and the centre atom is `first`, so `second` has exactly
    /// (N − 1) / 2 atoms where the sites are centrosymmetric: on every cubic lattice, and on
    /// Hcp0001 (no inversion centre) for axes x and z, the normals of mirror planes of an HCP
    /// site, but not for y.
    Janus {
        /// Species of the negative half.
        first: String,
        /// Species of the positive half.
        second: String,
        /// Normal of the dividing plane (lab frame).
        #[serde(default = "default_axis")]
        axis: Axis,
    },
}

fn default_axis() -> Axis {
    Axis::X
}

impl Composition {
    /// Species names used, in order of appearance.
    pub fn species_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = match self {
            Composition::Pure(s) => vec![s],
            Composition::Alloy(parts) => parts.iter().map(|p| p.0.as_str()).collect(),
            Composition::CoreShell { core, shell, .. } => vec![core, shell],
            Composition::Janus { first, second, .. } => vec![first, second],
        };
        let mut seen = Vec::new();
        v.retain(|s| {
            let new = !seen.contains(s);
            seen.push(*s);
            new
        });
        v
    }

    /// Resolves species names to ids with `id(name, field)`; checks fractions and thickness.
    /// `field` is the path of this composition in the input, used in messages.
    pub fn resolve(
        &self,
        field: &str,
        id: impl Fn(&str, &str) -> Result<Species>,
    ) -> Result<ResolvedComposition> {
        Ok(match self {
            Composition::Pure(s) => ResolvedComposition::Pure(id(s, &format!("{field}.Pure"))?),
            Composition::Alloy(parts) => {
                if parts.is_empty() {
                    return Err(Error::field(
                        format!("{field}.Alloy"),
                        "an alloy needs at least one (species, fraction)",
                    ));
                }
                let mut out = Vec::new();
                for (k, (s, f)) in parts.iter().enumerate() {
                    non_negative(format!("{field}.Alloy[{k}]"), *f)?;
                    out.push((id(s, &format!("{field}.Alloy[{k}]"))?, *f));
                }
                let total: f64 = out.iter().map(|p| p.1).sum();
                if (total - 1.0).abs() > 1e-6 {
                    return Err(Error::field(
                        format!("{field}.Alloy"),
                        format!("fractions sum to {total}, not 1"),
                    ));
                }
                ResolvedComposition::Alloy(out)
            }
            Composition::CoreShell {
                core,
                shell,
                shell_nm,
            } => {
                positive_of(format!("{field}.CoreShell.shell_nm"), *shell_nm, "nm")?;
                ResolvedComposition::CoreShell {
                    core: id(core, &format!("{field}.CoreShell.core"))?,
                    shell: id(shell, &format!("{field}.CoreShell.shell"))?,
                    shell_a: shell_nm * crate::units::NM_IN_ANGSTROM,
                }
            }
            Composition::Janus {
                first,
                second,
                axis,
            } => ResolvedComposition::Janus {
                first: id(first, &format!("{field}.Janus.first"))?,
                second: id(second, &format!("{field}.Janus.second"))?,
                axis: *axis,
            },
        })
    }
}

/// A composition with species ids (1-based, as stored in the lattice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResolvedComposition {
    /// One species.
    Pure(Species),
    /// Random alloy `(species, fraction)`, fractions summing to 1.
    Alloy(Vec<(Species, f64)>),
    /// Core and shell species, shell thickness in Å.
    CoreShell {
        /// Core species.
        core: Species,
        /// Shell species.
        shell: Species,
        /// Shell thickness, Å.
        shell_a: f64,
    },
    /// Janus halves along a lab axis.
    Janus {
        /// Negative half.
        first: Species,
        /// Positive half.
        second: Species,
        /// Normal of the dividing plane.
        axis: Axis,
    },
}

impl ResolvedComposition {
    /// The shell species of a core–shell composition.
    pub fn shell_species(&self) -> Option<Species> {
        match self {
            ResolvedComposition::CoreShell { shell, .. } => Some(*shell),
            _ => None,
        }
    }
}

/// The Cartesian frame of a lattice kind, found numerically from its positions: nearest-
/// neighbour vectors, a primitive basis (to name every lattice vector by three integers), the
/// cubic axes and the atomic volume.
///
/// HCP is no Bravais lattice (two atoms per primitive cell, and the neighbours of an A-layer
/// site are not those of a B-layer site), so its frame names every site vector in the finer
/// basis (a₁, (a₁ + a₂)/3, c/2), of whose points a third are sites, and it serves cutting a
/// particle only ([`LatticeFrame::for_cutting`]): placing one moves it by lattice vectors.
#[derive(Debug, Clone)]
pub struct LatticeFrame {
    /// Nearest-neighbour vectors, Å (HCP: those of an A-layer site).
    pub nn: Vec<[f64; 3]>,
    /// Primitive basis vectors (rows), Å (HCP: the finer basis above).
    pub basis: [[f64; 3]; 3],
    inverse: [[f64; 3]; 3],
    /// Unit vectors of the cubic axes in the lab frame (HCP: [2-1-10], [01-10], [0001]).
    pub axes: [[f64; 3]; 3],
    /// Volume per atom, Å³.
    pub atomic_volume: f64,
    /// The lattice kind (on HCP only some keys are sites, see [`LatticeFrame::is_site`]).
    kind: LatticeKind,
}

impl LatticeFrame {
    /// The frame of `lat`'s kind and lattice constant, for cutting and placing particles: a
    /// 3-D Bravais lattice (every kind but Hcp0001, which is refused at `lattice.kind`).
    pub fn new(lat: &Lattice) -> Result<Self> {
        Self::check_placeable(lat.kind())?;
        Self::for_cutting(lat)
    }

    /// Refuses a kind on which particles cannot be placed in a run (Hcp0001).
    pub fn check_placeable(kind: LatticeKind) -> Result<()> {
        if kind == LatticeKind::Hcp0001 {
            return Err(Error::field(
                "lattice.kind",
                "particles on Hcp0001 can be built alone (`kmc particle build`) but not placed \
                 in a run: HCP sites are no Bravais lattice, and particle templates, landing and \
                 grains move a particle by lattice vectors",
            ));
        }
        Ok(())
    }

    /// The frame for cutting a particle from `lat` ([`Particle::build`]): every 3-D kind,
    /// Hcp0001 included.
    pub fn for_cutting(lat: &Lattice) -> Result<Self> {
        if lat.kind().is_2d() {
            return Err(Error::field(
                "lattice.kind",
                format!("particles need a 3-D lattice, not {:?}", lat.kind()),
            ));
        }
        if lat.kind() == LatticeKind::Hcp0001 {
            return Ok(Self::hcp(lat));
        }
        let o = lat.grid_position(0, 0, 0);
        let nn: Vec<[f64; 3]> = lat
            .class_tables(0)
            .neighbors
            .iter()
            .map(|n| sub(lat.grid_position(n.dx as i64, n.dy as i64, n.dl as i64), o))
            .collect();
        // The independent triple of nearest-neighbour vectors spanning the smallest volume is
        // a primitive basis (every triple of lattice vectors spans a multiple of the
        // primitive volume; fcc, bcc and sc are spanned by nearest-neighbour vectors).
        let mut best: Option<(f64, [[f64; 3]; 3])> = None;
        let tol = 1e-6 * lat.nn_distance().powi(3);
        for i in 0..nn.len() {
            for j in i + 1..nn.len() {
                for k in j + 1..nn.len() {
                    let v = dot(nn[i], cross(nn[j], nn[k])).abs();
                    if v > tol && best.is_none_or(|b| v < b.0 - tol) {
                        best = Some((v, [nn[i], nn[j], nn[k]]));
                    }
                }
            }
        }
        let (vol, basis) = best.ok_or_else(|| {
            Error::Simulation(format!("{:?}: no primitive basis found", lat.kind()))
        })?;
        let inverse = invert(basis);
        // Cubic axes: lattice vectors of length a (second shell of fcc and bcc, first of sc).
        let a = lat.lattice_constant();
        let mut cubic = Vec::new();
        for n0 in -2i32..=2 {
            for n1 in -2i32..=2 {
                for n2 in -2i32..=2 {
                    let d = combine(&basis, [n0, n1, n2]);
                    if (norm(d) - a).abs() < 1e-6 * a {
                        cubic.push(d);
                    }
                }
            }
        }
        let pick = |c: &[[f64; 3]], f: &dyn Fn([f64; 3]) -> bool, along: usize| {
            c.iter().copied().filter(|d| f(*d)).max_by(|p, q| {
                p[along]
                    .total_cmp(&q[along])
                    .then(p[(along + 1) % 3].total_cmp(&q[(along + 1) % 3]))
                    .then(p[(along + 2) % 3].total_cmp(&q[(along + 2) % 3]))
            })
        };
        let e1 = pick(&cubic, &|_| true, 0);
        let e1 = e1.ok_or_else(|| Error::Simulation("no cubic axes".into()))?;
        let e2 = pick(&cubic, &|d| dot(d, e1).abs() < 1e-6 * a * a, 1)
            .ok_or_else(|| Error::Simulation("no cubic axes".into()))?;
        let unit = |v: [f64; 3]| {
            let n = norm(v);
            [v[0] / n, v[1] / n, v[2] / n]
        };
        let (e1, e2) = (unit(e1), unit(e2));
        let e3 = cross(e1, e2);
        Ok(LatticeFrame {
            nn,
            basis,
            inverse,
            axes: [e1, e2, e3],
            atomic_volume: vol,
            kind: lat.kind(),
        })
    }

    fn hcp(lat: &Lattice) -> Self {
        let o = lat.grid_position(0, 0, 0);
        let nn = lat
            .class_tables(0)
            .neighbors
            .iter()
            .map(|n| sub(lat.grid_position(n.dx as i64, n.dy as i64, n.dl as i64), o))
            .collect();
        let a1 = sub(lat.grid_position(1, 0, 0), o);
        // Layer 1 is layer 0 shifted by (a₁ + a₂)/3 and raised by c/2.
        let up = sub(lat.grid_position(0, 0, 1), o);
        let basis = [a1, [up[0], up[1], 0.0], [0.0, 0.0, up[2]]];
        let a = lat.lattice_constant();
        let c = 2.0 * lat.layer_spacing();
        LatticeFrame {
            nn,
            basis,
            inverse: invert(basis),
            axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            atomic_volume: SQRT3 * a * a * c / 4.0,
            kind: LatticeKind::Hcp0001,
        }
    }

    /// True if the vector with basis coordinates `n` joins two sites: always on a Bravais
    /// lattice; on HCP the in-layer part must be a lattice vector of its layer (n₂ ≡ 0 mod 3 on
    /// A layers, n₂ ≡ 1 mod 3 on B layers, which are shifted by (a₁ + a₂)/3).
    pub fn is_site(&self, n: [i32; 3]) -> bool {
        self.kind != LatticeKind::Hcp0001 || n[1].rem_euclid(3) == n[2].rem_euclid(2)
    }

    /// The lattice kind the frame was made for.
    pub fn kind(&self) -> LatticeKind {
        self.kind
    }

    /// Integer coordinates of the lattice vector `d` in the primitive basis.
    pub fn key(&self, d: [f64; 3]) -> [i32; 3] {
        let m = &self.inverse;
        // d = Σ n_i basis_i  ⇔  n = d · inverse (inverse's columns are dual vectors).
        [0, 1, 2].map(|k| (d[0] * m[0][k] + d[1] * m[1][k] + d[2] * m[2][k]).round() as i32)
    }

    /// The lattice vector with primitive coordinates `n`.
    pub fn vector(&self, n: [i32; 3]) -> [f64; 3] {
        combine(&self.basis, n)
    }

    /// Crystal-frame coordinates of a lab vector.
    pub fn crystal(&self, d: [f64; 3]) -> [f64; 3] {
        self.axes.map(|e| dot(d, e))
    }
}

fn combine(basis: &[[f64; 3]; 3], n: [i32; 3]) -> [f64; 3] {
    let mut d = [0.0; 3];
    for i in 0..3 {
        for k in 0..3 {
            d[k] += n[i] as f64 * basis[i][k];
        }
    }
    d
}

/// Inverse of the matrix whose rows are `m`'s rows, such that `d = n · m ⇔ n = d · inv`.
fn invert(m: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = dot(m[0], cross(m[1], m[2]));
    // Columns of the inverse are the dual vectors (m1 × m2, m2 × m0, m0 × m1) / det.
    let c = [cross(m[1], m[2]), cross(m[2], m[0]), cross(m[0], m[1])];
    let mut inv = [[0.0; 3]; 3];
    for k in 0..3 {
        for r in 0..3 {
            inv[r][k] = c[k][r] / det;
        }
    }
    inv
}

/// A particle: atoms at lattice vectors from its centre site.
#[derive(Debug, Clone, PartialEq)]
pub struct Particle {
    /// Shape.
    pub shape: Shape,
    /// Equal-volume diameter, nm.
    pub diameter_nm: f64,
    /// Primitive-basis coordinates of each atom's lattice vector from the centre.
    pub keys: Vec<[i32; 3]>,
    /// Cartesian displacement of each atom from the centre, Å (lab frame).
    pub displacements: Vec<[f64; 3]>,
    /// Depth of each atom below the geometric surface, Å.
    pub depth_a: Vec<f64>,
    /// Species of each atom.
    pub species: Vec<Species>,
}

impl Particle {
    /// Cuts a particle of `shape` and equal-volume diameter `diameter_nm` from `lat` (any 3-D
    /// kind; polyhedra are cut along the cubic axes) and assigns species; a random alloy
    /// draws its arrangement from `rng` (nothing else does).
    pub fn build(
        lat: &Lattice,
        shape: Shape,
        diameter_nm: f64,
        composition: &ResolvedComposition,
        rng: &mut KmcRng,
    ) -> Result<Particle> {
        let frame = LatticeFrame::for_cutting(lat)?;
        Self::build_in(&frame, shape, diameter_nm, composition, rng)
    }

    /// As [`Particle::build`], with a precomputed frame.
    pub fn build_in(
        frame: &LatticeFrame,
        shape: Shape,
        diameter_nm: f64,
        composition: &ResolvedComposition,
        rng: &mut KmcRng,
    ) -> Result<Particle> {
        positive_of("diameter_nm", diameter_nm, "nm")?;
        shape.check_lattice(frame.kind, "shape")?;
        let d = diameter_nm * crate::units::NM_IN_ANGSTROM;
        // Bounded before the loops below, which visit every lattice point of the particle's
        // bounding box: a 1e6 nm diameter would spin for hours and then exhaust memory.
        let atoms = std::f64::consts::PI / 6.0 * d * d * d / frame.atomic_volume;
        if atoms > MAX_PARTICLE_ATOMS as f64 {
            let count = if atoms.is_finite() {
                format!("about {atoms:.2e} atoms")
            } else {
                "more atoms than a float can count".to_string()
            };
            return Err(Error::Simulation(format!(
                "a {} nm particle would hold {count}; a particle may have at most \
                 {MAX_PARTICLE_ATOMS}",
                crate::io::validate::number(diameter_nm)
            )));
        }
        let p = shape.size_parameter(d);
        let r = shape.circumradius(p) + 1e-6;
        // Range of primitive coordinates covering the ball of radius r: |n_k| ≤ r |column k|.
        let m = frame.inverse;
        let range = [0, 1, 2].map(|k| {
            let c = (m[0][k] * m[0][k] + m[1][k] * m[1][k] + m[2][k] * m[2][k]).sqrt();
            (r * c).ceil() as i32 + 1
        });
        let tol = 1e-9;
        let mut keys = Vec::new();
        let mut displacements = Vec::new();
        let mut depth_a = Vec::new();
        for n0 in -range[0]..=range[0] {
            for n1 in -range[1]..=range[1] {
                for n2 in -range[2]..=range[2] {
                    let n = [n0, n1, n2];
                    if !frame.is_site(n) {
                        continue;
                    }
                    let v = frame.vector(n);
                    let depth = shape.depth(frame.crystal(v), p);
                    if depth >= -tol {
                        keys.push(n);
                        displacements.push(v);
                        depth_a.push(depth.max(0.0));
                    }
                }
            }
        }
        let species = match composition {
            ResolvedComposition::Pure(s) => vec![*s; keys.len()],
            ResolvedComposition::Alloy(parts) => random_species(keys.len(), parts, rng)?,
            ResolvedComposition::CoreShell {
                core,
                shell,
                shell_a,
            } => depth_a
                .iter()
                .map(|&z| if z >= *shell_a - tol { *core } else { *shell })
                .collect(),
            ResolvedComposition::Janus {
                first,
                second,
                axis,
            } => {
                let k = axis.index();
                displacements
                    .iter()
                    .map(|v| {
                        // Lexicographic sign along axis, next axis, the one after: every
                        // atom but the centre has its inversion image in the other half.
                        let s = [v[k], v[(k + 1) % 3], v[(k + 2) % 3]]
                            .into_iter()
                            .find(|c| c.abs() > 1e-9)
                            .unwrap_or(-1.0);
                        if s > 0.0 { *second } else { *first }
                    })
                    .collect()
            }
        };
        Ok(Particle {
            shape,
            diameter_nm,
            keys,
            displacements,
            depth_a,
            species,
        })
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if the particle has no atoms.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Largest distance of an atom from the centre, Å.
    pub fn radius_a(&self) -> f64 {
        self.displacements
            .iter()
            .map(|&v| norm(v))
            .fold(0.0, f64::max)
    }

    /// Writes the particle as extended XYZ (non-periodic; positions in Å with the centre at
    /// the middle of an open box with 5 Å of vacuum around the atoms), readable by ASE and OVITO.
    pub fn write_xyz(&self, path: &Path, names: &[String], lattice_constant_a: f64) -> Result<()> {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for v in &self.displacements {
            for k in 0..3 {
                lo[k] = lo[k].min(v[k]);
                hi[k] = hi[k].max(v[k]);
            }
        }
        let vac = 5.0;
        let len: Vec<f64> = (0..3).map(|k| hi[k] - lo[k] + 2.0 * vac).collect();
        use crate::io::frame::{Column, Format, Frame, Real};
        let frame = Frame {
            lengths: [len[0], len[1], len[2]],
            names: names.to_vec(),
            types: self
                .species
                .iter()
                .map(|&s| u32::from(s).wrapping_sub(1))
                .collect(),
            positions: self
                .displacements
                .iter()
                .map(|v| [v[0] - lo[0] + vac, v[1] - lo[1] + vac, v[2] - lo[2] + vac])
                .collect(),
            columns: vec![Column::real("depth", self.depth_a.clone(), Real::Fixed(4))],
            info: vec![
                ("shape".into(), format!("{:?}", self.shape)),
                ("diameter_nm".into(), self.diameter_nm.to_string()),
                ("lattice_constant_a".into(), lattice_constant_a.to_string()),
            ],
            format: Format {
                positions: Real::Fixed(6),
                ..Format::default()
            },
            ..Frame::default()
        };
        crate::io::xyz::write_file(path, &frame)
    }
}

/// A particle to build on its own (the `kmc particle build` command).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRequest {
    /// Shape.
    pub shape: Shape,
    /// Equal-volume diameter, nm.
    pub diameter_nm: f64,
    /// Composition (species by element symbol).
    pub composition: Composition,
    /// Lattice kind (sets which crystal direction is z).
    pub lattice: crate::lattice::LatticeKind,
    /// Lattice constant, Å; default: the Zhou et al. (2004) EAM value of the core element
    /// (for an alloy, the fraction-weighted mean, Vegard's law): the constant whose nearest
    /// neighbours sit at the element's r_e: √2 r_e on the FCC kinds (and Sc100, as before),
    /// 2 r_e/√3 on the BCC kinds, r_e on Hcp0001 (at the ideal c/a all twelve are at a).
    pub lattice_constant_a: Option<f64>,
    /// c/a of an Hcp0001 lattice (default: the ideal √(8/3)); refused on the other kinds.
    pub c_over_a: Option<f64>,
    /// Seed of a random alloy's arrangement.
    pub seed: u64,
}

/// A particle built on its own: the particle, its species names (species id k is
/// `names[k − 1]`) and the lattice constant used.
pub fn build_standalone(req: &BuildRequest) -> Result<(Particle, Vec<String>, f64)> {
    let names: Vec<String> = req
        .composition
        .species_names()
        .into_iter()
        .map(String::from)
        .collect();
    // r_e is the nearest-neighbour distance of each metal's own structure in the Zhou table.
    let from_re = match req.lattice {
        LatticeKind::Bcc100 | LatticeKind::Bcc110 => 2.0 / SQRT3,
        LatticeKind::Hcp0001 => 1.0,
        _ => std::f64::consts::SQRT_2,
    };
    let a = match req.lattice_constant_a {
        Some(a) => a,
        None => match &req.composition {
            Composition::Alloy(parts) => {
                let mut a = 0.0;
                for (n, f) in parts {
                    a += f * crate::md::zhou04::element(n)?.re * from_re;
                }
                a
            }
            _ => crate::md::zhou04::element(&names[0])?.re * from_re,
        },
    };
    let lat = Lattice::with_c_over_a(req.lattice, a, req.c_over_a, [16, 16], 8)?;
    let comp = req.composition.resolve("composition", |n, f| {
        names
            .iter()
            .position(|x| x == n)
            .map(|p| p as Species + 1)
            .ok_or_else(|| Error::field(f, format!("unknown species `{n}`")))
    })?;
    let mut rng = crate::rng::stream(req.seed, crate::rng::Stream::ParticleBuild);
    let p = Particle::build(&lat, req.shape, req.diameter_nm, &comp, &mut rng)?;
    if p.is_empty() {
        return Err(Error::field(
            "diameter_nm",
            format!("a {} nm particle holds no lattice site", req.diameter_nm),
        ));
    }
    Ok((p, names, a))
}

/// Parses a lattice kind name, case-insensitively (`fcc100`, `Fcc111`, ...).
pub fn parse_lattice_kind(name: &str) -> Result<crate::lattice::LatticeKind> {
    crate::lattice::LatticeKind::ALL
        .into_iter()
        .find(|k| format!("{k:?}").eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let known: Vec<String> = crate::lattice::LatticeKind::ALL
                .iter()
                .filter(|k| !k.is_2d())
                .map(|k| format!("{k:?}"))
                .collect();
            Error::field(
                "lattice",
                format!(
                    "unknown lattice `{name}` (expected one of {})",
                    known.join(", ")
                ),
            )
        })
}

/// Parses an axis name `x`, `y` or `z`.
pub fn parse_axis(name: &str) -> Result<Axis> {
    match name.to_ascii_lowercase().as_str() {
        "x" => Ok(Axis::X),
        "y" => Ok(Axis::Y),
        "z" => Ok(Axis::Z),
        _ => Err(Error::field(
            "axis",
            format!("expected x, y or z, got `{name}`"),
        )),
    }
}

/// Parses a shell given as `Ag:0.5nm` (or `Ag:0.5`, nm implied) into (species, thickness nm).
pub fn parse_shell(text: &str) -> Result<(String, f64)> {
    let bad = || {
        Error::field(
            "shell",
            format!("expected SPECIES:THICKNESS, e.g. Ag:0.5nm, got `{text}`"),
        )
    };
    let (name, t) = text.split_once(':').ok_or_else(bad)?;
    let t = t.trim().trim_end_matches("nm").trim();
    let t: f64 = t.parse().map_err(|_| bad())?;
    if name.trim().is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), t))
}

/// Parses `Ag:0.5,Au:0.5` into alloy parts.
pub fn parse_alloy(text: &str) -> Result<Vec<(String, f64)>> {
    text.split(',')
        .map(|part| {
            let (n, f) = part.split_once(':').ok_or_else(|| {
                Error::field(
                    "alloy",
                    format!("expected SPECIES:FRACTION,..., e.g. Ag:0.3,Au:0.7, got `{text}`"),
                )
            })?;
            let f: f64 = f.trim().parse().map_err(|_| {
                Error::field("alloy", format!("`{f}` is not a number (in `{text}`)"))
            })?;
            Ok((n.trim().to_string(), f))
        })
        .collect()
}

#[cfg(test)]
mod tests;
