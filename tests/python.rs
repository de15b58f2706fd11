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
    let python = std::env::var("KMC_PYTHON").unwrap_or_else(|_| "python3".into());
    assert!(
        Command::new(&python)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the Python suite needs `{python}` with its venv module (e.g. `apt-get install python3 \
         python3-venv`), and PyPI the first time; set KMC_PYTHON to use another interpreter"
    );
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join("pyenv");
    let bin = venv.join("bin");
    let reqs_path = root().join("python/requirements-test.txt");
    let reqs = std::fs::read_to_string(&reqs_path).unwrap();
    let marker = venv.join("kmc-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(reqs.as_str()) {
        run(Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(bin.join("python"))
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
