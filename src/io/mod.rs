//! Files in and out, below everything else: atomic writes, RON with line and column in every
//! error, extended XYZ, LAMMPS text dumps and data files (one [`Frame`] type for all), and the field
//! validators every input check uses.
//!
//! Nothing here knows lattices, scenarios or MD systems; callers turn their data into a
//! [`Frame`] or a RON value and back.

pub mod atomic;
pub mod dump;
pub mod frame;
pub mod lammps_data;
pub mod ron;
pub mod validate;
pub mod xyz;

pub use atomic::{write_atomic, write_bytes, write_json};
pub use frame::{Column, Frame, Real, Values};
