//! Metropolis Monte Carlo on an MD system: species swaps and small displacements, each accepted
//! with `min(1, exp(−ΔE / k_B T))`, and the MD/MC alternation of hybrid schemes (Sadigh et al.,
//! Phys. Rev. B 85, 184203, 2012).
//!
//! `ΔE` is computed locally: a move changes only the per-atom energies of the moved atoms and of
//! their neighbours within the cutoff, so `ΔE = Σ_{k∈A} (e_k' − e_k)` over that set `A`, from
//! [`Potential::site_energies`] on a full Verlet list. Atoms in `A` whose inputs did not change
//! contribute exactly zero (the same floating-point operations on the same numbers).

use super::Potential;
use super::integrate::Md;
use super::system::{System, VerletList};
use crate::error::{Error, Result};
use crate::io::validate::{fraction, non_negative};
use crate::rng::{KmcRng, uniform};
use crate::units::K_B_EV_PER_K;
use crate::vec3::{add, norm};

/// Monte Carlo move set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McOptions {
    /// Temperature of the Metropolis criterion.
    pub temperature_k: f64,
    /// Probability that an attempt is a species swap (else a displacement).
    pub swap_fraction: f64,
    /// Displacements are uniform in the cube `[−d, d]³`; `d` must not exceed half the skin.
    pub max_displacement_a: f64,
}

/// Move counts of a Monte Carlo run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct McStats {
    /// Swap moves attempted.
    pub swaps_attempted: u64,
    /// Swap moves accepted.
    pub swaps_accepted: u64,
    /// Displacement moves attempted.
    pub displacements_attempted: u64,
    /// Displacement moves accepted.
    pub displacements_accepted: u64,
    /// Swap moves skipped because no free atom of another species existed.
    pub swaps_impossible: u64,
}

impl McStats {
    /// Accepted fraction of swaps (`None` if none attempted).
    pub fn swap_acceptance(&self) -> Option<f64> {
        ratio(self.swaps_accepted, self.swaps_attempted)
    }

    /// Accepted fraction of displacements (`None` if none attempted).
    pub fn displacement_acceptance(&self) -> Option<f64> {
        ratio(self.displacements_accepted, self.displacements_attempted)
    }

    /// Adds another run's counts.
    pub fn add(&mut self, o: &McStats) {
        self.swaps_attempted += o.swaps_attempted;
        self.swaps_accepted += o.swaps_accepted;
        self.displacements_attempted += o.displacements_attempted;
        self.displacements_accepted += o.displacements_accepted;
        self.swaps_impossible += o.swaps_impossible;
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Metropolis Monte Carlo with a full Verlet list kept valid across moves.
pub struct MonteCarlo<'p> {
    potential: &'p dyn Potential,
    options: McOptions,
    verlet: VerletList,
    d_max: f64,
    stamp: Vec<u32>,
    generation: u32,
    affected: Vec<u32>,
    energies: Vec<f64>,
    free: Vec<u32>,
    members: Vec<Vec<u32>>,
    slot: Vec<u32>,
}

impl<'p> MonteCarlo<'p> {
    /// A Monte Carlo engine; `skin_a` is the skin of its full Verlet list.
    pub fn new(potential: &'p dyn Potential, options: McOptions, skin_a: f64) -> Result<Self> {
        non_negative("temperature_k", options.temperature_k)?;
        fraction("swap_fraction", options.swap_fraction)?;
        if !(options.max_displacement_a >= 0.0 && options.max_displacement_a <= 0.5 * skin_a) {
            return Err(Error::field(
                "max_displacement_a",
                format!(
                    "must be in [0, skin/2 = {}] so one rebuild keeps the neighbour list valid",
                    0.5 * skin_a
                ),
            ));
        }
        Ok(MonteCarlo {
            potential,
            options,
            verlet: VerletList::new(skin_a, false),
            d_max: f64::INFINITY,
            stamp: Vec::new(),
            generation: 0,
            affected: Vec::new(),
            energies: Vec::new(),
            free: Vec::new(),
            members: Vec::new(),
            slot: Vec::new(),
        })
    }

    /// The move set.
    pub fn options(&self) -> &McOptions {
        &self.options
    }

    /// Number of neighbour-list builds so far.
    pub fn list_builds(&self) -> u64 {
        self.verlet.builds()
    }

    /// Brings the list up to date with `system` (call after anything else moved the atoms).
    fn sync(&mut self, system: &mut System) {
        let cutoff = self.potential.cutoff();
        let d = self
            .verlet
            .max_displacement(&system.positions, &system.simbox);
        if self.verlet.valid_with(cutoff, d, &system.simbox) {
            self.d_max = d;
        } else {
            self.verlet
                .rebuild(&mut system.positions, &system.simbox, cutoff);
            self.d_max = 0.0;
        }
        if self.stamp.len() != system.len() {
            self.stamp = vec![0; system.len()];
            self.generation = 0;
        }
    }

    fn index_species(&mut self, system: &System) {
        let n_species = system.elements.len().max(1);
        self.members = vec![Vec::new(); n_species];
        self.slot = vec![0; system.len()];
        self.free.clear();
        for i in 0..system.len() {
            if system.fixed[i] {
                continue;
            }
            self.free.push(i as u32);
            let s = system.species[i] as usize;
            if s >= self.members.len() {
                self.members.resize(s + 1, Vec::new());
            }
            self.slot[i] = self.members[s].len() as u32;
            self.members[s].push(i as u32);
        }
    }

    /// Collects `centres` and their list neighbours, each once, into `self.affected`.
    fn collect(&mut self, centres: &[usize]) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.affected.clear();
        for &c in centres {
            if self.stamp[c] != self.generation {
                self.stamp[c] = self.generation;
                self.affected.push(c as u32);
            }
            for e in self.verlet.list.of(c) {
                let j = e.j as usize;
                if self.stamp[j] != self.generation {
                    self.stamp[j] = self.generation;
                    self.affected.push(e.j);
                }
            }
        }
        self.energies.resize(self.affected.len(), 0.0);
    }

    fn local_energy(&mut self, system: &System) -> f64 {
        self.potential.site_energies(
            &system.configuration(),
            &self.verlet.list,
            &self.affected,
            &mut self.energies,
        );
        self.energies.iter().sum()
    }

    fn exchange(system: &mut System, masses: &[f64], i: usize, j: usize) {
        system.species.swap(i, j);
        for a in [i, j] {
            // Keep each atom's kinetic energy: v' = v sqrt(m / m').
            let m_new = masses[system.species[a] as usize];
            let f = (system.masses[a] / m_new).sqrt();
            for c in system.velocities[a].iter_mut() {
                *c *= f;
            }
            system.masses[a] = m_new;
        }
    }

    /// Energy change of exchanging the species of atoms `i` and `j`, computed locally; the
    /// system is left as it was.
    pub fn swap_delta_e(&mut self, system: &mut System, i: usize, j: usize) -> f64 {
        self.sync(system);
        let masses = self.potential.masses();
        self.collect(&[i, j]);
        let before = self.local_energy(system);
        Self::exchange(system, masses, i, j);
        let after = self.local_energy(system);
        Self::exchange(system, masses, i, j);
        after - before
    }

    /// Energy change of moving atom `i` by `delta` (|delta| ≤ skin/2), computed locally; the
    /// system is left as it was (apart from wrapping if the list had to be rebuilt).
    pub fn displacement_delta_e(
        &mut self,
        system: &mut System,
        i: usize,
        delta: [f64; 3],
    ) -> Result<f64> {
        if norm(delta) > 0.5 * self.verlet.skin() {
            return Err(Error::field(
                "delta",
                "a displacement longer than skin/2 cannot be evaluated on the list",
            ));
        }
        self.sync(system);
        let (de, prev, _) = self.trial_displacement(system, i, delta);
        system.positions[i] = prev;
        Ok(de)
    }

    /// Moves atom `i` by `delta`; rebuilds the list first if the move would take it out of
    /// validity. Returns `ΔE`, the position before the move (wrapped if the list was rebuilt)
    /// and the atom's new displacement from its list reference.
    fn trial_displacement(
        &mut self,
        system: &mut System,
        i: usize,
        delta: [f64; 3],
    ) -> (f64, [f64; 3], f64) {
        let cutoff = self.potential.cutoff();
        let mut new = add(system.positions[i], delta);
        let mut d_new = self.verlet.displacement_of(i, new, &system.simbox);
        if !self
            .verlet
            .valid_with(cutoff, self.d_max.max(d_new), &system.simbox)
        {
            self.verlet
                .rebuild(&mut system.positions, &system.simbox, cutoff);
            self.d_max = 0.0;
            new = add(system.positions[i], delta);
            d_new = norm(delta);
        }
        self.collect(&[i]);
        let before = self.local_energy(system);
        let prev = system.positions[i];
        system.positions[i] = new;
        let after = self.local_energy(system);
        (after - before, prev, d_new)
    }

    /// `attempts` Metropolis moves on the free atoms of `system`.
    pub fn run(&mut self, system: &mut System, attempts: u64, rng: &mut KmcRng) -> McStats {
        let mut stats = McStats::default();
        self.sync(system);
        self.index_species(system);
        if self.free.is_empty() {
            return stats;
        }
        let kt = K_B_EV_PER_K * self.options.temperature_k;
        let masses = self.potential.masses();
        for _ in 0..attempts {
            let i = self.free[pick(rng, self.free.len())] as usize;
            if uniform(rng) < self.options.swap_fraction {
                let si = system.species[i] as usize;
                let n_other = self.free.len() - self.members[si].len();
                if n_other == 0 {
                    stats.swaps_impossible += 1;
                    continue;
                }
                let mut k = pick(rng, n_other);
                let mut j = usize::MAX;
                for (t, list) in self.members.iter().enumerate() {
                    if t == si {
                        continue;
                    }
                    if k < list.len() {
                        j = list[k] as usize;
                        break;
                    }
                    k -= list.len();
                }
                stats.swaps_attempted += 1;
                self.collect(&[i, j]);
                let before = self.local_energy(system);
                Self::exchange(system, masses, i, j);
                let de = self.local_energy(system) - before;
                if metropolis(de, kt, rng) {
                    stats.swaps_accepted += 1;
                    let (sj, si_new) = (system.species[i] as usize, system.species[j] as usize);
                    // i now has j's old species and vice versa.
                    let (slot_i, slot_j) = (self.slot[i], self.slot[j]);
                    self.members[si_new][slot_i as usize] = j as u32;
                    self.members[sj][slot_j as usize] = i as u32;
                    self.slot[i] = slot_j;
                    self.slot[j] = slot_i;
                } else {
                    Self::exchange(system, masses, i, j);
                }
            } else {
                let d = self.options.max_displacement_a;
                let delta = [
                    d * (2.0 * uniform(rng) - 1.0),
                    d * (2.0 * uniform(rng) - 1.0),
                    d * (2.0 * uniform(rng) - 1.0),
                ];
                stats.displacements_attempted += 1;
                let (de, prev, d_new) = self.trial_displacement(system, i, delta);
                if metropolis(de, kt, rng) {
                    stats.displacements_accepted += 1;
                    self.d_max = self.d_max.max(d_new);
                } else {
                    system.positions[i] = prev;
                }
            }
        }
        stats
    }
}

/// Metropolis acceptance of an energy change `de` at `k_B T = kt`.
fn metropolis(de: f64, kt: f64, rng: &mut KmcRng) -> bool {
    if de <= 0.0 {
        return true;
    }
    if kt <= 0.0 {
        return false;
    }
    uniform(rng) < crate::units::boltzmann(de, kt)
}

/// Uniform index in `0..n` (n > 0).
fn pick(rng: &mut KmcRng, n: usize) -> usize {
    ((uniform(rng) * n as f64) as usize).min(n - 1)
}

/// Hybrid MD/MC: `cycles` times, `md_steps` MD steps then `mc_attempts` Monte Carlo moves.
/// Returns the summed Monte Carlo counts.
pub fn hybrid(
    md: &mut Md<'_>,
    mc: &mut MonteCarlo<'_>,
    cycles: u64,
    md_steps: u64,
    mc_attempts: u64,
    rng: &mut KmcRng,
) -> McStats {
    let mut total = McStats::default();
    for _ in 0..cycles {
        md.run(md_steps, rng);
        let s = mc.run(md.system_mut(), mc_attempts, rng);
        total.add(&s);
    }
    total
}
