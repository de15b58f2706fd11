//! Physical constants and unit conversions.
//!
//! Internal units: eV, Å, s for the lattice KMC; eV, Å, amu, fs for MD. Conversions happen at the
//! edges (scenario parsing, output), so the hot loops never convert.

/// Boltzmann constant in eV/K (CODATA 2018, exact since the 2019 SI redefinition).
pub const K_B_EV_PER_K: f64 = 8.617_333_262e-5;

/// One femtosecond in seconds.
pub const FS: f64 = 1e-15;

/// Femtoseconds per ASE time unit (Å·√(amu/eV)): `1 / ase.units.fs` of ASE 3.29 (its default
/// CODATA 2014 constants). ASE's extended-XYZ `momenta` are in amu·Å per this unit.
pub const FS_PER_ASE_TIME: f64 = 10.180_505_671_156_725;
/// One picosecond in seconds.
pub const PS: f64 = 1e-12;
/// One nanometre in Å.
pub const NM_IN_ANGSTROM: f64 = 10.0;

/// Atomic mass unit in kg (CODATA 2018).
pub const AMU_KG: f64 = 1.660_539_066_60e-27;
/// Electron-volt in J (exact).
pub const EV_J: f64 = 1.602_176_634e-19;

/// Conversion factor so that `F [eV/Å] / m [amu] * MVV2E_ACC = a [Å/fs²]`.
///
/// 1 eV/(Å·amu) = EV_J / (1e-10 m · AMU_KG) m/s² = 9.648533e17 m/s² = 9.648533e-3 Å/fs².
pub const ACCEL_EV_PER_A_AMU_TO_A_PER_FS2: f64 = EV_J / (1e-10 * AMU_KG) * 1e-20;

/// Kinetic energy factor: `0.5 * m [amu] * v² [Å²/fs²] * KE_AMU_A2_PER_FS2_TO_EV = E [eV]`.
pub const KE_AMU_A2_PER_FS2_TO_EV: f64 = 1.0 / ACCEL_EV_PER_A_AMU_TO_A_PER_FS2;

/// Pressure: `P [eV/Å³] * EV_PER_A3_TO_BAR = P [bar]`.
pub const EV_PER_A3_TO_BAR: f64 = EV_J / 1e-30 / 1e5;

/// Thermal energy `k_B T` in eV for a temperature in K.
#[inline]
pub fn kt_ev(temperature_k: f64) -> f64 {
    K_B_EV_PER_K * temperature_k
}

// The rate models call the helpers below instead of writing `exp` themselves; each helper keeps
// the exact expression the models used before, so rates (and trajectories) are unchanged.

/// Arrhenius rate `nu * exp(-E_a / (k_B T))` in the unit of `prefactor_hz`.
#[inline]
pub fn arrhenius(prefactor_hz: f64, barrier_ev: f64, temperature_k: f64) -> f64 {
    arrhenius_kt(prefactor_hz, barrier_ev, kt_ev(temperature_k))
}

/// Arrhenius rate `nu * exp(-E_a / kT)` for a thermal energy `kt_ev` = k_B T in eV.
#[inline]
pub fn arrhenius_kt(prefactor_hz: f64, barrier_ev: f64, kt_ev: f64) -> f64 {
    prefactor_hz * boltzmann(barrier_ev, kt_ev)
}

/// Arrhenius rate `nu * exp(-E_a * beta)` with `beta_per_ev` = 1 / kT precomputed (a hot loop
/// multiplies rather than divides; the result may differ from [`arrhenius_kt`] in the last bit).
#[inline]
pub fn arrhenius_beta(prefactor_hz: f64, barrier_ev: f64, beta_per_ev: f64) -> f64 {
    prefactor_hz * boltzmann_beta(barrier_ev, beta_per_ev)
}

/// Boltzmann factor `exp(-E / kT)`.
#[inline]
pub fn boltzmann(energy_ev: f64, kt_ev: f64) -> f64 {
    (-energy_ev / kt_ev).exp()
}

/// Boltzmann factor `exp(-E * beta)` with `beta_per_ev` = 1 / kT.
#[inline]
pub fn boltzmann_beta(energy_ev: f64, beta_per_ev: f64) -> f64 {
    (-energy_ev * beta_per_ev).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceleration_factor_matches_lammps_metal_units() {
        // LAMMPS metal units: ftm2v = 1 / 1.0364269e-4 (force*time^2/mass -> Å/ps^2 ... in ps);
        // in fs that is 1/1.0364269e-4 * 1e-6 = 9.648533e-3 Å/fs².
        let lammps = 1.0 / 1.036_426_9e-4 * 1e-6;
        assert!((ACCEL_EV_PER_A_AMU_TO_A_PER_FS2 - lammps).abs() / lammps < 1e-7);
    }

    #[test]
    fn bar_factor_matches_lammps_metal_units() {
        // LAMMPS metal units: nktv2p = 1.6021765e6 (eV/Å³ -> bar).
        assert!((EV_PER_A3_TO_BAR - 1.602_176_5e6).abs() / 1.6e6 < 1e-7);
    }

    #[test]
    fn isolated_adatom_rate_of_the_benchmark() {
        // tests/data/reference/bench_fcc100.md: exp(-0.45/0.0259) * 1e13 = 2.85e5 /s.
        let t = 0.0259 / K_B_EV_PER_K;
        let r = arrhenius(1e13, 0.45, t);
        assert!((r - 2.847e5).abs() / 2.847e5 < 1e-3, "{r}");
    }
}
