//! LAMMPS data files of `atom_style atomic` (`read_data`, `write_data`): a title line, header
//! counts (`N atoms`, `M atom types`, `xlo xhi`, `ylo yhi`, `zlo zhi`), then the sections
//! `Masses` (`type mass`, optionally `# Element`), `Atoms # atomic` (`id type x y z`, optionally
//! image flags `ix iy iz`) and optionally `Velocities` (`id vx vy vz`, Å/ps in `metal` units).
//!
//! A data file says nothing about boundaries, so frames read from one are periodic along all
//! axes (LAMMPS's default `boundary p p p`); callers override that if they know better. Every
//! error names the file, the line and the header keyword or section it is in.

use super::frame::{Frame, Real};
use crate::error::{Error, Location, Result};
use std::io::Write;
use std::path::Path;

/// Å/fs → Å/ps.
const PS_PER_FS: f64 = 1e3;

/// Types above this are refused before anything is allocated for them.
const MAX_TYPES: usize = 1 << 16;

/// A data file as read: the atoms as a [`Frame`] (types are LAMMPS type − 1; `names` empty
/// until [`DataFile::name_types`]) and what `Masses` says about each type.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// Atoms in file order, box from the header, velocities in Å/fs if the file has them.
    pub frame: Frame,
    /// Mass of each type, if `Masses` gives it.
    pub masses: Vec<Option<f64>>,
    /// The first word of the comment after each type's mass (`1 196.97 # Au` → `Au`).
    pub labels: Vec<Option<String>>,
    /// Line of each type's `Masses` entry (0 if none).
    pub mass_lines: Vec<usize>,
    /// The file, for errors found after parsing.
    pub path: Option<std::path::PathBuf>,
}

impl DataFile {
    /// Names the types: `names[t]` for type `t + 1` if `names` is not empty, otherwise the
    /// `Masses` comments. Fails if the count differs from the header's or a type has no name.
    pub fn name_types(&mut self, names: &[String]) -> Result<()> {
        let n = self.masses.len();
        if !names.is_empty() {
            if names.len() != n {
                return Err(Error::field(
                    "types",
                    format!(
                        "names {} types but the data file{} declares {n} atom types",
                        names.len(),
                        self.path
                            .as_ref()
                            .map(|p| format!(" {}", p.display()))
                            .unwrap_or_default()
                    ),
                ));
            }
            self.frame.names = names.to_vec();
            return Ok(());
        }
        let mut out = Vec::with_capacity(n);
        for t in 0..n {
            match &self.labels[t] {
                Some(l) => out.push(l.clone()),
                None => {
                    let loc = Location {
                        path: self.path.clone(),
                        ..Default::default()
                    };
                    let loc = if self.mass_lines[t] > 0 {
                        loc.line(self.mass_lines[t])
                    } else {
                        loc
                    };
                    return Err(Error::input(
                        loc.field("Masses"),
                        format!(
                            "type {} has no element name: write it after the mass \
                             (`{} <mass> # Au`) or list the elements in the scenario's `types`",
                            t + 1,
                            t + 1
                        ),
                    ));
                }
            }
        }
        self.frame.names = out;
        Ok(())
    }
}

/// Writes `frame` as a data file with the masses `masses[type]` (Å/ps velocities if the frame
/// has velocities; positions, box and masses in shortest round-trip form). Open axes are widened
/// to hold every atom, as LAMMPS requires.
pub fn write(w: &mut dyn Write, frame: &Frame, masses: &[f64]) -> std::io::Result<()> {
    frame.check()?;
    let ntypes = frame.names.len().max(masses.len());
    if masses.len() != ntypes || frame.types.iter().any(|&t| t as usize >= ntypes) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a data file needs one mass per type",
        ));
    }
    let r = Real::Shortest;
    writeln!(w, "LAMMPS data file written by kmc (atom_style atomic)\n")?;
    writeln!(w, "{} atoms\n{ntypes} atom types\n", frame.len())?;
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        let mut lo = frame.origin[k];
        let mut hi = lo + frame.lengths[k];
        if !frame.pbc[k] {
            for x in &frame.positions {
                lo = lo.min(x[k]);
                hi = hi.max(x[k]);
            }
        }
        r.write(w, lo)?;
        write!(w, " ")?;
        r.write(w, hi)?;
        writeln!(w, " {axis}lo {axis}hi")?;
    }
    writeln!(w, "\nMasses\n")?;
    for (t, m) in masses.iter().enumerate() {
        write!(w, "{} ", t + 1)?;
        r.write(w, *m)?;
        match frame.names.get(t) {
            Some(name) => writeln!(w, " # {name}")?,
            None => writeln!(w)?,
        }
    }
    writeln!(w, "\nAtoms # atomic\n")?;
    for (i, x) in frame.positions.iter().enumerate() {
        write!(w, "{} {}", i + 1, frame.types[i] + 1)?;
        for c in x {
            write!(w, " ")?;
            r.write(w, *c)?;
        }
        writeln!(w)?;
    }
    if let Some(v) = &frame.velocities {
        writeln!(w, "\nVelocities\n")?;
        for (i, v) in v.iter().enumerate() {
            write!(w, "{}", i + 1)?;
            for c in v {
                write!(w, " ")?;
                r.write(w, c * PS_PER_FS)?;
            }
            writeln!(w)?;
        }
    }
    Ok(())
}

/// Writes a data file to `path` atomically.
pub fn write_file(path: &Path, frame: &Frame, masses: &[f64]) -> Result<()> {
    super::write_atomic(path, |w| write(w, frame, masses))
}

/// Reads the data file at `path`.
pub fn read(path: &Path) -> Result<DataFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, Some(path))
}

struct Reader<'a> {
    path: Option<&'a Path>,
}

impl Reader<'_> {
    fn bad(&self, line: usize, field: &str, msg: impl Into<String>) -> Error {
        let loc = Location {
            path: self.path.map(Path::to_path_buf),
            ..Default::default()
        };
        Error::input(loc.line(line).field(field), msg)
    }

    fn num<T: std::str::FromStr>(
        &self,
        line: usize,
        field: &str,
        s: Option<&str>,
        what: &str,
    ) -> Result<T> {
        s.and_then(|x| x.parse().ok()).ok_or_else(|| {
            self.bad(
                line,
                field,
                format!("expected {what}, got {:?}", s.unwrap_or("")),
            )
        })
    }

    fn real(&self, line: usize, field: &str, s: Option<&str>, what: &str) -> Result<f64> {
        let x: f64 = self.num(line, field, s, what)?;
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.bad(line, field, format!("{what} must be finite, got {x}")))
        }
    }
}

/// Section keywords a data file may hold; only the first three are read.
const SECTIONS: [&str; 12] = [
    "Masses",
    "Atoms",
    "Velocities",
    "Pair Coeffs",
    "PairIJ Coeffs",
    "Bonds",
    "Angles",
    "Dihedrals",
    "Impropers",
    "Bond Coeffs",
    "Angle Coeffs",
    "Ellipsoids",
];

/// The section a line starts, with the text after its `#` (the Atoms style hint).
fn section(line: &str) -> Option<(&'static str, &str)> {
    let (body, comment) = line.split_once('#').unwrap_or((line, ""));
    let body = body.trim();
    SECTIONS
        .iter()
        .find(|s| **s == body)
        .map(|s| (*s, comment.trim()))
}

/// Parses data-file text; `path` names it in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<DataFile> {
    let rd = Reader { path };
    let lines: Vec<&str> = text.lines().collect();
    let strip = |l: &str| l.split_once('#').map_or(l, |(b, _)| b).trim().to_string();
    let mut natoms: Option<(usize, usize)> = None; // (count, line)
    let mut ntypes: Option<(usize, usize)> = None;
    let mut bounds: [Option<(f64, f64)>; 3] = [None; 3];
    // Header: after the title line, up to the first section keyword.
    let mut ln = 1;
    while ln < lines.len() && section(lines[ln]).is_none() {
        let lno = ln + 1;
        let body = strip(lines[ln]);
        ln += 1;
        if body.is_empty() {
            continue;
        }
        let t: Vec<&str> = body.split_whitespace().collect();
        let keyword = t[1..].join(" ");
        match keyword.as_str() {
            "atoms" => {
                natoms = Some((
                    rd.num(lno, "atoms", t.first().copied(), "an atom count")?,
                    lno,
                ))
            }
            "atom types" => {
                let n: usize = rd.num(lno, "atom types", t.first().copied(), "a type count")?;
                if n == 0 || n > MAX_TYPES {
                    return Err(rd.bad(
                        lno,
                        "atom types",
                        format!("must be between 1 and {MAX_TYPES}, got {n}"),
                    ));
                }
                ntypes = Some((n, lno));
            }
            _ if t.len() == 4
                && ["xlo xhi", "ylo yhi", "zlo zhi"].contains(&t[2..].join(" ").as_str()) =>
            {
                let field = t[2..].join(" ");
                let k = (t[2].as_bytes()[0] - b'x') as usize;
                let lo = rd.real(lno, &field, Some(t[0]), "a lower bound")?;
                let hi = rd.real(lno, &field, Some(t[1]), "an upper bound")?;
                if hi <= lo {
                    return Err(rd.bad(lno, &field, format!("{hi} is not above {lo}")));
                }
                bounds[k] = Some((lo, hi));
            }
            _ if t.len() == 6 && t[3..].join(" ") == "xy xz yz" => {
                let tilts: Vec<f64> = (0..3)
                    .map(|k| rd.real(lno, "xy xz yz", t.get(k).copied(), "a tilt factor"))
                    .collect::<Result<_>>()?;
                if tilts.iter().any(|&x| x != 0.0) {
                    return Err(rd.bad(
                        lno,
                        "xy xz yz",
                        "triclinic boxes are not supported (only orthorhombic ones)",
                    ));
                }
            }
            k if k.ends_with("types")
                || ["bonds", "angles", "dihedrals", "impropers", "ellipsoids"].contains(&k) =>
            {
                let n: usize = rd.num(lno, k, t.first().copied(), "a count")?;
                if n != 0 {
                    return Err(rd.bad(
                        lno,
                        k,
                        format!("{n} {k}: only atom_style atomic is supported"),
                    ));
                }
            }
            _ => {
                return Err(rd.bad(
                    lno,
                    "header",
                    format!("unknown header line {:?}", lines[lno - 1].trim()),
                ));
            }
        }
    }
    let header_end = ln;
    let (n, n_line) = natoms.ok_or_else(|| {
        rd.bad(
            header_end.max(1),
            "atoms",
            "the header has no `N atoms` line",
        )
    })?;
    let (nt, nt_line) = ntypes.ok_or_else(|| {
        rd.bad(
            header_end.max(1),
            "atom types",
            "the header has no `M atom types` line",
        )
    })?;
    let mut frame = Frame {
        pbc: [true; 3],
        ..Frame::default()
    };
    for (k, axis) in ["xlo xhi", "ylo yhi", "zlo zhi"].iter().enumerate() {
        let (lo, hi) = bounds[k].ok_or_else(|| {
            rd.bad(
                header_end.max(1),
                axis,
                format!("the header has no `{axis}` line"),
            )
        })?;
        frame.origin[k] = lo;
        frame.lengths[k] = hi - lo;
    }
    let mut masses = vec![None; nt];
    let mut labels = vec![None; nt];
    let mut mass_lines = vec![0; nt];
    let mut positions: Vec<Option<[f64; 3]>> = Vec::new();
    let mut types = Vec::new();
    let mut ids: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut velocities: Option<Vec<Option<[f64; 3]>>> = None;
    let mut seen_atoms = false;
    while ln < lines.len() {
        let lno = ln + 1;
        if strip(lines[ln]).is_empty() {
            ln += 1;
            continue;
        }
        let Some((name, hint)) = section(lines[ln]) else {
            return Err(rd.bad(
                lno,
                "sections",
                format!(
                    "{:?} is not a section keyword (a section with more lines than the header \
                     counts?)",
                    lines[ln].trim()
                ),
            ));
        };
        let rows = match name {
            "Masses" | "Pair Coeffs" => nt,
            "PairIJ Coeffs" => nt * (nt + 1) / 2,
            "Atoms" | "Velocities" => n,
            _ => {
                return Err(rd.bad(
                    lno,
                    name,
                    "only atom_style atomic is supported (Masses, Atoms, Velocities)",
                ));
            }
        };
        if name == "Atoms" && !(hint.is_empty() || hint.split_whitespace().next() == Some("atomic"))
        {
            return Err(rd.bad(
                lno,
                name,
                format!("atom style {hint:?}: only `atomic` is supported"),
            ));
        }
        // The keyword line, then entries; blank lines in between are skipped as LAMMPS does
        // after the keyword.
        ln += 1;
        let mut got = 0;
        while got < rows {
            let Some(line) = lines.get(ln) else {
                return Err(rd.bad(
                    ln.max(1),
                    name,
                    format!(
                        "the file ends after {got} of {rows} lines (counts on line {})",
                        if name == "Atoms" || name == "Velocities" {
                            n_line
                        } else {
                            nt_line
                        }
                    ),
                ));
            };
            let lno = ln + 1;
            ln += 1;
            let body = strip(line);
            if body.is_empty() {
                continue;
            }
            if section(line).is_some() {
                let what = match name {
                    "Masses" | "Pair Coeffs" | "PairIJ Coeffs" => {
                        format!("{nt} atom types (line {nt_line})")
                    }
                    _ => format!("{n} atoms (line {n_line})"),
                };
                return Err(rd.bad(
                    lno,
                    name,
                    format!("{name} has {got} lines but the header declares {what}"),
                ));
            }
            got += 1;
            let t: Vec<&str> = body.split_whitespace().collect();
            match name {
                "Masses" => {
                    let ty: usize = rd.num(lno, name, t.first().copied(), "a type")?;
                    if ty == 0 || ty > nt {
                        return Err(rd.bad(
                            lno,
                            name,
                            format!("type {ty} is not one of the {nt} atom types"),
                        ));
                    }
                    let m = rd.real(lno, name, t.get(1).copied(), "a mass")?;
                    if m <= 0.0 {
                        return Err(rd.bad(lno, name, format!("mass must be positive, got {m}")));
                    }
                    masses[ty - 1] = Some(m);
                    mass_lines[ty - 1] = lno;
                    labels[ty - 1] = line
                        .split_once('#')
                        .and_then(|(_, c)| c.split_whitespace().next())
                        .map(str::to_string);
                }
                "Atoms" => {
                    if !(t.len() == 5 || t.len() == 8) {
                        return Err(rd.bad(
                            lno,
                            name,
                            format!(
                                "expected `id type x y z` with optional image flags, got {} \
                                 values",
                                t.len()
                            ),
                        ));
                    }
                    let id: u64 = rd.num(lno, name, Some(t[0]), "an atom id")?;
                    let ty: usize = rd.num(lno, name, Some(t[1]), "an atom type")?;
                    if ty == 0 || ty > nt {
                        return Err(rd.bad(
                            lno,
                            name,
                            format!(
                                "type {ty} is not one of the {nt} atom types the header declares"
                            ),
                        ));
                    }
                    let mut x = [0.0; 3];
                    for k in 0..3 {
                        x[k] = rd.real(lno, name, Some(t[2 + k]), "a coordinate")?;
                        if t.len() == 8 {
                            let image: i64 = rd.num(lno, name, Some(t[5 + k]), "an image flag")?;
                            x[k] += image as f64 * frame.lengths[k];
                        }
                    }
                    if ids.insert(id, positions.len()).is_some() {
                        return Err(rd.bad(lno, name, format!("atom id {id} appears twice")));
                    }
                    positions.push(Some(x));
                    types.push((ty - 1) as u32);
                }
                "Velocities" => {
                    if !seen_atoms {
                        return Err(rd.bad(lno, name, "Velocities must follow Atoms"));
                    }
                    if t.len() != 4 {
                        return Err(rd.bad(
                            lno,
                            name,
                            format!("expected `id vx vy vz`, got {} values", t.len()),
                        ));
                    }
                    let id: u64 = rd.num(lno, name, Some(t[0]), "an atom id")?;
                    let Some(&i) = ids.get(&id) else {
                        return Err(rd.bad(lno, name, format!("atom id {id} is not in Atoms")));
                    };
                    let mut v = [0.0; 3];
                    for k in 0..3 {
                        v[k] = rd.real(lno, name, Some(t[1 + k]), "a velocity")? / PS_PER_FS;
                    }
                    let vs = velocities.get_or_insert_with(|| vec![None; n]);
                    if vs[i].replace(v).is_some() {
                        return Err(rd.bad(lno, name, format!("atom id {id} appears twice")));
                    }
                }
                _ => {} // coefficients: not ours to read
            }
        }
        if name == "Atoms" {
            seen_atoms = true;
        }
    }
    if !seen_atoms && n > 0 {
        return Err(rd.bad(
            lines.len().max(1),
            "Atoms",
            format!("the file has no Atoms section (the header declares {n} atoms)"),
        ));
    }
    frame.positions = positions.into_iter().flatten().collect();
    frame.types = types;
    frame.velocities = velocities.map(|v| v.into_iter().map(|x| x.unwrap_or([0.0; 3])).collect());
    Ok(DataFile {
        frame,
        masses,
        labels,
        mass_lines,
        path: path.map(Path::to_path_buf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        Frame {
            origin: [-1.5, 0.0, 2.0],
            lengths: [20.0, 21.25, 30.0],
            pbc: [true; 3],
            names: vec!["Au".into(), "Ag".into()],
            types: vec![0, 1, 0],
            positions: vec![
                [0.1, 0.2, 3.3],
                [5.0, 6.125, 12.75],
                [1e-3, 2.0 / 3.0, 29.9],
            ],
            velocities: Some(vec![
                [1e-3, -2e-3, 0.0],
                [0.5, 0.25, 0.125],
                [0.0625, 0.0, -0.75],
            ]),
            ..Frame::default()
        }
    }

    #[test]
    fn data_files_round_trip() {
        let f = sample();
        let mut text = Vec::new();
        write(&mut text, &f, &[196.96654, 107.8682]).unwrap();
        let text = String::from_utf8(text).unwrap();
        let mut back = parse(&text, None).unwrap();
        back.name_types(&[]).unwrap();
        assert_eq!(back.frame, f, "{text}");
        assert_eq!(back.masses, vec![Some(196.96654), Some(107.8682)]);
        // Without velocities there is no Velocities section and none come back.
        let mut g = sample();
        g.velocities = None;
        let mut text = Vec::new();
        write(&mut text, &g, &[196.96654, 107.8682]).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(!text.contains("Velocities"));
        assert_eq!(parse(&text, None).unwrap().frame.velocities, None);
    }

    #[test]
    fn lammps_layout_with_image_flags_and_comments_reads() {
        // As LAMMPS's write_data lays it out: image flags, velocities by id in another order.
        let text = "LAMMPS data file via write_data, version 22 Jul 2025\n\n\
                    2 atoms\n1 atom types\n\n0 10 xlo xhi\n0 10 ylo yhi\n0.0 10.0 zlo zhi\n\n\
                    Masses\n\n1 196.96654 # Au\n\nAtoms # atomic\n\n\
                    2 1 9.5 1 1 -1 0 0\n1 1 0.5 1 1 0 0 0\n\n\
                    Velocities\n\n1 1000 0 0\n2 -1000 0 0\n";
        let mut d = parse(text, None).unwrap();
        d.name_types(&["Au".into()]).unwrap();
        let f = &d.frame;
        assert_eq!(f.positions, vec![[-0.5, 1.0, 1.0], [0.5, 1.0, 1.0]]);
        assert_eq!(f.velocities, Some(vec![[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]));
        assert_eq!(f.name(0), "Au");
    }
}
