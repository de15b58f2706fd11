//! The C library: kmc's C ABI (`kmc::ffi`, header `include/kmc.h`) linked into `libkmc.so`
//! (`cargo build --release -p kmc-capi` makes target/release/libkmc.so).

pub use kmc_core::ffi::*;
