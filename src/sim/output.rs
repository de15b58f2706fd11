//! The built-in writers of an output directory: `series.csv`, snapshots (XYZ, LAMMPS dump,
//! and for particle runs g(r) and XRD), the particle tables, plots, checkpoints and
//! `summary.json`. Any driver registers them with [`Simulation::set_output`]; the run loop
//! calls them on the record's schedule, so the files do not depend on who drives the run.

use super::Simulation;
use super::run::Summary;
use crate::error::{Error, Result};
use crate::io::{write_atomic, write_json};
use crate::observe::film::{FilmAtoms, GrainStatistics, SizeDistribution};
use crate::observe::structure::{
    AtomSet, FormFactor, PairHistogram, debye_pattern_of, pair_distribution, saxs_curve,
};
use crate::observe::write::{write_lammps_dump, write_xyz};
use crate::scenario::SnapshotFormat;
use std::path::{Path, PathBuf};

/// Options of an output directory beyond the scenario's `output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// Writes `checkpoint.kmc` every this many events and at the end (overrides
    /// `output.checkpoint_every_events`).
    pub checkpoint_every: Option<u64>,
    /// Stops the snapshot schedule (with a note in `summary.json`) once the snapshots would
    /// take more than this many bytes on disk; `None`: [`MAX_SNAPSHOT_BYTES`].
    pub max_snapshot_bytes: Option<u64>,
}

/// Default bound on the bytes of a run's scheduled snapshots: a fine `snapshot_every_s`
/// on a big box could otherwise fill the disk (1.4 GB in 20 s was seen).
pub const MAX_SNAPSHOT_BYTES: u64 = 4 << 30;

/// Where the built-in writers write.
#[derive(Debug)]
pub(crate) struct OutputDir {
    dir: PathBuf,
    checkpoint_every: Option<u64>,
    max_snapshot_bytes: u64,
    command_line: Option<Vec<String>>,
}

impl Simulation {
    /// Writes this simulation's output files into `dir` (created if missing) from now on:
    /// snapshots when they are due, tables and checkpoints on their schedule, everything at
    /// the end of [`Simulation::run`].
    pub fn set_output(&mut self, dir: impl AsRef<Path>, opts: OutputOptions) -> Result<()> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let checkpoint_every = opts
            .checkpoint_every
            .or(self.scenario().output.checkpoint_every_events);
        if checkpoint_every == Some(0) {
            return Err(Error::field(
                "output.checkpoint_every_events",
                "must be at least 1 event",
            ));
        }
        if checkpoint_every.is_some() {
            self.refuse_if_parallel("writing checkpoints")?;
        }
        self.output = Some(OutputDir {
            dir,
            checkpoint_every,
            max_snapshot_bytes: opts.max_snapshot_bytes.unwrap_or(MAX_SNAPSHOT_BYTES),
            command_line: None,
        });
        Ok(())
    }

    /// Records the command line that started the run, for `summary.json` (after
    /// [`Simulation::set_output`]; a driver without one has nothing to record it in).
    pub fn set_command_line(&mut self, args: Vec<String>) {
        if let Some(o) = &mut self.output {
            o.command_line = Some(args);
        }
    }

    /// The command line recorded with [`Simulation::set_command_line`].
    pub(super) fn command_line(&self) -> Option<Vec<String>> {
        self.output.as_ref().and_then(|o| o.command_line.clone())
    }

    /// The output directory, if one is set.
    pub fn output_dir(&self) -> Option<&Path> {
        self.output.as_ref().map(|o| o.dir.as_path())
    }

    /// After event number `events`: the tables and a checkpoint when one is due.
    pub(super) fn checkpoint_after_event(&mut self, events: u64) -> Result<()> {
        let due = self
            .output
            .as_ref()
            .and_then(|o| o.checkpoint_every)
            .is_some_and(|n| events % n == 0);
        if due {
            self.write_tables()?;
            self.write_checkpoint_file()?;
        }
        Ok(())
    }

    /// At the end of a run, the checkpoint (if checkpoints are written).
    pub(super) fn write_final_checkpoint(&mut self) -> Result<()> {
        if self
            .output
            .as_ref()
            .is_some_and(|o| o.checkpoint_every.is_some())
        {
            self.write_checkpoint_file()?;
        }
        Ok(())
    }

    fn write_checkpoint_file(&self) -> Result<()> {
        let Some(o) = &self.output else {
            return Ok(());
        };
        self.save_checkpoint(o.dir.join("checkpoint.kmc"))
    }

    /// At the end of a run: every file, listed in the order written.
    pub(super) fn write_final_files(&mut self) -> Result<Vec<String>> {
        let Some(o) = &self.output else {
            return Ok(Vec::new());
        };
        let dir = o.dir.clone();
        let mut files = vec!["series.csv".to_string()];
        if o.checkpoint_every.is_some() {
            files.push("checkpoint.kmc".into());
        }
        self.record.series.write(&dir.join("series.csv"))?;
        files.extend(self.snapshot_files(&dir));
        files.extend(self.write_snapshot("final")?);
        if self.coalescence.is_some() {
            files.extend(self.write_tables()?);
            let sc = self.scenario();
            if sc.output.structure.plots {
                files.extend(crate::observe::plot::write_plots(
                    &dir,
                    &self.record.series,
                    &sc.species,
                )?);
            }
        } else if self.scenario().output.structure.plots && !self.state().lattice().kind().is_2d() {
            // Growth runs: roughness and islands.
            files.extend(crate::observe::plot::write_growth_plots(
                &dir,
                &self.record.series,
            )?);
        }
        if self.scenario().output.structure.plots {
            files.extend(self.write_film_plots(&dir)?);
        }
        Ok(files)
    }

    /// The film plots from the tables this run wrote: the scaled size distributions of up to
    /// five snapshots spread over the run and the final state, the final density profile and
    /// the final small-angle curve.
    fn write_film_plots(&self, dir: &Path) -> Result<Vec<String>> {
        use crate::observe::film::{read_xy, scaled_binned};
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let n = self.record.snapshots as usize;
        let mut picks: Vec<String> = (1..=5)
            .map(|k| (k * n).div_ceil(5))
            .filter(|&i| i > 0)
            .map(|i| super::record::snapshot_name(i as u32))
            .collect();
        picks.dedup();
        picks.push("final".into());
        let sizes: Vec<(String, Vec<(f64, f64)>)> = picks
            .iter()
            .filter_map(|name| {
                let text = read(&film_files(name)[0])?;
                // The label is the coverage in islands, from the file's comment line.
                let theta = text
                    .split("theta = ")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                Some((
                    format!("{name}: θ = {theta:.3} ML"),
                    scaled_binned(&text, SIZE_BIN),
                ))
            })
            .collect();
        let [_, profile_file, ..] = film_files("final");
        let profile = read(&profile_file).map(|t| read_xy(&t, 1, 4));
        let saxs = read(&structure_files("final")[2]).map(|t| read_xy(&t, 0, 1));
        crate::observe::plot::write_film_plots(dir, &sizes, profile.as_deref(), saxs.as_deref())
    }

    /// The snapshot files of this run so far (`snapshot_NNNN.*` and, for particle runs, their
    /// g(r) and XRD tables; the numbering is in the record, so it survives a resume). Files of
    /// that form in the directory that this run did not write (another run's, with a larger
    /// number) are named in a note rather than left mixed in silently.
    fn snapshot_files(&mut self, dir: &Path) -> Vec<String> {
        let mut files = Vec::new();
        for i in 1..=self.record.snapshots {
            let name = super::record::snapshot_name(i);
            let formats = &self.scenario().output.snapshot_formats;
            let cand = formats
                .iter()
                .map(|f| snapshot_file(&name, f))
                .chain(structure_files(&name))
                .chain(film_files(&name));
            files.extend(cand.filter(|f| dir.join(f).is_file()));
        }
        let ours: hashbrown::HashSet<&str> = files.iter().map(String::as_str).collect();
        let mut foreign: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| {
                        n.starts_with("snapshot_")
                            || structure_files("snapshot_")
                                .iter()
                                .chain(&film_files("snapshot_"))
                                .any(|p| n.starts_with(p.trim_end_matches(".csv")))
                    })
                    .filter(|n| !ours.contains(n.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        drop(ours);
        if !foreign.is_empty() {
            foreign.sort();
            self.record.notes.push(format!(
                "{} snapshot files in {} were not written by this run (first: {}); they are \
                 another run's",
                foreign.len(),
                dir.display(),
                foreign[0]
            ));
        }
        files
    }

    /// `summary.json`, if there is an output directory.
    pub(super) fn write_summary(&self, summary: &Summary) -> Result<Vec<String>> {
        let Some(o) = &self.output else {
            return Ok(Vec::new());
        };
        let files = [summary.files.as_slice(), &["summary.json".to_string()]].concat();
        let full = Summary {
            files,
            ..summary.clone()
        };
        write_json(&o.dir.join("summary.json"), &full)?;
        Ok(vec!["summary.json".into()])
    }

    /// `series.csv` and, for particle runs, `particles.csv`, `necks.csv`, `contacts.csv`
    /// (and `relax_timing.csv` where contacts are relaxed).
    fn write_tables(&self) -> Result<Vec<String>> {
        let Some(o) = &self.output else {
            return Ok(Vec::new());
        };
        self.record.series.write(&o.dir.join("series.csv"))?;
        let r = &self.record;
        let mut files = Vec::new();
        if self.scenario().uses_grains() {
            r.grain_rows.write(&o.dir.join("grains.csv"))?;
            files.push("grains.csv".to_string());
        }
        if self.coalescence.is_none() {
            return Ok(files);
        }
        for (name, s) in [
            ("particles.csv", &r.particle_rows),
            ("necks.csv", &r.neck_rows),
            ("contacts.csv", &r.contact_rows),
        ] {
            s.write(&o.dir.join(name))?;
            files.push(name.to_string());
        }
        if self.relaxer.is_some() {
            r.relax_rows.write(&o.dir.join("relax_timing.csv"))?;
            files.push("relax_timing.csv".into());
        }
        Ok(files)
    }

    /// Writes a scheduled snapshot and stops the schedule once the snapshots would exceed the
    /// byte budget: this one's size times the count so far (the film only grows, so that
    /// bounds what was written) plus one more of its size.
    pub(super) fn write_scheduled_snapshot(&mut self, name: &str) -> Result<()> {
        let files = self.write_snapshot(name)?;
        let Some(o) = &self.output else {
            return Ok(());
        };
        let bytes: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(o.dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        let n = u64::from(self.record.snapshots);
        let budget = o.max_snapshot_bytes;
        if bytes.saturating_mul(n + 1) > budget {
            self.record.stop_snapshots(format!(
                "snapshots stopped after {n} (t = {:e} s): {} each, another would pass the \
                 {} budget (--max-snapshot-bytes)",
                self.time(),
                crate::io::validate::format_bytes(bytes as f64),
                crate::io::validate::format_bytes(budget as f64)
            ));
        }
        Ok(())
    }

    /// Snapshot `name` in every format the scenario asks for (and the structure files of
    /// particle runs); nothing without an output directory.
    pub(super) fn write_snapshot(&mut self, name: &str) -> Result<Vec<String>> {
        let Some(o) = &self.output else {
            return Ok(Vec::new());
        };
        let dir = o.dir.clone();
        let sc = self.scenario();
        let grains = self.engine.grains();
        let mut files = Vec::new();
        for f in &sc.output.snapshot_formats {
            let file = snapshot_file(name, f);
            match f {
                SnapshotFormat::Xyz => {
                    write_xyz(
                        &dir.join(&file),
                        grains,
                        &sc.species,
                        self.time(),
                        self.counters().events(),
                    )?;
                }
                SnapshotFormat::LammpsDump => {
                    write_lammps_dump(
                        &dir.join(&file),
                        grains,
                        &sc.species,
                        self.counters().events(),
                    )?;
                }
            }
            files.push(file);
        }
        let film = FilmAtoms::of(grains, sc.lattice.substrate_layers);
        files.extend(self.write_film(&dir, name, &film)?);
        if self.coalescence.is_some() {
            files.extend(self.write_structure(&dir, name, &film.atoms)?);
        }
        Ok(files)
    }

    /// Writes `sizes_<name>.csv`, `profile_<name>.csv` (films in 3-D) and, with particle
    /// grains, `grain_sizes_<name>.csv` and `misorientation_<name>.csv` (see
    /// [`crate::observe::film`]).
    fn write_film(&self, dir: &Path, name: &str, film: &FilmAtoms) -> Result<Vec<String>> {
        let lat = self.state().lattice();
        let [sizes_file, profile_file, grain_file, mis_file] = film_files(name);
        let islands = film.islands(lat);
        let dist = SizeDistribution::new(&islands.sizes, film.sites_per_layer);
        write_atomic(&dir.join(&sizes_file), |w| dist.write_csv(w))?;
        let mut files = vec![sizes_file];
        if !lat.kind().is_2d() {
            let profile = film.profile();
            let d = lat.layer_spacing();
            write_atomic(&dir.join(&profile_file), |w| profile.write_csv(w, d))?;
            files.push(profile_file);
        }
        let grains = self.engine.grains();
        if self.scenario().uses_grains() {
            let stats = GrainStatistics::new(grains, film, &islands.touching);
            let omega = self
                .coalescence
                .as_ref()
                .map_or(1.0, |c| c.frame.atomic_volume);
            write_atomic(&dir.join(&grain_file), |w| stats.write_sizes_csv(w, omega))?;
            write_atomic(&dir.join(&mis_file), |w| stats.write_misorientation_csv(w))?;
            files.extend([grain_file, mis_file]);
        }
        Ok(files)
    }

    /// Writes `gr_<name>.csv` and, below their size limits, `xrd_<name>.csv` and
    /// `saxs_<name>.csv` of the film atoms `atoms`.
    fn write_structure(&mut self, dir: &Path, name: &str, atoms: &AtomSet) -> Result<Vec<String>> {
        let sc = self.scenario().clone();
        let spec = &sc.output.structure;
        let n_species = sc.species.len();
        let omega = self
            .coalescence
            .as_ref()
            .map_or(1.0, |c| c.frame.atomic_volume);
        let mut files = Vec::new();
        let gr = pair_distribution(atoms, n_species, spec.gr_r_max_a, spec.gr_dr_a, omega);
        let [file, xrd_file, saxs_file] = structure_files(name);
        write_atomic(&dir.join(&file), |w| {
            let mut h = String::from("r_a");
            for &(a, b) in &gr.pairs {
                let (x, y) = (&sc.species[a], &sc.species[b]);
                h.push_str(&format!(",g_{x}-{y},n_{x}-{y},cn_{x}-{y}"));
            }
            writeln!(
                w,
                "# partial g(r) of {} film atoms; n = neighbours per bin per reference atom, cn = running coordination",
                atoms.positions.len()
            )?;
            writeln!(w, "{h}")?;
            let mut cn = vec![0.0; gr.pairs.len()];
            for k in 0..gr.r.len() {
                write!(w, "{}", gr.r[k])?;
                for p in 0..gr.pairs.len() {
                    cn[p] += gr.n[p][k];
                    write!(w, ",{},{},{}", gr.g[p][k], gr.n[p][k], cn[p])?;
                }
                writeln!(w)?;
            }
            Ok(())
        })?;
        files.push(file);
        let n = atoms.positions.len();
        let (xrd, saxs) = (n <= spec.xrd_max_atoms, n <= spec.saxs_max_atoms);
        for (skip, file, field, max) in [
            (!xrd, &xrd_file, "xrd_max_atoms", spec.xrd_max_atoms),
            (!saxs, &saxs_file, "saxs_max_atoms", spec.saxs_max_atoms),
        ] {
            if skip {
                self.record.notes.push(format!(
                    "{file} skipped: {n} film atoms exceed output.structure.{field} = {max}"
                ));
            }
        }
        if !xrd && !saxs {
            return Ok(files);
        }
        // One O(N²) histogram of pair distances serves both patterns.
        let hist = PairHistogram::new(atoms, n_species);
        let ffs: Vec<FormFactor> = sc.species.iter().map(|s| FormFactor::of(s)).collect();
        let ff_note: Vec<String> = sc
            .species
            .iter()
            .zip(&ffs)
            .map(|(s, f)| {
                format!(
                    "{s}: {}",
                    if f.is_tabulated() {
                        "Waasmaier-Kirfel 1995"
                    } else {
                        "constant f = 1 (not tabulated)"
                    }
                )
            })
            .collect();
        if saxs {
            let curve = saxs_curve(&hist, &ffs, spec.saxs_q_inv_a, spec.saxs_points);
            let [lx, ly] = self.state().lattice().box_lengths();
            write_atomic(&dir.join(&saxs_file), |w| {
                writeln!(
                    w,
                    "# small-angle I(q): Debye sum over {n} film atoms (minimum image in x, y), form factors {} at s = q/4pi; intensity per atom (electrons^2); the box truncates distances at half its width, so q below 4 pi / min(Lx, Ly) = {} 1/A is not meaningful",
                    ff_note.join(", "),
                    4.0 * std::f64::consts::PI / lx.min(ly)
                )?;
                writeln!(w, "q_inv_a,intensity")?;
                for (q, i) in curve.q.iter().zip(&curve.intensity) {
                    writeln!(w, "{q},{i}")?;
                }
                Ok(())
            })?;
            files.push(saxs_file);
        }
        if !xrd {
            return Ok(files);
        }
        let pat = debye_pattern_of(
            &hist,
            &ffs,
            spec.xrd_wavelength_a,
            spec.xrd_two_theta_deg,
            spec.xrd_points,
        );
        let file = xrd_file;
        write_atomic(&dir.join(&file), |w| {
            let ff = &ff_note;
            writeln!(
                w,
                "# Debye pattern of {} film atoms, wavelength {} A, form factors {}; intensity per atom (electrons^2)",
                atoms.positions.len(),
                pat.wavelength_a,
                ff.join(", ")
            )?;
            writeln!(w, "two_theta_deg,q_inv_a,intensity")?;
            for k in 0..pat.q.len() {
                writeln!(
                    w,
                    "{},{},{}",
                    pat.two_theta_deg[k], pat.q[k], pat.intensity[k]
                )?;
            }
            Ok(())
        })?;
        files.push(file);
        Ok(files)
    }
}

/// Bin width in s / <s> of the plotted size distributions.
const SIZE_BIN: f64 = 0.25;

/// The file snapshot `name` takes in format `f`.
fn snapshot_file(name: &str, f: &SnapshotFormat) -> String {
    match f {
        SnapshotFormat::Xyz => format!("{name}.xyz"),
        SnapshotFormat::LammpsDump => format!("{name}.dump"),
    }
}

/// The g(r), XRD and small-angle tables of snapshot `name` (particle runs).
fn structure_files(name: &str) -> [String; 3] {
    [
        format!("gr_{name}.csv"),
        format!("xrd_{name}.csv"),
        format!("saxs_{name}.csv"),
    ]
}

/// The film tables of snapshot `name`: island sizes, density profile, grain sizes and
/// misorientations.
fn film_files(name: &str) -> [String; 4] {
    [
        format!("sizes_{name}.csv"),
        format!("profile_{name}.csv"),
        format!("grain_sizes_{name}.csv"),
        format!("misorientation_{name}.csv"),
    ]
}
