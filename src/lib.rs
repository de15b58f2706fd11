//! # kmc — lattice kinetic Monte Carlo for metal film growth
//!
//! Atoms and whole nanoparticles land on a substrate, diffuse by thermally activated hops, meet
//! and coalesce. The library is the product; the `kmc` binary is a thin client over it.
//!
//! Layout (see `DESIGN` in the repository): [`lattice`] geometry and site indexing, [`sampler`]
//! rejection-free rate samplers, [`md`] the embedded molecular-dynamics engine.

#![warn(missing_docs)]
// Numeric kernels index several parallel arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod api;
pub mod catalog;
pub mod deposit;
pub mod engine;
pub mod error;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod info;
pub mod lattice;
pub mod md;
pub mod observe;
pub mod particle;
pub mod rates;
pub mod relax;
pub mod rng;
pub mod sampler;
pub mod scenario;
pub mod simulation;
pub mod state;
pub mod units;
pub mod vec3;

pub use error::{Error, Location, Result};
pub use rng::KmcRng;
