//! Acceptance tests of the MD engine with the Zhou–Johnson–Wadley 2004 EAM (Phys. Rev. B 69,
//! 144113), tabulated as a LAMMPS setfl file (`zhou04::setfl`) and splined as LAMMPS does
//! (`Eam::from_setfl`): NVE energy conservation, NVT canonical sampling, NPT lattice constants,
//! the relaxed vacancy formation energy, and Ag surface segregation in Au–Ag by hybrid MD/MC.
//!
//! Reference numbers marked "eam.md" were measured with LAMMPS (`pair_style eam/alloy`) on the
//! same tabulation (project notes, tests/data/reference/eam.md, with their source). Each test prints its figures
//! (`cargo test --release --test md_eam -- --nocapture`).

// Per-atom, per-component loops index several parallel arrays at once, as in the library.
#![allow(clippy::needless_range_loop)]

use kmc::md::build;
use kmc::md::eam::Eam;
use kmc::md::integrate::{CRescale, Integrator, Md};
use kmc::md::mc::{McOptions, MonteCarlo, hybrid};
use kmc::md::minimize::{self, FireOptions};
use kmc::md::system::{System, build_neighbor_list};
use kmc::md::zhou04;
use kmc::md::{Evaluation, Potential};
use kmc::rng::{KmcRng, rng_from_seed};

/// Zero-pressure FCC lattice constant of Zhou04 Cu (eam.md, LAMMPS).
const CU_A0: f64 = 3.614979;

fn eam(elements: &[&str]) -> Eam {
    Eam::from_setfl(&zhou04::setfl(elements).unwrap()).unwrap()
}

fn crystal(pot: &dyn Potential, a: f64, n: usize) -> System {
    let atoms = build::fcc_crystal(a, [n, n, n]);
    System::new(atoms.positions, atoms.species, atoms.simbox, pot).unwrap()
}

fn energy(pot: &dyn Potential, s: &System) -> f64 {
    let nl = build_neighbor_list(&s.positions, &s.simbox, pot.cutoff(), 0.0, true);
    let mut out = Evaluation::default();
    pot.compute(&s.configuration(), &nl, false, &mut out);
    out.energy
}

/// Mean and standard error of `x` from `blocks` consecutive block means.
fn block_mean_se(x: &[f64], blocks: usize) -> (f64, f64) {
    let bl = x.len() / blocks;
    let means: Vec<f64> = x
        .chunks(bl)
        .take(blocks)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let m = means.iter().sum::<f64>() / blocks as f64;
    let var = means.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (blocks - 1) as f64;
    (m, (var / blocks as f64).sqrt())
}

// ---------------------------------------------------------------- NVE

#[test]
fn nve_copper_conserves_energy_over_10_ps() {
    // Issue 4: NVE energy drift < 1e-4 eV/atom over 10 ps at 1 fs for Cu at 300 K.
    // 500 atoms (5³ cells) at the zero-pressure lattice constant, velocities drawn at 600 K on
    // the perfect lattice (equipartition brings the crystal to ≈ 300 K), velocity Verlet,
    // 10,000 steps of 1 fs, 1 Å skin. Checked: |E(t) − E(0)| / N < 1e-4 eV at every 50th step,
    // and the mean temperature within 10 % of 300 K (so the claim is made at 300 K).
    let cu = eam(&["Cu"]);
    let s = crystal(&cu, CU_A0, 5);
    let n = s.len() as f64;
    let mut rng = rng_from_seed(300);
    let mut md = Md::new(s, &cu, Integrator::VelocityVerlet, 1.0, 1.0).unwrap();
    md.init_velocities(600.0, &mut rng);
    let e0 = md.thermo().total_energy_ev;
    let mut worst = 0.0f64;
    let mut t_sum = 0.0;
    let samples = 200;
    for _ in 0..samples {
        md.run(50, &mut rng);
        let th = md.thermo();
        worst = worst.max((th.total_energy_ev - e0).abs() / n);
        t_sum += th.temperature_k;
    }
    let e1 = md.thermo().total_energy_ev;
    let t_mean = t_sum / samples as f64;
    eprintln!(
        "NVE Cu 500 atoms, 10 ps: <T> = {t_mean:.1} K, max |E(t) - E(0)|/N = {worst:.2e} eV, \
         (E(10 ps) - E(0))/N = {:.2e} eV, {} list builds",
        (e1 - e0) / n,
        md.list_builds()
    );
    assert!((t_mean - 300.0).abs() < 30.0, "<T> = {t_mean}");
    assert!(worst < 1e-4, "max deviation {worst} eV/atom");
}

// ---------------------------------------------------------------- NVT

/// Runs `md` for `equil` steps, then samples the kinetic energy every `every` steps `samples`
/// times. Returns (mean T, measured Var K, canonical Var K = 2⟨K⟩²/N_f, standard error of the
/// measured variance from 20 blocks).
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
    let sq: Vec<f64> = k.iter().map(|x| (x - mean) * (x - mean)).collect();
    let (_, se) = block_mean_se(&sq, 20);
    (t_sum / samples as f64, var, 2.0 * mean * mean / dof, se)
}

/// Issue 4: NVT mean temperature within 2 % of the target and kinetic-energy variance matching
/// the canonical value `Var K = 2⟨K⟩²/N_f` (K is a sum of N_f/2 independent Gamma variables).
/// Tolerances: ⟨T⟩ within 2 %; Var K within 3 standard errors (20 blocks), with the standard
/// error itself below 10 % of Var K so the check has teeth (an NVE run, Var K ≈ half the
/// canonical value for a harmonic crystal, or a thermostat that fixes K, would fail it).
fn check_canonical(label: &str, t_target: f64, (t, var, var_c, se): (f64, f64, f64, f64)) {
    eprintln!(
        "{label}: <T> = {t:.2} K (target {t_target}), Var K = {var:.4e} eV² vs canonical \
         {var_c:.4e} (se {se:.1e}, {:.1} se, ratio {:.3})",
        (var - var_c).abs() / se,
        var / var_c
    );
    assert!((t - t_target).abs() < 0.02 * t_target, "{label}: <T> = {t}");
    assert!(se < 0.10 * var_c, "{label}: se {se} too large");
    assert!(
        (var - var_c).abs() < 3.0 * se,
        "{label}: Var K {var} vs {var_c}"
    );
}

#[test]
fn nvt_langevin_copper_is_canonical() {
    // 108 Cu atoms (3³ cells), 300 K, BAOAB with 1/γ = 100 fs, dt = 2 fs; 2 ps equilibration,
    // then 100 ps sampled every 100 fs. N_f = 3N (Langevin does not conserve momentum).
    let cu = eam(&["Cu"]);
    let s = crystal(&cu, CU_A0, 3);
    let mut rng = rng_from_seed(301);
    let integ = Integrator::Langevin {
        temperature_k: 300.0,
        damping_fs: 100.0,
    };
    let mut md = Md::new(s, &cu, integ, 2.0, 1.0).unwrap();
    md.init_velocities(300.0, &mut rng);
    assert_eq!(md.system().dof(), 3 * 108);
    let r = sample_kinetic(&mut md, &mut rng, 1000, 1000, 50);
    check_canonical("NVT Langevin Cu", 300.0, r);
}

#[test]
fn nvt_nose_hoover_chain_copper_is_canonical() {
    // 108 Cu atoms, 300 K, chain of 3, τ = 100 fs, dt = 2 fs; 2 ps equilibration, then 100 ps
    // sampled every 100 fs. N_f = 3N − 3 (the chain keeps the total momentum at zero). The
    // extended energy E + E_chain is conserved to 1e-4 eV/atom as a check of the MTK update.
    let cu = eam(&["Cu"]);
    let s = crystal(&cu, CU_A0, 3);
    let mut rng = rng_from_seed(302);
    let integ = Integrator::NoseHooverChain {
        temperature_k: 300.0,
        tau_fs: 100.0,
        chain_length: 3,
    };
    let mut md = Md::new(s, &cu, integ, 2.0, 1.0).unwrap();
    md.init_velocities(300.0, &mut rng);
    assert_eq!(md.system().dof(), 3 * 108 - 3);
    let h0 = md.thermo().total_energy_ev + md.thermostat_energy_ev();
    let r = sample_kinetic(&mut md, &mut rng, 1000, 1000, 50);
    let h1 = md.thermo().total_energy_ev + md.thermostat_energy_ev();
    let drift = (h1 - h0).abs() / 108.0;
    eprintln!("NVT NHC Cu: extended-energy drift {drift:.2e} eV/atom over 102 ps");
    check_canonical("NVT Nosé–Hoover chain Cu", 300.0, r);
    assert!(drift < 1e-4, "extended energy drift {drift}");
}

// ---------------------------------------------------------------- NPT

#[test]
fn npt_copper_zero_pressure_lattice_constant_at_0k() {
    // Issue 4: NPT gives the zero-pressure lattice constant at 0 K within 1e-3 Å; reference
    // 3.614979 Å (eam.md, LAMMPS). Start 1 % expanded with 10 K of thermal motion; Langevin at
    // 0 K (pure friction, 1/γ = 100 fs) with stochastic cell rescaling at 0 bar (τ_p = 500 fs,
    // β_T = 7e-7 /bar ≈ Cu's compressibility), 2 fs steps, 6 ps.
    let cu = eam(&["Cu"]);
    let mut s = crystal(&cu, 1.01 * CU_A0, 3);
    let mut rng = rng_from_seed(303);
    s.init_velocities(10.0, &mut rng);
    let integ = Integrator::Langevin {
        temperature_k: 0.0,
        damping_fs: 100.0,
    };
    let baro = CRescale {
        pressure_bar: 0.0,
        tau_p_fs: 500.0,
        compressibility_per_bar: 7e-7,
    };
    let mut md = Md::new(s, &cu, integ, 2.0, 1.0)
        .unwrap()
        .with_barostat(baro)
        .unwrap();
    md.run(3000, &mut rng);
    let a = md.system().simbox.lengths[0] / 3.0;
    let th = md.thermo();
    eprintln!(
        "NPT Cu 0 K: a = {a:.6} Å (LAMMPS {CU_A0}), P = {:.2} bar, T = {:.2e} K",
        th.pressure_bar.unwrap(),
        th.temperature_k
    );
    assert!((a - CU_A0).abs() < 1e-3, "a = {a}");
}

#[test]
fn npt_copper_expands_on_heating() {
    // Issue 4: thermal expansion of the right sign. 256 Cu atoms (4³ cells) at 600 K and 0 bar
    // (Langevin 1/γ = 100 fs, C-rescale τ_p = 1 ps), 2 fs steps: 4 ps equilibration, then the
    // lattice constant sampled every 20 fs for 16 ps. ⟨a⟩ must exceed the 0 K value by more
    // than 10 standard errors (8 blocks of 2 ps: the volume decorrelates in about τ_p). Cu's
    // measured linear expansion, ≈ 1.7e-5 /K, would give ≈ +0.035 Å at 600 K; the check is on
    // the sign, the size is printed.
    let cu = eam(&["Cu"]);
    let s = crystal(&cu, CU_A0, 4);
    let mut rng = rng_from_seed(304);
    let integ = Integrator::Langevin {
        temperature_k: 600.0,
        damping_fs: 100.0,
    };
    let baro = CRescale {
        pressure_bar: 0.0,
        tau_p_fs: 1000.0,
        compressibility_per_bar: 7e-7,
    };
    let mut md = Md::new(s, &cu, integ, 2.0, 1.0)
        .unwrap()
        .with_barostat(baro)
        .unwrap();
    md.init_velocities(600.0, &mut rng);
    md.run(2000, &mut rng);
    let mut a = Vec::new();
    let mut p_sum = 0.0;
    for _ in 0..800 {
        md.run(10, &mut rng);
        a.push(md.system().simbox.lengths[0] / 4.0);
        p_sum += md.thermo().pressure_bar.unwrap();
    }
    let (a_mean, se) = block_mean_se(&a, 8);
    eprintln!(
        "NPT Cu 600 K: <a> = {a_mean:.5} Å ± {se:.5} vs a0 = {CU_A0} Å: {:+.5} Å \
         ({:.2e} /K), <P> = {:.0} bar",
        a_mean - CU_A0,
        (a_mean - CU_A0) / CU_A0 / 600.0,
        p_sum / 800.0
    );
    assert!(a_mean - CU_A0 > 10.0 * se, "<a> = {a_mean} ± {se}");
}

// ---------------------------------------------------------------- minimisation

#[test]
fn relaxed_copper_vacancy_formation_energy() {
    // Issue 4: relaxed vacancy formation energy of Zhou04 Cu within 0.02 eV of 1.28 eV; LAMMPS
    // gives 1.271–1.277 eV depending on cell size and cutoff placement (eam.md), so it is also
    // checked against that range widened by 0.005 eV. 5³ cells (500 sites) at the zero-pressure
    // lattice constant, one atom removed, FIRE to max |F| < 1e-4 eV/Å at constant volume:
    // E_v = E(N−1) − (N−1)/N · E(N). Relaxation must lower it below the unrelaxed 1.397 eV.
    let cu = eam(&["Cu"]);
    let perfect = crystal(&cu, CU_A0, 5);
    let n = perfect.len() as f64;
    let e_perfect = energy(&cu, &perfect);
    let mut s = perfect.clone();
    s.remove_atom(0);
    let e_unrelaxed = energy(&cu, &s);
    let res = minimize::fire(
        &mut s,
        &cu,
        &FireOptions {
            force_tolerance_ev_a: 1e-4,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(res.converged, "{res:?}");
    let ev = res.energy_ev - (n - 1.0) / n * e_perfect;
    let ev_unrelaxed = e_unrelaxed - (n - 1.0) / n * e_perfect;
    eprintln!(
        "Cu vacancy (500 sites): E_v relaxed = {ev:.4} eV (target 1.28 ± 0.02, LAMMPS \
         1.271–1.277), unrelaxed = {ev_unrelaxed:.4} eV; FIRE {} steps, max |F| {:.1e} eV/Å",
        res.steps, res.max_force_ev_a
    );
    assert!((ev - 1.28).abs() < 0.02, "E_v = {ev}");
    assert!((1.266..=1.282).contains(&ev), "E_v = {ev}");
    assert!(ev < ev_unrelaxed && (ev_unrelaxed - 1.397).abs() < 0.005);
}

// ---------------------------------------------------------------- Monte Carlo

/// Surface atoms by coordination: an atom is on the surface when it has at most 9 neighbours
/// closer than `r_cn` (halfway between the first and second FCC shells). Bulk atoms have 12;
/// atoms of a (111) facet 9, of a (100) facet 8, on edges and vertices fewer.
fn surface_mask(s: &System, r_cn: f64) -> Vec<bool> {
    let nl = build_neighbor_list(&s.positions, &s.simbox, r_cn, 0.0, false);
    (0..s.len())
        .map(|i| {
            let cn = nl
                .of(i)
                .iter()
                .filter(|e| {
                    let d = kmc::md::NeighborList::displacement(&s.positions, &s.simbox, i, **e);
                    d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r_cn * r_cn
                })
                .count();
            cn <= 9
        })
        .collect()
}

/// (Ag fraction of the surface atoms, number of surface atoms, Ag fraction of the others).
fn surface_composition(s: &System, ag: u8, r_cn: f64) -> (f64, usize, f64) {
    let mask = surface_mask(s, r_cn);
    let (mut ns, mut ns_ag, mut nc, mut nc_ag) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..s.len() {
        let is_ag = (s.species[i] == ag) as usize;
        if mask[i] {
            ns += 1;
            ns_ag += is_ag;
        } else {
            nc += 1;
            nc_ag += is_ag;
        }
    }
    (
        ns_ag as f64 / ns as f64,
        ns,
        nc_ag as f64 / nc.max(1) as f64,
    )
}

#[test]
fn au_ag_particle_develops_an_ag_enriched_surface() {
    // Issue 4: an Au–Ag particle (Zhou04) at 600 K develops an Ag-enriched surface under hybrid
    // MD/MC. A 2.4 nm sphere cut from FCC (a = 4.085 Å, between Au's 4.080 and Ag's 4.090),
    // random Au50Ag50, in vacuum. 60 cycles of 50 Langevin steps (2 fs, 600 K, 1/γ = 100 fs)
    // then one Monte Carlo attempt per atom (80 % species swaps, 20 % displacements ≤ 0.1 Å),
    // Metropolis at 600 K. Surface atoms: coordination ≤ 9 within 3.5 Å (see `surface_mask`).
    // Measured over the last 40 cycles: the surface Ag fraction must exceed the particle's Ag
    // fraction (0.5) by more than 5 standard deviations of a random arrangement's surface
    // fraction, sqrt(x(1−x)/N_s), and by more than 5 block standard errors; the core must be
    // correspondingly Au-rich. Ag segregates because its surface energy is lower than Au's.
    let auag = eam(&["Au", "Ag"]);
    let (au, ag) = (0u8, 1u8);
    let mut rng = rng_from_seed(600);
    let sphere = build::fcc_sphere(4.085, 24.0);
    let species = build::random_species(sphere.len(), &[(au, 0.5), (ag, 0.5)], &mut rng).unwrap();
    let (x, b) = build::in_open_box(sphere, 10.0);
    let s = System::new(x, species, b, &auag).unwrap();
    let n = s.len();
    let r_cn = 3.5;
    let (x0, ns0, _) = surface_composition(&s, ag, r_cn);
    let integ = Integrator::Langevin {
        temperature_k: 600.0,
        damping_fs: 100.0,
    };
    let mut md = Md::new(s, &auag, integ, 2.0, 1.0).unwrap();
    md.init_velocities(600.0, &mut rng);
    let mut mc = MonteCarlo::new(
        &auag,
        McOptions {
            temperature_k: 600.0,
            swap_fraction: 0.8,
            max_displacement_a: 0.1,
        },
        1.0,
    )
    .unwrap();
    let mut stats = hybrid(&mut md, &mut mc, 20, 50, n as u64, &mut rng);
    let (mut xs, mut xc, mut nss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..40 {
        stats.add(&hybrid(&mut md, &mut mc, 1, 50, n as u64, &mut rng));
        let (s_frac, ns, c_frac) = surface_composition(md.system(), ag, r_cn);
        xs.push(s_frac);
        xc.push(c_frac);
        nss.push(ns as f64);
    }
    let (x_surf, se) = block_mean_se(&xs, 8);
    let (x_core, _) = block_mean_se(&xc, 8);
    let ns_mean = nss.iter().sum::<f64>() / nss.len() as f64;
    let sd_random = (0.25 / ns_mean).sqrt();
    eprintln!(
        "Au-Ag particle, {n} atoms, 600 K: surface Ag fraction {x0:.3} ({ns0} surface atoms) \
         at the start -> {x_surf:.3} ± {se:.3} (random-arrangement sd {sd_random:.3}, \
         {ns_mean:.0} surface atoms); core Ag fraction {x_core:.3}; swaps accepted {:.1} %, \
         displacements {:.1} %, T = {:.0} K",
        100.0 * stats.swap_acceptance().unwrap(),
        100.0 * stats.displacement_acceptance().unwrap(),
        md.system().temperature_k()
    );
    let excess = x_surf - 0.5;
    assert!(excess > 5.0 * sd_random, "surface Ag {x_surf}");
    assert!(excess > 5.0 * se, "surface Ag {x_surf} ± {se}");
    assert!(x_core < 0.5, "core Ag {x_core}");
}

// ---------------------------------------------------------------- surfaces

/// An orthorhombic FCC block with x ∥ [1-10], y ∥ [11-2], z ∥ [111] (6 atoms per
/// `a/√2 × a√6/2 × a√3` cell), `cells` such cells per axis, periodic in x and y, open along z:
/// a (111) slab. Sites are found among the cubic lattice points rotated into that frame.
fn fcc111_slab(pot: &dyn Potential, a: f64, cells: [usize; 3]) -> System {
    let ex = [1.0 / 2f64.sqrt(), -1.0 / 2f64.sqrt(), 0.0];
    let ey = [1.0 / 6f64.sqrt(), 1.0 / 6f64.sqrt(), -2.0 / 6f64.sqrt()];
    let ez = [1.0 / 3f64.sqrt(); 3];
    let l = [
        cells[0] as f64 * a / 2f64.sqrt(),
        cells[1] as f64 * a * 6f64.sqrt() / 2.0,
        cells[2] as f64 * a * 3f64.sqrt(),
    ];
    let m = (2.0 * (l[0] + l[1] + l[2]) / a).ceil() as i64 + 2;
    let tol = 1e-6 * a;
    let mut x = Vec::new();
    for i in -m..=m {
        for j in -m..=m {
            for k in -m..=m {
                if (i + j + k).rem_euclid(2) != 0 {
                    continue;
                }
                let p = [i as f64 * a / 2.0, j as f64 * a / 2.0, k as f64 * a / 2.0];
                let dot = |e: [f64; 3]| e[0] * p[0] + e[1] * p[1] + e[2] * p[2];
                let q = [dot(ex), dot(ey), dot(ez)];
                if (0..3).all(|c| q[c] >= -tol && q[c] < l[c] - tol) {
                    x.push([q[0].max(0.0), q[1].max(0.0), q[2]]);
                }
            }
        }
    }
    let n = x.len();
    assert_eq!(
        n,
        6 * cells[0] * cells[1] * cells[2],
        "sites of the (111) block"
    );
    let simbox = kmc::md::SimBox {
        lengths: l,
        periodic: [true, true, false],
    };
    System::new(x, vec![0; n], simbox, pot).unwrap()
}

/// A (100) slab: `cells` cubic cells, periodic in x and y, open along z.
fn fcc100_slab(pot: &dyn Potential, a: f64, cells: [usize; 3]) -> System {
    let atoms = build::fcc_crystal(a, cells);
    let mut simbox = atoms.simbox;
    simbox.periodic[2] = false;
    System::new(atoms.positions, atoms.species, simbox, pot).unwrap()
}

/// Relaxed surface energy (J/m²) of a slab with two free faces normal to z, against
/// the bulk energy per atom `e_bulk`.
fn surface_energy(pot: &dyn Potential, mut slab: System, e_bulk: f64) -> f64 {
    let area = slab.simbox.lengths[0] * slab.simbox.lengths[1];
    let res = minimize::fire(
        &mut slab,
        pot,
        &FireOptions {
            force_tolerance_ev_a: 1e-4,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(res.converged, "{res:?}");
    let ev_per_a2_to_j_per_m2 = 1.602_176_634e-19 / 1e-20;
    (res.energy_ev - slab.len() as f64 * e_bulk) / (2.0 * area) * ev_per_a2_to_j_per_m2
}

#[test]
fn surface_energies_of_cu_ag_au_are_ordered() {
    // Relaxed (111) and (100) surface energies of Cu, Au and Ag (Zhou04, each at its LAMMPS
    // zero-pressure lattice constant from eam.md), from 12-layer slabs (4 × 3 and 3 × 3 cells
    // in plane). A sanity check of the element tables and of slabs with an open axis:
    // (111) is the lowest-energy face of each FCC metal, and Cu's surfaces cost clearly more
    // than the noble metals', as measured (Tyson & Miller, Surf. Sci. 62, 267 (1977), average
    // face: Cu 1.83, Au 1.50, Ag 1.25 J/m²; EAM values fall below these). Zhou04 puts Au and Ag
    // within a few per cent of each other, so their order is printed, not checked.
    let mut gamma = Vec::new();
    for (name, a0) in [("Cu", CU_A0), ("Au", 4.080056), ("Ag", 4.089650)] {
        let pot = eam(&[name]);
        let bulk = crystal(&pot, a0, 3);
        let e_bulk = energy(&pot, &bulk) / bulk.len() as f64;
        let g111 = surface_energy(&pot, fcc111_slab(&pot, a0, [4, 3, 4]), e_bulk);
        let g100 = surface_energy(&pot, fcc100_slab(&pot, a0, [3, 3, 6]), e_bulk);
        eprintln!("{name}: γ(111) = {g111:.3} J/m², γ(100) = {g100:.3} J/m²");
        assert!(0.0 < g111 && g111 < g100, "{name}: {g111} {g100}");
        gamma.push((g111, g100));
    }
    for k in 1..3 {
        assert!(
            gamma[0].0 > gamma[k].0 + 0.3 && gamma[0].1 > gamma[k].1 + 0.3,
            "Cu vs the noble metals: {gamma:?}"
        );
    }
}

// ---------------------------------------------------------------- shipped scenario

#[test]
fn two_au_particles_scenario_parses_and_builds() {
    // The shipped scenario (run by `kmc md scenarios/md_two_au_particles.ron`, about a minute)
    // must stay valid: it parses, its Zhou04 Au potential builds, and its structure is two
    // 3 nm spheres of 887 atoms each (the FCC sites within 15 Å of an atom at a = 4.080056 Å)
    // whose closest atoms are one nearest-neighbour distance, 2.885 Å, apart.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("md_two_au_particles.ron");
    let sc = kmc::scenario::md::load_md_scenario(&path).unwrap();
    let pot = sc.potential.build(path.parent().unwrap()).unwrap();
    assert_eq!(pot.elements(), ["Au".to_string()]);
    let mut rng = rng_from_seed(sc.seed);
    let s = kmc::sim::md::build_structure(&sc.structure, pot.as_ref(), &mut rng).unwrap();
    assert_eq!(s.len(), 2 * 887);
    let n = s.len() / 2;
    let mut closest = f64::INFINITY;
    for p in &s.positions[..n] {
        for q in &s.positions[n..] {
            let d = s.simbox.delta(*p, *q);
            closest = closest.min((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt());
        }
    }
    assert!((closest - 2.885).abs() < 0.05, "closest pair {closest} Å");
}
