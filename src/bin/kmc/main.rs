//! `kmc` command-line interface: a thin client over the library, one file per subcommand.
//! The library never prints or exits; this binary prints, draws progress and picks exit codes.

/// `print!` to stdout that survives a closed pipe (see [`emit`]).
macro_rules! out {
    ($($t:tt)*) => {
        $crate::emit(format_args!($($t)*))
    };
}

/// `println!` to stdout that survives a closed pipe (see [`emit`]).
macro_rules! outln {
    () => {
        $crate::emit(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::emit(format_args!("{}\n", format_args!($($t)*)))
    };
}

mod analyze;
mod bench;
mod md;
mod particle;
mod potential;
mod rates;
mod run;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout refused a write.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout; once a write fails (the reader of `kmc md | head` went away) stdout is
/// left alone for the rest of the run instead of panicking as `println!` does, so the command
/// finishes and writes its files.
fn emit(args: std::fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if o.write_fmt(args).and_then(|()| o.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Lattice kinetic Monte Carlo for metal film growth.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario and writes series.csv, snapshots and summary.json.
    Run(run::RunArgs),
    /// Validates a scenario without running it.
    Check(run::CheckArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// Lists lattices, rate models and samplers.
    Info,
    /// Generates interatomic potential files.
    #[command(subcommand)]
    Potential(potential::PotentialCommand),
    /// Builds nanoparticles.
    #[command(subcommand)]
    Particle(particle::ParticleCommand),
    /// Rate tables.
    #[command(subcommand)]
    Rates(rates::RatesCommand),
    /// Runs a molecular-dynamics scenario (RON).
    Md(md::MdArgs),
    /// Neck, Rg, centre distance, misorientation and surface of a two-particle trajectory.
    Analyze(analyze::AnalyzeArgs),
}

fn main() -> ExitCode {
    // Under mpirun rank 0 runs the command; the other ranks serve its sectors until it ends
    // (the session, dropped last, tells them).
    #[cfg(feature = "mpi")]
    let session = match kmc::parallel::mpi::Session::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "mpi")]
    if session.rank() > 0 {
        if let Err(e) = session.serve() {
            eprintln!("error: MPI rank {}: {e}", session.rank());
            session.abort(1);
        }
        return ExitCode::SUCCESS;
    }
    // Not `Cli::parse`, which exits without ending the MPI session (the other ranks would
    // wait for rank 0 forever).
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: kmc's errors already carry their
/// source's text (an I/O error names the OS reason), which `{:#}` would print a second time.
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !msg.contains(&c) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&c);
        }
    }
    msg
}

fn dispatch(cmd: Command) -> Result<()> {
    match cmd {
        Command::Run(a) => a.run(),
        Command::Check(a) => a.run(),
        Command::Bench { what } => what.run(),
        Command::Md(a) => a.run(),
        Command::Analyze(a) => a.run(),
        Command::Rates(r) => r.run(),
        Command::Potential(p) => p.run(),
        Command::Particle(p) => p.run(),
        Command::Info => {
            out!("{}", kmc::info::render());
            Ok(())
        }
    }
}
