"""kmc md's extended XYZ as ASE reads it (issue 16): `ase.io.read` must give the velocities kmc
wrote. ASE ignores kmc's own `velo` column (Å/fs) and takes the atoms' momenta from `momenta`
(amu·Å per ASE time unit), so without that column ASE saw every velocity as zero."""

import os
import subprocess

import ase.io
import ase.units
import numpy as np
from conftest import REPO


def test_ase_reads_the_velocities_kmc_md_wrote(tmp_path):
    exe = os.environ.get("KMC_BIN")
    assert exe, "KMC_BIN (the kmc binary) is set by tests/python.rs"
    out = tmp_path / "md"
    subprocess.run(
        [exe, "md", str(REPO / "scenarios" / "md_lj_quick.ron"), "--quiet", "--out", str(out)],
        check=True,
    )
    atoms = ase.io.read(str(out / "final.xyz"))
    velo = atoms.arrays["velo"]  # kmc's column, Å/fs
    assert np.abs(velo).max() > 1e-4, "the run's atoms move"
    v_ase = atoms.get_velocities()  # Å per ASE time unit
    np.testing.assert_allclose(v_ase * ase.units.fs, velo, rtol=1e-8, atol=1e-14)
    # The whole trajectory too, frame by frame.
    frames = ase.io.read(str(out / "traj.xyz"), index=":")
    assert len(frames) > 1
    for f in frames:
        np.testing.assert_allclose(f.get_velocities() * ase.units.fs, f.arrays["velo"], rtol=1e-8, atol=1e-14)
