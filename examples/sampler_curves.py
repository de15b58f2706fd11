"""Sampler curves through the Python module: ns per select + update vs number of leaves for
every sampler kind (kmc.bench_sampler times the loop in Rust), written as CSV and, with
matplotlib installed, as a log-log plot.

    python examples/sampler_curves.py out.csv [out.png]
"""

import csv
import sys

import kmc

SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
LINEAR_MAX = 100_000  # linear search is O(N): beyond this it only measures memory bandwidth


def measure(spread=1e6, seed=1, measure_time_s=0.3):
    rows = []
    for kind in kmc.sampler_kinds():
        for n in SIZES:
            if kind == "linear" and n > LINEAR_MAX:
                continue
            rows.append(kmc.bench_sampler(kind, n, spread=spread, seed=seed, measure_time_s=measure_time_s))
    return rows


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for kind in kmc.sampler_kinds():
        pts = [(r["leaves"], r["ns_per_event"]) for r in rows if r["kind"] == kind]
        ax.loglog(*zip(*pts), marker="o", label=kind)
    ax.set_xlabel("leaves N (active atoms + sources)")
    ax.set_ylabel("ns per select + update")
    ax.set_title(f"kmc samplers, rates log-uniform over {rows[0]['spread']:.0e}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    rows = measure()
    with open(sys.argv[1], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(f"{r['kind']:<22} {r['leaves']:>9} {r['ns_per_event']:8.1f} ns")
    if len(sys.argv) > 2:
        plot(rows, sys.argv[2])
