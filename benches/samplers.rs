//! The KMC inner loop for every sampler: one selection plus one update of a random leaf, for
//! N = 1e3 .. 1e7 leaves and rates nearly uniform (log-uniform on [1, 2]) or spread over twelve
//! decades (log-uniform on [1, 1e12]). `Linear` is O(N) per selection and is only run up to
//! N = 1e5. Measurement times are short so the whole bench takes a few minutes:
//! `cargo bench --bench samplers`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmc::rng::{Stream, stream, uniform};
use kmc::sampler::{RateSampler, SamplerKind};
use rand::RngExt;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];
const LINEAR_MAX: usize = 100_000;

fn select_and_update(c: &mut Criterion) {
    for (spread_name, spread) in [("narrow", 2.0f64), ("spread1e12", 1e12)] {
        let mut group = c.benchmark_group(format!("select+update/{spread_name}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500))
            .throughput(Throughput::Elements(1));
        for kind in SamplerKind::ALL {
            for n in SIZES {
                if kind == SamplerKind::Linear && n > LINEAR_MAX {
                    continue;
                }
                let mut rng = stream(n as u64, Stream::Engine);
                let rates: Vec<f64> = (0..n).map(|_| spread.powf(uniform(&mut rng))).collect();
                let pool: Vec<f64> = (0..4096).map(|_| spread.powf(uniform(&mut rng))).collect();
                let mut sampler = kind.build(0);
                sampler.assign(&rates);
                drop(rates);
                let mut next = 0usize;
                group.bench_function(BenchmarkId::new(kind.name(), n), |b| {
                    b.iter(|| {
                        black_box(sampler.select(&mut rng));
                        let i = rng.random_range(0..n);
                        sampler.set(i, pool[next & 4095]);
                        next = next.wrapping_add(1);
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, select_and_update);
criterion_main!(benches);
