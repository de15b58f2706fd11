//! Finds where a field path (`deposition[0].flux_ml_per_s`) sits in RON text, so that errors
//! found after parsing (a negative flux, an unknown species) still point at a line and column.
//!
//! A small scanner over RON's token structure: strings and comments are skipped, brackets are
//! matched, and a path segment is matched as a struct field or map key (`name:` or `"name":`),
//! an enum variant (`Name(`), or a list index.

use crate::error::{Error, Location, Result};
use std::path::Path;

/// RON as kmc reads its inputs: optional fields may be written without `Some(...)`.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// A readable message for a RON parse error (unknown fields and variants list what is allowed).
pub fn ron_message(code: &ron::error::Error) -> String {
    use ron::error::Error as E;
    match code {
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => format!(
            "unknown field `{found}`{} (expected one of: {})",
            outer
                .as_ref()
                .map(|o| format!(" in `{o}`"))
                .unwrap_or_default(),
            expected.join(", ")
        ),
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => format!(
            "unknown variant `{found}`{} (expected one of: {})",
            outer
                .as_ref()
                .map(|o| format!(" of `{o}`"))
                .unwrap_or_default(),
            expected.join(", ")
        ),
        E::MissingStructField { field, outer } => format!(
            "missing field `{field}`{}",
            outer
                .as_ref()
                .map(|o| format!(" in `{o}`"))
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// Parses RON text (with [`ron_options`]) into `T`; errors carry file, line, column and a
/// readable message.
pub fn parse_ron<T: serde::de::DeserializeOwned>(text: &str, path: Option<&Path>) -> Result<T> {
    ron_options().from_str(text).map_err(|e| {
        let loc = Location {
            path: path.map(Path::to_path_buf),
            ..Default::default()
        }
        .at(e.span.start.line, e.span.start.col);
        Error::input(loc, ron_message(&e.code))
    })
}

/// Adds the file and, from the field path, the line and column to an input error raised
/// after parsing (validation), so every message points into the text.
pub fn locate_error(err: Error, text: &str, path: Option<&Path>) -> Error {
    match err {
        Error::Input {
            mut location,
            message,
        } => {
            if location.path.is_none() {
                location.path = path.map(Path::to_path_buf);
            }
            if location.line.is_none() {
                if let Some(off) = location.field.as_deref().and_then(|f| locate(text, f)) {
                    let (l, c) = line_col(text, off);
                    location = location.at(l, c);
                }
            }
            Error::Input { location, message }
        }
        other => other,
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Field, map key or enum variant name.
    Key(String),
    /// List or tuple element.
    Index(usize),
}

/// Splits `a.b[2].c` into segments.
pub fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(p) = rest.find('[') {
            if p > 0 {
                out.push(Segment::Key(rest[..p].to_string()));
            }
            rest = &rest[p..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Segment::Index(i));
                }
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else if !rest.is_empty() {
            out.push(Segment::Key(rest.to_string()));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Open(u8, usize),
    Close,
    Comma,
    Colon,
    Word(&'a str, usize),
}

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = i.min(b.len());
                i += 1;
                out.push(Tok::Word(&text[start + 1..end], start));
                continue;
            }
            b'(' | b'[' | b'{' => out.push(Tok::Open(c, i)),
            b')' | b']' | b'}' => out.push(Tok::Close),
            b',' => out.push(Tok::Comma),
            b':' => out.push(Tok::Colon),
            c if c.is_ascii_whitespace() => {}
            _ => {
                let start = i;
                while i < b.len() && !b"()[]{},:\"".contains(&b[i]) && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push(Tok::Word(&text[start..i], start));
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Byte offset of the value (or key) a path names, as deep as the path can be followed.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let toks = tokens(text);
    let mut pos = 0usize;
    let mut best = None;
    'segments: for seg in &parse_path(path) {
        let mut p = pos;
        // An optional struct or variant name before the container; a variant named by the
        // segment is entered directly.
        while let Some(Tok::Word(w, off)) = toks.get(p) {
            if let Segment::Key(k) = seg {
                if w == k && matches!(toks.get(p + 1), Some(Tok::Open(..))) {
                    best = Some(*off);
                    pos = p + 1;
                    while let (Some(Tok::Open(b'(', _)), Some(Tok::Open(..))) =
                        (toks.get(pos), toks.get(pos + 1))
                    {
                        pos += 1;
                    }
                    continue 'segments;
                }
            }
            p += 1;
        }
        while let (Some(Tok::Open(b'(', _)), Some(Tok::Open(..))) = (toks.get(p), toks.get(p + 1)) {
            p += 1;
        }
        let Some(Tok::Open(..)) = toks.get(p) else {
            return best;
        };
        let mut depth = 0usize;
        let mut index = 0usize;
        let mut elem_start = p + 1;
        let mut found = None;
        let mut q = p + 1;
        while q < toks.len() {
            if let Segment::Index(i) = seg {
                if depth == 0 && index == *i && q == elem_start {
                    if let Some(Tok::Word(_, off) | Tok::Open(_, off)) = toks.get(q) {
                        best = Some(*off);
                    }
                    found = Some(q);
                    break;
                }
            }
            match toks[q] {
                Tok::Open(..) => depth += 1,
                Tok::Close => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Tok::Comma if depth == 0 => {
                    index += 1;
                    elem_start = q + 1;
                }
                Tok::Colon if depth == 0 => {
                    if let (Segment::Key(k), Some(Tok::Word(w, off))) =
                        (seg, q.checked_sub(1).and_then(|x| toks.get(x)))
                    {
                        if w == k {
                            best = Some(*off);
                            found = Some(q + 1);
                            break;
                        }
                    }
                }
                _ => {}
            }
            q += 1;
        }
        match found {
            Some(f) => pos = f,
            None => return best,
        }
    }
    best
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"// a comment with deposition: inside
(
    name: "x",
    rate_model: BondCounting((
        species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.5) },
    )),
    deposition: [
        (species: "Cu", flux_ml_per_s: 1.0),
        (species: "Ag", flux_ml_per_s: -2.0),
    ],
)"#;

    fn lc(path: &str) -> (usize, usize) {
        line_col(TEXT, locate(TEXT, path).unwrap())
    }

    #[test]
    fn finds_fields_indices_variants_and_map_keys() {
        assert_eq!(lc("name"), (3, 5));
        assert_eq!(lc("deposition[1].flux_ml_per_s"), (9, 25));
        assert_eq!(lc("deposition[1]"), (9, 9));
        assert_eq!(lc("rate_model.BondCounting.species.Cu.barrier_ev"), (5, 47));
        assert_eq!(lc("rate_model.BondCounting.species.Cu"), (5, 20));
        // A path that cannot be followed to the end points at the deepest part found.
        assert_eq!(lc("deposition[1].nothing"), (9, 9));
        assert_eq!(
            parse_path("a.b[2][3].c"),
            vec![
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(2),
                Segment::Index(3),
                Segment::Key("c".into())
            ]
        );
    }
}
