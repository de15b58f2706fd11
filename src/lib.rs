//! # kmc — lattice kinetic Monte Carlo for metal film growth
//!
//! Atoms and whole nanoparticles land on a substrate, diffuse by thermally activated hops, meet
//! and coalesce. The library is the product; the `kmc` binary is a thin client over it.
//!
//! Layout, bottom to top (a module uses only what is below it): base ([`units`], [`error`],
//! [`rng`], [`rotation`], [`io`] files in and out); [`lattice`], [`state`] and [`sampler`]; [`md`] the embedded molecular-dynamics
//! engine; [`engine`] one event step with [`catalog`], [`deposit`] and contact tracking;
//! [`rates`] the rate models; [`particle`] particles; [`relax`] the embedded MD relaxer;
//! [`observe`] observables; [`scenario`] the input; [`sim`] the simulation and its one run
//! loop, which the CLI, C (`ffi`) and Python drive.

#![warn(missing_docs)]
// Numeric kernels index several parallel arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod catalog;
pub mod deposit;
pub mod engine;
pub mod error;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod grains;
pub mod info;
pub mod io;
pub mod lattice;
pub mod md;
pub mod observe;
pub mod parallel;
pub mod particle;
pub mod rates;
pub mod relax;
pub mod rng;
pub mod rotation;
pub mod sampler;
pub mod scenario;
pub mod sim;
pub mod state;
pub mod units;
pub mod vec3;

pub use error::{Error, Location, Result};
pub use rng::KmcRng;
