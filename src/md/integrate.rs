//! Time integration: NVE (velocity Verlet, position Verlet, leapfrog), NVT (Langevin BAOAB,
//! Nosé–Hoover chains) and isotropic NPT (stochastic cell rescaling), driven by [`Md`], which
//! keeps the neighbour list valid and the forces current.
//!
//! Units: Å, eV, amu, fs.

use super::Potential;
use super::system::{ForceField, RigidMotion, System, normal_pair, pressure_ev_a3};
use super::{Evaluation, SimBox};
use crate::error::{Error, Result};
use crate::io::validate::{at_least, finite, non_negative, positive};
use crate::rng::KmcRng;
use crate::units::{ACCEL_EV_PER_A_AMU_TO_A_PER_FS2, EV_PER_A3_TO_BAR, K_B_EV_PER_K};

/// How positions and velocities are advanced.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Integrator {
    /// Velocity Verlet (kick–drift–kick), NVE. Velocities are on-step.
    VelocityVerlet,
    /// Position Verlet (drift–kick–drift), NVE. Velocities are on-step; its half-step positions
    /// `x + dt/2 v` follow the velocity-Verlet trajectory started from
    /// `(x + dt/2 v, v + dt/2 a(x + dt/2 v))`. Costs one extra force call per reported energy.
    PositionVerlet,
    /// Leapfrog, NVE: `v(t+dt/2) = v(t−dt/2) + dt a(t)`, `x(t+dt) = x(t) + dt v(t+dt/2)`.
    /// [`System::velocities`] lag the positions by half a step (so does the kinetic energy it
    /// reports); started with `v − dt/2 a` it reproduces velocity Verlet's positions.
    Leapfrog,
    /// Langevin dynamics, NVT, BAOAB splitting (Leimkuhler & Matthews 2013):
    /// half kick, half drift, exact Ornstein–Uhlenbeck step, half drift, half kick.
    Langevin {
        /// Bath temperature.
        temperature_k: f64,
        /// Damping time `1/γ`.
        damping_fs: f64,
    },
    /// Nosé–Hoover chain, NVT, with the Martyna–Tuckerman–Klein (1996) Trotter factorisation:
    /// chain half step, velocity Verlet, chain half step.
    NoseHooverChain {
        /// Bath temperature.
        temperature_k: f64,
        /// Thermostat period τ: `Q_1 = N_f k_B T τ²`, `Q_j = k_B T τ²`.
        tau_fs: f64,
        /// Number of thermostats in the chain (3 is LAMMPS's default).
        chain_length: usize,
    },
}

impl Integrator {
    fn thermostat_temperature(&self) -> Option<f64> {
        match *self {
            Integrator::Langevin { temperature_k, .. }
            | Integrator::NoseHooverChain { temperature_k, .. } => Some(temperature_k),
            _ => None,
        }
    }

    fn validate(&self) -> Result<()> {
        match *self {
            Integrator::Langevin {
                temperature_k,
                damping_fs,
            } => {
                non_negative("temperature_k", temperature_k)?;
                positive("damping_fs", damping_fs)?;
                Ok(())
            }
            Integrator::NoseHooverChain {
                temperature_k,
                tau_fs,
                chain_length,
            } => {
                positive("temperature_k", temperature_k)?;
                positive("tau_fs", tau_fs)?;
                at_least("chain_length", chain_length, 1)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Isotropic stochastic cell rescaling barostat (Bernetti & Bussi, J. Chem. Phys. 153, 114107,
/// 2020), one Euler–Maruyama step per MD step on `ε = ln V`:
/// `dε = −(β_T/τ_p)(P_0 − P) dt + sqrt(2 k_B T β_T dt / (V τ_p)) ξ`, box and positions scaled by
/// `e^{dε/3}`, velocities by `e^{−dε/3}`.
///
/// With this Itô drift the Fokker–Planck equation has the stationary density
/// `Z(V) exp(−P_0 V / k_B T)`; `P` is the instantaneous pressure with the kinetic term.
/// At `T = 0` it reduces to Berendsen's weak coupling and drives `P` to `P_0`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CRescale {
    /// Target pressure.
    pub pressure_bar: f64,
    /// Relaxation time of the volume.
    pub tau_p_fs: f64,
    /// Isothermal compressibility guess β_T (sets only the coupling speed; Cu ≈ 7e-7 /bar).
    pub compressibility_per_bar: f64,
}

/// One line of thermodynamic output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thermo {
    /// MD step.
    pub step: u64,
    /// Simulated time.
    pub time_fs: f64,
    /// Kinetic temperature.
    pub temperature_k: f64,
    /// Potential energy.
    pub potential_energy_ev: f64,
    /// Kinetic energy.
    pub kinetic_energy_ev: f64,
    /// Potential plus kinetic energy.
    pub total_energy_ev: f64,
    /// Pressure (only for a fully periodic box).
    pub pressure_bar: Option<f64>,
    /// Box volume.
    pub volume_a3: f64,
}

#[derive(Debug, Clone)]
struct ChainState {
    xi: Vec<f64>,
    v_xi: Vec<f64>,
}

/// An MD run: a [`System`], a potential with its Verlet list, an integrator and optionally a
/// barostat.
pub struct Md<'p> {
    system: System,
    field: ForceField<'p>,
    integrator: Integrator,
    barostat: Option<CRescale>,
    dt: f64,
    chain: ChainState,
    forces_current: bool,
    step: u64,
    time_fs: f64,
}

impl<'p> Md<'p> {
    /// A driver for `system` under `potential`, with time step `timestep_fs` and Verlet skin
    /// `skin_a` (Å). Sets [`System::momentum_conserved`] from the integrator (false for Langevin).
    pub fn new(
        mut system: System,
        potential: &'p dyn Potential,
        integrator: Integrator,
        timestep_fs: f64,
        skin_a: f64,
    ) -> Result<Self> {
        positive("timestep_fs", timestep_fs)?;
        non_negative("skin_a", skin_a)?;
        integrator.validate()?;
        system.momentum_conserved = !matches!(integrator, Integrator::Langevin { .. });
        let chain_length = match integrator {
            Integrator::NoseHooverChain { chain_length, .. } => chain_length,
            _ => 0,
        };
        for i in 0..system.len() {
            if system.fixed[i] {
                system.velocities[i] = [0.0; 3];
            }
        }
        Ok(Md {
            system,
            field: ForceField::new(potential, skin_a),
            integrator,
            barostat: None,
            dt: timestep_fs,
            chain: ChainState {
                xi: vec![0.0; chain_length],
                v_xi: vec![0.0; chain_length],
            },
            forces_current: false,
            step: 0,
            time_fs: 0.0,
        })
    }

    /// Adds an isotropic barostat (NPT). Needs a thermostat (Langevin or Nosé–Hoover chain), a
    /// box periodic along all axes and no fixed atoms (they would have to move with the box).
    pub fn with_barostat(mut self, barostat: CRescale) -> Result<Self> {
        if self.integrator.thermostat_temperature().is_none() {
            return Err(Error::field(
                "ensemble",
                "a barostat needs a thermostat (Langevin or NoseHooverChain)",
            ));
        }
        if !self.system.simbox.periodic.iter().all(|&p| p) {
            return Err(Error::field(
                "ensemble",
                "a barostat needs a box periodic along x, y and z",
            ));
        }
        if self.system.fixed.iter().any(|&f| f) {
            return Err(Error::field(
                "ensemble",
                "a barostat cannot be used with fixed atoms",
            ));
        }
        positive("tau_p_fs", barostat.tau_p_fs)?;
        positive("compressibility_per_bar", barostat.compressibility_per_bar)?;
        finite("pressure_bar", barostat.pressure_bar)?;
        self.barostat = Some(barostat);
        Ok(self)
    }

    /// The system.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The system, for changes made outside the integrator (Monte Carlo moves, velocity
    /// initialisation); forces are recomputed before the next step.
    pub fn system_mut(&mut self) -> &mut System {
        self.forces_current = false;
        &mut self.system
    }

    /// Removes the centre-of-mass velocity and rigid rotation (see
    /// [`System::remove_rigid_motion`]); positions do not change, so the forces stay current.
    pub fn remove_rigid_motion(&mut self) -> RigidMotion {
        self.system.remove_rigid_motion()
    }

    /// Ends the run and hands the system back.
    pub fn into_system(self) -> System {
        self.system
    }

    /// The potential.
    pub fn potential(&self) -> &'p dyn Potential {
        self.field.potential()
    }

    /// The integrator.
    pub fn integrator(&self) -> &Integrator {
        &self.integrator
    }

    /// Time step in fs.
    pub fn timestep_fs(&self) -> f64 {
        self.dt
    }

    /// Steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Simulated time in fs.
    pub fn time_fs(&self) -> f64 {
        self.time_fs
    }

    /// Number of neighbour-list builds so far.
    pub fn list_builds(&self) -> u64 {
        self.field.list_builds()
    }

    /// Number of force evaluations so far.
    pub fn force_evaluations(&self) -> u64 {
        self.field.evaluations()
    }

    /// Maxwell–Boltzmann velocities at `temperature_k` with zero momentum, rescaled to the exact
    /// temperature with this integrator's degrees of freedom.
    pub fn init_velocities(&mut self, temperature_k: f64, rng: &mut KmcRng) {
        self.system.init_velocities(temperature_k, rng);
    }

    /// Energy, forces and virial at the current positions (recomputed only if stale).
    pub fn evaluation(&mut self) -> &Evaluation {
        if !self.forces_current {
            self.field.compute(&mut self.system, false);
            self.forces_current = true;
        }
        self.field.last()
    }

    /// Per-atom energies at the current positions (one extra force call).
    pub fn per_atom_energies(&mut self) -> Vec<f64> {
        self.field.compute(&mut self.system, true);
        self.forces_current = true;
        self.field.last().per_atom.clone()
    }

    /// Thermodynamic state at the current step.
    pub fn thermo(&mut self) -> Thermo {
        let e_pot = self.evaluation().energy;
        let eval = self.field.last();
        let k = self.system.kinetic_energy_ev();
        Thermo {
            step: self.step,
            time_fs: self.time_fs,
            temperature_k: self.system.temperature_k(),
            potential_energy_ev: e_pot,
            kinetic_energy_ev: k,
            total_energy_ev: e_pot + k,
            pressure_bar: self.system.pressure_bar(eval),
            volume_a3: self.system.simbox.volume(),
        }
    }

    /// Energy stored in the Nosé–Hoover chain, `Σ Q_j v_j²/2 + N_f k_B T ξ_1 + k_B T Σ_{j>1} ξ_j`
    /// (zero for other integrators); `E_pot + E_kin` plus this is conserved by NVT with chains.
    pub fn thermostat_energy_ev(&self) -> f64 {
        let Integrator::NoseHooverChain {
            temperature_k,
            tau_fs,
            ..
        } = self.integrator
        else {
            return 0.0;
        };
        let kt = K_B_EV_PER_K * temperature_k;
        let dof = self.system.dof() as f64;
        let mut e = 0.0;
        for j in 0..self.chain.xi.len() {
            let q = chain_mass(j, dof, kt, tau_fs);
            e += 0.5 * q * self.chain.v_xi[j] * self.chain.v_xi[j];
            e += if j == 0 { dof * kt } else { kt } * self.chain.xi[j];
        }
        e
    }

    /// Advances `n` steps.
    pub fn run(&mut self, n: u64, rng: &mut KmcRng) {
        for _ in 0..n {
            self.step(rng);
        }
    }

    /// Advances one time step.
    pub fn step(&mut self, rng: &mut KmcRng) {
        let dt = self.dt;
        if !matches!(self.integrator, Integrator::PositionVerlet) {
            self.evaluation();
        }
        // Pressure at the start of the step drives the barostat (first-order coupling).
        let p_int = self.barostat.map(|_| {
            pressure_ev_a3(
                self.system.kinetic_energy_ev(),
                self.field.last(),
                &self.system.simbox,
            )
        });
        match self.integrator.clone() {
            Integrator::VelocityVerlet => {
                self.kick(0.5 * dt);
                drift(&mut self.system, dt);
                self.forces_now();
                self.kick(0.5 * dt);
            }
            Integrator::Leapfrog => {
                self.kick(dt);
                drift(&mut self.system, dt);
                self.forces_now();
            }
            Integrator::PositionVerlet => {
                drift(&mut self.system, 0.5 * dt);
                self.forces_now();
                self.kick(dt);
                drift(&mut self.system, 0.5 * dt);
                self.forces_current = false;
            }
            Integrator::Langevin {
                temperature_k,
                damping_fs,
            } => {
                self.kick(0.5 * dt);
                drift(&mut self.system, 0.5 * dt);
                ornstein_uhlenbeck(&mut self.system, temperature_k, dt / damping_fs, rng);
                drift(&mut self.system, 0.5 * dt);
                if let Some(p) = p_int {
                    self.rescale_cell(p, temperature_k, rng);
                }
                self.forces_now();
                self.kick(0.5 * dt);
            }
            Integrator::NoseHooverChain {
                temperature_k,
                tau_fs,
                ..
            } => {
                self.chain_half_step(temperature_k, tau_fs);
                self.kick(0.5 * dt);
                drift(&mut self.system, dt);
                if let Some(p) = p_int {
                    self.rescale_cell(p, temperature_k, rng);
                }
                self.forces_now();
                self.kick(0.5 * dt);
                self.chain_half_step(temperature_k, tau_fs);
            }
        }
        self.step += 1;
        self.time_fs += dt;
    }

    fn forces_now(&mut self) {
        self.field.compute(&mut self.system, false);
        self.forces_current = true;
    }

    /// `v += h F / m` for the free atoms.
    fn kick(&mut self, h: f64) {
        let forces = &self.field.last().forces;
        let s = &mut self.system;
        for i in 0..s.positions.len() {
            if s.fixed[i] {
                continue;
            }
            let c = h * ACCEL_EV_PER_A_AMU_TO_A_PER_FS2 / s.masses[i];
            for k in 0..3 {
                s.velocities[i][k] += c * forces[i][k];
            }
        }
    }

    /// Martyna–Tuckerman–Klein update of the chain and the particle velocities over half a
    /// step (Frenkel & Smit's NHC routine generalised to M thermostats).
    fn chain_half_step(&mut self, temperature_k: f64, tau_fs: f64) {
        let m = self.chain.xi.len();
        let kt = K_B_EV_PER_K * temperature_k;
        let dof = self.system.dof() as f64;
        if dof == 0.0 || kt <= 0.0 {
            return; // nothing to thermostat (all atoms fixed)
        }
        // Coefficients for a half step of the chain: kicks dt/4, inner scalings dt/8, particle
        // scaling and ξ drift dt/2.
        let w = self.dt;
        let q: Vec<f64> = (0..m).map(|j| chain_mass(j, dof, kt, tau_fs)).collect();
        let mut k2 = 2.0 * self.system.kinetic_energy_ev();
        let v = &mut self.chain.v_xi;
        let force = |j: usize, v: &[f64], k2: f64| -> f64 {
            if j == 0 {
                (k2 - dof * kt) / q[0]
            } else {
                (q[j - 1] * v[j - 1] * v[j - 1] - kt) / q[j]
            }
        };
        // Inward sweep: last thermostat first.
        let g = force(m - 1, v, k2);
        v[m - 1] += 0.25 * w * g;
        for j in (0..m - 1).rev() {
            let a = (-0.125 * w * v[j + 1]).exp();
            v[j] *= a;
            let g = force(j, v, k2);
            v[j] += 0.25 * w * g;
            v[j] *= a;
        }
        let scale = (-0.5 * w * v[0]).exp();
        k2 *= scale * scale;
        for j in 0..m {
            self.chain.xi[j] += 0.5 * w * v[j];
        }
        // Outward sweep.
        for j in 0..m - 1 {
            let a = (-0.125 * w * v[j + 1]).exp();
            v[j] *= a;
            let g = force(j, v, k2);
            v[j] += 0.25 * w * g;
            v[j] *= a;
        }
        let g = force(m - 1, v, k2);
        v[m - 1] += 0.25 * w * g;
        for (vel, &fx) in self.system.velocities.iter_mut().zip(&self.system.fixed) {
            if !fx {
                for c in vel.iter_mut() {
                    *c *= scale;
                }
            }
        }
    }

    /// One stochastic cell rescaling step (see [`CRescale`]).
    fn rescale_cell(&mut self, p_int_ev_a3: f64, temperature_k: f64, rng: &mut KmcRng) {
        let Some(baro) = self.barostat else { return };
        let volume = self.system.simbox.volume();
        let beta = baro.compressibility_per_bar * EV_PER_A3_TO_BAR; // Å³/eV
        let p0 = baro.pressure_bar / EV_PER_A3_TO_BAR;
        let kt = K_B_EV_PER_K * temperature_k;
        let drift_term = -beta / baro.tau_p_fs * (p0 - p_int_ev_a3) * self.dt;
        let noise = (2.0 * kt * beta * self.dt / (volume * baro.tau_p_fs)).sqrt();
        let d_eps = drift_term + noise * normal_pair(rng).0;
        let mu = (d_eps / 3.0).exp();
        scale_system(&mut self.system, mu);
    }
}

/// Mass of thermostat `j` of a chain.
fn chain_mass(j: usize, dof: f64, kt: f64, tau_fs: f64) -> f64 {
    let base = kt * tau_fs * tau_fs;
    if j == 0 { dof * base } else { base }
}

/// `x += h v` for the free atoms.
fn drift(s: &mut System, h: f64) {
    for i in 0..s.positions.len() {
        if s.fixed[i] {
            continue;
        }
        for k in 0..3 {
            s.positions[i][k] += h * s.velocities[i][k];
        }
    }
}

/// Exact Ornstein–Uhlenbeck step over `gamma_dt = γ dt`: `v ← c v + sqrt((1 − c²) k_B T / m) ξ`
/// with `c = e^{−γ dt}`.
fn ornstein_uhlenbeck(s: &mut System, temperature_k: f64, gamma_dt: f64, rng: &mut KmcRng) {
    let c1 = (-gamma_dt).exp();
    let c2 = (1.0 - c1 * c1).sqrt();
    let kt = K_B_EV_PER_K * temperature_k;
    for i in 0..s.positions.len() {
        if s.fixed[i] {
            continue;
        }
        let sigma = c2 * (kt * ACCEL_EV_PER_A_AMU_TO_A_PER_FS2 / s.masses[i]).sqrt();
        let (a, b) = normal_pair(rng);
        let (c, _) = normal_pair(rng);
        let v = &mut s.velocities[i];
        v[0] = c1 * v[0] + sigma * a;
        v[1] = c1 * v[1] + sigma * b;
        v[2] = c1 * v[2] + sigma * c;
    }
}

/// Scales box and positions by `mu`, velocities by `1/mu`.
fn scale_system(s: &mut System, mu: f64) {
    let b = s.simbox;
    s.simbox = SimBox {
        lengths: [b.lengths[0] * mu, b.lengths[1] * mu, b.lengths[2] * mu],
        periodic: b.periodic,
    };
    for x in &mut s.positions {
        for c in x.iter_mut() {
            *c *= mu;
        }
    }
    for v in &mut s.velocities {
        for c in v.iter_mut() {
            *c /= mu;
        }
    }
}
