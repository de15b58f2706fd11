//! Dynamics, minimisation, Monte Carlo, builders and writers of the MD engine, checked on
//! argon-like Lennard-Jones systems (ε = 0.0104 eV, σ = 3.40 Å, r_c = 2.5 σ, truncated and
//! shifted).

// Per-atom, per-component loops index several parallel arrays at once, as in the library.
#![allow(clippy::needless_range_loop)]

use kmc::md::build;
use kmc::md::integrate::{CRescale, Integrator, Md};
use kmc::md::lj::LennardJones;
use kmc::md::mc::{McOptions, MonteCarlo, hybrid};
use kmc::md::minimize::{self, FireOptions, SteepestDescentOptions};
use kmc::md::system::{System, build_neighbor_list};
use kmc::md::traj::{self, Frame, THERMO_HEADER, ThermoWriter, TrajFormat, TrajectoryWriter};
use kmc::md::{Configuration, Evaluation, NeighborList, Potential, SimBox};
use kmc::rng::{KmcRng, rng_from_seed};

mod common;

const EPS: f64 = 0.0104;

/// Static energy per atom of the perfect FCC lattice with constant `a` under the truncated,
/// shifted LJ of `lj`: `½ Σ_{R≠0, |R|<r_c} [φ(|R|) − φ(r_c)]`, summed directly over lattice
/// vectors (the infinite-crystal lattice sum; a periodic box of whole cells gives the same).
fn lattice_energy(lj: &LennardJones, a: f64) -> f64 {
    let phi = |r: f64| {
        let s6 = (lj.sigma_a / r).powi(6);
        4.0 * lj.epsilon_ev * (s6 * s6 - s6)
    };
    let rc = lj.cutoff_a;
    let m = (2.0 * rc / a).ceil() as i64 + 1;
    let mut e = 0.0;
    for i in -m..=m {
        for j in -m..=m {
            for k in -m..=m {
                if (i + j + k).rem_euclid(2) != 0 || (i, j, k) == (0, 0, 0) {
                    continue;
                }
                let r = 0.5 * a * ((i * i + j * j + k * k) as f64).sqrt();
                if r < rc {
                    e += 0.5 * (phi(r) - phi(rc));
                }
            }
        }
    }
    e
}

/// Zero-pressure (static) lattice constant: the minimum of `lattice_energy` by golden section.
fn lattice_constant_0k(lj: &LennardJones) -> f64 {
    let (mut lo, mut hi) = (1.4 * lj.sigma_a, 1.7 * lj.sigma_a);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    while hi - lo > 1e-10 {
        let x1 = hi - g * (hi - lo);
        let x2 = lo + g * (hi - lo);
        if lattice_energy(lj, x1) < lattice_energy(lj, x2) {
            hi = x2;
        } else {
            lo = x1;
        }
    }
    0.5 * (lo + hi)
}

fn crystal(lj: &dyn Potential, a: f64, n: usize) -> System {
    let atoms = build::fcc_crystal(a, [n, n, n]);
    System::new(atoms.positions, atoms.species, atoms.simbox, lj).unwrap()
}

fn perturb(system: &mut System, amplitude: f64, rng: &mut KmcRng) {
    for (x, &fixed) in system.positions.iter_mut().zip(&system.fixed) {
        if !fixed {
            for c in x.iter_mut() {
                *c += amplitude * (2.0 * kmc::rng::uniform(rng) - 1.0);
            }
        }
    }
}

fn full_energy(pot: &dyn Potential, s: &System) -> f64 {
    let nl = build_neighbor_list(&s.positions, &s.simbox, pot.cutoff(), 0.0, true);
    let mut out = Evaluation::default();
    pot.compute(&s.configuration(), &nl, false, &mut out);
    out.energy
}

fn max_image_distance(b: &SimBox, x: &[[f64; 3]], y: &[[f64; 3]]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(p, q)| {
            let d = b.delta(*p, *q);
            (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
        })
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------- NVE

#[test]
fn nve_velocity_verlet_conserves_energy() {
    // 108 atoms at ~20 K (velocities drawn at 40 K on the perfect lattice, equipartition halves
    // it), dt = 2 fs (≈ 1/1000 of the LJ time σ√(m/ε) = 2.1 ps), 10⁴ steps = 20 ps.
    // Criterion: |E(t) − E(0)| < 1e-4 ε per atom at every sampled step.
    let lj = LennardJones::argon();
    let a0 = lattice_constant_0k(&lj);
    let mut s = crystal(&lj, a0, 3);
    let mut rng = rng_from_seed(1);
    s.init_velocities(40.0, &mut rng);
    let n = s.len() as f64;
    let mut md = Md::new(s, &lj, Integrator::VelocityVerlet, 2.0, 1.0).unwrap();
    let e0 = md.thermo().total_energy_ev;
    let mut worst = 0.0f64;
    for _ in 0..100 {
        md.run(100, &mut rng);
        let t = md.thermo();
        worst = worst.max((t.total_energy_ev - e0).abs() / n);
    }
    let p = md.system().momentum();
    eprintln!(
        "NVE: max |E(t)-E(0)| = {:.3e} eV/atom = {:.3e} ε/atom; T = {:.2} K; builds {}",
        worst,
        worst / EPS,
        md.system().temperature_k(),
        md.list_builds()
    );
    assert!(worst < 1e-4 * EPS, "drift {worst} eV/atom");
    assert!(
        md.system().temperature_k() > 10.0,
        "the crystal must be warm"
    );
    // Total momentum stays zero (to round-off).
    assert!(p.iter().all(|c| c.abs() < 1e-9), "{p:?}");
}

#[test]
fn nve_is_time_reversible() {
    // Forward 1000 steps (2 ps), negate velocities, 1000 steps back: the start positions return
    // to within 1e-10 Å (round-off, amplified by the dynamics over 4 ps, is ~1e-13 Å).
    let lj = LennardJones::argon();
    let mut s = crystal(&lj, 5.30, 3);
    let mut rng = rng_from_seed(2);
    s.init_velocities(60.0, &mut rng);
    let x0 = s.positions.clone();
    let b = s.simbox;
    let mut md = Md::new(s, &lj, Integrator::VelocityVerlet, 4.0, 1.0).unwrap();
    md.run(1000, &mut rng);
    let moved = max_image_distance(&b, &x0, &md.system().positions);
    for v in &mut md.system_mut().velocities {
        for c in v.iter_mut() {
            *c = -*c;
        }
    }
    md.run(1000, &mut rng);
    let err = max_image_distance(&b, &x0, &md.system().positions);
    eprintln!("reversibility: moved up to {moved:.3} Å, returned to within {err:.3e} Å");
    assert!(moved > 0.3, "atoms must have moved ({moved})");
    assert!(err < 1e-10, "{err}");
}

#[test]
fn verlet_leapfrog_and_position_verlet_share_a_trajectory() {
    // The three schemes are the same Störmer–Verlet recursion x_{k+1} = 2x_k − x_{k−1} + dt² a_k
    // for suitably offset initial data. From (X, V):
    //  - velocity Verlet: positions x_k;
    //  - leapfrog started with v(−dt/2) = V − dt/2 a(X): positions x_k;
    //  - position Verlet started from (X − dt/2 v', v'), v' = V − dt/2 a(X): its half-step
    //    positions x + dt/2 v after k steps equal x_k.
    // Compared over 300 steps (1.2 ps) to 1e-10 Å (round-off only).
    let lj = LennardJones::argon();
    let mut s = crystal(&lj, 5.30, 3);
    let mut rng = rng_from_seed(3);
    perturb(&mut s, 0.05, &mut rng);
    s.init_velocities(50.0, &mut rng);
    let dt = 4.0;
    let acc = {
        let mut probe = Md::new(s.clone(), &lj, Integrator::VelocityVerlet, dt, 1.0).unwrap();
        let f = probe.evaluation().forces.clone();
        f.iter()
            .zip(&s.masses)
            .map(|(f, m)| f.map(|c| c / m * kmc::units::ACCEL_EV_PER_A_AMU_TO_A_PER_FS2))
            .collect::<Vec<_>>()
    };
    let mut lf_start = s.clone();
    let mut pv_start = s.clone();
    for i in 0..s.len() {
        for k in 0..3 {
            let v_half = s.velocities[i][k] - 0.5 * dt * acc[i][k];
            lf_start.velocities[i][k] = v_half;
            pv_start.velocities[i][k] = v_half;
            pv_start.positions[i][k] = s.positions[i][k] - 0.5 * dt * v_half;
        }
    }
    let b = s.simbox;
    let mut vv = Md::new(s, &lj, Integrator::VelocityVerlet, dt, 1.0).unwrap();
    let mut lf = Md::new(lf_start, &lj, Integrator::Leapfrog, dt, 1.0).unwrap();
    let mut pv = Md::new(pv_start, &lj, Integrator::PositionVerlet, dt, 1.0).unwrap();
    let mut worst_lf = 0.0f64;
    let mut worst_pv = 0.0f64;
    for _ in 0..300 {
        vv.step(&mut rng);
        lf.step(&mut rng);
        pv.step(&mut rng);
        let pv_mid: Vec<[f64; 3]> = pv
            .system()
            .positions
            .iter()
            .zip(&pv.system().velocities)
            .map(|(x, v)| {
                [
                    x[0] + 0.5 * dt * v[0],
                    x[1] + 0.5 * dt * v[1],
                    x[2] + 0.5 * dt * v[2],
                ]
            })
            .collect();
        worst_lf = worst_lf.max(max_image_distance(
            &b,
            &vv.system().positions,
            &lf.system().positions,
        ));
        worst_pv = worst_pv.max(max_image_distance(&b, &vv.system().positions, &pv_mid));
    }
    eprintln!("integrators: leapfrog {worst_lf:.2e} Å, position Verlet {worst_pv:.2e} Å");
    assert!(worst_lf < 1e-10 && worst_pv < 1e-10);
}

// ---------------------------------------------------------------- NVT

/// Runs `md` for `equil` steps, then samples the kinetic energy every `every` steps for
/// `samples` samples; returns (mean T, measured Var K, canonical Var K = 2⟨K⟩²/dof, standard
/// error of the measured variance from 20 blocks).
fn sample_kinetic(
    md: &mut Md<'_>,
    rng: &mut KmcRng,
    equil: u64,
    samples: usize,
    every: u64,
) -> (f64, f64, f64, f64) {
    md.run(equil, rng);
    let mut k = Vec::with_capacity(samples);
    let mut t_sum = 0.0;
    for _ in 0..samples {
        md.run(every, rng);
        k.push(md.system().kinetic_energy_ev());
        t_sum += md.system().temperature_k();
    }
    let dof = md.system().dof() as f64;
    let mean = k.iter().sum::<f64>() / k.len() as f64;
    let var = k.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (k.len() - 1) as f64;
    let blocks = 20;
    let bl = k.len() / blocks;
    let block_vars: Vec<f64> = k
        .chunks(bl)
        .take(blocks)
        .map(|c| c.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / c.len() as f64)
        .collect();
    let bm = block_vars.iter().sum::<f64>() / blocks as f64;
    let se = (block_vars.iter().map(|v| (v - bm) * (v - bm)).sum::<f64>()
        / ((blocks - 1) * blocks) as f64)
        .sqrt();
    (t_sum / samples as f64, var, 2.0 * mean * mean / dof, se)
}

#[test]
fn langevin_samples_the_canonical_kinetic_energy() {
    // 108 atoms, 40 K, BAOAB with 1/γ = 250 fs, dt = 5 fs; 10 ps equilibration, then 200 ps
    // sampled every 50 fs. Canonical: ⟨T⟩ = T_bath, Var K = 2⟨K⟩²/N_f (N_f = 3N: Langevin does
    // not conserve momentum). Tolerances: ⟨T⟩ within 2 %; Var K within 3 standard errors
    // (block averaging), and the standard error itself below 8 % so the check has teeth.
    let lj = LennardJones::argon();
    let s = crystal(&lj, lattice_constant_0k(&lj), 3);
    let mut rng = rng_from_seed(4);
    let integ = Integrator::Langevin {
        temperature_k: 40.0,
        damping_fs: 250.0,
    };
    let mut md = Md::new(s, &lj, integ, 5.0, 2.0).unwrap();
    md.init_velocities(40.0, &mut rng);
    assert_eq!(md.system().dof(), 3 * 108);
    let (t, var, var_c, se) = sample_kinetic(&mut md, &mut rng, 2000, 4000, 10);
    eprintln!(
        "Langevin: <T> = {t:.3} K; Var K = {var:.4e} vs canonical {var_c:.4e} (se {se:.1e}, {:.1} se)",
        (var - var_c).abs() / se
    );
    assert!((t - 40.0).abs() < 0.02 * 40.0, "{t}");
    assert!(se < 0.08 * var_c, "se {se}");
    assert!((var - var_c).abs() < 3.0 * se, "{var} vs {var_c}");
}

#[test]
fn nose_hoover_chain_samples_the_canonical_kinetic_energy() {
    // As the Langevin test, with a chain of 3 thermostats, τ = 250 fs, dt = 4 fs; N_f = 3N − 3
    // (the chain conserves the zero total momentum). The extended energy E + E_chain is
    // conserved to 5e-4 ε per atom over the 90 ps as a check of the MTK integrator (at 4 fs,
    // velocity Verlet's own energy error is ~1e-4 ε per atom; a wrong chain update, e.g. a
    // factor 2 in a coefficient, would drift by ~k_B T ≈ 0.3 ε per atom).
    let lj = LennardJones::argon();
    let mut s = crystal(&lj, lattice_constant_0k(&lj), 3);
    let mut rng = rng_from_seed(5);
    perturb(&mut s, 0.05, &mut rng);
    let integ = Integrator::NoseHooverChain {
        temperature_k: 40.0,
        tau_fs: 250.0,
        chain_length: 3,
    };
    let mut md = Md::new(s, &lj, integ, 4.0, 2.0).unwrap();
    md.init_velocities(40.0, &mut rng);
    assert_eq!(md.system().dof(), 3 * 108 - 3);
    let h0 = md.thermo().total_energy_ev + md.thermostat_energy_ev();
    let (t, var, var_c, se) = sample_kinetic(&mut md, &mut rng, 2500, 5000, 10);
    let h1 = md.thermo().total_energy_ev + md.thermostat_energy_ev();
    let drift = (h1 - h0).abs() / 108.0;
    eprintln!(
        "NHC: <T> = {t:.3} K; Var K = {var:.4e} vs canonical {var_c:.4e} (se {se:.1e}, {:.1} se); \
         extended-energy drift {drift:.2e} eV/atom",
        (var - var_c).abs() / se
    );
    assert!((t - 40.0).abs() < 0.02 * 40.0, "{t}");
    assert!(se < 0.08 * var_c, "se {se}");
    assert!((var - var_c).abs() < 3.0 * se, "{var} vs {var_c}");
    assert!(drift < 5e-4 * EPS, "{drift}");
}

// ---------------------------------------------------------------- NPT

#[test]
fn npt_quench_finds_the_static_lattice_constant() {
    // Start 1 % expanded with 10 K of thermal motion; Langevin at 0 K (pure friction) with the
    // stochastic cell rescaling barostat at 0 bar. The box must settle on the zero-pressure
    // lattice constant of the lattice sum, within 1e-3 Å.
    let lj = LennardJones::argon();
    let a0 = lattice_constant_0k(&lj);
    let mut s = crystal(&lj, 1.01 * a0, 3);
    let mut rng = rng_from_seed(6);
    s.init_velocities(10.0, &mut rng);
    let integ = Integrator::Langevin {
        temperature_k: 0.0,
        damping_fs: 100.0,
    };
    let baro = CRescale {
        pressure_bar: 0.0,
        tau_p_fs: 500.0,
        compressibility_per_bar: 3e-5,
    };
    let mut md = Md::new(s, &lj, integ, 5.0, 1.0)
        .unwrap()
        .with_barostat(baro)
        .unwrap();
    md.run(3000, &mut rng);
    let a = md.system().simbox.lengths[0] / 3.0;
    let p = md.thermo().pressure_bar.unwrap();
    eprintln!("NPT quench: a = {a:.6} Å, a0 (lattice sum) = {a0:.6} Å, P = {p:.3} bar");
    assert!((a - a0).abs() < 1e-3, "{a} vs {a0}");
}

/// Lattice constant averaged over 30 ps of NPT at 30 K and 0 bar (Langevin + C-rescale, after
/// 10 ps of equilibration) from one seed.
fn npt_mean_lattice_constant(lj: &LennardJones, a0: f64, seed: u64) -> f64 {
    let s = crystal(lj, a0, 3);
    let mut rng = rng_from_seed(seed);
    let integ = Integrator::Langevin {
        temperature_k: 30.0,
        damping_fs: 200.0,
    };
    let baro = CRescale {
        pressure_bar: 0.0,
        tau_p_fs: 1000.0,
        compressibility_per_bar: 3e-5,
    };
    let mut md = Md::new(s, lj, integ, 5.0, 1.0)
        .unwrap()
        .with_barostat(baro)
        .unwrap();
    md.init_velocities(30.0, &mut rng);
    md.run(2000, &mut rng);
    let n = 600;
    let mut a_sum = 0.0;
    for _ in 0..n {
        md.run(10, &mut rng);
        a_sum += md.system().simbox.lengths[0] / 3.0;
    }
    a_sum / n as f64
}

/// Thermal expansion at 30 K is positive: over five seeds (independent trajectories) the mean
/// lattice constant exceeds the static one by more than k standard errors, k from Student's t
/// with 4 degrees of freedom for a one-sided α = 1e-3. A barostat that did not let the box
/// breathe, or a virial of the wrong sign, leaves ⟨a⟩ − a0 at zero or below and fails here.
#[test]
fn npt_thermal_expansion_is_positive() {
    let lj = LennardJones::argon();
    let a0 = lattice_constant_0k(&lj);
    let per_seed: Vec<f64> = (7..12)
        .map(|seed| npt_mean_lattice_constant(&lj, a0, seed) - a0)
        .collect();
    let k = common::student_t_k(2e-3, per_seed.len() - 1);
    common::assert_mean_above("NPT 30 K: <a> - a0 (Å) over 5 seeds", &per_seed, 0.0, k);
}

// ---------------------------------------------------------------- minimisation

#[test]
fn fire_relaxes_a_perturbed_crystal() {
    // Random displacements of ±0.2 Å; FIRE must bring max_i |F_i| below 1e-6 eV/Å and the
    // energy back to the perfect-lattice value (a minimum) to 1e-9 eV per atom.
    let lj = LennardJones::argon();
    let a0 = lattice_constant_0k(&lj);
    let mut s = crystal(&lj, a0, 3);
    let e_perfect = full_energy(&lj, &s);
    let mut rng = rng_from_seed(8);
    perturb(&mut s, 0.2, &mut rng);
    let e_start = full_energy(&lj, &s);
    let opts = FireOptions {
        force_tolerance_ev_a: 1e-6,
        ..Default::default()
    };
    let r = minimize::fire(&mut s, &lj, &opts).unwrap();
    eprintln!("FIRE: {r:?}; E start {e_start:.6}, perfect {e_perfect:.6}");
    assert!(r.converged && r.max_force_ev_a < 1e-6);
    assert!(((r.energy_ev - e_perfect) / 108.0).abs() < 1e-9);
    assert!((full_energy(&lj, &s) - r.energy_ev).abs() < 1e-10);

    // Steepest descent with backtracking reaches the same minimum.
    let mut s2 = crystal(&lj, a0, 3);
    perturb(&mut s2, 0.2, &mut rng);
    let sd = SteepestDescentOptions {
        force_tolerance_ev_a: 1e-5,
        ..Default::default()
    };
    let r2 = minimize::steepest_descent(&mut s2, &lj, &sd).unwrap();
    eprintln!("SD: {r2:?}");
    assert!(r2.converged);
    assert!(((r2.energy_ev - e_perfect) / 108.0).abs() < 1e-8);
}

#[test]
fn vacancy_relaxation_lowers_the_energy() {
    // 4×4×4 cells (256 sites), one atom removed. The relaxed energy must lie below the
    // unrelaxed one, and the vacancy formation energy E_v = E(N−1) − (N−1)/N E(N) must be
    // positive and close to the unrelaxed pair-potential estimate (for LJ, relaxation lowers
    // it by only a few per cent).
    let lj = LennardJones::argon();
    let a0 = lattice_constant_0k(&lj);
    let mut s = crystal(&lj, a0, 4);
    let n = s.len() as f64;
    let e_perfect = full_energy(&lj, &s);
    s.remove_atom(0);
    let e_unrelaxed = full_energy(&lj, &s);
    let r = minimize::relax(
        &mut s,
        &lj,
        &FireOptions {
            force_tolerance_ev_a: 1e-5,
            ..Default::default()
        },
    )
    .unwrap();
    let ev_unrelaxed = e_unrelaxed - (n - 1.0) / n * e_perfect;
    let ev_relaxed = r.energy_ev - (n - 1.0) / n * e_perfect;
    eprintln!(
        "vacancy: E_v unrelaxed {ev_unrelaxed:.5} eV ({:.3} ε), relaxed {ev_relaxed:.5} eV, {} steps",
        ev_unrelaxed / EPS,
        r.steps
    );
    assert!(r.converged);
    assert!(
        r.energy_ev < e_unrelaxed - 1e-5,
        "{} vs {e_unrelaxed}",
        r.energy_ev
    );
    assert!(ev_relaxed > 0.9 * ev_unrelaxed && ev_relaxed < ev_unrelaxed);
}

#[test]
fn fixed_atoms_do_not_move_in_minimisation_or_dynamics() {
    let lj = LennardJones::argon();
    let mut s = crystal(&lj, lattice_constant_0k(&lj), 3);
    for i in 0..s.len() {
        // A slab of frozen atoms (x below a/2, away from the periodic boundary's wrap).
        s.fixed[i] = s.positions[i][0] < 0.25 * s.simbox.lengths[0] && s.positions[i][0] > 0.1;
    }
    let n_fixed = s.fixed.iter().filter(|&&f| f).count();
    assert!(n_fixed > 0);
    let mut rng = rng_from_seed(9);
    perturb(&mut s, 0.15, &mut rng);
    let frozen: Vec<[f64; 3]> = (0..s.len())
        .filter(|&i| s.fixed[i])
        .map(|i| s.positions[i])
        .collect();
    let r = minimize::fire(&mut s, &lj, &FireOptions::default()).unwrap();
    assert!(r.converged);
    let after: Vec<[f64; 3]> = (0..s.len())
        .filter(|&i| s.fixed[i])
        .map(|i| s.positions[i])
        .collect();
    assert_eq!(frozen, after);
    // Dynamics: fixed atoms keep zero velocity and position; the temperature counts 3 N_free.
    let n_free = s.n_free();
    let mut md = Md::new(
        s,
        &lj,
        Integrator::Langevin {
            temperature_k: 30.0,
            damping_fs: 100.0,
        },
        5.0,
        1.0,
    )
    .unwrap();
    md.init_velocities(30.0, &mut rng);
    md.run(200, &mut rng);
    let s = md.system();
    assert_eq!(s.dof(), 3 * n_free);
    let after: Vec<[f64; 3]> = (0..s.len())
        .filter(|&i| s.fixed[i])
        .map(|i| s.positions[i])
        .collect();
    assert_eq!(frozen, after);
    assert!((0..s.len()).all(|i| !s.fixed[i] || s.velocities[i] == [0.0; 3]));
}

// ---------------------------------------------------------------- Monte Carlo

/// Two-species LJ for the Monte Carlo tests: one σ and cutoff, a well depth per species pair,
/// each pair term truncated and shifted.
struct BinaryLj {
    eps: [[f64; 2]; 2],
    sigma: f64,
    rc: f64,
    elements: Vec<String>,
    masses: Vec<f64>,
}

impl BinaryLj {
    fn new(eps_aa: f64, eps_bb: f64, eps_ab: f64) -> Self {
        BinaryLj {
            eps: [[eps_aa, eps_ab], [eps_ab, eps_bb]],
            sigma: 3.4,
            rc: 8.5,
            elements: vec!["A".into(), "B".into()],
            // Different masses so swaps exercise the velocity rescaling.
            masses: vec![39.948, 83.8],
        }
    }
    fn pair(&self, si: u8, sj: u8, r2: f64) -> (f64, f64) {
        let e = self.eps[si as usize][sj as usize];
        let lj = |r2: f64| {
            let s6 = (self.sigma * self.sigma / r2).powi(3);
            (
                4.0 * e * (s6 * s6 - s6),
                24.0 * e * (2.0 * s6 * s6 - s6) / r2,
            )
        };
        let (v, f) = lj(r2);
        (v - lj(self.rc * self.rc).0, f)
    }
}

impl Potential for BinaryLj {
    fn cutoff(&self) -> f64 {
        self.rc
    }
    fn elements(&self) -> &[String] {
        &self.elements
    }
    fn masses(&self) -> &[f64] {
        &self.masses
    }
    fn compute(
        &self,
        c: &Configuration<'_>,
        nl: &NeighborList,
        per_atom: bool,
        out: &mut Evaluation,
    ) {
        let n = c.positions.len();
        *out = Evaluation {
            forces: vec![[0.0; 3]; n],
            per_atom: if per_atom { vec![0.0; n] } else { Vec::new() },
            ..Default::default()
        };
        for i in 0..n {
            for &e in nl.of(i) {
                let d = NeighborList::displacement(c.positions, c.simbox, i, e);
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 >= self.rc * self.rc {
                    continue;
                }
                let j = e.j as usize;
                let (v, f) = self.pair(c.species[i], c.species[j], r2);
                out.energy += v;
                if per_atom {
                    out.per_atom[i] += 0.5 * v;
                    out.per_atom[j] += 0.5 * v;
                }
                for k in 0..3 {
                    out.forces[j][k] += f * d[k];
                    out.forces[i][k] -= f * d[k];
                }
                for (m, (a, b)) in [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
                    .iter()
                    .enumerate()
                {
                    out.virial[m] += f * d[*a] * d[*b];
                }
            }
        }
    }
    fn site_energies(
        &self,
        c: &Configuration<'_>,
        nl: &NeighborList,
        which: &[u32],
        out: &mut [f64],
    ) {
        for (slot, &i) in out.iter_mut().zip(which) {
            let i = i as usize;
            let mut e_i = 0.0;
            for &e in nl.of(i) {
                let d = NeighborList::displacement(c.positions, c.simbox, i, e);
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 < self.rc * self.rc {
                    e_i += 0.5 * self.pair(c.species[i], c.species[e.j as usize], r2).0;
                }
            }
            *slot = e_i;
        }
    }
}

/// Warren–Cowley parameter of the first shell, normalised to the exact expectation of a random
/// arrangement at fixed composition: α = 1 − N_AB / E[N_AB], E[N_AB] = N_bonds · 2 N_A N_B /
/// (N (N − 1)). Zero on average for a random permutation; negative for A–B ordering.
fn warren_cowley(s: &System, r_nn: f64) -> f64 {
    let nl = build_neighbor_list(&s.positions, &s.simbox, r_nn, 0.0, true);
    let (mut bonds, mut ab) = (0usize, 0usize);
    for i in 0..s.len() {
        for &e in nl.of(i) {
            bonds += 1;
            if s.species[i] != s.species[e.j as usize] {
                ab += 1;
            }
        }
    }
    let n = s.len() as f64;
    let na = s.species.iter().filter(|&&x| x == 0).count() as f64;
    let expected = bonds as f64 * 2.0 * na * (n - na) / (n * (n - 1.0));
    1.0 - ab as f64 / expected
}

fn alloy(pot: &dyn Potential, a: f64, cells: usize, rng: &mut KmcRng) -> System {
    let atoms = build::fcc_crystal(a, [cells; 3]);
    let species = build::random_species(atoms.positions.len(), &[(0, 0.5), (1, 0.5)], rng).unwrap();
    System::new(atoms.positions, species, atoms.simbox, pot).unwrap()
}

#[test]
fn mc_local_energy_change_matches_full_energy_difference() {
    // Random swaps and displacements in a perturbed binary crystal with ε_AB ≠ (ε_AA + ε_BB)/2:
    // the local ΔE must equal E_full(after) − E_full(before) to 1e-10 eV.
    let pot = BinaryLj::new(0.0104, 0.0140, 0.0080);
    let mut rng = rng_from_seed(10);
    let mut s = alloy(&pot, 5.4, 3, &mut rng);
    perturb(&mut s, 0.1, &mut rng);
    let opts = McOptions {
        temperature_k: 50.0,
        swap_fraction: 0.5,
        max_displacement_a: 0.3,
    };
    let mut mc = MonteCarlo::new(&pot, opts, 1.0).unwrap();
    let mut worst = 0.0f64;
    let mut nonzero = 0;
    for t in 0..60 {
        let i = (kmc::rng::uniform(&mut rng) * s.len() as f64) as usize;
        let e0 = full_energy(&pot, &s);
        let (local, after) = if t % 2 == 0 {
            let j = (0..s.len())
                .find(|&j| s.species[j] != s.species[i])
                .unwrap();
            let de = mc.swap_delta_e(&mut s, i, j);
            let mut t2 = s.clone();
            t2.species.swap(i, j);
            (de, full_energy(&pot, &t2))
        } else {
            let d = [0.0, 1.0, 2.0].map(|_| 0.4 * kmc::rng::uniform(&mut rng) - 0.2);
            let de = mc.displacement_delta_e(&mut s, i, d).unwrap();
            let mut t2 = s.clone();
            for k in 0..3 {
                t2.positions[i][k] += d[k];
            }
            (de, full_energy(&pot, &t2))
        };
        if local.abs() > 1e-6 {
            nonzero += 1;
        }
        worst = worst.max((local - (after - e0)).abs());
        // Move on to a new configuration so later trials see rebuilt lists too.
        mc.run(&mut s, 20, &mut rng);
    }
    eprintln!("MC local vs full: worst |ΔE_local − ΔE_full| = {worst:.2e} eV");
    assert!(nonzero > 40, "the moves must change the energy");
    assert!(worst < 1e-10, "{worst}");
}

#[test]
fn mc_with_zero_mixing_energy_accepts_every_swap_and_stays_random() {
    // Both species identical (masses aside): every e_k is computed from bitwise identical
    // inputs before and after a swap, so ΔE = 0 exactly and every swap is accepted. The
    // arrangement stays random: the mean first-shell Warren–Cowley α over 30 snapshots is 0
    // within 4 standard errors (standard error from the snapshots' spread, snapshots separated
    // by one swap attempt per atom, so nearly independent). An ordered L1₀-like arrangement gives |α| ≈ 1,
    // far outside that band, so the check can fail.
    let pot = BinaryLj::new(EPS, EPS, EPS);
    let mut rng = rng_from_seed(11);
    let a = 5.27;
    let mut s = alloy(&pot, a, 4, &mut rng);
    let opts = McOptions {
        temperature_k: 40.0,
        swap_fraction: 1.0,
        max_displacement_a: 0.2,
    };
    let mut mc = MonteCarlo::new(&pot, opts, 1.0).unwrap();
    let r_nn = a / 2f64.sqrt() * 1.1;
    let mut alphas = Vec::new();
    let mut total = kmc::md::mc::McStats::default();
    for _ in 0..30 {
        let attempts = s.len() as u64;
        let st = mc.run(&mut s, attempts, &mut rng);
        total.add(&st);
        alphas.push(warren_cowley(&s, r_nn));
    }
    let m = alphas.iter().sum::<f64>() / alphas.len() as f64;
    let sd =
        (alphas.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (alphas.len() - 1) as f64).sqrt();
    let se = sd / (alphas.len() as f64).sqrt();
    eprintln!("MC zero mixing: {total:?}; <α> = {m:.4} ± {se:.4} (sd {sd:.4})");
    assert_eq!(total.swaps_accepted, total.swaps_attempted);
    assert!(total.swaps_attempted > 5_000);
    assert!(m.abs() < 4.0 * se, "{m} ± {se}");
    // Layered order along z (alternate (001) planes): unlike-neighbour bonds dominate.
    let mut ordered = s.clone();
    for i in 0..ordered.len() {
        ordered.species[i] =
            ((ordered.positions[i][2] / (0.5 * a)).round() as i64).rem_euclid(2) as u8;
    }
    let alpha_ordered = warren_cowley(&ordered, r_nn);
    assert!(alpha_ordered.abs() > 20.0 * se, "{alpha_ordered}");
}

#[test]
fn mc_orders_an_alloy_with_unlike_attraction_and_hybrid_md_mc_runs() {
    // ε_AB = 1.6 ε, ε_AA = ε_BB = ε at 20 K: swaps that create A–B bonds lower the energy, so
    // Metropolis must drive α₁ well below zero (the L1₀ limit, 8 unlike of 12 neighbours, is
    // α₁ ≈ −1/3). Then a hybrid MD/MC run (Langevin MD at 20 K between MC sweeps at 20 K, both
    // canonical) keeps the temperature at the bath's and reports acceptance ratios in (0, 1).
    let pot = BinaryLj::new(EPS, EPS, 1.6 * EPS);
    let mut rng = rng_from_seed(12);
    let a = 5.15;
    let mut s = alloy(&pot, a, 3, &mut rng);
    let r_nn = a / 2f64.sqrt() * 1.1;
    let alpha_before = warren_cowley(&s, r_nn);
    let opts = McOptions {
        temperature_k: 20.0,
        swap_fraction: 0.8,
        max_displacement_a: 0.1,
    };
    let mut mc = MonteCarlo::new(&pot, opts, 1.0).unwrap();
    let e_before = full_energy(&pot, &s);
    let st = mc.run(&mut s, 20_000, &mut rng);
    let alpha_after = warren_cowley(&s, r_nn);
    eprintln!(
        "MC ordering: α {alpha_before:.3} -> {alpha_after:.3}; E {e_before:.4} -> {:.4}; swap acc {:?}, disp acc {:?}",
        full_energy(&pot, &s),
        st.swap_acceptance(),
        st.displacement_acceptance()
    );
    assert!(alpha_after < -0.15 && alpha_after < alpha_before - 0.15);
    assert!(full_energy(&pot, &s) < e_before);

    let integ = Integrator::Langevin {
        temperature_k: 20.0,
        damping_fs: 100.0,
    };
    let mut md = Md::new(s, &pot, integ, 5.0, 1.0).unwrap();
    md.init_velocities(20.0, &mut rng);
    let stats = hybrid(&mut md, &mut mc, 20, 50, 100, &mut rng);
    let t = md.system().temperature_k();
    eprintln!("hybrid: {stats:?}, T = {t:.2} K");
    let acc = stats.swap_acceptance().unwrap();
    assert!(acc > 0.0 && acc < 1.0);
    assert!(stats.displacement_acceptance().unwrap() > 0.0);
    // In the canonical ensemble the kinetic temperature of ν degrees of freedom is
    // T·χ²_ν/ν: the two-sided α = 1e-3 interval from the chi-square quantiles (about ±26 % for
    // the 108 atoms here), which excludes a bath 30 % off.
    let nu = md.system().dof();
    let alpha = 1e-3;
    let lo = 20.0 * common::chi_square_quantile(1.0 - alpha / 2.0, nu) / nu as f64;
    let hi = 20.0 * common::chi_square_quantile(alpha / 2.0, nu) / nu as f64;
    assert!(lo > 14.0 && hi < 26.0, "[{lo}, {hi}]");
    assert!(
        (lo..=hi).contains(&t),
        "hybrid MD/MC: T = {t:.2} K outside [{lo:.2}, {hi:.2}] K, the α = {alpha} interval of a \
         20 K bath for {nu} degrees of freedom"
    );
}

// ---------------------------------------------------------------- writers

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn xyz_and_dump_round_trip() {
    // Two species in a slab box (periodic x, y; open z); three frames. Reading back must give
    // the counts, elements, box, periodicity and positions/velocities/energies to the printed
    // precision (10 decimals; velocities 11 significant digits).
    let pot = BinaryLj::new(EPS, EPS, EPS);
    let mut rng = rng_from_seed(13);
    let mut s = alloy(&pot, 5.3, 2, &mut rng);
    s.simbox.periodic = [true, true, false];
    s.positions[0][2] = -1.25; // outside the nominal box along the open axis
    s.init_velocities(50.0, &mut rng);
    let energies: Vec<f64> = (0..s.len()).map(|i| -0.05 - 1e-3 * i as f64).collect();
    let dir = scratch("round_trip");
    let xyz = dir.join("t.xyz");
    let dump = dir.join("t.lammpstrj");
    let mut wx = TrajectoryWriter::create(&xyz, TrajFormat::ExtXyz).unwrap();
    let mut wd = TrajectoryWriter::create(&dump, TrajFormat::LammpsDump).unwrap();
    for step in [0u64, 10, 20] {
        let f = Frame::of(&s, step, 2.0 * step as f64, Some(&energies));
        wx.write(&f).unwrap();
        wd.write(&f).unwrap();
    }
    assert_eq!(wx.frames(), 3);
    for (frames, is_dump) in [
        (traj::read_xyz(&xyz).unwrap(), false),
        (traj::read_dump(&dump).unwrap(), true),
    ] {
        assert_eq!(frames.len(), 3);
        let f = &frames[2];
        assert_eq!(f.step, Some(20));
        assert_eq!(f.positions.len(), s.len());
        assert_eq!(f.periodic, [true, true, false]);
        for i in 0..s.len() {
            assert_eq!(f.elements[i], s.elements[s.species[i] as usize]);
            for k in 0..3 {
                assert!((f.positions[i][k] - s.positions[i][k]).abs() < 1e-9);
                let v = s.velocities[i][k];
                assert!((f.velocities[i][k] - v).abs() <= 1e-9 * v.abs() + 1e-15);
            }
            assert!((f.energies[i] - energies[i]).abs() < 1e-9);
        }
        if is_dump {
            // The open axis is widened to hold the atom below zero.
            assert!(f.lengths[2] >= s.simbox.lengths[2] + 1.25 - 1e-9);
        } else {
            assert!((f.lengths[0] - s.simbox.lengths[0]).abs() < 1e-9);
        }
    }
    // Thermo CSV: header and one row per write, flushed as written.
    let csv = dir.join("thermo.csv");
    let mut tw = ThermoWriter::create(&csv).unwrap();
    let mut md = Md::new(s, &pot, Integrator::VelocityVerlet, 2.0, 1.0).unwrap();
    tw.write(&md.thermo()).unwrap();
    md.run(5, &mut rng);
    tw.write(&md.thermo()).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], THERMO_HEADER);
    assert_eq!(
        lines[0],
        "step,time_fs,T_k,E_pot_ev,E_kin_ev,E_tot_ev,P_bar"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with("5,10,"));
    assert!(
        lines[2].ends_with("NaN"),
        "slab box has no pressure: {}",
        lines[2]
    );
}

#[test]
fn atomic_write_replaces_whole_files_and_keeps_old_content_on_failure() {
    let dir = scratch("atomic");
    let p = dir.join("snap.xyz");
    kmc::io::write_bytes(&p, b"first").unwrap();
    kmc::io::write_bytes(&p, b"second").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"second");
    // A directory in the way: the rename fails, the directory is untouched, no temporary file
    // is left behind.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    assert!(kmc::io::write_bytes(&blocked, b"data").is_err());
    assert!(blocked.join("inside").is_dir());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------- scenarios

#[test]
fn lj_quick_scenario_runs_and_writes_its_files() {
    let out = scratch("lj_quick");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/md_lj_quick.ron");
    let mut calls = 0u64;
    let summary = kmc::sim::md::run_md_scenario(scenario, &out, &mut |p| {
        calls += 1;
        assert!(p.step <= p.steps);
    })
    .unwrap();
    assert_eq!(calls, summary.steps);
    assert!(summary.minimization.unwrap().converged);
    let mc = summary.mc.unwrap();
    assert!(mc.displacements_attempted > 0 && mc.displacements_accepted > 0);
    // Thermostatted at 30 K: the last temperature is within a broad band around it
    // (≈ 270 atoms: 1σ of the instantaneous T is about 5 %).
    assert!((summary.last.temperature_k - 30.0).abs() < 10.0);
    let thermo = std::fs::read_to_string(out.join("thermo.csv")).unwrap();
    assert_eq!(thermo.lines().count(), 1 + 1 + 2000 / 20);
    let frames = traj::read_xyz(out.join("traj.xyz")).unwrap();
    assert_eq!(frames.len(), 1 + 2000 / 200);
    assert_eq!(frames[0].positions.len(), summary.atoms);
    assert_eq!(
        traj::read_dump(out.join("traj.lammpstrj")).unwrap().len(),
        frames.len()
    );
    let last = traj::read_xyz(out.join("final.xyz")).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].step, Some(2000));
}

#[test]
fn scenario_errors_name_file_line_and_field() {
    use kmc::scenario::md::parse_md_scenario;
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/md_lj_quick.ron"
    ))
    .unwrap();
    let path = std::path::Path::new("quick.ron");
    assert!(parse_md_scenario(&good, Some(path)).is_ok());
    let line_of = |src: &str, pat: &str| src.lines().position(|l| l.contains(pat)).unwrap() + 1;

    // An unknown field: ron's position, the field's name.
    let bad = good.replace(
        "timestep_fs: 5.0,",
        "timestep_fs: 5.0,\n    time_step: 1.0,",
    );
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("quick.ron:{}:", line_of(&bad, "time_step:"))),
        "{e}"
    );
    assert!(e.contains("time_step"), "{e}");

    // A value that parses but is invalid: located by its field.
    let bad = good.replace("timestep_fs: 5.0", "timestep_fs: -5.0");
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    let l = line_of(&bad, "timestep_fs");
    assert!(
        e.starts_with(&format!("quick.ron:{l}:5: field `timestep_fs`")),
        "{e}"
    );
    assert!(e.contains("positive"), "{e}");

    // A nested field.
    let bad = good.replace("damping_fs: 500.0", "damping_fs: 0.0");
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    assert!(
        e.contains(&format!(":{}:", line_of(&bad, "damping_fs")))
            && e.contains("ensemble.damping_fs"),
        "{e}"
    );

    // Monte Carlo displacements larger than half the skin cannot keep the list valid.
    let bad = good.replace("max_displacement_a: 0.1", "max_displacement_a: 0.8");
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    assert!(
        e.contains("mc.max_displacement_a") && e.contains("skin"),
        "{e}"
    );

    // NPT on a cluster in vacuum is refused.
    let bad = good.replace(
        "ensemble: Langevin(damping_fs: 500.0)",
        "ensemble: Npt(thermostat: Langevin(damping_fs: 500.0), pressure_bar: 0.0, tau_p_fs: 1000.0, compressibility_per_bar: 3e-5)",
    );
    let e = parse_md_scenario(&bad, Some(path)).unwrap_err().to_string();
    assert!(e.contains("`ensemble`") && e.contains("periodic"), "{e}");

    // An element the potential does not have: reported when the structure is built.
    let bad = good.replacen("[(\"Ar\", 1.0)]", "[(\"Cu\", 1.0)]", 1);
    let dir = scratch("bad_element");
    let p = dir.join("bad.ron");
    std::fs::write(&p, &bad).unwrap();
    let e = kmc::sim::md::run_md_scenario(&p, dir.join("out"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("structure.first.composition") && e.contains("Cu"),
        "{e}"
    );
    assert!(
        e.contains(&format!("bad.ron:{}:", line_of(&bad, "composition"))),
        "{e}"
    );
}
