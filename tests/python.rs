//! The Python module's pytest suite (python/tests), run from `cargo test` with no manual step:
//! a venv under target/tmp/pyenv gets the pinned python/requirements-test.txt (created once,
//! reused while the file is unchanged), maturin builds the wheel in this target directory
//! (reusing the build of kmc that `cargo build --release` and the C library share), pip
//! installs it, pytest runs.
//!
//! Never skipped: without `python3` (or the interpreter named by `KMC_PYTHON`) the test fails and
//! says what to install, because a pass that ran nothing would hide a broken Python module.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/pyenv.rs"]
mod pyenv;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn python_module_pytest_suite() {
    let venv = pyenv::test_venv();
    let bin = venv.join("bin");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let wheels = tmp.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(Command::new(bin.join("maturin"))
        .args(["build", "--release", "--quiet", "-m"])
        .arg(root().join("python/Cargo.toml"))
        .arg("-i")
        .arg(bin.join("python"))
        .arg("-o")
        .arg(&wheels)
        .current_dir(root()));
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("maturin made a wheel");
    run(Command::new(bin.join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--force-reinstall", "--no-deps"])
        .arg(&wheel));
    let out = run(Command::new(bin.join("python"))
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // python/tests/test_drivers.py compares the module's runs with the CLI's files.
        .env("KMC_BIN", env!("CARGO_BIN_EXE_kmc"))
        .current_dir(root()));
    eprintln!("{out}");
    assert!(out.contains(" passed"), "{out}");
    assert!(
        !out.contains("skipped"),
        "nothing may be skipped here:\n{out}"
    );
}
