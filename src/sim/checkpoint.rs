//! One checkpoint format for every driver: the engine's resumable state and the run's record
//! (series rows so far, the sample schedule, contact log, relaxer totals). `kmc run
//! --resume`, [`Simulation::restore_checkpoint`] and the C and Python calls all read it, and
//! continuing from it is bit-identical to the uninterrupted run.

use super::Simulation;
use super::record::Recorder;
use crate::engine::EngineSnapshot;
use crate::error::{Error, Result};
use crate::observe::checkpoint;
use crate::sampler::AnySampler;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const BUFFER: &str = "<buffer>";

#[derive(Serialize, Deserialize)]
struct Payload {
    engine: EngineSnapshot<AnySampler>,
    record: Recorder,
}

impl Simulation {
    /// The whole resumable state as checkpoint bytes (the format of `checkpoint.kmc` files:
    /// header with the scenario fingerprint and a checksum, then the payload).
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        self.refuse_if_parallel("a checkpoint")?;
        checkpoint::to_bytes(self.scenario().physics_fingerprint(), &self.payload()).map_err(
            |message| Error::Checkpoint {
                path: PathBuf::from(BUFFER),
                message,
            },
        )
    }

    /// Restores checkpoint bytes taken from a simulation of the same scenario.
    pub fn restore_checkpoint(&mut self, bytes: &[u8]) -> Result<()> {
        self.refuse_if_parallel("resuming from a checkpoint")?;
        self.restore_from(bytes, Path::new(BUFFER))
    }

    /// Writes a checkpoint file (atomically).
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        self.refuse_if_parallel("a checkpoint")?;
        checkpoint::write(
            path.as_ref(),
            self.scenario().physics_fingerprint(),
            &self.payload(),
        )
    }

    /// Restores a checkpoint file written by [`Simulation::save_checkpoint`] or `kmc run`.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.refuse_if_parallel("resuming from a checkpoint")?;
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.restore_from(&bytes, path)
    }

    /// Restores the engine alone from a snapshot of a simulation of the same scenario (the
    /// run's record is kept).
    pub fn restore(&mut self, snap: &EngineSnapshot<AnySampler>) -> Result<()> {
        self.check_snapshot(snap)?;
        self.parallel = None;
        self.engine.restore(snap)
    }

    /// What the engine's own checks cannot see: species against the scenario, and the
    /// sampler's inner shape (indexed by `rate` and `select` before any other check runs).
    fn check_snapshot(&self, snap: &EngineSnapshot<AnySampler>) -> Result<()> {
        self.check_species(&snap.species)?;
        snap.sampler
            .check_shape()
            .map_err(|m| Error::Simulation(format!("snapshot does not fit this scenario: {m}")))
    }

    /// Every species byte names one of the scenario's species (rate models index their
    /// tables by it: a stray byte in a crafted checkpoint panicked there).
    fn check_species(&self, species: &[u8]) -> Result<()> {
        let n = self.scenario().species.len();
        match species.iter().position(|&s| s as usize > n) {
            Some(site) => Err(Error::Simulation(format!(
                "snapshot does not fit this scenario: site {site} holds species {}, the scenario has {n}",
                species[site]
            ))),
            None => Ok(()),
        }
    }

    fn payload(&self) -> Payload {
        Payload {
            engine: self.engine.snapshot(),
            record: self.record.clone(),
        }
    }

    fn restore_from(&mut self, bytes: &[u8], origin: &Path) -> Result<()> {
        let err = |message: String| Error::Checkpoint {
            path: origin.to_path_buf(),
            message,
        };
        let p: Payload =
            checkpoint::from_bytes(bytes, self.scenario().physics_fingerprint()).map_err(err)?;
        if p.record.series.header != self.record.series.header {
            return Err(err(format!(
                "its series.csv columns ({}) are not this simulation's ({})",
                p.record.series.header, self.record.series.header
            )));
        }
        self.check_snapshot(&p.engine)
            .and_then(|()| self.engine.restore(&p.engine))
            .map_err(|e| err(e.to_string()))?;
        let enabled = self.record.enabled;
        self.record = p.record;
        self.record.enabled = enabled;
        Ok(())
    }
}
