//! The deterministic record of a run: `series.csv` rows and, for particle runs, the rows of
//! `particles.csv`, `necks.csv`, `contacts.csv` and `relax_timing.csv`, with the schedule that
//! takes them. It lives in the [`Simulation`] (not in a writer), so every driver records the
//! same rows at the same moments, and it is saved in checkpoints, so a resumed run continues
//! the same files.

use super::Simulation;
use super::relaxer::{
    GRAIN_CONTACT_CSV_COLUMNS, GrainRecord, RELAX_CSV_COLUMNS, RELAX_SERIES_COLUMNS, RelaxRecord,
    RelaxTotals,
};
use crate::engine::contact::{Contact, ContactKind};
use crate::observe::film::{Onset, PercolationOnset};
use crate::observe::particles::{NECK_CSV_HEADER, particle_csv_header, percolation};
use crate::observe::write::Series;
use crate::scenario::{Scenario, Stop};
use serde::{Deserialize, Serialize};

/// The columns of `relax_timing.csv`.
pub const RELAX_TIMING_CSV_HEADER: &str =
    "contact,time_s,mobile_atoms,frozen_atoms,md_steps,md_time_ps,wall_s,md_wall_s";

/// The columns of `contacts.csv`.
pub const CONTACT_CSV_HEADER: &str =
    "time_s,kind,site,other_site,atoms_a,atoms_b,particle_a,particle_b,x_a,y_a,z_a";

/// Grid points a time schedule may step through without an event before it skips to the
/// next event ([`Recorder::skip_idle`]).
pub(crate) const MAX_IDLE_POINTS: f64 = 100_000.0;

/// Most snapshot files a run writes (the four-digit names run out there, and a snapshot
/// every nanosecond wrote 1.4 GB in 20 s).
pub const MAX_SNAPSHOTS: u32 = 9999;

/// The name of the `i`-th scheduled snapshot (from 1), before its format's extension.
pub fn snapshot_name(i: u32) -> String {
    format!("snapshot_{i:04}")
}

/// Most notes kept (skips can repeat at every clock jump).
const MAX_NOTES: usize = 20;

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
    /// `grains.csv`: every particle grain at every sample (runs whose particles are grains).
    pub grain_rows: Series,
    pub contact_rows: Series,
    /// Wall-clock times of the relaxations (not reproducible, so kept out of `contacts.csv`
    /// and `series.csv`).
    pub relax_rows: Series,
    pub relax_totals: RelaxTotals,
    /// A sample has seen the film percolate.
    pub percolated: bool,
    /// The first samples at which the film spanned the box along x and along y.
    pub percolation: PercolationOnset,
    /// Anything skipped or worth knowing, for the summary.
    pub notes: Vec<String>,
    /// The run has grains: `contacts.csv` has the grain columns.
    pub grains: bool,
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
        let grains = sc.uses_grains();
        if grains {
            contact_header = format!("{contact_header},{GRAIN_CONTACT_CSV_COLUMNS}");
        }
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
            grain_rows: Series::new(GRAIN_CSV_HEADER),
            contact_rows: Series::new(&contact_header),
            relax_rows: Series::new(RELAX_TIMING_CSV_HEADER),
            relax_totals: RelaxTotals::default(),
            percolated: false,
            percolation: PercolationOnset::default(),
            notes: Vec::new(),
            grains,
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

    /// The event interval of `series.csv` rows, if rows are taken by events.
    pub fn series_every_events(&self) -> Option<u64> {
        self.series_every_events
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

    /// Ends the snapshot schedule, saying why in the notes.
    pub fn stop_snapshots(&mut self, note: String) {
        self.next_snapshot_s = None;
        self.notes.push(note);
    }

    /// The name of the snapshot due at `t` (and the schedule advanced), if one is. After
    /// [`MAX_SNAPSHOTS`] snapshots the schedule stops, with a note.
    pub fn take_due_snapshot(&mut self, t: f64) -> Option<String> {
        match (self.next_snapshot_s, self.snapshot_every_s) {
            (Some(ts), Some(every)) if t >= ts => {
                self.snapshots += 1;
                self.next_snapshot_s = Some(next_multiple(ts, every, t));
                if self.snapshots >= MAX_SNAPSHOTS {
                    self.next_snapshot_s = None;
                    self.notes.push(format!(
                        "snapshots stopped after {MAX_SNAPSHOTS} files (t = {t:e} s): \
                         output.snapshot_every_s = {every:e} s asks for more"
                    ));
                }
                Some(snapshot_name(self.snapshots))
            }
            _ => None,
        }
    }

    /// Called when the clock stopped at a scheduled moment while the next event is pending
    /// at `next_event`: if that event lies more than [`MAX_IDLE_POINTS`] grid points of a
    /// time schedule ahead, the schedule moves to its last grid point before the event. The
    /// state cannot change in between, so the rows and snapshots skipped would all repeat the
    /// last one; after a clock jump (a tiny total rate) they were millions and the run never
    /// ended. Schedules with smaller gaps are untouched, so ordinary runs record exactly the
    /// rows they always did.
    pub fn skip_idle(&mut self, next_event: f64) {
        let enabled = self.enabled;
        let mut notes = Vec::new();
        for (next, every, what) in [
            (
                &mut self.next_series_s,
                self.series_every_s.filter(|_| enabled),
                "series.csv rows",
            ),
            (
                &mut self.next_snapshot_s,
                self.snapshot_every_s,
                "snapshots",
            ),
        ] {
            let (Some(ts), Some(every)) = (*next, every) else {
                continue;
            };
            if ts + every <= ts && next_event > ts {
                // The interval is below the clock's resolution here (1e-9 s at t = 1e8 s): the
                // grid is lost anyway, and stepping one representable time at a time wrote
                // hundreds of identical files per event. Next point: just after the event.
                *next = Some(f64::from_bits(next_event.to_bits() + 1));
                let said = self
                    .notes
                    .iter()
                    .any(|n| n.contains(what) && n.contains("clock's resolution"));
                if said {
                    continue;
                }
                notes.push(format!(
                    "at t = {ts:e} s, {what} every {every:e} s are below the clock's resolution: \
                     one per event from here"
                ));
                continue;
            }
            let gap = ((next_event - ts) / every).floor();
            if gap > MAX_IDLE_POINTS {
                // One point short of the event, so rounding never puts it past the event.
                *next = Some(ts + (gap - 1.0) * every);
                notes.push(format!(
                    "no event between t = {ts:e} s and t = {next_event:e} s: {gap:.0} {what} \
                     (all alike) were skipped"
                ));
            }
        }
        for n in notes {
            if self.notes.len() < MAX_NOTES {
                self.notes.push(n);
            }
        }
    }

    /// Adds a sample's rows.
    pub fn push(&mut self, s: Sample) {
        self.series.rows.push(s.series);
        self.particle_rows.rows.extend(s.particles);
        self.neck_rows.rows.extend(s.necks);
        self.grain_rows.rows.extend(s.grains);
        self.percolated |= s.percolating.iter().any(|&p| p);
        self.percolation.observe(s.percolating, s.at);
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
        self.contact_rows
            .rows
            .push(contact_row(c, relax, self.grains));
    }
}

/// The first point of the grid `current + k·every` past `now`. Rows stay on the grid even
/// when the clock jumps over several points at once.
fn next_multiple(current: f64, every: f64, now: f64) -> f64 {
    let mut t = current;
    while t <= now {
        let next = t + every;
        // Late in a long run an interval below the clock's resolution adds nothing (1e-9 s
        // at t = 1e11 s): the next point is then the next representable time, or the loop
        // would never end.
        if next <= t {
            // The next float above `now` (f64::next_up needs Rust 1.86; the clock is >= 0).
            return if now > 0.0 {
                f64::from_bits(now.to_bits() + 1)
            } else {
                f64::from_bits(1)
            };
        }
        t = next;
    }
    t
}

/// One sample: a `series.csv` row and, for particle runs, its `particles.csv` and
/// `necks.csv` rows.
#[derive(Debug, PartialEq)]
pub(crate) struct Sample {
    pub series: String,
    /// A film component spans the box along x, along y.
    pub percolating: [bool; 2],
    /// When and at what coverage the sample was taken.
    pub at: Onset,
    pub particles: Vec<String>,
    pub necks: Vec<String>,
    pub grains: Vec<String>,
}

/// Columns of `grains.csv`.
pub(crate) const GRAIN_CSV_HEADER: &str = "time_s,grain,atoms,boundary_atoms,ghost_sites,\
centre_x_a,centre_y_a,centre_z_a,q_w,q_x,q_y,q_z,phi1_deg,Phi_deg,phi2_deg,\
misorientation_to_film_deg";

/// One `grains.csv` row per particle grain: its atoms, those with a neighbour site taken by
/// another grain's atom (boundary atoms), the sites of it that other grains' atoms take
/// (ghosts), its atoms' mean position (lab, Å), its orientation as a
/// quaternion and as Bunge angles, and its cubic misorientation to the film (grain 0).
pub(crate) fn grain_rows(grains: &crate::grains::Grains, t: f64) -> Vec<String> {
    use crate::rotation::{cubic_misorientation_deg, to_euler_bunge_deg};
    let film_q = grains.grain(0).frame.rotation;
    (1..grains.len())
        .map(|g| {
            let grain = grains.grain(g);
            let st = &grain.state;
            let lat = st.lattice();
            let (mut n, mut boundary, mut c) = (0usize, 0usize, [0.0; 3]);
            for idx in 0..lat.n_sites() {
                if !st.cell(idx).occupied() || st.is_ghost(idx) {
                    continue;
                }
                n += 1;
                let p = grain.lab_position(idx);
                (0..3).for_each(|k| c[k] += p[k]);
                let s = lat.site_at(idx);
                if lat.neighbors(&s).any(|(_, m)| st.is_ghost(m.idx)) {
                    boundary += 1;
                }
            }
            let c = c.map(|x| x / n.max(1) as f64);
            let q = grain.frame.rotation;
            let [e1, e2, e3] = to_euler_bunge_deg(q);
            format!(
                "{t},{g},{n},{boundary},{},{},{},{},{},{},{},{},{e1},{e2},{e3},{}",
                st.n_ghosts(),
                c[0],
                c[1],
                c[2],
                q[0],
                q[1],
                q[2],
                q[3],
                cubic_misorientation_deg(q, film_q)
            )
        })
        .collect()
}

/// Measures a sample of `sim` now.
pub(crate) fn sample(sim: &mut Simulation) -> Sample {
    let mut row = series_row(sim);
    let (mut particles, mut necks) = (Vec::new(), Vec::new());
    let mut percolating = [false; 2];
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
        percolating = c.percolating;
    } else if !sim.record.percolation.complete() {
        // Atom-only films: searched only until both directions have percolated, so a long
        // run stops paying for it once the film is continuous.
        let base = sim.scenario().lattice.substrate_layers;
        percolating = percolation(sim.state(), base);
    }
    if let Some(r) = sim.relax_totals() {
        row.push(',');
        row.push_str(&r.series_fields());
    }
    let grains = if sim.scenario().uses_grains() {
        grain_rows(sim.engine.grains(), sim.time())
    } else {
        Vec::new()
    };
    Sample {
        series: row,
        percolating,
        at: Onset {
            time_s: sim.time(),
            events: sim.counters().events(),
            deposited_ml: sim.deposited_ml(),
        },
        particles,
        necks,
        grains,
    }
}

fn series_row(sim: &Simulation) -> String {
    let o = sim.observables();
    let c = sim.counters();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{}",
        o.time_s,
        o.events,
        o.coverage_ml,
        o.mean_height_ml,
        o.roughness_ml,
        o.islands,
        o.islands_ge2,
        o.mean_island_size,
        c.hops,
        c.deposited,
        sim.active_atoms(),
        sim.total_rate()
    )
}

fn contact_row(c: &Contact, relax: Option<&RelaxRecord>, grains: bool) -> String {
    let p = |x: Option<u32>| x.map_or(String::new(), |v| v.to_string());
    let mut row = format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        c.time_s,
        match c.kind {
            ContactKind::Merge => "merge",
            ContactKind::Substrate => "substrate",
            ContactKind::Grains => "grains",
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
    if grains {
        let [a, b] = c.grains.map_or([None, None], |g| g.map(Some));
        row.push_str(&format!(
            ",{},{},{}",
            p(a),
            p(b),
            GrainRecord::csv_fields(relax.and_then(|r| r.grain.as_ref()))
        ));
    }
    if let Some(r) = relax {
        row.push(',');
        row.push_str(&r.csv_fields());
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(every_s: f64) -> Recorder {
        let mut sc: Scenario = crate::scenario::LoadedScenario::from_text(
            r#"(name: "r", seed: 1, temperature_k: 300.0, species: ["Cu"],
                lattice: (kind: Square, lattice_constant_a: 2.5, size: (8, 8)),
                rate_model: BondCounting((species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.5) },
                                          bonds_ev: [("Cu", "Cu", 0.2)])),
                stop: (events: 10))"#
                .to_string(),
            None,
        )
        .unwrap()
        .scenario;
        sc.output.series_every_s = Some(every_s);
        sc.output.snapshot_every_s = Some(every_s);
        Recorder::new(&sc, &sc.stop.clone(), "t", false)
    }

    /// Issue 16: a snapshot every nanosecond wrote 1.4 GB in 20 s; the count is capped.
    #[test]
    fn snapshots_stop_at_the_cap_with_a_note() {
        let mut r = recorder(1e-9);
        let mut n = 0;
        let mut t = 0.0;
        while n < 20_000 {
            t += 1e-9;
            if r.take_due_snapshot(t).is_some() {
                n += 1;
            } else if r.next_time().is_infinite() || r.next_snapshot_s.is_none() {
                break;
            }
        }
        assert_eq!(r.snapshots, MAX_SNAPSHOTS);
        assert!(
            r.notes
                .iter()
                .any(|m| m.contains("snapshots stopped after 9999"))
        );
    }

    /// Small gaps keep every grid point (ordinary runs are unchanged); large ones skip to the
    /// last grid point before the pending event.
    #[test]
    fn idle_gaps_are_skipped_only_when_large() {
        let mut r = recorder(0.01);
        r.skip_idle(50.0);
        assert_eq!(r.next_series_s, Some(0.01));
        r.skip_idle(9e8);
        let next = r.next_series_s.unwrap();
        assert!(next < 9e8 && 9e8 - next <= 0.021, "{next}");
        assert_eq!(r.notes.len(), 2);
        // An interval below the clock's resolution: one point just after each event, one note.
        let mut r = recorder(1e-9);
        for te in [1e8 + 1.0, 1e8 + 2.0] {
            r.next_snapshot_s = Some(1e8);
            r.skip_idle(te);
            assert_eq!(r.next_snapshot_s, Some(f64::from_bits(te.to_bits() + 1)));
        }
        assert_eq!(
            r.notes
                .iter()
                .filter(|n| n.contains("clock's resolution") && n.contains("snapshots"))
                .count(),
            1
        );
    }
}
