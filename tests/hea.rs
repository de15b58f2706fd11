//! Multi-component particles under hybrid MD/MC (issue 18 items 3 and 5): the surface
//! segregation direction of a binary against the literature, and the chemical order of a
//! CoCuFeNiPd high-entropy-alloy particle reached from a random and from an ordered start.
//!
//! Every run is a `kmc md` scenario run through the library (Zhou04 EAM, Nosé–Hoover NVT with
//! Metropolis swaps and displacements between MD blocks), read back from its
//! `segregation.csv` (surface atom: at most 9 neighbours within (1 + √2)/2 · d, see
//! `kmc::observe::segregation`).

use std::path::{Path, PathBuf};

use kmc::scenario::md::parse_md_scenario;
use kmc::sim::md::run_scenario;

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hea-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A sphere of `diameter_nm` with `composition` (RON list) placed by `arrangement`, minimised,
/// then `steps` MD steps of 2 fs at `temperature_k` with 300 Monte Carlo attempts (90 % swaps)
/// every 10 steps and a segregation row every 25 steps.
fn scenario(
    seed: u64,
    elements: &str,
    composition: &str,
    arrangement: &str,
    temperature_k: f64,
    steps: u64,
) -> String {
    format!(
        "MdScenario(
    seed: {seed},
    potential: Zhou04(elements: {elements}),
    structure: Sphere(particle: (diameter_nm: 2.0, composition: {composition},
                                 arrangement: {arrangement})),
    temperature_k: {temperature_k},
    timestep_fs: 2.0,
    steps: {steps},
    thermo_every: 100,
    ensemble: NoseHoover(tau_fs: 100.0),
    minimize: Some((ftol_ev_a: 1e-3, max_steps: 2000)),
    zero_momentum_every_steps: 100,
    mc: Some((every_steps: 10, attempts: 300, swap_fraction: 0.9, max_displacement_a: 0.1)),
    segregation: Some((every_steps: 25)),
    output: (xyz: false, lammps_dump: false, per_atom_energy: false),
)"
    )
}

/// `segregation.csv` of a run: header and rows.
fn run(name: &str, text: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let sc = parse_md_scenario(text, None).unwrap();
    let out = scratch(name);
    run_scenario(&sc, Path::new("."), &out, &mut |_| {}).unwrap();
    let csv = std::fs::read_to_string(out.join("segregation.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// Mean of column `c` over the rows from step `from` on.
fn late_mean(rows: &[Vec<f64>], c: usize, from: f64) -> f64 {
    let late: Vec<f64> = rows.iter().filter(|r| r[0] >= from).map(|r| r[c]).collect();
    late.iter().sum::<f64>() / late.len() as f64
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

/// Ag segregates to the surface of Cu–Ag particles: Ag has the lower surface energy (1.25
/// against 1.83 J/m², Tyson and Miller, Surf. Sci. 62, 267 (1977)) and the larger atoms, and
/// Cu-rich Cu–Ag clusters take a Cu core under an Ag shell (Rapallo et al., J. Chem. Phys. 122,
/// 194308 (2005); Ferrando, Jellinek and Johnston, Chem. Rev. 108, 845 (2008), section 3).
/// A 2 nm Cu80Ag20 random alloy (321 atoms) at 600 K, four seeds: the Ag enrichment of the
/// surface (surface fraction minus overall fraction) at the end exceeds that of the random
/// start by more than 5 standard errors of the seed-to-seed difference (t with 3 degrees of
/// freedom: a chance excess of 5 has probability below 1 %), and is positive in every seed.
#[test]
fn ag_segregates_to_the_surface_of_cu_ag_particles() {
    let mut gain = Vec::new();
    for seed in 1..=4 {
        let text = scenario(
            seed,
            r#"["Cu", "Ag"]"#,
            r#"[("Cu", 0.8), ("Ag", 0.2)]"#,
            "Random",
            600.0,
            400,
        );
        let (h, rows) = run(&format!("cuag{seed}"), &text);
        let c = column(&h, "enrichment_Ag");
        let start = rows[0][c];
        let end = late_mean(&rows, c, 200.0);
        assert!(end > 0.0, "seed {seed}: Ag enrichment {end}");
        // Swaps conserve the composition.
        let (s, i) = (column(&h, "surface_atoms"), column(&h, "interior_atoms"));
        assert!(rows.iter().all(|r| r[s] + r[i] == rows[0][s] + rows[0][i]));
        eprintln!("seed {seed}: Ag enrichment {start:.4} at the start, {end:.4} at the end");
        gain.push(end - start);
    }
    let (m, sd) = mean_sd(&gain);
    let se = sd / (gain.len() as f64).sqrt();
    eprintln!("Ag enrichment gain {m:.4} ± {se:.4} (standard error of 4 seeds)");
    assert!(m > 5.0 * se, "gain {m} not above 5 × {se}");
    assert!(m > 0.05, "gain {m}: Ag barely moves");
}

/// The hybrid MD/MC equilibrates the chemical order of a quinary CoCuFeNiPd particle (2 nm,
/// 369 atoms, equiatomic, 800 K): started as a random alloy and started ordered in shells with
/// Cu at the core (none of its Cu at the surface), the surface
/// enrichments of all five species agree at the end to within 5 standard errors of the
/// seed-to-seed difference (Welch's t on three seeds per start; |t| > 5 by chance has
/// probability below 1 %), so the result does not remember the start. Cu, which the
/// ordered start buries, ends enriched at the surface from both starts.
#[test]
fn cocufenipd_order_forgets_its_start() {
    let elements = r#"["Co", "Cu", "Fe", "Ni", "Pd"]"#;
    let comp = r#"[("Cu", 0.2), ("Co", 0.2), ("Fe", 0.2), ("Ni", 0.2), ("Pd", 0.2)]"#;
    let species = ["Co", "Cu", "Fe", "Ni", "Pd"];
    let mut ends: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
    for (k, arrangement) in ["Random", "Shells"].iter().enumerate() {
        for seed in 1..=3 {
            let text = scenario(seed, elements, comp, arrangement, 800.0, 400);
            let (h, rows) = run(&format!("hea-{arrangement}-{seed}"), &text);
            let cols: Vec<usize> = species
                .iter()
                .map(|s| column(&h, &format!("enrichment_{s}")))
                .collect();
            if *arrangement == "Shells" {
                // All Cu in the core at the start.
                assert_eq!(
                    rows[0][column(&h, "surface_fraction_Cu")],
                    0.0,
                    "{:?}",
                    rows[0]
                );
            }
            let end: Vec<f64> = cols.iter().map(|&c| late_mean(&rows, c, 200.0)).collect();
            eprintln!("{arrangement} seed {seed}: enrichment {species:?} = {end:.4?}");
            ends[k].push(end);
        }
    }
    for (s, name) in species.iter().enumerate() {
        let a: Vec<f64> = ends[0].iter().map(|e| e[s]).collect();
        let b: Vec<f64> = ends[1].iter().map(|e| e[s]).collect();
        let ((ma, sa), (mb, sb)) = (mean_sd(&a), mean_sd(&b));
        let se = (sa * sa / 3.0 + sb * sb / 3.0).sqrt();
        eprintln!("{name}: random start {ma:.4} ± {sa:.4}, shells start {mb:.4} ± {sb:.4}");
        assert!(
            (ma - mb).abs() <= 5.0 * se,
            "{name}: {ma} (random) and {mb} (shells) differ by more than 5 × {se}"
        );
        if *name == "Cu" {
            assert!(ma > 5.0 * sa / 3f64.sqrt() && mb > 5.0 * sb / 3f64.sqrt());
        }
    }
}

/// Swaps change which atom has which species; the in-run coalescence analysis follows them
/// (it refused every frame after the first swap before), and its surface fractions are those
/// of `segregation.csv` (the same surface atoms) in every row.
#[test]
fn coalescence_analysis_follows_monte_carlo_swaps() {
    let text = r#"MdScenario(
    seed: 3,
    potential: Zhou04(elements: ["Co", "Cu", "Fe", "Ni", "Pd"]),
    structure: TwoSpheres(
        first: (diameter_nm: 1.2, composition: [("Co", 0.2), ("Cu", 0.2), ("Fe", 0.2), ("Ni", 0.2), ("Pd", 0.2)]),
        second: (diameter_nm: 1.2, composition: [("Co", 0.2), ("Cu", 0.2), ("Fe", 0.2), ("Ni", 0.2), ("Pd", 0.2)],
                 arrangement: Shells),
        gap_a: 3.0,
        axis: X,
    ),
    temperature_k: 800.0,
    timestep_fs: 2.0,
    steps: 60,
    thermo_every: 20,
    ensemble: NoseHoover(tau_fs: 100.0),
    mc: Some((every_steps: 10, attempts: 200, swap_fraction: 1.0, max_displacement_a: 0.1)),
    analyze: Some((every_steps: 20)),
    segregation: Some((every_steps: 20)),
    output: (xyz: false, lammps_dump: false, per_atom_energy: false),
)"#;
    let sc = parse_md_scenario(text, None).unwrap();
    let out = scratch("coalescence-swaps");
    let summary = run_scenario(&sc, Path::new("."), &out, &mut |_| {}).unwrap();
    assert!(summary.mc.unwrap().swaps_accepted > 0);
    let (sh, srows) = {
        let csv = std::fs::read_to_string(out.join("segregation.csv")).unwrap();
        let mut l = csv.lines();
        let h: Vec<String> = l.next().unwrap().split(',').map(String::from).collect();
        let r: Vec<Vec<f64>> = l
            .map(|x| x.split(',').map(|v| v.parse().unwrap()).collect())
            .collect();
        (h, r)
    };
    let csv = std::fs::read_to_string(out.join("analyze.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert_eq!(srows.len(), 4);
    let elements = ["Co", "Cu", "Fe", "Ni", "Pd"];
    let col = |el: &str| {
        header
            .iter()
            .position(|h| *h == format!("surface_fraction_{el}"))
            .unwrap()
    };
    for (r, s) in rows.iter().zip(&srows) {
        for el in elements {
            let (a, b) = (
                r[col(el)],
                s[column(&sh, &format!("surface_fraction_{el}"))],
            );
            // analyze.csv has six decimals.
            assert!((a - b).abs() < 1e-6, "{el}: {a} against {b}");
        }
        let total: f64 = elements.iter().map(|el| r[col(el)]).sum();
        assert!((total - 1.0).abs() < 1e-5, "{r:?}");
    }
}
