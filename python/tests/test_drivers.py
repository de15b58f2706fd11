"""The one run loop from Python: `Simulation.run()` with `set_output` writes the same files as
`kmc run` (a particle scenario whose contacts are relaxed by MD), and `run_events` in chunks
records the same series. Exact comparisons: every driver must reproduce the CLI's bytes."""

import os
import subprocess

import kmc
from conftest import REPO

SCENARIO = REPO / "tests" / "data" / "drivers" / "particles.ron"


def cli_output(tmp_path):
    exe = os.environ.get("KMC_BIN")
    assert exe, "KMC_BIN (the kmc binary) is set by tests/python.rs"
    out = tmp_path / "cli"
    subprocess.run([exe, "run", str(SCENARIO), "--quiet", "--out", str(out)], check=True)
    return out


def test_run_writes_the_same_files_as_the_cli(tmp_path):
    cli = cli_output(tmp_path)
    sim = kmc.Simulation.from_file(str(SCENARIO))
    sim.set_output(str(tmp_path / "py"))
    summary = sim.run()
    assert summary["stop_reason"] == "Events"
    assert summary["particles"]["relax"]["totals"]["relaxations"] >= 5
    for f in ["series.csv", "contacts.csv", "final.xyz"]:
        assert (tmp_path / "py" / f).read_bytes() == (cli / f).read_bytes(), f


def test_run_events_in_chunks_records_the_same_series(tmp_path):
    cli = cli_output(tmp_path)
    sim = kmc.Simulation.from_file(str(SCENARIO))
    while sim.run_events(700) == 700 and sim.observables()["events"] < 3500:
        pass
    sim.run()
    series = "".join(line + "\n" for line in sim.series)
    assert series == (cli / "series.csv").read_text()
    contacts = (cli / "contacts.csv").read_text().splitlines()[1:]
    assert sim.contacts == contacts
