//! Field validators: one set for every input check, each taking `(field, value)` and returning
//! the value or an [`Error::Input`] that names the field (a caller with the input's text adds
//! the file, line and column with [`super::ron::locate_error`]).

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// A number as messages print it: as Rust prints it, but in exponent form when that would
/// take more than a few digits (`1e300`, not three hundred zeros).
pub fn number(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// `value` if it is finite.
pub fn finite(field: impl Into<String>, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be a finite number, got {}", number(value)),
        ))
    }
}

/// `value` if it is finite and above zero.
pub fn positive(field: impl Into<String>, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be a positive number, got {}", number(value)),
        ))
    }
}

/// `value` if it is finite and not below zero.
pub fn non_negative(field: impl Into<String>, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be a non-negative number, got {}", number(value)),
        ))
    }
}

/// Like [`positive`], with the unit in the message ("a positive number of kelvin").
pub fn positive_of(field: impl Into<String>, value: f64, unit: &str) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be a positive number of {unit}, got {}", number(value)),
        ))
    }
}

/// Like [`non_negative`], with the unit in the message.
pub fn non_negative_of(field: impl Into<String>, value: f64, unit: &str) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!(
                "must be a non-negative number of {unit}, got {}",
                number(value)
            ),
        ))
    }
}

/// `value` if it lies in `[0, 1]`.
pub fn fraction(field: impl Into<String>, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be in [0, 1], got {}", number(value)),
        ))
    }
}

/// `value` if it is at least `min` (counts, intervals, sizes).
pub fn at_least<T: PartialOrd + std::fmt::Display>(
    field: impl Into<String>,
    value: T,
    min: T,
) -> Result<T> {
    if value >= min {
        Ok(value)
    } else {
        Err(Error::field(field, format!("must be at least {min}")))
    }
}

/// `value` if it is finite and in `[lo, hi]`, with the unit in the message.
pub fn in_range_of(
    field: impl Into<String>,
    value: f64,
    lo: f64,
    hi: f64,
    unit: &str,
) -> Result<f64> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!(
                "must be a number of {unit} between {lo} and {hi}, got {}",
                number(value)
            ),
        ))
    }
}

// ---------------------------------------------------------------- memory

/// The memory limit set by the caller in bytes (0: none, use the machine's memory). A process
/// setting rather than a parameter, because sizes are checked deep inside scenario validation,
/// particle building and file readers, and every one of them must see the same limit.
static MEMORY_LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets the memory limit every size check compares against (`None`: the machine's memory,
/// MemTotal of /proc/meminfo). `kmc run` and `kmc check` set it from `--max-memory`.
pub fn set_memory_limit(bytes: Option<u64>) {
    MEMORY_LIMIT.store(bytes.unwrap_or(0), Ordering::Relaxed);
}

/// The limit sizes are checked against, in bytes, and where it comes from (for messages).
pub fn memory_limit() -> (f64, String) {
    let set = MEMORY_LIMIT.load(Ordering::Relaxed);
    if set > 0 {
        return (
            set as f64,
            format!("the memory limit of {}", format_bytes(set as f64)),
        );
    }
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
    });
    match total {
        Some(kib) if kib > 0 => {
            let b = kib as f64 * 1024.0;
            (
                b,
                format!("this machine's memory ({}, MemTotal)", format_bytes(b)),
            )
        }
        // Elsewhere at least what an allocation can address at all.
        _ => (
            isize::MAX as f64,
            format!(
                "the addressable memory ({})",
                format_bytes(isize::MAX as f64)
            ),
        ),
    }
}

/// Ok if `bytes` (an estimate computed in f64, so no product overflows) fits the memory limit;
/// otherwise an error naming `field`, saying what needs the memory (`what`) and how much.
/// Called before anything of that size is allocated, so an oversized input is a refusal and
/// never an abort.
pub fn fits_in_memory(field: impl Into<String>, bytes: f64, what: &str) -> Result<()> {
    let (limit, source) = memory_limit();
    // Above isize::MAX no allocation can succeed whatever the machine.
    let limit = limit.min(isize::MAX as f64);
    if bytes.is_finite() && bytes <= limit {
        return Ok(());
    }
    Err(Error::field(
        field,
        format!("{what} needs {}, more than {source}", format_bytes(bytes)),
    ))
}

/// `1.5 GiB`, `12 KiB`, `3e+25 B`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !bytes.is_finite() || bytes >= 1024f64.powi(6) {
        return format!("{bytes:.2e} B");
    }
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parses a byte count: `4G`, `512MiB`, `2 GB`, `1048576` (K, M, G, T are powers of 1024).
pub fn parse_bytes(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as 4G or 512M, got `{text}`"))?;
    let scale = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024f64.powi(2),
        "G" => 1024f64.powi(3),
        "T" => 1024f64.powi(4),
        _ => return Err(format!("unknown unit in `{text}` (use K, M, G or T)")),
    };
    let b = v * scale;
    if b.is_finite() && b >= 1.0 && b < u64::MAX as f64 {
        Ok(b as u64)
    } else {
        Err(format!("expected a size of at least 1 byte, got `{text}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field_and_the_value() {
        assert_eq!(positive("a.b", 2.0).unwrap(), 2.0);
        assert_eq!(
            msg(positive("a.b", 0.0)),
            "<input>: field `a.b`: must be a positive number, got 0"
        );
        assert_eq!(
            msg(positive_of("temperature_k", f64::NAN, "kelvin")),
            "<input>: field `temperature_k`: must be a positive number of kelvin, got NaN"
        );
        assert!(msg(finite("x[2]", f64::INFINITY)).contains("field `x[2]`: must be a finite"));
        assert_eq!(non_negative("v", 0.0).unwrap(), 0.0);
        assert!(msg(non_negative("v", -1.0)).contains("non-negative number, got -1"));
        assert!(msg(non_negative_of("t", f64::NAN, "ps")).contains("number of ps, got NaN"));
        assert!(msg(fraction("f", 1.5)).contains("field `f`: must be in [0, 1], got 1.5"));
        assert_eq!(fraction("f", 1.0).unwrap(), 1.0);
        assert_eq!(at_least("n", 3u64, 1).unwrap(), 3);
        assert!(msg(at_least("steps", 0u64, 1)).contains("field `steps`: must be at least 1"));
    }

    #[test]
    fn memory_checks_name_the_field_and_the_figure() {
        assert_eq!(parse_bytes("4G").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2 GB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("0").is_err() && parse_bytes("4X").is_err());
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        // Past isize::MAX nothing can be allocated, whatever the limit.
        let e = msg(fits_in_memory("lattice.size", 1e30, "the box"));
        assert!(
            e.contains("field `lattice.size`: the box needs 1.00e30 B, more than"),
            "{e}"
        );
        assert!(fits_in_memory("x", 1e3, "a table").is_ok());
        assert!(fits_in_memory("x", f64::INFINITY, "a table").is_err());
        assert!(in_range_of("a", 3.6, 0.5, 20.0, "Å").is_ok());
        assert_eq!(
            msg(in_range_of("a", 1e300, 0.5, 20.0, "Å")),
            "<input>: field `a`: must be a number of Å between 0.5 and 20, got 1e300"
        );
    }
}
