//! The C ABI: the header in the repository is what cbindgen makes of src/ffi.rs, and the C
//! example compiles against it, links the C library (the `kmc-capi` crate, built here by
//! `cargo build --release -p kmc-capi` into this target directory: the same build of kmc that
//! `cargo build --release` uses), runs, and runs clean under valgrind's memcheck (an ignored
//! test that .ci/run runs with `--ignored`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generate_header() -> String {
    let config = cbindgen::Config::from_file(root().join("cbindgen.toml")).unwrap();
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root().join("src/ffi.rs"))
        .generate()
        .expect("cbindgen parses src/ffi.rs")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_current() {
    let fresh = generate_header();
    let path = root().join("include/kmc.h");
    if std::env::var_os("KMC_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == fresh,
        "include/kmc.h is out of date with src/ffi.rs; regenerate it with \
         `KMC_BLESS=1 cargo test --release --test capi header_is_current`"
    );
}

/// Builds the C library; returns the directory holding `libkmc.so`.
fn build_c_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/release/deps/capi-<hash>
    let release = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let target = release.parent().unwrap();
    run(Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "kmc-capi",
            "--target-dir",
        ])
        .arg(target)
        .current_dir(root()));
    assert!(
        release.join("libkmc.so").exists(),
        "no libkmc.so in {}",
        release.display()
    );
    // Programs linked against libkmc.so ask the loader for its SONAME, libkmc.so.0.
    let soname = release.join("libkmc.so.0");
    if std::fs::symlink_metadata(&soname).is_err() {
        let _ = std::os::unix::fs::symlink("libkmc.so", &soname);
    }
    release
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

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles a C file of examples/c against the header and the C library.
fn compile_example(name: &str, dir: &Path) -> PathBuf {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    assert!(
        have(&cc),
        "the C ABI tests need a C compiler `{cc}` (e.g. `apt-get install gcc`, or set CC)"
    );
    let lib = build_c_library();
    let exe = dir.join(name);
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join(format!("examples/c/{name}.c")))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-lkmc")
        .arg("-lm")
        .arg(format!("-Wl,-rpath,{}", lib.display())));
    exe
}

/// The one run loop from C: `kmc_run` with `kmc_set_output` writes the same `series.csv` and
/// `contacts.csv` as `kmc run` (a particle scenario whose contacts are relaxed by MD).
#[test]
fn c_run_writes_the_same_files_as_the_cli() {
    let dir = std::env::temp_dir().join(format!("kmc-capi-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile_example("kmc_run", &dir);
    let scenario = root().join("tests/data/drivers/particles.ron");
    let (cli, c) = (dir.join("cli"), dir.join("c"));
    run(Command::new(env!("CARGO_BIN_EXE_kmc"))
        .arg("run")
        .arg(&scenario)
        .arg("--quiet")
        .arg("--out")
        .arg(&cli));
    let out = run(Command::new(&exe).arg(&scenario).arg(&c));
    assert!(out.contains("kmc_run: stopped (reason 2)"), "{out}");
    for f in ["series.csv", "contacts.csv", "final.xyz"] {
        let a = std::fs::read(cli.join(f)).unwrap();
        let b = std::fs::read(c.join(f)).unwrap();
        assert!(a == b, "{f} differs between kmc run and the C driver");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn c_example_runs_clean() {
    let dir = std::env::temp_dir().join(format!("kmc-capi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile_example("kmc_example", &dir);
    let scenario = root().join("examples/c/film.ron");
    let out = run(Command::new(&exe)
        .arg(&scenario)
        .arg(&dir)
        .current_dir(&dir));
    assert!(out.contains("kmc_example: OK"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Memory errors and leaks across the boundary (every allocation handed out is freed). Ignored
/// because valgrind is a dependency `cargo test` should not need; it fails when valgrind is
/// missing rather than passing unchecked.
#[test]
#[ignore = "needs valgrind; .ci/run runs it with `--ignored`"]
fn c_example_is_clean_under_valgrind() {
    assert!(
        have("valgrind"),
        "valgrind is not installed (`apt-get install valgrind`)"
    );
    let dir = std::env::temp_dir().join(format!("kmc-capi-vg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile_example("kmc_example", &dir);
    let scenario = root().join("examples/c/film.ron");
    let out = run(Command::new("valgrind")
        .args([
            "--error-exitcode=97",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
        ])
        .arg(&exe)
        .arg(&scenario)
        .arg(&dir)
        .current_dir(&dir));
    assert!(out.contains("kmc_example: OK"), "{out}");
    assert!(out.contains("ERROR SUMMARY: 0 errors"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `capi/install.sh` installs is usable the standard ways: the shared library has the
/// SONAME libkmc.so.0 and a program built with `pkg-config --cflags --libs kmc` records it and
/// runs; the same program linked statically against libkmc.a (with pkg-config's
/// `Libs.private`) needs no libkmc at run time and runs too.
#[test]
fn installed_library_links_through_pkg_config_shared_and_static() {
    assert!(
        have("pkg-config"),
        "this test needs pkg-config (`apt-get install pkg-config`)"
    );
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let release = build_c_library();
    let dir = std::env::temp_dir().join(format!("kmc-capi-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let prefix = dir.join("prefix");
    run(Command::new("sh")
        .arg(root().join("capi/install.sh"))
        .arg(&prefix)
        .arg(release.parent().unwrap()));
    let lib = prefix.join("lib");
    let pkg = |args: &[&str]| -> Vec<String> {
        run(Command::new("pkg-config")
            .args(args)
            .arg("kmc")
            .env("PKG_CONFIG_PATH", lib.join("pkgconfig")))
        .split_whitespace()
        .map(String::from)
        .collect()
    };
    let version = pkg(&["--modversion"]);
    assert_eq!(version, [env!("CARGO_PKG_VERSION")]);
    let example = root().join("examples/c/kmc_example.c");
    let scenario = root().join("examples/c/film.ron");
    // Shared, through pkg-config, found at run time through the SONAME link.
    let shared = dir.join("shared");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror"])
        .arg(&example)
        .arg("-o")
        .arg(&shared)
        .args(pkg(&["--cflags", "--libs"]))
        .arg("-lm")
        .arg(format!("-Wl,-rpath,{}", lib.display())));
    let dynamic = run(Command::new("readelf").arg("-d").arg(&shared));
    assert!(
        dynamic.contains("Shared library: [libkmc.so.0]"),
        "{dynamic}"
    );
    let out = run(Command::new(&shared).arg(&scenario).arg(&dir));
    assert!(out.contains("kmc_example: OK"), "{out}");
    // Static: libkmc.a plus the system libraries of Libs.private.
    let fixed = dir.join("static");
    let private: Vec<String> = pkg(&["--static", "--libs-only-l"])
        .into_iter()
        .filter(|l| l != "-lkmc")
        .collect();
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror"])
        .args(pkg(&["--cflags"]))
        .arg(&example)
        .arg("-o")
        .arg(&fixed)
        .arg(lib.join("libkmc.a"))
        .args(&private));
    let dynamic = run(Command::new("readelf").arg("-d").arg(&fixed));
    assert!(!dynamic.contains("libkmc"), "{dynamic}");
    let out = run(Command::new(&fixed).arg(&scenario).arg(&dir));
    assert!(out.contains("kmc_example: OK"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
