//! The deterministic record of a run: `series.csv` rows and, for particle runs, the rows of
//! `particles.csv`, `necks.csv`, `contacts.csv` and `relax_timing.csv`, with the schedule that
//! takes them. It lives in the [`Simulation`] (not in a writer), so every driver records the
//! same rows at the same moments, and it is saved in checkpoints, so a resumed run continues
//! the same files.

use super::Simulation;
use super::relaxer::{RELAX_CSV_COLUMNS, RELAX_SERIES_COLUMNS, RelaxRecord, RelaxTotals};
use crate::engine::contact::{Contact, ContactKind};
use crate::observe::particles::{NECK_CSV_HEADER, particle_csv_header};
use crate::observe::write::Series;
use crate::scenario::{Scenario, Stop};
use serde::{Deserialize, Serialize};

/// The columns of `relax_timing.csv`.
pub const RELAX_TIMING_CSV_HEADER: &str =
    "contact,time_s,mobile_atoms,frozen_atoms,md_steps,md_time_ps,wall_s,md_wall_s";

/// The columns of `contacts.csv`.
pub const CONTACT_CSV_HEADER: &str =
    "time_s,kind,site,other_site,atoms_a,atoms_b,particle_a,particle_b,x_a,y_a,z_a";

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recorder {
    /// Sampling on (benchmarks switch it off).
    pub enabled: bool,
    pub series: Series,
    series_every_s: Option<f64>,
    series_every_events: Option<u64>,
    next_series_s: Option<f64>,
    snapshot_every_s: Option<f64>,
    next_snapshot_s: Option<f64>,
    /// Snapshots taken (the number in the next file name is one more).
    pub snapshots: u32,
    pub particle_rows: Series,
    pub neck_rows: Series,
    pub contact_rows: Series,
    /// Wall-clock times of the relaxations (not reproducible, so kept out of `contacts.csv`
    /// and `series.csv`).
    pub relax_rows: Series,
    pub relax_totals: RelaxTotals,
    /// A sample has seen the film percolate.
    pub percolated: bool,
    /// Anything skipped or worth knowing, for the summary.
    pub notes: Vec<String>,
}

impl Recorder {
    /// The record of a run of `sc` that ends at `stop`: without an explicit schedule,
    /// `series.csv` gets 100 rows over the run.
    pub fn new(sc: &Scenario, stop: &Stop, series_header: &str, relaxes: bool) -> Self {
        let o = &sc.output;
        let (every_s, every_ev) = match (o.series_every_s, o.series_every_events) {
            (None, None) => match (stop.time_s, stop.events) {
                (Some(t), _) if t > 0.0 => (Some(t / 100.0), None),
                (_, Some(n)) => (None, Some((n / 100).max(1))),
                _ => (None, Some(10_000)),
            },
            x => x,
        };
        let mut series_header = series_header.to_string();
        let mut contact_header = CONTACT_CSV_HEADER.to_string();
        if relaxes {
            series_header = format!("{series_header},{RELAX_SERIES_COLUMNS}");
            contact_header = format!("{contact_header},{RELAX_CSV_COLUMNS}");
        }
        Recorder {
            enabled: true,
            series: Series::new(&series_header),
            series_every_s: every_s,
            series_every_events: every_ev,
            next_series_s: every_s,
            snapshot_every_s: o.snapshot_every_s,
            next_snapshot_s: o.snapshot_every_s,
            snapshots: 0,
            particle_rows: Series::new(&particle_csv_header(&sc.species)),
            neck_rows: Series::new(NECK_CSV_HEADER),
            contact_rows: Series::new(&contact_header),
            relax_rows: Series::new(RELAX_TIMING_CSV_HEADER),
            relax_totals: RelaxTotals::default(),
            percolated: false,
            notes: Vec::new(),
        }
    }

    /// The next moment the clock must stop at for a sample or a snapshot.
    pub fn next_time(&self) -> f64 {
        let series = if self.enabled {
            self.next_series_s
        } else {
            None
        };
        [series, self.next_snapshot_s]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min)
    }

    /// True when a sample is due after event number `events`.
    pub fn due_after_event(&self, events: u64) -> bool {
        self.enabled && self.series_every_events.is_some_and(|n| events % n == 0)
    }

    /// True (and the schedule advanced) when a time-scheduled sample is due at `t`.
    pub fn take_due_sample(&mut self, t: f64) -> bool {
        match (self.enabled, self.next_series_s, self.series_every_s) {
            (true, Some(ts), Some(every)) if t >= ts => {
                self.next_series_s = Some(next_multiple(ts, every, t));
                true
            }
            _ => false,
        }
    }

    /// The name of the snapshot due at `t` (and the schedule advanced), if one is.
    pub fn take_due_snapshot(&mut self, t: f64) -> Option<String> {
        match (self.next_snapshot_s, self.snapshot_every_s) {
            (Some(ts), Some(every)) if t >= ts => {
                self.snapshots += 1;
                self.next_snapshot_s = Some(next_multiple(ts, every, t));
                Some(format!("snapshot_{:04}", self.snapshots))
            }
            _ => None,
        }
    }

    /// Adds a sample's rows.
    pub fn push(&mut self, s: Sample) {
        self.series.rows.push(s.series);
        self.particle_rows.rows.extend(s.particles);
        self.neck_rows.rows.extend(s.necks);
        self.percolated |= s.percolating;
    }

    /// Records contact number `index` and, if it was relaxed, what the relaxer did.
    pub fn push_contact(&mut self, index: u64, c: &Contact, relax: Option<&RelaxRecord>) {
        if let Some(rec) = relax {
            self.relax_totals.add(rec);
            self.relax_rows.rows.push(format!(
                "{index},{},{},{},{},{},{},{}",
                c.time_s,
                rec.mobile_atoms,
                rec.frozen_atoms,
                rec.md_steps,
                rec.md_time_ps,
                rec.wall_s,
                rec.md_wall_s
            ));
        }
        self.contact_rows.rows.push(contact_row(c, relax));
    }
}

/// The first point of the grid `current + k·every` past `now`. Rows stay on the grid even
/// when the clock jumps over several points at once.
fn next_multiple(current: f64, every: f64, now: f64) -> f64 {
    let mut t = current;
    while t <= now {
        t += every;
    }
    t
}

/// One sample: a `series.csv` row and, for particle runs, its `particles.csv` and
/// `necks.csv` rows.
#[derive(Debug, PartialEq)]
pub(crate) struct Sample {
    pub series: String,
    /// A film component spans the box along x or y.
    pub percolating: bool,
    pub particles: Vec<String>,
    pub necks: Vec<String>,
}

/// Measures a sample of `sim` now.
pub(crate) fn sample(sim: &mut Simulation) -> Sample {
    let mut row = series_row(sim);
    let (mut particles, mut necks) = (Vec::new(), Vec::new());
    let mut percolating = false;
    if let Some(c) = sim.coalescence() {
        let t = sim.time();
        let k = sim.counters();
        row.push_str(&format!(
            ",{},{},{}",
            k.particles_deposited,
            k.particles_unplaceable,
            c.series_fields()
        ));
        particles = c.particle_rows(t);
        necks = c.neck_rows(t);
        percolating = c.percolating[0] || c.percolating[1];
    }
    if let Some(r) = sim.relax_totals() {
        row.push(',');
        row.push_str(&r.series_fields());
    }
    Sample {
        series: row,
        percolating,
        particles,
        necks,
    }
}

fn series_row(sim: &Simulation) -> String {
    let o = sim.observables();
    let c = sim.counters();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        o.time_s,
        o.events,
        o.coverage_ml,
        o.mean_height_ml,
        o.roughness_ml,
        o.islands,
        o.mean_island_size,
        c.hops,
        c.deposited,
        sim.engine().active_atoms(),
        sim.engine().total_rate()
    )
}

fn contact_row(c: &Contact, relax: Option<&RelaxRecord>) -> String {
    let p = |x: Option<u32>| x.map_or(String::new(), |v| v.to_string());
    let mut row = format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        c.time_s,
        match c.kind {
            ContactKind::Merge => "merge",
            ContactKind::Substrate => "substrate",
        },
        c.site,
        c.other_site,
        c.atoms[0],
        c.atoms[1],
        p(c.particles[0]),
        p(c.particles[1]),
        c.point_a[0],
        c.point_a[1],
        c.point_a[2]
    );
    if let Some(r) = relax {
        row.push(',');
        row.push_str(&r.csv_fields());
    }
    row
}
