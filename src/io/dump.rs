//! LAMMPS text dumps (`read_dump`, OVITO, ASE): `ITEM:` sections per frame, columns
//! `id type element x y z`, then `vx vy vz` in Å/ps (LAMMPS `metal` units) and the extra
//! columns. The extra column `energies` is written as `c_pe` (a `compute pe/atom`) and read
//! back under its own name; comment properties have no place in a dump and are not written.

use super::frame::{Column, Frame, Real, Values, bad, num};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Å/fs → Å/ps.
const PS_PER_FS: f64 = 1e3;

/// Dump names of extra columns that differ from their extended-XYZ names.
const RENAMED: [(&str, &str); 1] = [("energies", "c_pe")];

fn dump_name(name: &str) -> &str {
    RENAMED
        .iter()
        .find(|(x, _)| *x == name)
        .map_or(name, |(_, d)| d)
}

fn frame_name(name: &str) -> &str {
    RENAMED
        .iter()
        .find(|(_, d)| *d == name)
        .map_or(name, |(x, _)| x)
}

/// Writes one frame; the timestep is `step` (0 if unset). LAMMPS needs open (`ff`) axes to hold
/// every atom, so their bounds are widened to the atoms' extent.
pub fn write(w: &mut dyn Write, f: &Frame) -> std::io::Result<()> {
    f.check()?;
    let mut lo = f.origin;
    let mut hi = [0.0; 3];
    for k in 0..3 {
        hi[k] = f.origin[k] + f.lengths[k];
        if !f.pbc[k] {
            for x in &f.positions {
                lo[k] = lo[k].min(x[k]);
                hi[k] = hi[k].max(x[k]);
            }
        }
    }
    let pp = |k: usize| if f.pbc[k] { "pp" } else { "ff" };
    writeln!(w, "ITEM: TIMESTEP\n{}", f.step.unwrap_or(0))?;
    writeln!(w, "ITEM: NUMBER OF ATOMS\n{}", f.len())?;
    writeln!(w, "ITEM: BOX BOUNDS {} {} {}", pp(0), pp(1), pp(2))?;
    for k in 0..3 {
        f.format.cell.write(w, lo[k])?;
        write!(w, " ")?;
        f.format.cell.write(w, hi[k])?;
        writeln!(w)?;
    }
    write!(w, "ITEM: ATOMS id type element x y z")?;
    if f.velocities.is_some() {
        write!(w, " vx vy vz")?;
    }
    for c in &f.columns {
        let name = dump_name(&c.name);
        if c.width == 1 {
            write!(w, " {name}")?;
        } else {
            for k in 1..=c.width {
                write!(w, " {name}[{k}]")?;
            }
        }
    }
    writeln!(w)?;
    let (pf, vf) = (f.format.positions, f.format.velocities);
    for i in 0..f.len() {
        write!(w, "{} {} {}", i + 1, f.types[i] as u64 + 1, f.name(i))?;
        for x in f.positions[i] {
            write!(w, " ")?;
            pf.write(w, x)?;
        }
        if let Some(v) = &f.velocities {
            for x in v[i] {
                write!(w, " ")?;
                vf.write(w, x * PS_PER_FS)?;
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

/// Reads every frame of the dump at `path`.
pub fn read(path: &Path) -> Result<Vec<Frame>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, Some(path))
}

/// Types above this are refused: the names table is indexed by type.
const MAX_TYPE: usize = 1 << 16;

/// Reads every frame of dump text with columns `x y z`, `type` and/or `element`, optionally
/// `vx vy vz` (Å/ps, returned in Å/fs), and any others as extra columns (integers if every value
/// is one). `id` is not kept: atoms stay in file order. `path` names the text in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Frame>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut frames = Vec::new();
    let mut ln = 0;
    let expect = |ln: usize, what: &str| -> Result<&str> {
        match lines.get(ln) {
            Some(l) if l.starts_with(what) => Ok(l),
            _ => Err(bad(path, ln + 1, format!("expected `{what}`"))),
        }
    };
    while ln < lines.len() {
        if lines[ln].trim().is_empty() {
            ln += 1;
            continue;
        }
        let mut f = Frame::default();
        expect(ln, "ITEM: TIMESTEP")?;
        let line = |i: usize| lines.get(i).map(|s| s.trim());
        f.step = Some(num(path, ln + 2, line(ln + 1), "a step")?);
        expect(ln + 2, "ITEM: NUMBER OF ATOMS")?;
        let n: usize = num(path, ln + 4, line(ln + 3), "an atom count")?;
        let flags: Vec<&str> = expect(ln + 4, "ITEM: BOX BOUNDS")?
            .split_whitespace()
            .skip(3)
            .collect();
        for k in 0..3 {
            f.pbc[k] = flags.get(k).is_some_and(|s| *s == "pp");
            let mut t = line(ln + 5 + k).unwrap_or("").split_whitespace();
            let lo: f64 = num(path, ln + 6 + k, t.next(), "a bound")?;
            let hi: f64 = num(path, ln + 6 + k, t.next(), "a bound")?;
            f.origin[k] = lo;
            f.lengths[k] = hi - lo;
        }
        let cols: Vec<&str> = expect(ln + 8, "ITEM: ATOMS")?
            .split_whitespace()
            .skip(2)
            .collect();
        let col = |name: &str| cols.iter().position(|c| *c == name);
        let (cx, cy, cz) = match (col("x"), col("y"), col("z")) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => return Err(bad(path, ln + 9, "ATOMS lacks x y z")),
        };
        let (ctype, cel) = (col("type"), col("element"));
        let cv = match (col("vx"), col("vy"), col("vz")) {
            (Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        };
        if cv.is_some() {
            f.velocities = Some(Vec::new());
        }
        let known = |c: usize| {
            [Some(cx), Some(cy), Some(cz), ctype, cel, col("id")].contains(&Some(c))
                || cv.is_some_and(|v| v.contains(&c))
        };
        let extra: Vec<usize> = (0..cols.len()).filter(|&c| !known(c)).collect();
        let mut raw: Vec<Vec<&str>> = vec![Vec::new(); extra.len()];
        let body = lines.len().saturating_sub(ln + 9);
        if body < n {
            return Err(bad(
                path,
                ln + 10 + body,
                format!("expected {n} atoms, the file ends after {body}"),
            ));
        }
        for a in 0..n {
            let lno = ln + 10 + a;
            let t: Vec<&str> = lines[lno - 1].split_whitespace().collect();
            let g = |c: usize| -> Result<f64> { num(path, lno, t.get(c).copied(), "a number") };
            f.positions.push([g(cx)?, g(cy)?, g(cz)?]);
            let element = match cel {
                Some(c) => Some(*t.get(c).ok_or_else(|| bad(path, lno, "too few columns"))?),
                None => None,
            };
            let ty = match ctype {
                Some(c) => {
                    let ty: usize = num(path, lno, t.get(c).copied(), "a type")?;
                    if ty == 0 || ty > MAX_TYPE {
                        return Err(bad(path, lno, format!("type must be in 1..={MAX_TYPE}")));
                    }
                    let name = element.map_or_else(|| ty.to_string(), str::to_string);
                    if f.names.len() < ty {
                        f.names.resize(ty, String::new());
                    }
                    if f.names[ty - 1].is_empty() {
                        f.names[ty - 1] = name;
                    }
                    ty - 1
                }
                None => {
                    let name = element.unwrap_or("X");
                    match f.names.iter().position(|s| s == name) {
                        Some(t) => t,
                        None => {
                            f.names.push(name.to_string());
                            f.names.len() - 1
                        }
                    }
                }
            };
            f.types.push(ty as u32);
            if let (Some([a, b, c]), Some(v)) = (cv, f.velocities.as_mut()) {
                v.push([g(a)? / PS_PER_FS, g(b)? / PS_PER_FS, g(c)? / PS_PER_FS]);
            }
            for (k, &c) in extra.iter().enumerate() {
                raw[k].push(t.get(c).ok_or_else(|| bad(path, lno, "too few columns"))?);
            }
        }
        for (k, &c) in extra.iter().enumerate() {
            let name = frame_name(cols[c]).to_string();
            let values = match raw[k].iter().map(|s| s.parse()).collect() {
                Ok(ints) => Values::Int(ints),
                Err(_) => {
                    let reals = raw[k]
                        .iter()
                        .enumerate()
                        .map(|(a, s)| num(path, ln + 10 + a, Some(s), "a number"))
                        .collect::<Result<_>>()?;
                    Values::Real(reals, Real::Shortest)
                }
            };
            f.columns.push(Column {
                name,
                width: 1,
                values,
            });
        }
        frames.push(f);
        ln += 9 + n;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::frame::Format;

    fn sample() -> Frame {
        Frame {
            step: Some(7),
            lengths: [10.5, 11.25, 30.0],
            pbc: [true, true, false],
            names: vec!["Au".into(), "Ag".into()],
            types: vec![0, 1, 0],
            positions: vec![[0.1, 0.2, 0.3], [5.0, 6.125, 1.25], [1e-3, 2.0 / 3.0, 29.9]],
            velocities: Some(vec![
                [1e-3, -2e-3, 0.0],
                [0.5, 0.25, 0.125],
                [1.0 / 3.0, 0.0, -7e-5],
            ]),
            columns: vec![
                Column::real("energies", vec![-3.9, -2.8, -0.1 / 3.0], Real::Shortest),
                Column::int("site", vec![4, 17, 123456789]),
            ],
            format: Format::default(),
            ..Frame::default()
        }
    }

    #[test]
    fn frames_round_trip() {
        let a = sample();
        let mut b = sample();
        b.velocities = None;
        b.columns.clear();
        b.step = Some(8);
        let mut text = Vec::new();
        write(&mut text, &a).unwrap();
        write(&mut text, &b).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("ITEM: ATOMS id type element x y z vx vy vz c_pe site\n"));
        let mut back = parse(&text, None).unwrap();
        assert_eq!(back.len(), 2);
        // Velocities pass through Å/ps, so they come back to rounding, not bit for bit.
        let (va, vb) = (
            a.velocities.clone().unwrap(),
            back[0].velocities.take().unwrap(),
        );
        for (x, y) in va.iter().flatten().zip(vb.iter().flatten()) {
            assert!((x - y).abs() <= 1e-15 * x.abs(), "{x} {y}");
        }
        let mut a = a;
        a.velocities = None;
        back[0].velocities = None;
        assert_eq!(back, vec![a, b]);
    }

    #[test]
    fn open_axes_are_widened_to_hold_every_atom() {
        let mut f = sample();
        f.positions[1][2] = -2.5;
        f.positions[2][0] = 50.0; // periodic axis: left alone
        let mut text = Vec::new();
        write(&mut text, &f).unwrap();
        let back = &parse(std::str::from_utf8(&text).unwrap(), None).unwrap()[0];
        assert_eq!(back.origin, [0.0, 0.0, -2.5]);
        assert_eq!(back.lengths, [10.5, 11.25, 32.5]);
    }

    #[test]
    fn bad_input_is_an_error_with_a_line() {
        let path = Path::new("t.dump");
        let e = |text: &str| parse(text, Some(path)).unwrap_err().to_string();
        let head = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n\
                    0 1\n0 1\n0 1\n";
        assert_eq!(e("ITEM: STEP\n"), "t.dump:1: expected `ITEM: TIMESTEP`");
        assert!(e(&format!("{head}ITEM: ATOMS id type x y\n1 1 0 0\n")).contains("lacks x y z"));
        assert!(e(&format!("{head}ITEM: ATOMS id type x y z\n1 0 0 0 0\n")).contains("type"));
        assert!(e(&format!("{head}ITEM: ATOMS id type x y z\n")).starts_with("t.dump:10:"));
        assert!(
            e(&format!("{head}ITEM: ATOMS id type x y z\n1 1 0 0 q\n")).starts_with("t.dump:10:")
        );
        assert!(e("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\n").contains("BOX BOUNDS"));
        let ok = parse(
            &format!("{head}ITEM: ATOMS id type x y z\n1 2 0 0 0.5\n"),
            None,
        )
        .unwrap();
        assert_eq!((ok[0].name(0), ok[0].types[0]), ("2", 1));
    }
}
