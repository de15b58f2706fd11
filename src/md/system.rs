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
