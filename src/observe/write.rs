//! Observation files: `series.csv` rows, and lattice snapshots as extended XYZ and LAMMPS
//! dumps (through [`crate::io`], which also writes them atomically).

use crate::error::Result;
use crate::grains::Grains;
use crate::io::frame::{Column, Format, Frame, Real};
use crate::io::{dump, write_atomic, xyz};
use crate::state::State;
use std::path::Path;

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

/// One atom of a snapshot: grain, site index in its grain, lab position (laterally in the
/// film's periodic box) and species.
pub type SnapshotAtom = (usize, usize, [f64; 3], u8);

/// Every real atom of every grain (ghosts are other grains' atoms, written once, by their
/// own grain), the film's first in site order, then each particle grain's.
pub fn atoms(grains: &Grains) -> Vec<SnapshotAtom> {
    let film = &grains.grain(0).state;
    let [lx, ly] = film.lattice().box_lengths();
    let mut out = Vec::with_capacity(film.n_atoms() as usize);
    for g in 0..grains.len() {
        let grain = grains.grain(g);
        for (idx, &c) in grain.state.cells().iter().enumerate() {
            if c.occupied() && !grain.state.is_ghost(idx) {
                let mut p = grain.lab_position(idx);
                if g > 0 {
                    p[0] = p[0].rem_euclid(lx);
                    p[1] = p[1].rem_euclid(ly);
                }
                out.push((g, idx, p, c.species()));
            }
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

/// The atoms of `state` as a frame: species, positions (6 decimals) in a box of the lattice's
/// lateral size and allocated height, periodic in x and y.
fn snapshot_frame(state: &State, species: &[String], list: &[SnapshotAtom]) -> Frame {
    let lat = state.lattice();
    let [lx, ly] = lat.box_lengths();
    Frame {
        lengths: [lx, ly, box_height(state)],
        pbc: [true, true, false],
        names: species.to_vec(),
        types: list
            .iter()
            .map(|a| u32::from(a.3).wrapping_sub(1))
            .collect(),
        positions: list.iter().map(|a| a.2).collect(),
        format: Format {
            positions: Real::Fixed(6),
            ..Format::default()
        },
        ..Frame::default()
    }
}

/// Writes an extended-XYZ snapshot (species and Cartesian positions in Å, the site index; the
/// cell, periodicity, time and event count in the comment line), readable by ASE and OVITO.
pub fn write_xyz(
    path: &Path,
    grains: &Grains,
    species: &[String],
    time_s: f64,
    events: u64,
) -> Result<()> {
    let state = &grains.grain(0).state;
    let list = atoms(grains);
    let mut f = snapshot_frame(state, species, &list);
    f.columns = vec![Column::int(
        "site",
        list.iter().map(|a| a.1 as i64).collect(),
    )];
    // The grain column only where grains exist, so films alone keep their format.
    if grains.len() > 1 {
        f.columns.push(Column::int(
            "grain",
            list.iter().map(|a| a.0 as i64).collect(),
        ));
    }
    f.info = vec![
        ("time_s".into(), time_s.to_string()),
        ("events".into(), events.to_string()),
        (
            "lattice_kind".into(),
            format!("{:?}", state.lattice().kind()),
        ),
    ];
    if let Some(q) = state.lattice().c_over_a() {
        f.info.push(("c_over_a".into(), q.to_string()));
    }
    xyz::write_file(path, &f)
}

/// Writes a LAMMPS text dump (`id type element x y z`), readable by OVITO, ASE and LAMMPS's
/// `read_dump`; the timestep is the event count.
pub fn write_lammps_dump(
    path: &Path,
    grains: &Grains,
    species: &[String],
    events: u64,
) -> Result<()> {
    let list = atoms(grains);
    let mut f = snapshot_frame(&grains.grain(0).state, species, &list);
    f.step = Some(events);
    dump::write_file(path, &f)
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
        let grains = Grains::single(st.clone());
        write_xyz(&xyz, &grains, &names, 1.5, 7).unwrap();
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
        // The io reader gets back what was written: species, positions, site, time.
        let back = &crate::io::xyz::read(&xyz).unwrap()[0];
        assert_eq!(
            (back.len(), back.name(128), back.info("time_s")),
            (129, "Ag", Some("1.5"))
        );
        assert!(back.pbc == [true, true, false] && back.column("site").is_some());
        let dump = dir.join("a.dump");
        write_lammps_dump(&dump, &grains, &names, 7).unwrap();
        let back = &crate::io::dump::read(&dump).unwrap()[0];
        assert_eq!(
            (back.step, back.len(), back.name(128)),
            (Some(7), 129, "Ag")
        );
        assert_eq!(back.types[128], 1);
        let d = std::fs::read_to_string(&dump).unwrap();
        assert!(d.starts_with("ITEM: TIMESTEP\n7\nITEM: NUMBER OF ATOMS\n129\n"));
        assert_eq!(d.lines().count(), 9 + 129);
        assert!(!dir.join("a.dump.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
