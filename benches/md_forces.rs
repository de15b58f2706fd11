//! EAM force calls and neighbour-list builds on the LAMMPS reference system: 32,000 Cu atoms
//! (FCC, 20³ cells, a = 3.615 Å), Zhou 2004 potential tabulated as a setfl, positions displaced
//! at a ~300 K scale (σ = 0.08 Å per component, about Cu's rms thermal displacement at 300 K),
//! half list with a 1 Å skin (LAMMPS's `neighbor 1.0 bin`).
//!
//! Per-atom times are the reported time divided by 32,000 (criterion also prints elements/s).
//! Serial: one thread and the single-chunk kernel; "rayon 2": a two-thread pool and the chunked
//! kernel. Compare with LAMMPS (eam.md): 1.21 µs per atom-step for NVE incl. neighbour updates.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmc::md::eam::Eam;
use kmc::md::zhou04;
use kmc::md::{Configuration, Evaluation, NeighborList, Potential, SimBox};
use kmc::rng::{Stream, stream};
use rand::RngExt;

fn copper_crystal() -> (Vec<[f64; 3]>, SimBox) {
    let (a, n) = (3.615, 20);
    let simbox = SimBox::periodic([n as f64 * a; 3]);
    let mut rng = stream(300, Stream::Md);
    let mut x = Vec::with_capacity(4 * n * n * n);
    for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                for b in [
                    [0.0, 0.0, 0.0],
                    [0.5, 0.5, 0.0],
                    [0.5, 0.0, 0.5],
                    [0.0, 0.5, 0.5],
                ] {
                    let mut p = [
                        (i as f64 + b[0]) * a,
                        (j as f64 + b[1]) * a,
                        (k as f64 + b[2]) * a,
                    ];
                    for c in p.iter_mut() {
                        // Gaussian (Box–Muller), σ = 0.08 Å.
                        let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
                        *c += 0.08 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    }
                    x.push(simbox.wrap(p));
                }
            }
        }
    }
    (x, simbox)
}

fn bench(c: &mut Criterion) {
    let (x, simbox) = copper_crystal();
    let n = x.len();
    let species = vec![0u8; n];
    let mut eam = Eam::from_setfl(&zhou04::setfl(&["Cu"]).unwrap()).unwrap();
    let nl = NeighborList::build(&x, &simbox, eam.cutoff(), 1.0, true);
    let conf = Configuration {
        positions: &x,
        species: &species,
        simbox: &simbox,
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();

    let mut g = c.benchmark_group("cu32000");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    let mut out = Evaluation::default();
    eam.parallel_threshold = usize::MAX;
    g.bench_function("eam_force_serial", |b| {
        b.iter(|| one.install(|| eam.compute(&conf, &nl, false, &mut out)))
    });
    eam.parallel_threshold = kmc::md::eam::DEFAULT_PARALLEL_THRESHOLD;
    g.bench_function("eam_force_rayon2", |b| {
        b.iter(|| two.install(|| eam.compute(&conf, &nl, false, &mut out)))
    });
    g.bench_function("neighbor_build_serial", |b| {
        b.iter(|| one.install(|| NeighborList::build(&x, &simbox, eam.cutoff(), 1.0, true)))
    });
    g.bench_function("neighbor_build_rayon2", |b| {
        b.iter(|| two.install(|| NeighborList::build(&x, &simbox, eam.cutoff(), 1.0, true)))
    });
    g.bench_function("needs_rebuild", |b| b.iter(|| nl.needs_rebuild(&x)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
