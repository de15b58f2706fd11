//! Gives libkmc.so the SONAME libkmc.so.0 on Linux: programs linked against it then ask for
//! the ABI (0.x) rather than the unversioned development link (see capi/install.sh).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkmc.so.{SONAME_MAJOR}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Raised with any incompatible change of include/kmc.h.
const SONAME_MAJOR: u32 = 0;
