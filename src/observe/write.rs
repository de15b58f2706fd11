//! Output files: written to a temporary name and renamed, so a reader (or a killed run) never
//! sees half a file.

use crate::error::{Error, Result};
use crate::state::State;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `path` atomically: the content goes to `path.tmp`, which is then renamed.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let res = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        fill(&mut w)?;
        w.flush()?;
        w.get_ref().sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Writes `bytes` to `path` atomically (see [`write_atomic`]).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Rows of `series.csv`, kept in memory and rewritten atomically on every flush.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    /// Header line (without newline).
    pub header: String,
    /// Data lines (without newline).
    pub rows: Vec<String>,
}

impl Series {
    /// An empty series with a header.
    pub fn new(header: &str) -> Self {
        Series {
            header: header.to_string(),
            rows: Vec::new(),
        }
    }

    /// Writes the whole series to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, |w| {
            writeln!(w, "{}", self.header)?;
            for r in &self.rows {
                writeln!(w, "{r}")?;
            }
            Ok(())
        })
    }
}

/// Cartesian positions and species names of every atom, in site order.
pub fn atoms(state: &State, species: &[String]) -> Vec<(usize, [f64; 3], u8)> {
    let lat = state.lattice();
    let mut out = Vec::with_capacity(state.n_atoms() as usize);
    let _ = species;
    for (idx, &c) in state.cells().iter().enumerate() {
        if c.occupied() {
            out.push((idx, lat.position_of(idx), c.species()));
        }
    }
    out
}

/// Height of the box written to snapshots: the allocated layers.
fn box_height(state: &State) -> f64 {
    let lat = state.lattice();
    let h = lat.layer_spacing();
    if h > 0.0 {
        h * lat.layers() as f64
    } else {
        lat.lattice_constant()
    }
}

/// Writes an extended-XYZ snapshot (species and Cartesian positions in Å; the cell and
/// periodicity in the comment line), readable by ASE and OVITO.
pub fn write_xyz(
    path: &Path,
    state: &State,
    species: &[String],
    time_s: f64,
    events: u64,
) -> Result<()> {
    let lat = state.lattice();
    let [lx, ly] = lat.box_lengths();
    let lz = box_height(state);
    let list = atoms(state, species);
    write_atomic(path, |w| {
        writeln!(w, "{}", list.len())?;
        writeln!(
            w,
            "Lattice=\"{lx} 0.0 0.0 0.0 {ly} 0.0 0.0 0.0 {lz}\" Properties=species:S:1:pos:R:3:site:I:1 pbc=\"T T F\" time_s={time_s} events={events} lattice_kind={:?}",
            lat.kind()
        )?;
        for (idx, p, sp) in &list {
            writeln!(
                w,
                "{} {:.6} {:.6} {:.6} {idx}",
                species[*sp as usize - 1],
                p[0],
                p[1],
                p[2]
            )?;
        }
        Ok(())
    })
}

/// Writes a LAMMPS text dump (`id type element x y z`), readable by OVITO, ASE and LAMMPS's
/// `read_dump`; the timestep is the event count.
pub fn write_lammps_dump(
    path: &Path,
    state: &State,
    species: &[String],
    events: u64,
) -> Result<()> {
    let lat = state.lattice();
    let [lx, ly] = lat.box_lengths();
    let lz = box_height(state);
    let list = atoms(state, species);
    write_atomic(path, |w| {
        writeln!(
            w,
            "ITEM: TIMESTEP\n{events}\nITEM: NUMBER OF ATOMS\n{}",
            list.len()
        )?;
        writeln!(w, "ITEM: BOX BOUNDS pp pp ff\n0 {lx}\n0 {ly}\n0 {lz}")?;
        writeln!(w, "ITEM: ATOMS id type element x y z")?;
        for (k, (_, p, sp)) in list.iter().enumerate() {
            writeln!(
                w,
                "{} {} {} {:.6} {:.6} {:.6}",
                k + 1,
                sp,
                species[*sp as usize - 1],
                p[0],
                p[1],
                p[2]
            )?;
        }
        Ok(())
    })
}

/// Writes any serialisable value as pretty JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        writeln!(w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::{Lattice, LatticeKind};

    #[test]
    fn snapshots_parse_back() {
        let dir = std::env::temp_dir().join(format!("kmc-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lat = Lattice::new(LatticeKind::Fcc111, 4.0, [8, 8], 8).unwrap();
        let mut st = State::new(lat);
        st.fill_layers(2, 1).unwrap();
        let s = st.lattice().site(2, 2, 2);
        st.place(&s, 2);
        let names = vec!["Au".to_string(), "Ag".to_string()];
        let xyz = dir.join("a.xyz");
        write_xyz(&xyz, &st, &names, 1.5, 7).unwrap();
        let text = std::fs::read_to_string(&xyz).unwrap();
        let mut lines = text.lines();
        let n: usize = lines.next().unwrap().parse().unwrap();
        assert_eq!(n, 129);
        let comment = lines.next().unwrap();
        assert!(comment.contains("pbc=\"T T F\""));
        // OVITO reads comment-line keys case-insensitively: a second `lattice=` key made it
        // reject the file (regression).
        assert_eq!(
            comment.to_lowercase().matches("lattice=").count(),
            1,
            "{comment}"
        );
        let last = text.lines().last().unwrap();
        let p = st.lattice().position(&s);
        let f: Vec<&str> = last.split_whitespace().collect();
        assert_eq!(f[0], "Ag");
        assert!((f[1].parse::<f64>().unwrap() - p[0]).abs() < 1e-6);
        let dump = dir.join("a.dump");
        write_lammps_dump(&dump, &st, &names, 7).unwrap();
        let d = std::fs::read_to_string(&dump).unwrap();
        assert!(d.starts_with("ITEM: TIMESTEP\n7\nITEM: NUMBER OF ATOMS\n129\n"));
        assert_eq!(d.lines().count(), 9 + 129);
        assert!(!dir.join("a.dump.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
