//! Extended XYZ (ASE, OVITO): the atom count, a comment line of `key=value` properties
//! (`Lattice`, `Properties`, `pbc`, then `step` and the frame's own properties), and one line
//! per atom. Frames follow each other in one file.

use super::frame::{Column, Frame, Real, Values, bad, num};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

fn tf(b: bool) -> &'static str {
    if b { "T" } else { "F" }
}

/// A value goes in double quotes when it holds a space or characters that end a value.
fn write_value(w: &mut dyn Write, v: &str) -> std::io::Result<()> {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '=' || c == '"') {
        write!(w, "\"{}\"", v.replace('"', "'"))
    } else {
        write!(w, "{v}")
    }
}

/// Writes one frame.
pub fn write(w: &mut dyn Write, f: &Frame) -> std::io::Result<()> {
    f.check()?;
    writeln!(w, "{}", f.len())?;
    // Off-diagonal zeros as kmc has always written them: `0.0` beside shortest-form lengths
    // (lattice snapshots, particles), `0` beside fixed-precision ones (MD frames).
    let zero = match f.format.cell {
        Real::Shortest => "0.0",
        _ => "0",
    };
    let cell = f.format.cell;
    write!(w, "Lattice=\"")?;
    for k in 0..3 {
        for j in 0..3 {
            if k + j > 0 {
                write!(w, " ")?;
            }
            if j == k {
                cell.write(w, f.lengths[k])?;
            } else {
                write!(w, "{zero}")?;
            }
        }
    }
    write!(w, "\"")?;
    if f.origin != [0.0; 3] {
        write!(w, " Origin=\"")?;
        for k in 0..3 {
            if k > 0 {
                write!(w, " ")?;
            }
            cell.write(w, f.origin[k])?;
        }
        write!(w, "\"")?;
    }
    write!(w, " Properties=species:S:1:pos:R:3")?;
    if f.velocities.is_some() {
        write!(w, ":velo:R:3")?;
    }
    for c in &f.columns {
        write!(w, ":{}:{}:{}", c.name, c.values.letter(), c.width)?;
    }
    write!(
        w,
        " pbc=\"{} {} {}\"",
        tf(f.pbc[0]),
        tf(f.pbc[1]),
        tf(f.pbc[2])
    )?;
    if let Some(s) = f.step {
        write!(w, " step={s}")?;
    }
    for (k, v) in &f.info {
        if k.is_empty() || k.contains(|c: char| c.is_whitespace() || c == '=' || c == '"') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{k:?} is not an extended-XYZ key"),
            ));
        }
        write!(w, " {k}=")?;
        write_value(w, v)?;
    }
    writeln!(w)?;
    let (pf, vf) = (f.format.positions, f.format.velocities);
    for i in 0..f.len() {
        write!(w, "{}", f.name(i))?;
        for x in f.positions[i] {
            write!(w, " ")?;
            pf.write(w, x)?;
        }
        if let Some(v) = &f.velocities {
            for x in v[i] {
                write!(w, " ")?;
                vf.write(w, x)?;
            }
        }
        for c in &f.columns {
            for k in 0..c.width {
                c.values.write_one(w, i * c.width + k)?;
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

/// Writes one frame to `path` atomically.
pub fn write_file(path: &Path, frame: &Frame) -> Result<()> {
    super::write_atomic(path, |w| write(w, frame))
}

/// Reads every frame of the file at `path`.
pub fn read(path: &Path) -> Result<Vec<Frame>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, Some(path))
}

/// Splits a comment line into `key=value` pairs (values may be double-quoted; a bare key
/// means `T`, as in ASE).
fn pairs(line: &str) -> Vec<(String, String)> {
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
            if chars.next().is_none() {
                break;
            }
            continue;
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
        } else {
            value.push('T');
        }
        out.push((key, value));
    }
    out
}

enum Slot {
    Species,
    Pos,
    Velo,
    Extra(usize),
}

/// Reads every frame of extended-XYZ text (orthorhombic cells; `species` and `pos` columns
/// required; `velo` becomes the velocities, other columns extra columns). `path` names the
/// text in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Frame>> {
    let lines: Vec<&str> = text.lines().collect();
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
        let cl = ln + 2;
        let mut f = Frame::default();
        let mut slots = Vec::new();
        let mut pbc = None;
        let mut has_cell = false;
        for (k, v) in pairs(comment) {
            let reals = |v: &str, what: &str| -> Result<Vec<f64>> {
                v.split_whitespace()
                    .map(|x| num(path, cl, Some(x), what))
                    .collect()
            };
            match k.as_str() {
                "Lattice" => {
                    let m = reals(&v, "a lattice number")?;
                    if m.len() != 9 {
                        return Err(bad(path, cl, "Lattice needs 9 numbers"));
                    }
                    if [1, 2, 3, 5, 6, 7].iter().any(|&i| m[i] != 0.0) {
                        return Err(bad(path, cl, "only orthorhombic cells are supported"));
                    }
                    f.lengths = [m[0], m[4], m[8]];
                    has_cell = true;
                }
                "Origin" => {
                    let o = reals(&v, "an origin coordinate")?;
                    if o.len() != 3 {
                        return Err(bad(path, cl, "Origin needs 3 numbers"));
                    }
                    f.origin = [o[0], o[1], o[2]];
                }
                "pbc" => {
                    let t: Vec<&str> = v.split_whitespace().collect();
                    if t.len() != 3 || t.iter().any(|x| !matches!(*x, "T" | "F")) {
                        return Err(bad(
                            path,
                            cl,
                            format!("pbc must be three T or F, got {v:?}"),
                        ));
                    }
                    pbc = Some([t[0] == "T", t[1] == "T", t[2] == "T"]);
                }
                "step" => f.step = Some(num(path, cl, Some(&v), "a step")?),
                "Properties" => {
                    let parts: Vec<&str> = v.split(':').collect();
                    if parts.len() % 3 != 0 {
                        return Err(bad(path, cl, "malformed Properties"));
                    }
                    for c in parts.chunks(3) {
                        let width: usize = num(path, cl, Some(c[2]), "a column count")?;
                        let slot = match (c[0], c[1], width) {
                            ("species", "S", 1) => Slot::Species,
                            ("pos", "R", 3) => Slot::Pos,
                            ("velo", "R", 3) => Slot::Velo,
                            (name, t, 1..=64) => {
                                let values = match t {
                                    "R" => Values::Real(Vec::new(), Real::Shortest),
                                    "I" => Values::Int(Vec::new()),
                                    "S" | "L" => Values::Str(Vec::new()),
                                    _ => {
                                        return Err(bad(
                                            path,
                                            cl,
                                            format!("unknown column type {t:?} of `{name}`"),
                                        ));
                                    }
                                };
                                f.columns.push(Column {
                                    name: name.to_string(),
                                    width,
                                    values,
                                });
                                Slot::Extra(f.columns.len() - 1)
                            }
                            (name, _, _) => {
                                return Err(bad(
                                    path,
                                    cl,
                                    format!("column `{name}` has an unsupported type or width"),
                                ));
                            }
                        };
                        slots.push((slot, width));
                    }
                }
                _ => f.info.push((k, v)),
            }
        }
        f.pbc = pbc.unwrap_or([has_cell; 3]);
        if slots.is_empty() {
            slots = vec![(Slot::Species, 1), (Slot::Pos, 3)];
        }
        if !slots.iter().any(|s| matches!(s.0, Slot::Species))
            || !slots.iter().any(|s| matches!(s.0, Slot::Pos))
        {
            return Err(bad(path, cl, "Properties lacks species or pos"));
        }
        if slots.iter().any(|s| matches!(s.0, Slot::Velo)) {
            f.velocities = Some(Vec::new());
        }
        let body = lines.len().saturating_sub(cl);
        if body < n {
            return Err(bad(
                path,
                cl + body + 1,
                format!("expected {n} atoms, the file ends after {body}"),
            ));
        }
        for a in 0..n {
            let lno = cl + 1 + a;
            let mut tok = lines[lno - 1].split_whitespace();
            for (slot, width) in &slots {
                let mut next = || tok.next().ok_or_else(|| bad(path, lno, "too few columns"));
                match slot {
                    Slot::Species => {
                        let name = next()?;
                        let t = match f.names.iter().position(|s| s == name) {
                            Some(t) => t,
                            None => {
                                f.names.push(name.to_string());
                                f.names.len() - 1
                            }
                        };
                        f.types.push(t as u32);
                    }
                    Slot::Pos | Slot::Velo => {
                        let mut x = [0.0; 3];
                        for c in &mut x {
                            *c = num(path, lno, Some(next()?), "a number")?;
                        }
                        match slot {
                            Slot::Pos => f.positions.push(x),
                            _ => f.velocities.get_or_insert_with(Vec::new).push(x),
                        }
                    }
                    Slot::Extra(c) => {
                        for _ in 0..*width {
                            let s = next()?;
                            match &mut f.columns[*c].values {
                                Values::Real(v, _) => v.push(num(path, lno, Some(s), "a number")?),
                                Values::Int(v) => v.push(num(path, lno, Some(s), "an integer")?),
                                Values::Str(v) => v.push(s.to_string()),
                            }
                        }
                    }
                }
            }
        }
        frames.push(f);
        ln = cl + n;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::frame::Format;

    pub(crate) fn sample() -> Frame {
        Frame {
            step: Some(20),
            origin: [0.0; 3],
            lengths: [10.5, 11.25, 30.0],
            pbc: [true, true, false],
            names: vec!["Au".into(), "Ag".into()],
            types: vec![0, 1, 0],
            positions: vec![
                [0.1, 0.2, 0.3],
                [5.0, 6.125, -1.25],
                [1e-3, 2.0 / 3.0, 29.9],
            ],
            velocities: Some(vec![
                [1e-3, -2e-3, 0.0],
                [0.5, 0.25, 0.125],
                [1.0 / 3.0, 0.0, -7e-5],
            ]),
            columns: vec![
                Column::real("energies", vec![-3.9, -2.8, -0.1 / 3.0], Real::Shortest),
                Column::int("site", vec![4, 17, 123456789]),
            ],
            info: vec![
                ("time_fs".into(), "40.5".into()),
                ("note".into(), "two words".into()),
            ],
            format: Format::default(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let a = sample();
        let mut b = sample();
        b.step = None;
        b.velocities = None;
        b.columns.truncate(1);
        b.origin = [-1.0, 0.0, 2.5];
        let mut text = Vec::new();
        write(&mut text, &a).unwrap();
        write(&mut text, &b).unwrap();
        let text = String::from_utf8(text).unwrap();
        let back = parse(&text, None).unwrap();
        assert_eq!(back, vec![a, b], "{text}");
    }

    #[test]
    fn kmc_snapshot_layout_is_kept() {
        let f = Frame {
            lengths: [8.0, 8.5, 4.0],
            pbc: [true, true, false],
            names: vec!["Cu".into()],
            types: vec![0],
            positions: vec![[1.0, 2.0, 3.0]],
            columns: vec![Column::int("site", vec![7])],
            info: vec![("time_s".into(), "1.5".into())],
            format: Format {
                positions: Real::Fixed(6),
                ..Format::default()
            },
            ..Frame::default()
        };
        let mut out = Vec::new();
        write(&mut out, &f).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1\nLattice=\"8 0.0 0.0 0.0 8.5 0.0 0.0 0.0 4\" \
             Properties=species:S:1:pos:R:3:site:I:1 pbc=\"T T F\" time_s=1.5\n\
             Cu 1.000000 2.000000 3.000000 7\n"
        );
    }

    #[test]
    fn bad_input_is_an_error_with_a_line() {
        let path = Path::new("t.xyz");
        let e = |text: &str| parse(text, Some(path)).unwrap_err().to_string();
        assert_eq!(e("x\n"), "t.xyz:1: expected an atom count, got \"x\"");
        assert!(e("2\nProperties=species:S:1:pos:R:3\nH 0 0 0\n").starts_with("t.xyz:4:"));
        assert!(e("1\nProperties=species:S:1:pos:R:3\nH 0 zero 0\n").starts_with("t.xyz:3:"));
        assert!(e("1\nLattice=\"1 0 0 0 1 0 0 0\"\nH 0 0 0\n").contains("9 numbers"));
        assert!(e("1\nProperties=pos:R:3\n0 0 0\n").contains("lacks species"));
        assert!(e("1\nProperties=species:S:1:pos:R:3:q:Q:1\nH 0 0 0 1\n").contains("type"));
        assert!(e("99999999999999\n\n").contains("expected 99999999999999 atoms"));
        // No Properties: species and positions; no Lattice: not periodic.
        let f = &parse("1\n\nH 1 2 3\n", None).unwrap()[0];
        assert_eq!(
            (f.name(0), f.positions[0], f.pbc),
            ("H", [1.0, 2.0, 3.0], [false; 3])
        );
    }
}
