//! The state MD works on: atoms, velocities, masses, a frozen mask and the box, plus the
//! neighbour-list bookkeeping that keeps a Verlet list valid while atoms move.

use super::{Configuration, Evaluation, NeighborList, Potential, SimBox};
use crate::error::{Error, Result};
use crate::rng::{KmcRng, uniform, uniform_open0};
use crate::units::{ACCEL_EV_PER_A_AMU_TO_A_PER_FS2, EV_PER_A3_TO_BAR, K_B_EV_PER_K};

/// Atoms in a box with velocities: the state of an MD run.
///
/// Units: positions Å, velocities Å/fs, masses amu. Fixed atoms keep zero velocity, never move
/// and carry no kinetic energy.
#[derive(Debug, Clone)]
pub struct System {
    /// Positions in Å. Along periodic axes they are wrapped into the box when a neighbour list
    /// is rebuilt, and may stray up to the skin outside it in between.
    pub positions: Vec<[f64; 3]>,
    /// Velocities in Å/fs (for the leapfrog scheme: half a step behind the positions).
    pub velocities: Vec<[f64; 3]>,
    /// Species index of each atom, into the potential's element list.
    pub species: Vec<u8>,
    /// Mass of each atom in amu (from the potential's per-species masses).
    pub masses: Vec<f64>,
    /// Frozen atoms.
    pub fixed: Vec<bool>,
    /// The simulation box.
    pub simbox: SimBox,
    /// True when the dynamics keeps the total momentum at zero (no friction, no random forces),
    /// so three degrees of freedom are removed from the temperature when no atom is fixed.
    /// True by default; [`crate::md::integrate::Md`] sets it from its integrator.
    pub momentum_conserved: bool,
    /// Element names indexed by species (copied from the potential, for output).
    pub elements: Vec<String>,
}

impl System {
    /// Atoms at rest; masses and element names come from `potential`.
    ///
    /// Fails if a species index has no element in the potential or the arrays differ in length.
    pub fn new(
        positions: Vec<[f64; 3]>,
        species: Vec<u8>,
        simbox: SimBox,
        potential: &dyn Potential,
    ) -> Result<Self> {
        if positions.len() != species.len() {
            return Err(Error::field(
                "species",
                format!(
                    "{} positions but {} species",
                    positions.len(),
                    species.len()
                ),
            ));
        }
        let pot_masses = potential.masses();
        let mut masses = Vec::with_capacity(species.len());
        for (i, &s) in species.iter().enumerate() {
            match pot_masses.get(s as usize) {
                Some(&m) if m > 0.0 => masses.push(m),
                Some(_) => {
                    return Err(Error::field(
                        "species",
                        format!("species {s} has a non-positive mass"),
                    ));
                }
                None => {
                    return Err(Error::field(
                        "species",
                        format!(
                            "atom {i} has species {s} but the potential has {} element(s)",
                            pot_masses.len()
                        ),
                    ));
                }
            }
        }
        if simbox.lengths.iter().any(|&l| !(l > 0.0 && l.is_finite())) {
            return Err(Error::field("box", "box lengths must be positive"));
        }
        let n = positions.len();
        Ok(System {
            positions,
            velocities: vec![[0.0; 3]; n],
            species,
            masses,
            fixed: vec![false; n],
            simbox,
            momentum_conserved: true,
            elements: potential.elements().to_vec(),
        })
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True if there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Number of atoms that are not fixed.
    pub fn n_free(&self) -> usize {
        self.fixed.iter().filter(|&&f| !f).count()
    }

    /// Degrees of freedom of the temperature: `3 N_free − 3` when the total momentum is a
    /// conserved zero (see [`System::momentum_conserved`]; only without fixed atoms), else
    /// `3 N_free`. Angular momentum of a free cluster is not removed.
    pub fn dof(&self) -> usize {
        let n_free = self.n_free();
        if self.momentum_conserved && n_free == self.len() && n_free > 1 {
            3 * n_free - 3
        } else {
            3 * n_free
        }
    }

    /// Positions, species and box, as a potential reads them.
    pub fn configuration(&self) -> Configuration<'_> {
        Configuration {
            positions: &self.positions,
            species: &self.species,
            simbox: &self.simbox,
        }
    }

    /// Kinetic energy of the free atoms in eV.
    pub fn kinetic_energy_ev(&self) -> f64 {
        let mut k = 0.0;
        for i in 0..self.len() {
            if !self.fixed[i] {
                let v = self.velocities[i];
                k += self.masses[i] * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            }
        }
        0.5 * k / ACCEL_EV_PER_A_AMU_TO_A_PER_FS2
    }

    /// Kinetic temperature `2 K / (dof k_B)` in K.
    pub fn temperature_k(&self) -> f64 {
        let dof = self.dof();
        if dof == 0 {
            return 0.0;
        }
        2.0 * self.kinetic_energy_ev() / (dof as f64 * K_B_EV_PER_K)
    }

    /// Pressure `(2 K + tr W) / (3 V)` in bar, from the virial of `eval` (which must belong to the
    /// current positions). `None` unless the box is periodic along all three axes.
    pub fn pressure_bar(&self, eval: &Evaluation) -> Option<f64> {
        if !self.simbox.periodic.iter().all(|&p| p) {
            return None;
        }
        Some(pressure_ev_a3(self.kinetic_energy_ev(), eval, &self.simbox) * EV_PER_A3_TO_BAR)
    }

    /// Total momentum of the free atoms in amu·Å/fs.
    pub fn momentum(&self) -> [f64; 3] {
        let mut p = [0.0; 3];
        for i in 0..self.len() {
            if !self.fixed[i] {
                for k in 0..3 {
                    p[k] += self.masses[i] * self.velocities[i][k];
                }
            }
        }
        p
    }

    /// Removes the centre-of-mass velocity of the free atoms.
    pub fn zero_momentum(&mut self) {
        let p = self.momentum();
        let m: f64 = (0..self.len())
            .filter(|&i| !self.fixed[i])
            .map(|i| self.masses[i])
            .sum();
        if m == 0.0 {
            return;
        }
        for i in 0..self.len() {
            if !self.fixed[i] {
                for k in 0..3 {
                    self.velocities[i][k] -= p[k] / m;
                }
            }
        }
    }

    /// Positions of the free atoms relative to their centre of mass, unwrapped across periodic
    /// axes at the widest empty slab (a cluster that straddles a periodic boundary is made
    /// whole), with their total mass; `None` if no atom is free.
    fn free_positions_about_com(&self) -> Option<(Vec<usize>, Vec<[f64; 3]>, f64)> {
        self.positions_about_com((0..self.len()).filter(|&i| !self.fixed[i]).collect())
    }

    /// As [`System::free_positions_about_com`], for the atoms `free`.
    fn positions_about_com(&self, free: Vec<usize>) -> Option<(Vec<usize>, Vec<[f64; 3]>, f64)> {
        let m: f64 = free.iter().map(|&i| self.masses[i]).sum();
        if free.is_empty() || m <= 0.0 {
            return None;
        }
        let mut x: Vec<[f64; 3]> = free.iter().map(|&i| self.positions[i]).collect();
        for k in 0..3 {
            if self.simbox.periodic[k] {
                let l = self.simbox.lengths[k];
                let (cut, _) = widest_gap(x.iter().map(|p| p[k]), l);
                for p in &mut x {
                    let w = p[k] - l * (p[k] / l).floor();
                    p[k] = if w >= cut { w - l } else { w };
                }
            }
        }
        let mut c = [0.0; 3];
        for (p, &i) in x.iter().zip(&free) {
            for k in 0..3 {
                c[k] += self.masses[i] * p[k];
            }
        }
        for p in &mut x {
            for k in 0..3 {
                p[k] -= c[k] / m;
            }
        }
        Some((free, x, m))
    }

    /// Angular momentum `L = Σ m r × v` of the free atoms about their centre of mass, in
    /// amu·Å²/fs (positions unwrapped as in [`System::remove_rigid_motion`]).
    pub fn angular_momentum(&self) -> [f64; 3] {
        let Some((free, r, _)) = self.free_positions_about_com() else {
            return [0.0; 3];
        };
        let mut l = [0.0; 3];
        for (x, &i) in r.iter().zip(&free) {
            let c = cross(*x, self.velocities[i]);
            for k in 0..3 {
                l[k] += self.masses[i] * c[k];
            }
        }
        l
    }

    /// Removes the centre-of-mass velocity and the rigid rotation of the free atoms, as LAMMPS
    /// `fix momentum 1 linear 1 1 1 angular`: `v −= P/M`, then `v −= ω × r` with `ω = I⁻¹ L`,
    /// `I` the inertia tensor and `L` the angular momentum about the centre of mass.
    ///
    /// The kinetic energy drops by exactly `|P|²/2M + ω·L/2`, the two parts reported. Along a
    /// periodic axis the atoms are unwrapped at the widest empty slab, so the rotation is that of
    /// a cluster, not of a crystal filling the box. Atoms on one line (a singular `I`) keep their
    /// rotation.
    pub fn remove_rigid_motion(&mut self) -> RigidMotion {
        let free: Vec<usize> = (0..self.len()).filter(|&i| !self.fixed[i]).collect();
        self.remove_rigid_motion_of(&free)
    }

    /// [`System::remove_rigid_motion`] for the free atoms among `atoms` alone (one body of
    /// several: it comes to rest as a whole, its atoms keep their thermal motion).
    pub fn remove_rigid_motion_of(&mut self, atoms: &[usize]) -> RigidMotion {
        let free: Vec<usize> = atoms.iter().copied().filter(|&i| !self.fixed[i]).collect();
        let Some((free, r, m)) = self.positions_about_com(free) else {
            return RigidMotion::default();
        };
        let mut p = [0.0; 3];
        for &i in &free {
            for k in 0..3 {
                p[k] += self.masses[i] * self.velocities[i][k];
            }
        }
        for &i in &free {
            for k in 0..3 {
                self.velocities[i][k] -= p[k] / m;
            }
        }
        let mut l = [0.0; 3];
        let mut inertia = [[0.0; 3]; 3];
        for (x, &i) in r.iter().zip(&free) {
            let mi = self.masses[i];
            let c = cross(*x, self.velocities[i]);
            let x2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
            for a in 0..3 {
                l[a] += mi * c[a];
                for b in 0..3 {
                    let delta = if a == b { x2 } else { 0.0 };
                    inertia[a][b] += mi * (delta - x[a] * x[b]);
                }
            }
        }
        let omega = solve3(inertia, l).unwrap_or([0.0; 3]);
        for (x, &i) in r.iter().zip(&free) {
            let w = cross(omega, *x);
            for k in 0..3 {
                self.velocities[i][k] -= w[k];
            }
        }
        let p2 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
        let wl = omega[0] * l[0] + omega[1] * l[1] + omega[2] * l[2];
        RigidMotion {
            momentum: p,
            angular_momentum: l,
            translational_energy_ev: 0.5 * p2 / m / ACCEL_EV_PER_A_AMU_TO_A_PER_FS2,
            rotational_energy_ev: 0.5 * wl / ACCEL_EV_PER_A_AMU_TO_A_PER_FS2,
        }
    }

    /// Scales the free atoms' velocities so that [`System::temperature_k`] is `temperature_k`
    /// (no change if the system is at rest).
    pub fn scale_to_temperature(&mut self, temperature_k: f64) {
        let t = self.temperature_k();
        if t > 0.0 {
            let s = (temperature_k.max(0.0) / t).sqrt();
            for v in &mut self.velocities {
                for c in v.iter_mut() {
                    *c *= s;
                }
            }
        }
    }

    /// Maxwell–Boltzmann velocities at `temperature_k`: Gaussian components of variance
    /// `k_B T / m`, zero total momentum, then rescaled so that [`System::temperature_k`] equals
    /// the target exactly (with the degrees of freedom of the current `momentum_conserved`).
    /// Fixed atoms get zero velocity.
    pub fn init_velocities(&mut self, temperature_k: f64, rng: &mut KmcRng) {
        let kt = K_B_EV_PER_K * temperature_k.max(0.0);
        for i in 0..self.len() {
            if self.fixed[i] {
                self.velocities[i] = [0.0; 3];
                continue;
            }
            let sigma = (kt / self.masses[i] * ACCEL_EV_PER_A_AMU_TO_A_PER_FS2).sqrt();
            let (a, b) = normal_pair(rng);
            let (c, _) = normal_pair(rng);
            self.velocities[i] = [sigma * a, sigma * b, sigma * c];
        }
        self.zero_momentum();
        let t = self.temperature_k();
        let scale = if t > 0.0 {
            (temperature_k.max(0.0) / t).sqrt()
        } else {
            0.0
        };
        for v in &mut self.velocities {
            for c in v.iter_mut() {
                *c *= scale;
            }
        }
    }

    /// Removes atom `i` (e.g. to make a vacancy); the order of the others is kept.
    pub fn remove_atom(&mut self, i: usize) {
        self.positions.remove(i);
        self.velocities.remove(i);
        self.species.remove(i);
        self.masses.remove(i);
        self.fixed.remove(i);
    }
}

/// What [`System::remove_rigid_motion`] took out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RigidMotion {
    /// Total momentum removed, amu·Å/fs.
    pub momentum: [f64; 3],
    /// Angular momentum about the centre of mass removed, amu·Å²/fs.
    pub angular_momentum: [f64; 3],
    /// Kinetic energy of the centre-of-mass motion, `|P|²/2M`, eV.
    pub translational_energy_ev: f64,
    /// Kinetic energy of the rigid rotation, `ω·L/2`, eV.
    pub rotational_energy_ev: f64,
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `m⁻¹ b` by Cramer's rule; `None` when `m` is singular to round-off (relative to its scale).
fn solve3(m: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    let scale = (m[0][0].abs() + m[1][1].abs() + m[2][2].abs()) / 3.0;
    // NaN entries fail the comparison and count as singular too.
    if d.abs().partial_cmp(&(1e-12 * scale * scale * scale)) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let mut x = [0.0; 3];
    for (c, xc) in x.iter_mut().enumerate() {
        let mut mc = m;
        for r in 0..3 {
            mc[r][c] = b[r];
        }
        *xc = det(&mc) / d;
    }
    Some(x)
}

/// The widest empty interval of the coordinates `xs` on a circle of length `l`: the
/// coordinate that ends it (atoms at or above it belong below zero) and its width.
pub(crate) fn widest_gap(xs: impl Iterator<Item = f64>, l: f64) -> (f64, f64) {
    let mut w: Vec<f64> = xs.map(|x| x - l * (x / l).floor()).collect();
    if w.is_empty() {
        return (l, l);
    }
    w.sort_by(f64::total_cmp);
    // The wrap-around interval first: with no wider one, nothing is shifted.
    let mut best = (l, w[0] + l - w[w.len() - 1]);
    for pair in w.windows(2) {
        if pair[1] - pair[0] > best.1 {
            best = (pair[1], pair[1] - pair[0]);
        }
    }
    best
}

/// `(2 K + tr W) / (3 V)` in eV/Å³.
pub(crate) fn pressure_ev_a3(kinetic_ev: f64, eval: &Evaluation, simbox: &SimBox) -> f64 {
    (2.0 * kinetic_ev + eval.virial[0] + eval.virial[1] + eval.virial[2]) / (3.0 * simbox.volume())
}

/// Two independent standard normal numbers (Box–Muller).
pub fn normal_pair(rng: &mut KmcRng) -> (f64, f64) {
    let r = (-2.0 * uniform_open0(rng).ln()).sqrt();
    let phi = std::f64::consts::TAU * uniform(rng);
    (r * phi.cos(), r * phi.sin())
}

/// Builds a neighbour list (cell lists; see [`NeighborList::build`]). The one place MD code
/// makes lists.
pub fn build_neighbor_list(
    positions: &[[f64; 3]],
    simbox: &SimBox,
    cutoff: f64,
    skin: f64,
    half: bool,
) -> NeighborList {
    NeighborList::build(positions, simbox, cutoff, skin, half)
}

/// A Verlet list with skin and the reference state it was built from, so its validity can be
/// checked as atoms move and the box changes.
///
/// The list is valid while `s_min (r_c + skin) − 2 d_max ≥ r_c`, with `s_min` the smallest
/// ratio of current to reference box length and `d_max` the largest displacement of an atom from
/// its reference position mapped affinely into the current box: a pair left out of the list was
/// at least `r_c + skin` apart, so it is still at least `r_c` apart.
#[derive(Debug, Clone)]
pub struct VerletList {
    /// The list itself.
    pub list: NeighborList,
    half: bool,
    skin: f64,
    ref_positions: Vec<[f64; 3]>,
    ref_box: SimBox,
    builds: u64,
}

impl VerletList {
    /// An empty list (built on first use) of the given kind.
    pub fn new(skin_a: f64, half: bool) -> Self {
        VerletList {
            list: NeighborList::default(),
            half,
            skin: skin_a.max(0.0),
            ref_positions: Vec::new(),
            ref_box: SimBox::open([1.0; 3]),
            builds: 0,
        }
    }

    /// Skin in Å.
    pub fn skin(&self) -> f64 {
        self.skin
    }

    /// How many times the list has been built.
    pub fn builds(&self) -> u64 {
        self.builds
    }

    /// Per-axis ratio of the current box to the reference box.
    fn scale(&self, simbox: &SimBox) -> [f64; 3] {
        [
            simbox.lengths[0] / self.ref_box.lengths[0],
            simbox.lengths[1] / self.ref_box.lengths[1],
            simbox.lengths[2] / self.ref_box.lengths[2],
        ]
    }

    /// Displacement of atom `i` at `x` from its reference position (mapped into `simbox`).
    #[inline]
    pub fn displacement_of(&self, i: usize, x: [f64; 3], simbox: &SimBox) -> f64 {
        let s = self.scale(simbox);
        let r = self.ref_positions[i];
        let d = [x[0] - s[0] * r[0], x[1] - s[1] * r[1], x[2] - s[2] * r[2]];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    /// Largest displacement of any atom since the last build (infinite if never built or the
    /// atom count changed).
    pub fn max_displacement(&self, positions: &[[f64; 3]], simbox: &SimBox) -> f64 {
        if self.builds == 0 || positions.len() != self.ref_positions.len() {
            return f64::INFINITY;
        }
        let mut d_max = 0.0f64;
        for (i, &x) in positions.iter().enumerate() {
            d_max = d_max.max(self.displacement_of(i, x, simbox));
        }
        d_max
    }

    /// Whether the list is still valid for a cutoff `cutoff` when the largest displacement is
    /// `d_max` in box `simbox`.
    pub fn valid_with(&self, cutoff: f64, d_max: f64, simbox: &SimBox) -> bool {
        if self.builds == 0 || self.ref_box.periodic != simbox.periodic {
            return false;
        }
        let s = self.scale(simbox);
        let s_min = s[0].min(s[1]).min(s[2]);
        s_min * (cutoff + self.skin) - 2.0 * d_max >= cutoff
    }

    /// Rebuilds the list, first wrapping `positions` into the box along periodic axes.
    pub fn rebuild(&mut self, positions: &mut [[f64; 3]], simbox: &SimBox, cutoff: f64) {
        for x in positions.iter_mut() {
            *x = simbox.wrap(*x);
        }
        self.list = build_neighbor_list(positions, simbox, cutoff, self.skin, self.half);
        self.ref_positions.clear();
        self.ref_positions.extend_from_slice(positions);
        self.ref_box = *simbox;
        self.builds += 1;
    }

    /// Rebuilds the list if it is no longer valid; returns true if it did.
    pub fn ensure(&mut self, positions: &mut [[f64; 3]], simbox: &SimBox, cutoff: f64) -> bool {
        let d_max = self.max_displacement(positions, simbox);
        if self.valid_with(cutoff, d_max, simbox) {
            return false;
        }
        self.rebuild(positions, simbox, cutoff);
        true
    }
}

/// A potential with its half Verlet list: computes forces of a [`System`], rebuilding the list
/// when atoms have moved too far.
pub struct ForceField<'p> {
    potential: &'p dyn Potential,
    verlet: VerletList,
    eval: Evaluation,
    evaluations: u64,
}

impl<'p> ForceField<'p> {
    /// `skin_a` is the Verlet skin in Å (LAMMPS's default for metal units is 2 Å; 1 Å suits
    /// solids).
    pub fn new(potential: &'p dyn Potential, skin_a: f64) -> Self {
        ForceField {
            potential,
            verlet: VerletList::new(skin_a, true),
            eval: Evaluation::default(),
            evaluations: 0,
        }
    }

    /// The potential.
    pub fn potential(&self) -> &'p dyn Potential {
        self.potential
    }

    /// Energy, forces and virial of `system` (per-atom energies too if `per_atom`); may wrap
    /// positions into the box when the neighbour list is rebuilt.
    pub fn compute(&mut self, system: &mut System, per_atom: bool) -> &Evaluation {
        let cutoff = self.potential.cutoff();
        self.verlet
            .ensure(&mut system.positions, &system.simbox, cutoff);
        let conf = Configuration {
            positions: &system.positions,
            species: &system.species,
            simbox: &system.simbox,
        };
        self.potential
            .compute(&conf, &self.verlet.list, per_atom, &mut self.eval);
        self.evaluations += 1;
        &self.eval
    }

    /// The last evaluation.
    pub fn last(&self) -> &Evaluation {
        &self.eval
    }

    /// Number of neighbour-list builds so far.
    pub fn list_builds(&self) -> u64 {
        self.verlet.builds()
    }

    /// Number of force evaluations so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

/// Largest force norm `max_i |F_i|` over the free atoms, in eV/Å.
pub fn max_force_norm(forces: &[[f64; 3]], fixed: &[bool]) -> f64 {
    forces
        .iter()
        .zip(fixed)
        .filter(|(_, fx)| !**fx)
        .map(|(f, _)| (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt())
        .fold(0.0, f64::max)
}

/// 2-norm of the global force vector `sqrt(Σ_i |F_i|²)` over the free atoms, in eV/Å.
pub fn force_two_norm(forces: &[[f64; 3]], fixed: &[bool]) -> f64 {
    forces
        .iter()
        .zip(fixed)
        .filter(|(_, fx)| !**fx)
        .map(|(f, _)| f[0] * f[0] + f[1] * f[1] + f[2] * f[2])
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::md::lj::LennardJones;
    use crate::rng::{Stream, stream};

    #[test]
    fn velocities_have_exact_temperature_and_zero_momentum() {
        let lj = LennardJones::argon();
        let x: Vec<[f64; 3]> = (0..50).map(|i| [i as f64 * 4.0, 0.0, 0.0]).collect();
        let mut s = System::new(x, vec![0; 50], SimBox::open([200.0; 3]), &lj).unwrap();
        let mut rng = stream(1, Stream::Md);
        s.init_velocities(300.0, &mut rng);
        assert_eq!(s.dof(), 147);
        assert!((s.temperature_k() - 300.0).abs() < 1e-9);
        assert!(s.momentum().iter().all(|p| p.abs() < 1e-12));
        // Fixed atoms: zero velocity, not counted.
        s.fixed[0] = true;
        s.init_velocities(300.0, &mut rng);
        assert_eq!(s.dof(), 147);
        assert_eq!(s.velocities[0], [0.0; 3]);
        assert!((s.temperature_k() - 300.0).abs() < 1e-9);
        assert!(System::new(vec![[0.0; 3]], vec![1], SimBox::open([1.0; 3]), &lj).is_err());
    }

    #[test]
    fn rigid_motion_removal_is_exact() {
        // A spinning, drifting cluster of unequal masses: afterwards P and L vanish to
        // round-off and the kinetic energy has dropped by exactly |P|²/2M + L·I⁻¹L/2, both
        // computed here from the velocities before removal.
        let lj = LennardJones::argon();
        let mut rng = stream(5, Stream::Md);
        let x: Vec<[f64; 3]> = (0..40)
            .map(|_| {
                [
                    20.0 * uniform(&mut rng),
                    20.0 * uniform(&mut rng),
                    20.0 * uniform(&mut rng),
                ]
            })
            .collect();
        let mut s = System::new(x, vec![0; 40], SimBox::open([30.0; 3]), &lj).unwrap();
        for (i, m) in s.masses.iter_mut().enumerate() {
            *m *= 1.0 + (i % 3) as f64;
        }
        s.init_velocities(300.0, &mut rng);
        for (x, v) in s.positions.iter().zip(s.velocities.iter_mut()) {
            let w = cross([0.001, -0.002, 0.0015], *x);
            for k in 0..3 {
                v[k] += w[k] + [0.003, 0.0, -0.001][k];
            }
        }
        let m: f64 = s.masses.iter().sum();
        let p = s.momentum();
        let k_lin = 0.5 * (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) / m;
        let l = s.angular_momentum();
        let (_, r, _) = s.free_positions_about_com().unwrap();
        let mut inertia = [[0.0; 3]; 3];
        for (x, &mi) in r.iter().zip(&s.masses) {
            let x2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
            for a in 0..3 {
                for b in 0..3 {
                    inertia[a][b] += mi * (if a == b { x2 } else { 0.0 } - x[a] * x[b]);
                }
            }
        }
        let w = solve3(inertia, l).unwrap();
        let k_rot = 0.5 * (w[0] * l[0] + w[1] * l[1] + w[2] * l[2]);
        let to_ev = 1.0 / ACCEL_EV_PER_A_AMU_TO_A_PER_FS2;
        let k0 = s.kinetic_energy_ev();
        let removed = s.remove_rigid_motion();
        let k1 = s.kinetic_energy_ev();
        let scale_p = m * 1e-2;
        assert!(s.momentum().iter().all(|c| c.abs() < 1e-13 * scale_p));
        let scale_l = l.iter().map(|c| c.abs()).fold(0.0, f64::max);
        assert!(
            s.angular_momentum()
                .iter()
                .all(|c| c.abs() < 1e-12 * scale_l)
        );
        assert!((removed.translational_energy_ev - k_lin * to_ev).abs() < 1e-12 * k0);
        assert!((removed.rotational_energy_ev - k_rot * to_ev).abs() < 1e-12 * k0);
        let drop = k0 - k1;
        let expected = (k_lin + k_rot) * to_ev;
        assert!((drop - expected).abs() < 1e-12 * k0, "{drop} vs {expected}");
        assert!(
            k_rot * to_ev > 0.01 * k0,
            "the test spins the cluster noticeably"
        );
        // A second removal finds nothing left.
        let again = s.remove_rigid_motion();
        assert!(again.rotational_energy_ev.abs() < 1e-20 * k0.max(1.0) + 1e-24);
    }

    #[test]
    fn a_cluster_across_a_periodic_boundary_is_made_whole() {
        // Atoms at 19 and 1 in a periodic box of 20 are 2 apart across the boundary: the widest
        // empty slab lies between 1 and 19, so the cluster is [−1, 1] about its centre.
        assert_eq!(widest_gap([19.0, 1.0, 0.5].into_iter(), 20.0), (19.0, 18.0));
        let lj = LennardJones::argon();
        let x = vec![[19.0, 5.0, 5.0], [1.0, 5.0, 5.0], [0.0, 7.0, 5.0]];
        let mut s = System::new(x, vec![0; 3], SimBox::periodic([20.0; 3]), &lj).unwrap();
        s.velocities = vec![[0.0, 0.01, 0.0], [0.0, -0.01, 0.0], [0.0; 3]];
        // Spinning about z through the centre: only rotation, no drift.
        let removed = s.remove_rigid_motion();
        assert!(removed.rotational_energy_ev > 0.0);
        assert!(s.angular_momentum().iter().all(|c| c.abs() < 1e-15));
    }

    #[test]
    fn verlet_list_validity_accounts_for_box_shrinkage() {
        let lj = LennardJones::argon();
        let mut v = VerletList::new(1.0, true);
        let mut x = vec![[1.0, 1.0, 1.0], [5.0, 1.0, 1.0]];
        let b = SimBox::periodic([20.0; 3]);
        assert!(v.ensure(&mut x, &b, lj.cutoff()));
        assert!(!v.ensure(&mut x, &b, lj.cutoff()));
        // (8.5 + 1) · 0.95 − 2 · 0.3 = 8.425 < 8.5: shrinkage plus a 0.3 Å move invalidates the
        // list, either alone does not.
        let small = SimBox::periodic([19.0; 3]);
        let d = v.max_displacement(&x, &b);
        assert!(v.valid_with(lj.cutoff(), d, &small));
        assert!(!v.valid_with(lj.cutoff(), 0.3, &small));
        assert!(v.valid_with(lj.cutoff(), 0.3, &b));
    }
}
