//! Trajectory and thermo output of MD runs: frames of a [`System`] as extended XYZ (ASE, OVITO)
//! and LAMMPS text dumps through [`crate::io`], thermo CSV; and the frames read back.
//!
//! Streams (trajectories, thermo) are appended frame by frame to an open file and flushed after
//! each frame, so a run that fails keeps everything written before. Single snapshots are
//! written atomically.
//!
//! Velocities: Å/fs in extended XYZ (`velo`), Å/ps in LAMMPS dumps (LAMMPS `metal` units).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::SimBox;
use super::integrate::Thermo;
use super::system::System;
use crate::error::{Error, Result};
use crate::io::frame::{self as io_frame, Column, Format, Real, Values};
use crate::io::{dump, xyz};

/// One frame to write; borrows the arrays.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// MD step.
    pub step: u64,
    /// Simulated time.
    pub time_fs: f64,
    /// Box.
    pub simbox: &'a SimBox,
    /// Element names indexed by species.
    pub elements: &'a [String],
    /// Species of each atom.
    pub species: &'a [u8],
    /// Positions in Å.
    pub positions: &'a [[f64; 3]],
    /// Velocities in Å/fs.
    pub velocities: &'a [[f64; 3]],
    /// Masses in amu (for the `momenta` column of extended XYZ).
    pub masses: &'a [f64],
    /// Per-atom potential energies in eV, if computed.
    pub energies: Option<&'a [f64]>,
    /// Particle label of each atom (0, 1, ...), if known; written as the column `particle`.
    pub labels: Option<&'a [u8]>,
}

impl<'a> Frame<'a> {
    /// A frame of `system`.
    pub fn of(system: &'a System, step: u64, time_fs: f64, energies: Option<&'a [f64]>) -> Self {
        Frame {
            step,
            time_fs,
            simbox: &system.simbox,
            elements: &system.elements,
            species: &system.species,
            positions: &system.positions,
            velocities: &system.velocities,
            masses: &system.masses,
            energies,
            labels: None,
        }
    }

    /// The frame with particle labels (the column `particle`, which `kmc analyze` reads).
    pub fn with_labels(mut self, labels: Option<&'a [u8]>) -> Self {
        self.labels = labels;
        self
    }

    /// The frame as [`crate::io`] writes it: positions and box lengths with 10 decimals,
    /// velocities in scientific notation with 10, per-atom energies (`energies`, whose sum is
    /// the comment property `energy`, as ASE reads them).
    pub fn to_io(&self) -> io_frame::Frame {
        let mut info = vec![("time_fs".to_string(), self.time_fs.to_string())];
        let mut columns = Vec::new();
        if let Some(e) = self.energies {
            info.push((
                "energy".to_string(),
                format!("{:.10}", e.iter().sum::<f64>()),
            ));
            columns.push(Column::real("energies", e.to_vec(), Real::Fixed(10)));
        }
        if let Some(l) = self.labels {
            columns.push(Column::int(
                "particle",
                l.iter().map(|&x| i64::from(x)).collect(),
            ));
        }
        io_frame::Frame {
            step: Some(self.step),
            origin: [0.0; 3],
            lengths: self.simbox.lengths,
            pbc: self.simbox.periodic,
            names: self.elements.to_vec(),
            types: self.species.iter().map(|&s| u32::from(s)).collect(),
            positions: self.positions.to_vec(),
            velocities: Some(self.velocities.to_vec()),
            columns,
            info,
            format: Format {
                cell: Real::Fixed(10),
                positions: Real::Fixed(10),
                velocities: Real::Sci(10),
            },
        }
    }
}

impl Frame<'_> {
    /// The frame as extended XYZ carries it: [`Frame::to_io`] plus `momenta` (amu·Å per ASE
    /// time unit, [`crate::units::FS_PER_ASE_TIME`] fs), the column ASE reads as the atoms'
    /// momenta, so `ase.io.read(...).get_velocities()` gives the velocities (ASE ignores
    /// `velo`, kmc's own column in Å/fs, which kmc reads back).
    pub fn to_io_xyz(&self) -> io_frame::Frame {
        let mut f = self.to_io();
        if self.masses.len() == self.velocities.len() {
            let p: Vec<f64> = self
                .velocities
                .iter()
                .zip(self.masses)
                .flat_map(|(v, &m)| v.map(|x| m * x * crate::units::FS_PER_ASE_TIME))
                .collect();
            f.columns.push(Column {
                name: "momenta".into(),
                width: 3,
                values: Values::Real(p, Real::Sci(10)),
            });
        }
        f
    }
}

/// A frame read back from a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrajFrame {
    /// MD step, if the file records it.
    pub step: Option<u64>,
    /// Box lengths in Å.
    pub lengths: [f64; 3],
    /// Periodicity per axis.
    pub periodic: [bool; 3],
    /// Element of each atom.
    pub elements: Vec<String>,
    /// Positions in Å.
    pub positions: Vec<[f64; 3]>,
    /// Velocities in Å/fs (empty if absent).
    pub velocities: Vec<[f64; 3]>,
    /// Per-atom energies in eV (empty if absent).
    pub energies: Vec<f64>,
}

impl From<io_frame::Frame> for TrajFrame {
    fn from(f: io_frame::Frame) -> Self {
        let energies = f
            .columns
            .iter()
            .find(|c| c.width == 1 && (c.name == "energies" || c.name == "energy"))
            .map(|c| match &c.values {
                Values::Real(v, _) => v.clone(),
                Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
                Values::Str(_) => Vec::new(),
            })
            .unwrap_or_default();
        TrajFrame {
            step: f.step,
            lengths: f.lengths,
            periodic: f.pbc,
            elements: (0..f.len()).map(|i| f.name(i).to_string()).collect(),
            positions: f.positions,
            velocities: f.velocities.unwrap_or_default(),
            energies,
        }
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| Error::io(path, e))
}

/// Which trajectory format a [`TrajectoryWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrajFormat {
    /// Extended XYZ.
    ExtXyz,
    /// LAMMPS text dump.
    LammpsDump,
}

/// Appends frames to a trajectory file, flushing after each.
pub struct TrajectoryWriter {
    out: BufWriter<File>,
    path: PathBuf,
    format: TrajFormat,
    frames: usize,
}

impl TrajectoryWriter {
    /// Creates (truncates) `path`.
    pub fn create(path: impl AsRef<Path>, format: TrajFormat) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        Ok(TrajectoryWriter {
            out: create(&path)?,
            path,
            format,
            frames: 0,
        })
    }

    /// Appends a frame and flushes it to the file.
    pub fn write(&mut self, frame: &Frame<'_>) -> Result<()> {
        let r = match self.format {
            TrajFormat::ExtXyz => xyz::write(&mut self.out, &frame.to_io_xyz()),
            TrajFormat::LammpsDump => dump::write(&mut self.out, &frame.to_io()),
        };
        r.and_then(|_| self.out.flush())
            .map_err(|e| Error::io(&self.path, e))?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The thermo CSV header.
pub const THERMO_HEADER: &str = "step,time_fs,T_k,E_pot_ev,E_kin_ev,E_tot_ev,P_bar";

/// Appends thermo rows to a CSV file, flushing after each. `P_bar` is `NaN` for a box that is
/// not periodic along all axes.
pub struct ThermoWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl ThermoWriter {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut out = create(&path)?;
        writeln!(out, "{THERMO_HEADER}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::io(&path, e))?;
        Ok(ThermoWriter { out, path })
    }

    /// Appends one row.
    pub fn write(&mut self, t: &Thermo) -> Result<()> {
        writeln!(
            self.out,
            "{},{},{:.6},{:.10},{:.10},{:.10},{:.6}",
            t.step,
            t.time_fs,
            t.temperature_k,
            t.potential_energy_ev,
            t.kinetic_energy_ev,
            t.total_energy_ev,
            t.pressure_bar.unwrap_or(f64::NAN)
        )
        .and_then(|_| self.out.flush())
        .map_err(|e| Error::io(&self.path, e))
    }
}

/// Writes one extended-XYZ frame to `path` atomically.
pub fn write_xyz_snapshot(path: impl AsRef<Path>, frame: &Frame<'_>) -> Result<()> {
    xyz::write_file(path.as_ref(), &frame.to_io_xyz())
}

/// Reads every frame of an extended-XYZ file (see [`crate::io::xyz`]).
pub fn read_xyz(path: impl AsRef<Path>) -> Result<Vec<TrajFrame>> {
    Ok(xyz::read(path.as_ref())?
        .into_iter()
        .map(TrajFrame::from)
        .collect())
}

/// Reads every frame of a LAMMPS text dump (see [`crate::io::dump`]); velocities come back in
/// Å/fs and `c_pe` as the energies.
pub fn read_dump(path: impl AsRef<Path>) -> Result<Vec<TrajFrame>> {
    Ok(dump::read(path.as_ref())?
        .into_iter()
        .map(TrajFrame::from)
        .collect())
}
