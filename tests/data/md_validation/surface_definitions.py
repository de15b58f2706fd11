#!/usr/bin/env python3
"""Surface Ag fraction of the Ag-Au runs under two surface definitions (issue 13, the
inverted-temperature-trend question): the one `kmc analyze` uses (coordination CN <= 9 within
r_c = (1 + sqrt 2)/2 d) and the old "CN < 12" one, averaged over the frames from T0 ps on.

    target/tmp/pyenv/bin/python tests/data/md_validation/surface_definitions.py RUNS [T0]

RUNS is the run directory of make_reference.sh (cases c, d, cm, dm as present). Prints a
Markdown table: case, code, seed, mean fraction with CN <= 9, with CN < 12.
"""
import os
import sys

import numpy as np

D = 2.885  # nearest-neighbour distance of the pair, A (kmc analyze measures 2.88-2.89)
RC = 0.5 * (1 + 2 ** 0.5) * D


def frames(path):
    with open(path) as f:
        while True:
            line = f.readline()
            if not line:
                return
            assert line.startswith("ITEM: TIMESTEP")
            step = int(f.readline())
            f.readline()
            n = int(f.readline())
            for _ in range(4):
                f.readline()
            cols = f.readline().split()[2:]
            rows = [f.readline().split() for _ in range(n)]
            ix = [cols.index(c) for c in ("x", "y", "z")]
            el = cols.index("element")
            x = np.array([[float(r[i]) for i in ix] for r in rows])
            yield step, x, np.array([r[el] for r in rows])


def coordination(x):
    cn = np.zeros(len(x), dtype=int)
    for i in range(0, len(x), 256):
        d = np.linalg.norm(x[i:i + 256, None, :] - x[None, :, :], axis=2)
        cn[i:i + 256] = (d < RC).sum(axis=1) - 1
    return cn


def main():
    runs = sys.argv[1]
    t0 = float(sys.argv[2]) if len(sys.argv) > 2 else 50.0
    print(f"| case | code | seed | Ag fraction, CN <= 9 | Ag fraction, CN < 12 | (frames from {t0:g} ps) |")
    print("|---|---|---|---|---|---|")
    for case in ("c", "d", "cm", "dm"):
        if not os.path.isdir(os.path.join(runs, case)):
            continue
        for run in sorted(os.listdir(os.path.join(runs, case))):
            path = os.path.join(runs, case, run, "traj.lammpstrj")
            if not os.path.exists(path):
                continue
            a, b = [], []
            for step, x, el in frames(path):
                if step * 0.002 < t0 - 1e-9:
                    continue
                cn = coordination(x)
                ag = el == "Ag"
                a.append(ag[cn <= 9].mean())
                b.append(ag[cn < 12].mean())
            if a:
                code, seed = run.split("_s")
                print(f"| {case} | {code} | {seed} | {np.mean(a):.4f} | {np.mean(b):.4f} | {len(a)} frames |")


main()
