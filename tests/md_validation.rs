//! `kmc md` against free MD in LAMMPS (issue 13, item 4(i)), and `kmc md` writing the same
//! observables as `kmc analyze` (item 5).
//!
//! The reference is tests/data/md_validation (README.md there says how it was made): the same
//! initial coordinates (`initial_<case>.data`, written by `kmc md`) and the same Zhou04 setfl in
//! LAMMPS and `kmc md`, three seeds each, observables every ps by `kmc analyze`.
//!
//! **Agreement criterion.** At each ps t ≥ 3 ps and for each observable, let L be the LAMMPS
//! seed values and K the `kmc md` seed values. The LAMMPS band is [min L − k·s, max L + k·s], s
//! the sample standard deviation of L (three seeds), k = 2. `kmc md` agrees at t when the mean
//! of K lies inside the band; a curve agrees when it does so at no less than 80 % of its points.
//! Three seeds give a wide range at one time and a narrow one at another, so the band is
//! widened by 2s and a curve may leave it at a fifth of its points: what the criterion catches
//! is a systematic offset (a different temperature, a frozen neck, another minimum), which
//! leaves the band for most of the curve. The first 2 ps are left out: there the centre
//! distance and Rg follow the random initial velocity of one particle relative to the other
//! (σ = 0.076 Å/ps along the axis at 600 K), which three seeds sample poorly — kmc's seeds 1–3
//! all start approaching, LAMMPS's mostly receding, while over 40 kmc seeds the mean is
//! −0.013 ± 0.014 Å/ps (tests/data/md_validation/README.md).

use std::path::{Path, PathBuf};

use kmc::observe::analyze::{AnalyzeOptions, analyze_file};
use kmc::scenario::md::parse_md_scenario;
use kmc::sim::md::run_scenario;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ref_dir() -> PathBuf {
    root().join("tests/data/md_validation")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mdval-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The observables compared, as named in the reference CSVs.
const OBSERVABLES: [&str; 6] = [
    "neck_radius_a",
    "rg_a",
    "centre_distance_a",
    "misorientation_deg",
    "grain_misorientation_deg",
    "surface_fraction_Ag",
];

/// Fraction of a curve's points that must lie in the band.
const MIN_INSIDE: f64 = 0.8;
/// Widening of the LAMMPS min–max range, in seed standard deviations.
const K_SIGMA: f64 = 2.0;
/// First time compared, ps.
const T_FIRST: f64 = 3.0;

/// Curves of one code for one case: `curves[seed][observable]` over `times`.
#[derive(Debug, Clone, Default)]
struct Curves {
    times: Vec<f64>,
    /// seed -> observable -> values at `times`.
    seeds: Vec<(u64, Vec<Vec<f64>>)>,
}

impl Curves {
    /// Reads a reference CSV (`seed,time_ps,<observables>`), keeping times up to `t_max`.
    fn read(path: &Path, t_max: f64) -> Curves {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: {e} (see its README)", path.display()));
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let mut c = Curves::default();
        for l in lines {
            let v: Vec<&str> = l.split(',').collect();
            let seed: u64 = v[0].parse().unwrap();
            let t: f64 = v[col("time_ps")].parse().unwrap();
            if t > t_max + 1e-9 {
                continue;
            }
            let vals: Vec<f64> = OBSERVABLES
                .iter()
                .map(|o| v[col(o)].parse().unwrap())
                .collect();
            c.push(seed, t, &vals);
        }
        c
    }

    fn push(&mut self, seed: u64, t: f64, vals: &[f64]) {
        let k = match self.seeds.iter().position(|(s, _)| *s == seed) {
            Some(k) => k,
            None => {
                self.seeds.push((seed, vec![Vec::new(); OBSERVABLES.len()]));
                self.seeds.len() - 1
            }
        };
        let i = self.seeds[k].1[0].len();
        if self.times.len() <= i {
            self.times.push(t);
        }
        assert!(
            (self.times[i] - t).abs() < 1e-6,
            "seed {seed}: time {t} where {} was expected",
            self.times[i]
        );
        for (o, v) in vals.iter().enumerate() {
            self.seeds[k].1[o].push(*v);
        }
    }

    /// Values of observable `o` at time index `i`, one per seed.
    fn at(&self, o: usize, i: usize) -> Vec<f64> {
        self.seeds
            .iter()
            .filter_map(|(_, v)| v[o].get(i).copied())
            .collect()
    }

    /// Points every seed has.
    fn len(&self) -> usize {
        self.seeds
            .iter()
            .map(|(_, v)| v[0].len())
            .min()
            .unwrap_or(0)
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

fn min(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Per observable: the fraction of points from [`T_FIRST`] on at which the kmc seed mean lies
/// in the LAMMPS band.
fn inside_fractions(lammps: &Curves, kmc: &Curves) -> Vec<f64> {
    let n = lammps.len().min(kmc.len());
    assert!(n > 1, "no common points");
    assert!(
        lammps.seeds.len() >= 2 && kmc.seeds.len() >= 2,
        "the comparison needs seeds of each code"
    );
    let first = lammps
        .times
        .iter()
        .position(|t| *t >= T_FIRST - 1e-9)
        .unwrap_or(n);
    assert!(n > first, "no points from {T_FIRST} ps on");
    (0..OBSERVABLES.len())
        .map(|o| {
            let inside = (first..n)
                .filter(|&i| {
                    let l = lammps.at(o, i);
                    let k = mean(&kmc.at(o, i));
                    let w = K_SIGMA * sd(&l);
                    // Equal values (e.g. no Ag): a band of rounding width.
                    let eps = 1e-6 * (1.0 + max(&l).abs());
                    k >= min(&l) - w - eps && k <= max(&l) + w + eps
                })
                .count();
            inside as f64 / (n - first) as f64
        })
        .collect()
}

/// The `kmc md` scenario of the validation (tests/data/md_validation/md_pair.ron.in) for one
/// case and seed, with the in-run analysis every ps.
fn scenario(data: &str, temp: f64, seed: u64, steps: u64, nfirst: usize) -> String {
    let t = std::fs::read_to_string(ref_dir().join("md_pair.ron.in")).unwrap();
    let t = t
        .replace("SEED", &seed.to_string())
        .replace(
            "Setfl(path: \"SETFL\")",
            "Zhou04(elements: [\"Au\", \"Ag\"])",
        )
        .replace("DATA", data)
        .replace("TEMP", &format!("{temp:.1}"))
        .replace("STEPS", &steps.to_string())
        .replace(
            "output: (xyz: false, lammps_dump: true, per_atom_energy: false),",
            "output: (xyz: false, lammps_dump: false, per_atom_energy: false),",
        );
    let t = t.trim_end().trim_end_matches(')').to_string();
    format!("{t}    analyze: Some((every_steps: 500, first_particle_atoms: Some({nfirst}))),\n)\n")
}

/// Runs `kmc md` for the case's seeds in parallel threads and reads the in-run analysis.
fn run_kmc(case: &str, seeds: &[u64], steps: u64) -> Curves {
    let (data, temp, nfirst) = match case {
        "a" => ("initial_a.data", 600.0, 887),
        "b" => ("initial_b.data", 600.0, 887),
        "c" => ("initial_c.data", 600.0, 791),
        "d" => ("initial_c.data", 800.0, 791),
        _ => unreachable!(),
    };
    let base = ref_dir();
    let dirs: Vec<PathBuf> = seeds
        .iter()
        .map(|s| scratch(&format!("{case}-{steps}-s{s}")))
        .collect();
    std::thread::scope(|scope| {
        for (seed, dir) in seeds.iter().zip(&dirs) {
            let base = &base;
            scope.spawn(move || {
                let src = scenario(data, temp, *seed, steps, nfirst);
                let sc = parse_md_scenario(&src, None).unwrap();
                run_scenario(&sc, base, dir, &mut |_| {}).unwrap();
            });
        }
    });
    let mut c = Curves::default();
    for (seed, dir) in seeds.iter().zip(&dirs) {
        let text = std::fs::read_to_string(dir.join("analyze.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        for l in lines {
            let v: Vec<&str> = l.split(',').collect();
            let vals: Vec<f64> = OBSERVABLES
                .iter()
                .map(|o| col(o).map_or(0.0, |k| v[k].parse().unwrap()))
                .collect();
            c.push(*seed, v[col("time_ps").unwrap()].parse().unwrap(), &vals);
        }
    }
    c
}

/// Item 5: the in-run analysis of `kmc md` is `kmc analyze` of the trajectory it wrote (the
/// same frames; the file holds positions to 10 decimals, so rows agree to 1e-5), with the
/// particle labels of the construction written as the `particle` column.
#[test]
fn kmc_md_writes_what_kmc_analyze_reads_from_its_trajectory() {
    let dir = scratch("in-run");
    let src = r#"MdScenario(
        seed: 5,
        potential: Zhou04(elements: ["Au", "Ag"]),
        structure: TwoSpheres(
            first: (diameter_nm: 1.6, composition: [("Ag", 1.0)]),
            second: (diameter_nm: 1.6, composition: [("Au", 1.0)]),
            gap_a: 2.5, axis: X, rotation_deg: 20.0, vacuum_a: 10.0,
        ),
        temperature_k: 700.0,
        timestep_fs: 2.0,
        steps: 300,
        thermo_every: 50,
        dump_every: 50,
        ensemble: NoseHoover(tau_fs: 100.0),
        minimize: Some((ftol_ev_a: 1e-3, max_steps: 2000)),
        zero_momentum_every_steps: 100,
        output: (xyz: true, lammps_dump: false, per_atom_energy: false),
        analyze: Some((every_steps: 50)),
    )"#;
    let sc = parse_md_scenario(src, None).unwrap();
    run_scenario(&sc, Path::new("."), &dir, &mut |_| {}).unwrap();
    let an = analyze_file(&dir.join("traj.xyz"), &AnalyzeOptions::default()).unwrap();
    assert_eq!(an.labels_from, "column `particle`");
    // The first sphere's atoms (Ag) are particle A.
    let ag = an.species.iter().position(|s| s == "Ag").unwrap();
    assert_eq!(an.rows.len(), 7);
    let text = std::fs::read_to_string(dir.join("analyze.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The same columns (species in the potential's order here, in order of appearance in the
    // file there), compared by name.
    let header: Vec<&str> = lines[0].split(',').collect();
    let want_header = an.header();
    let want_header: Vec<&str> = want_header.split(',').collect();
    let mut sorted = (header.clone(), want_header.clone());
    sorted.0.sort();
    sorted.1.sort();
    assert_eq!(sorted.0, sorted.1);
    assert_eq!(lines.len(), an.rows.len() + 1);
    for (line, row) in lines[1..].iter().zip(&an.rows) {
        let got: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let csv = row.csv();
        let want: Vec<f64> = csv.split(',').map(|x| x.parse().unwrap()).collect();
        for (k, name) in header.iter().enumerate() {
            let w = want[want_header.iter().position(|h| h == name).unwrap()];
            assert!((got[k] - w).abs() <= 1e-5, "{name}: {line}\n vs {csv}");
        }
    }
    // Something happened: the pair made a neck, and the Ag fraction is a real fraction.
    let last = an.rows.last().unwrap();
    assert!(last.neck_radius_a > an.rows[0].neck_radius_a.max(1.0));
    assert!(last.surface_fraction[ag] > 0.2 && last.surface_fraction[ag] < 0.8);
    assert!(
        (an.initial_misorientation_deg.unwrap() - an.rows[0].grain_misorientation_deg).abs() < 1e-9
    );
}

/// Fast CI check (about 10 ps × 3 seeds of case b, the Au–Au pair turned 30°): `kmc md` from
/// the shared initial file lies within the LAMMPS seed spread on every curve (criterion in the
/// module notes).
#[test]
fn kmc_md_lies_within_the_lammps_spread_for_10_ps() {
    let lammps = Curves::read(&ref_dir().join("b_lammps.csv"), 10.0);
    let kmc = run_kmc("b", &[1, 2, 3], 5000);
    assert_eq!(kmc.len(), 11);
    let inside = inside_fractions(&lammps, &kmc);
    for (o, f) in OBSERVABLES.iter().zip(&inside) {
        eprintln!("case b, 10 ps, {o}: {:.0} % of points inside", 100.0 * f);
    }
    for (o, f) in OBSERVABLES.iter().zip(&inside) {
        assert!(*f >= MIN_INSIDE, "{o}: only {:.0} % inside", 100.0 * f);
    }
}

/// The validation table of the README from the stored curves of both codes (median and
/// range over seeds at 10 ps and at the last common time), the fraction of each curve inside
/// the LAMMPS band, and the check that every curve agrees where the two codes start MD from the
/// same minimum (a, b, and cm, dm: `kmc md` from LAMMPS's minimised Ag–Au pair). Cases c and d
/// (each code minimising the Ag–Au pair itself) are printed, not asserted: kmc's FIRE goes on
/// to a lower minimum with a wider neck than LAMMPS's CG (README.md there); so is the unsigned
/// change of misorientation. Case a has six seeds per code: with three, kmc's two tumbling
/// seeds (22–28°) fell outside LAMMPS's three aligned ones, until LAMMPS's seed 5 tumbled too
/// (31°; README).
///
///     cargo test --release --test md_validation -- --ignored --nocapture validation_table
///
/// The stored curves are made by tests/data/md_validation/make_reference.sh.
#[test]
#[ignore = "the full-length comparison; prints the README table"]
fn validation_table() {
    let mut failed = Vec::new();
    println!(
        "| case | observable | t (ps) | LAMMPS median [min, max] | kmc md median [min, max] | \
         inside (t ≥ 3 ps) |"
    );
    println!("|---|---|---|---|---|---|");
    for (case, reference) in [
        ("a", "a"),
        ("b", "b"),
        ("c", "c"),
        ("cm", "c"),
        ("d", "d"),
        ("dm", "d"),
    ] {
        let (lp, kp) = (
            ref_dir().join(format!("{reference}_lammps.csv")),
            ref_dir().join(format!("{case}_kmc.csv")),
        );
        if !lp.exists() || !kp.exists() {
            println!("| {case} | (not run) | | | | |");
            continue;
        }
        let lammps = Curves::read(&lp, f64::INFINITY);
        let kmc = Curves::read(&kp, f64::INFINITY);
        let n = lammps.len().min(kmc.len());
        if n <= 3 {
            println!("| {case} | (too short) | | | | |");
            continue;
        }
        let inside = inside_fractions(&lammps, &kmc);
        for (o, name) in OBSERVABLES.iter().enumerate() {
            if *name == "surface_fraction_Ag" && (case == "a" || case == "b") {
                continue;
            }
            let i10 = lammps.times.iter().position(|t| (t - 10.0).abs() < 1e-6);
            let last = n - 1;
            for i in i10.into_iter().chain([last]).filter(|&i| i <= last) {
                let (l, k) = (lammps.at(o, i), kmc.at(o, i));
                println!(
                    "| {case} | {name} | {} | {:.3} [{:.3}, {:.3}] | {:.3} [{:.3}, {:.3}] | {} |",
                    lammps.times[i],
                    median(&l),
                    min(&l),
                    max(&l),
                    median(&k),
                    min(&k),
                    max(&k),
                    if i == last {
                        format!("{:.0} %", 100.0 * inside[o])
                    } else {
                        String::new()
                    }
                );
                if i10 == Some(last) {
                    break;
                }
            }
            // The unsigned change of misorientation of a tumbling pair is broad and set by the
            // seeds (LAMMPS's three span 7–31° at 10 ps): printed, not asserted.
            if inside[o] < MIN_INSIDE && case != "c" && case != "d" && *name != "misorientation_deg"
            {
                failed.push(format!(
                    "{case} {name}: {:.0} % of points inside",
                    100.0 * inside[o]
                ));
            }
        }
    }
    assert!(failed.is_empty(), "outside the LAMMPS spread: {failed:#?}");
}

/// The comparison can fail: the LAMMPS curves of the Ag–Au pair at 800 K are not within the
/// spread of those at 600 K (the neck and the centre distance are not), and a curve is within
/// its own spread.
#[test]
fn the_criterion_tells_different_runs_apart() {
    let c = Curves::read(&ref_dir().join("c_lammps.csv"), f64::INFINITY);
    let d = Curves::read(&ref_dir().join("d_lammps.csv"), f64::INFINITY);
    let own = inside_fractions(&c, &c);
    assert!(own.iter().all(|f| *f == 1.0), "{own:?}");
    let other = inside_fractions(&c, &d);
    let failing = OBSERVABLES
        .iter()
        .zip(&other)
        .filter(|(_, f)| **f < MIN_INSIDE)
        .map(|(o, _)| *o)
        .collect::<Vec<_>>();
    assert!(
        !failing.is_empty(),
        "600 K and 800 K agree on every curve: {other:?}"
    );
}

/// The MD itself, without chaos: from LAMMPS's minimised case b with LAMMPS's initial
/// velocities (same_start_b.data), `kmc md` under the validation protocol (Nosé–Hoover chain,
/// τ = 100 fs, 2 fs, momentum zeroing every 100 steps) follows LAMMPS's trajectory for 1000
/// steps: temperature, potential energy, radius of gyration and centre distance every 50 steps
/// (same_start_b_lammps.csv). A thermostat, integrator, force or momentum-zeroing difference
/// shows here within a few hundred steps; chaos separates the two only after several ps.
#[test]
fn kmc_md_follows_lammps_from_the_same_positions_and_velocities() {
    let dir = scratch("same-start");
    let src = std::fs::read_to_string(ref_dir().join("md_pair.ron.in"))
        .unwrap()
        .replace("SEED", "1")
        .replace(
            "Setfl(path: \"SETFL\")",
            "Zhou04(elements: [\"Au\", \"Ag\"])",
        )
        .replace("DATA", "same_start_b.data")
        .replace(
            "pbc: Some((false, false, false)),",
            "pbc: Some((false, false, false)), keep_velocities: true,",
        )
        .replace("TEMP", "600.0")
        .replace("STEPS", "1000")
        .replace("thermo_every: 500", "thermo_every: 50")
        .replace(
            "    minimize: Some((ftol_ev_a: 1e-4, max_steps: 5000)),\n",
            "",
        )
        .replace(
            "output: (xyz: false, lammps_dump: true, per_atom_energy: false),",
            "output: (xyz: false, lammps_dump: false, per_atom_energy: false),\n    \
             analyze: Some((every_steps: 50, first_particle_atoms: Some(887))),",
        );
    let sc = parse_md_scenario(&src, None).unwrap();
    assert!(sc.minimize.is_none() && sc.analyze.is_some(), "{src}");
    run_scenario(&sc, &ref_dir(), &dir, &mut |_| {}).unwrap();
    let rows = |p: &Path| -> Vec<Vec<f64>> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect()
    };
    let lammps = rows(&ref_dir().join("same_start_b_lammps.csv"));
    let thermo = rows(&dir.join("thermo.csv")); // step,time_fs,T_k,E_pot_ev,...
    let an = rows(&dir.join("analyze.csv")); // frame,time_ps,neck,rg,centre,...
    assert_eq!((lammps.len(), thermo.len(), an.len()), (21, 21, 21));
    for ((l, t), a) in lammps.iter().zip(&thermo).zip(&an) {
        assert_eq!(l[0], t[0]);
        let step = l[0];
        assert!(
            (l[1] - t[2]).abs() < 0.2,
            "step {step}: T {} vs {}",
            t[2],
            l[1]
        );
        assert!(
            (l[2] - t[3]).abs() < 5e-3,
            "step {step}: E_pot {} vs {}",
            t[3],
            l[2]
        );
        assert!(
            (l[3] - a[3]).abs() < 1e-3,
            "step {step}: Rg {} vs {}",
            a[3],
            l[3]
        );
        assert!(
            (l[4] - a[4]).abs() < 1e-3,
            "step {step}: centres {} vs {}",
            a[4],
            l[4]
        );
    }
}
