//! Trajectory and thermo output: extended XYZ (ASE, OVITO), LAMMPS text dumps, thermo CSV; and
//! readers for the first two (round trips, restarting from a frame).
//!
//! Streams (trajectories, thermo) are appended frame by frame to an open file and flushed after
//! each frame, so a run that fails keeps everything written before. Single snapshots are
//! written to a temporary name in the same directory and renamed into place, so a reader never
//! sees half a file.
//!
//! Velocities: Å/fs in extended XYZ (`velo`), Å/ps in LAMMPS dumps (LAMMPS `metal` units).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::SimBox;
use super::integrate::Thermo;
use super::system::System;
use crate::error::{Error, Location, Result};

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
    /// Per-atom potential energies in eV, if computed.
    pub energies: Option<&'a [f64]>,
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
            energies,
        }
    }

    fn element(&self, i: usize) -> &str {
        self.elements
            .get(self.species[i] as usize)
            .map(String::as_str)
            .unwrap_or("X")
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

fn tf(b: bool) -> &'static str {
    if b { "T" } else { "F" }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| Error::io(path, e))
}

fn write_xyz_frame(out: &mut impl Write, f: &Frame<'_>) -> std::io::Result<()> {
    let l = f.simbox.lengths;
    let p = f.simbox.periodic;
    writeln!(out, "{}", f.positions.len())?;
    write!(
        out,
        "Lattice=\"{:.10} 0 0 0 {:.10} 0 0 0 {:.10}\" Properties=species:S:1:pos:R:3:velo:R:3",
        l[0], l[1], l[2]
    )?;
    if f.energies.is_some() {
        write!(out, ":energies:R:1")?;
    }
    write!(
        out,
        " pbc=\"{} {} {}\" step={} time_fs={}",
        tf(p[0]),
        tf(p[1]),
        tf(p[2]),
        f.step,
        f.time_fs
    )?;
    if let Some(e) = f.energies {
        // ASE reads `energy` as the total and `energies` as the per-atom energies.
        write!(out, " energy={:.10}", e.iter().sum::<f64>())?;
    }
    writeln!(out)?;
    for i in 0..f.positions.len() {
        let x = f.positions[i];
        let v = f.velocities[i];
        write!(
            out,
            "{} {:.10} {:.10} {:.10} {:.10e} {:.10e} {:.10e}",
            f.element(i),
            x[0],
            x[1],
            x[2],
            v[0],
            v[1],
            v[2]
        )?;
        if let Some(e) = f.energies {
            write!(out, " {:.10}", e[i])?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_dump_frame(out: &mut impl Write, f: &Frame<'_>) -> std::io::Result<()> {
    let mut lo = [0.0f64; 3];
    let mut hi = f.simbox.lengths;
    // LAMMPS needs open ("f") axes to hold every atom.
    for k in 0..3 {
        if !f.simbox.periodic[k] {
            for x in f.positions {
                lo[k] = lo[k].min(x[k]);
                hi[k] = hi[k].max(x[k]);
            }
        }
    }
    let pp = |k: usize| if f.simbox.periodic[k] { "pp" } else { "ff" };
    writeln!(out, "ITEM: TIMESTEP\n{}", f.step)?;
    writeln!(out, "ITEM: NUMBER OF ATOMS\n{}", f.positions.len())?;
    writeln!(out, "ITEM: BOX BOUNDS {} {} {}", pp(0), pp(1), pp(2))?;
    for k in 0..3 {
        writeln!(out, "{:.10} {:.10}", lo[k], hi[k])?;
    }
    write!(out, "ITEM: ATOMS id type element x y z vx vy vz")?;
    if f.energies.is_some() {
        write!(out, " c_pe")?;
    }
    writeln!(out)?;
    for i in 0..f.positions.len() {
        let x = f.positions[i];
        let v = f.velocities[i];
        write!(
            out,
            "{} {} {} {:.10} {:.10} {:.10} {:.10e} {:.10e} {:.10e}",
            i + 1,
            f.species[i] as u32 + 1,
            f.element(i),
            x[0],
            x[1],
            x[2],
            v[0] * 1e3,
            v[1] * 1e3,
            v[2] * 1e3
        )?;
        if let Some(e) = f.energies {
            write!(out, " {:.10}", e[i])?;
        }
        writeln!(out)?;
    }
    Ok(())
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
            TrajFormat::ExtXyz => write_xyz_frame(&mut self.out, frame),
            TrajFormat::LammpsDump => write_dump_frame(&mut self.out, frame),
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
    let mut buf = Vec::new();
    write_xyz_frame(&mut buf, frame).map_err(|e| Error::io(path.as_ref(), e))?;
    crate::observe::write::write_bytes(path.as_ref(), &buf)
}

fn bad(path: &Path, line: usize, msg: impl Into<String>) -> Error {
    Error::input(Location::file(path).line(line), msg)
}

fn num<T: std::str::FromStr>(path: &Path, line: usize, s: Option<&str>, what: &str) -> Result<T> {
    s.and_then(|x| x.parse().ok()).ok_or_else(|| {
        bad(
            path,
            line,
            format!("expected {what}, got {:?}", s.unwrap_or("")),
        )
    })
}

/// Splits an extended-XYZ comment line into `key=value` pairs (values may be double-quoted).
fn xyz_pairs(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    value.push(c);
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key, value));
    }
    out
}

/// Reads every frame of an extended-XYZ file (orthorhombic lattices; the columns `species`,
/// `pos`, and optionally `velo` and `energies`).
pub fn read_xyz(path: impl AsRef<Path>) -> Result<Vec<TrajFrame>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let mut frames = Vec::new();
    let mut ln = 0;
    while ln < lines.len() {
        if lines[ln].trim().is_empty() {
            ln += 1;
            continue;
        }
        let n: usize = num(path, ln + 1, Some(lines[ln].trim()), "an atom count")?;
        let comment = lines
            .get(ln + 1)
            .ok_or_else(|| bad(path, ln + 2, "missing comment line"))?;
        let mut f = TrajFrame::default();
        let mut columns: Vec<(String, usize)> = Vec::new();
        for (k, v) in xyz_pairs(comment) {
            match k.as_str() {
                "Lattice" => {
                    let m: Vec<f64> = v
                        .split_whitespace()
                        .map(|x| num(path, ln + 2, Some(x), "a lattice number"))
                        .collect::<Result<_>>()?;
                    if m.len() != 9 {
                        return Err(bad(path, ln + 2, "Lattice needs 9 numbers"));
                    }
                    f.lengths = [m[0], m[4], m[8]];
                }
                "pbc" => {
                    let t: Vec<bool> = v.split_whitespace().map(|x| x == "T").collect();
                    if t.len() == 3 {
                        f.periodic = [t[0], t[1], t[2]];
                    }
                }
                "step" => f.step = v.parse().ok(),
                "Properties" => {
                    let parts: Vec<&str> = v.split(':').collect();
                    if parts.len() % 3 != 0 {
                        return Err(bad(path, ln + 2, "malformed Properties"));
                    }
                    for c in parts.chunks(3) {
                        let width = num(path, ln + 2, Some(c[2]), "a column count")?;
                        columns.push((c[0].to_string(), width));
                    }
                }
                _ => {}
            }
        }
        if columns.is_empty() {
            columns = vec![("species".into(), 1), ("pos".into(), 3)];
        }
        for a in 0..n {
            let lno = ln + 3 + a;
            let line = lines
                .get(lno - 1)
                .ok_or_else(|| bad(path, lno, format!("expected {n} atoms")))?;
            let mut tok = line.split_whitespace();
            for (name, width) in &columns {
                let mut vals = Vec::with_capacity(*width);
                for _ in 0..*width {
                    vals.push(
                        tok.next()
                            .ok_or_else(|| bad(path, lno, "too few columns"))?,
                    );
                }
                let v3 = |vals: &[&str]| -> Result<[f64; 3]> {
                    Ok([
                        num(path, lno, Some(vals[0]), "a number")?,
                        num(path, lno, Some(vals[1]), "a number")?,
                        num(path, lno, Some(vals[2]), "a number")?,
                    ])
                };
                match (name.as_str(), *width) {
                    ("species", 1) => f.elements.push(vals[0].to_string()),
                    ("pos", 3) => f.positions.push(v3(&vals)?),
                    ("velo", 3) => f.velocities.push(v3(&vals)?),
                    ("energies" | "energy", 1) => {
                        f.energies.push(num(path, lno, Some(vals[0]), "a number")?)
                    }
                    _ => {}
                }
            }
        }
        if f.positions.len() != n || f.elements.len() != n {
            return Err(bad(path, ln + 2, "Properties lacks species or pos"));
        }
        frames.push(f);
        ln += 2 + n;
    }
    Ok(frames)
}

/// Reads every frame of a LAMMPS text dump with columns including `element` (or `type`),
/// `x y z`, and optionally `vx vy vz` (Å/ps, converted to Å/fs) and `c_pe`.
pub fn read_dump(path: impl AsRef<Path>) -> Result<Vec<TrajFrame>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let mut frames = Vec::new();
    let mut ln = 0;
    let expect = |ln: usize, what: &str| -> Result<()> {
        match lines.get(ln) {
            Some(l) if l.starts_with(what) => Ok(()),
            _ => Err(bad(path, ln + 1, format!("expected `{what}`"))),
        }
    };
    while ln < lines.len() {
        if lines[ln].trim().is_empty() {
            ln += 1;
            continue;
        }
        let mut f = TrajFrame::default();
        expect(ln, "ITEM: TIMESTEP")?;
        f.step = Some(num(
            path,
            ln + 2,
            lines.get(ln + 1).map(|s| s.trim()),
            "a step",
        )?);
        expect(ln + 2, "ITEM: NUMBER OF ATOMS")?;
        let n: usize = num(
            path,
            ln + 4,
            lines.get(ln + 3).map(|s| s.trim()),
            "an atom count",
        )?;
        expect(ln + 4, "ITEM: BOX BOUNDS")?;
        let flags: Vec<&str> = lines[ln + 4].split_whitespace().skip(3).collect();
        for k in 0..3 {
            f.periodic[k] = flags.get(k).is_some_and(|s| *s == "pp");
            let l = lines
                .get(ln + 5 + k)
                .ok_or_else(|| bad(path, ln + 6 + k, "missing box bounds"))?;
            let mut t = l.split_whitespace();
            let lo: f64 = num(path, ln + 6 + k, t.next(), "a bound")?;
            let hi: f64 = num(path, ln + 6 + k, t.next(), "a bound")?;
            f.lengths[k] = hi - lo;
        }
        expect(ln + 8, "ITEM: ATOMS")?;
        let cols: Vec<&str> = lines[ln + 8].split_whitespace().skip(2).collect();
        let col = |name: &str| cols.iter().position(|c| *c == name);
        let (cx, cy, cz) = match (col("x"), col("y"), col("z")) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => return Err(bad(path, ln + 9, "ATOMS lacks x y z")),
        };
        let cel = col("element").or(col("type"));
        let cv = match (col("vx"), col("vy"), col("vz")) {
            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
            _ => None,
        };
        let ce = col("c_pe");
        for a in 0..n {
            let lno = ln + 10 + a;
            let line = lines
                .get(lno - 1)
                .ok_or_else(|| bad(path, lno, format!("expected {n} atoms")))?;
            let t: Vec<&str> = line.split_whitespace().collect();
            let g = |c: usize| -> Result<f64> { num(path, lno, t.get(c).copied(), "a number") };
            f.positions.push([g(cx)?, g(cy)?, g(cz)?]);
            if let Some(c) = cel {
                f.elements
                    .push(t.get(c).copied().unwrap_or_default().to_string());
            }
            if let Some((a, b, c)) = cv {
                f.velocities
                    .push([g(a)? * 1e-3, g(b)? * 1e-3, g(c)? * 1e-3]);
            }
            if let Some(c) = ce {
                f.energies.push(g(c)?);
            }
        }
        frames.push(f);
        ln += 9 + n;
    }
    Ok(frames)
}
