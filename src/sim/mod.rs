//! Drivers that run scenarios: the layer above the engines, scenarios and observers.
pub mod md;
