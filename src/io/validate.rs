//! Field validators: one set for every input check, each taking `(field, value)` and returning
//! the value or an [`Error::Input`] that names the field (a caller with the input's text adds
//! the file, line and column with [`super::ron::locate_error`]).

use crate::error::{Error, Result};

/// `value` if it is finite.
pub fn finite(field: impl Into<String>, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("must be a finite number, got {value}"),
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
            format!("must be a positive number, got {value}"),
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
            format!("must be a non-negative number, got {value}"),
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
            format!("must be a positive number of {unit}, got {value}"),
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
            format!("must be a non-negative number of {unit}, got {value}"),
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
            format!("must be in [0, 1], got {value}"),
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
}
