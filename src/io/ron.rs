//! RON as kmc reads it: parsing with file, line and column in every error, and finding where a
//! field path (`deposition[0].flux_ml_per_s`) sits in the text, so that errors found after
//! parsing (a negative flux, an unknown species, a barrier table with a key missing) still point
//! at a line and column.
//!
//! The locator is a small scanner over RON's token structure: strings and (nested) comments are
//! skipped, brackets are matched, and a path segment is matched as a struct field or map key
//! (`name:` or `"name":`), an enum variant (`Name(`), or a list index.

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

/// How parse errors are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messages {
    /// [`ron_message`]: unknown fields and variants list what is allowed.
    Readable,
    /// ron's own wording (barrier tables and EamNeb caches, whose messages tests/data pins).
    Ron,
}

/// Parses RON text (with [`ron_options`]) into `T`; errors carry file, line, column and a
/// readable message.
pub fn parse_ron<T: serde::de::DeserializeOwned>(text: &str, path: Option<&Path>) -> Result<T> {
    parse_ron_with(text, path, Messages::Readable)
}

/// [`parse_ron`] with a choice of wording.
pub fn parse_ron_with<T: serde::de::DeserializeOwned>(
    text: &str,
    path: Option<&Path>,
    messages: Messages,
) -> Result<T> {
    // A UTF-8 byte-order mark (written by some Windows editors) was refused as "Expected
    // opening (". It is not part of the text; it occupies no column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    ron_options().from_str(text).map_err(|e| {
        let (line, col) = (e.span.start.line, e.span.start.col);
        let mut loc = Location {
            path: path.map(Path::to_path_buf),
            ..Default::default()
        }
        .at(line, col);
        let message = match messages {
            Messages::Readable => {
                // A syntax or type error ("Expected float") names the field it was reading.
                if let Some(f) = path_at(text, offset_of(text, line, col)) {
                    loc = loc.field(f);
                }
                ron_message(&e.code)
            }
            Messages::Ron => e.code.to_string(),
        };
        Error::input(loc, message)
    })
}

/// Parses and validates: `validate`'s errors (which name a field) get the file, line and column
/// of that field in `text`.
pub fn parse_validated<T: serde::de::DeserializeOwned>(
    text: &str,
    path: Option<&Path>,
    validate: impl FnOnce(&T) -> Result<()>,
) -> Result<T> {
    let value: T = parse_ron(text, path)?;
    validate(&value).map_err(|e| locate_error(e, text, path))?;
    Ok(value)
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
    Close(usize),
    Comma(usize),
    Colon(usize),
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
                // RON block comments nest.
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
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
            b')' | b']' | b'}' => out.push(Tok::Close(i)),
            b',' => out.push(Tok::Comma(i)),
            b':' => out.push(Tok::Colon(i)),
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

/// The field path (`lattice.size[1]`, `deposition[0].flux_ml_per_s`) of the value being read
/// at byte offset `off`: what a parse error there is about. `None` at the top level.
pub fn path_at(text: &str, off: usize) -> Option<String> {
    /// One open bracket: the segments that lead into it from its parent (the parent's key or
    /// element index, then a variant name for `Name(`), the key last seen in it, whether it
    /// has keys at all (a struct or map, not a list or tuple), and its element count.
    #[derive(Default)]
    struct Frame {
        into: Vec<Segment>,
        key: Option<String>,
        keyed: bool,
        index: usize,
    }
    impl Frame {
        /// Where the value being read sits in this frame.
        fn here(&self) -> Option<Segment> {
            match &self.key {
                Some(k) => Some(Segment::Key(k.clone())),
                None if !self.keyed => Some(Segment::Index(self.index)),
                None => None,
            }
        }
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut word: Option<&str> = None;
    for t in tokens(text) {
        let at = match t {
            Tok::Open(_, i) | Tok::Close(i) | Tok::Comma(i) | Tok::Colon(i) | Tok::Word(_, i) => i,
        };
        if at >= off {
            break;
        }
        match t {
            Tok::Word(w, _) => {
                word = Some(w);
                continue;
            }
            Tok::Colon(_) => {
                if let (Some(f), Some(w)) = (stack.last_mut(), word) {
                    f.key = Some(w.to_string());
                    f.keyed = true;
                }
            }
            Tok::Comma(_) => {
                if let Some(f) = stack.last_mut() {
                    f.index += 1;
                    f.key = None;
                }
            }
            Tok::Open(..) => {
                let mut into = Vec::new();
                if let Some(p) = stack.last() {
                    into.extend(p.here());
                    // `Name(` right after the key or element start: the variant is a segment.
                    if let Some(w) = word {
                        into.push(Segment::Key(w.to_string()));
                    }
                }
                stack.push(Frame {
                    into,
                    ..Frame::default()
                });
            }
            Tok::Close(_) => {
                stack.pop();
            }
        }
        word = None;
    }
    let mut segs: Vec<Segment> = stack.iter().skip(1).flat_map(|f| f.into.clone()).collect();
    if let Some(f) = stack.last().filter(|_| !stack.is_empty()) {
        // The root's own keys name top-level fields; its "index" is meaningless.
        if stack.len() > 1 || f.key.is_some() {
            segs.extend(f.here());
        }
    }
    if segs.is_empty() {
        return None;
    }
    let mut out = String::new();
    for s in segs {
        match s {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    Some(out)
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
                Tok::Close(_) => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Tok::Comma(_) if depth == 0 => {
                    index += 1;
                    elem_start = q + 1;
                }
                Tok::Colon(_) if depth == 0 => {
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

/// Byte offset of 1-based `line` and character column `col` in `text` (clamped to its end).
pub fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[start.min(text.len())..];
    start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
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

    /// Issue 16: a UTF-8 byte-order mark was refused as "Expected opening (".
    /// Every syntax or type error names the field it was reading: the field path at the
    /// error's position, read back from the text (a locate of that path lands on it again).
    #[test]
    fn parse_errors_name_the_field_being_read() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            a: f64,
            b: (u32, u32),
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Shape {
            Ball { r: f64 },
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            seed: u64,
            inner: Inner,
            list: Vec<Inner>,
            shape: Shape,
        }
        let good = "(seed: 1, inner: (a: 1.0, b: (2, 3)), list: [(a: 1.0, b: (1, 1)), \
                    (a: 2.0, b: (5, 6))], shape: Ball(r: 2.0))";
        assert!(parse_ron::<Outer>(good, None).is_ok());
        let cases = [
            (good.replace("seed: 1", "seed: x"), "seed"),
            (good.replace("a: 1.0, b: (2", "a: q, b: (2"), "inner.a"),
            (good.replace("(2, 3)", "(2, 99999999999)"), "inner.b[1]"),
            (good.replace("(5, 6)", "(5, -6)"), "list[1].b[1]"),
            (good.replace("a: 2.0", "a: \"2\""), "list[1].a"),
            (good.replace("r: 2.0", "r: [2]"), "shape.Ball.r"),
            // A missing comma: the field before it.
            (good.replace("seed: 1,", "seed: 1"), "seed"),
        ];
        for (text, field) in cases {
            let e = parse_ron::<Outer>(&text, None).unwrap_err().to_string();
            assert!(e.contains(&format!("field `{field}`")), "{text}\n -> {e}");
        }
        // Offsets from the line and character column ron reports.
        let t = "ab\nçd\nef";
        assert_eq!(offset_of(t, 2, 2), 5);
        assert_eq!(offset_of(t, 3, 1), 7);
        assert_eq!(offset_of(t, 9, 9), t.len());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct S {
            a: u32,
        }
        let s: S = parse_ron("\u{feff}(a: 3)", None).unwrap();
        assert_eq!(s, S { a: 3 });
        let e = parse_ron::<S>("\u{feff}(a: x)", None)
            .unwrap_err()
            .to_string();
        // The mark occupies no column: errors point where they would without it.
        let plain = parse_ron::<S>("(a: x)", None).unwrap_err().to_string();
        assert_eq!(e, plain);
    }

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

    #[test]
    fn nested_comments_and_fields_sharing_a_suffix() {
        let src = "A( /* outer /* inner: 1 */ x: 9 */\n  x: 1,\n  ensemble: Langevin(\n    \
                   damping_fs: 3,\n  ),\n  my_damping_fs: 2,\n)";
        let find = |p: &str| locate(src, p).map(|o| line_col(src, o));
        assert_eq!(find("x"), Some((2, 3)));
        assert_eq!(find("ensemble.damping_fs"), Some((4, 5)));
        assert_eq!(find("my_damping_fs"), Some((6, 3)));
        assert_eq!(find("absent"), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Small {
        name: String,
        rate_hz: f64,
        note: Option<String>,
    }

    #[test]
    fn errors_carry_file_line_column_and_field() {
        let path = Path::new("in.ron");
        let ok: Small = parse_ron("(name: \"a\", rate_hz: 2.0, note: \"n\")", None).unwrap();
        assert_eq!((ok.name.as_str(), ok.note.as_deref()), ("a", Some("n")));
        let e = parse_ron::<Small>("(\n  name: \"a\",\n  rate: 1.0,\n)", Some(path))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("in.ron:3:"), "{e}");
        assert!(
            e.contains("unknown field `rate`") && e.contains("rate_hz"),
            "{e}"
        );
        let e = parse_ron_with::<Small>("(name: 1)", Some(path), Messages::Ron).unwrap_err();
        assert!(e.to_string().starts_with("in.ron:1:"), "{e}");
        // A value that parses but is invalid is located by its field.
        let text = "(\n  name: \"a\",\n  rate_hz: -1.0,\n)";
        let e = parse_validated::<Small>(text, Some(path), |s| {
            crate::io::validate::positive("rate_hz", s.rate_hz).map(|_| ())
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "in.ron:3:3: field `rate_hz`: must be a positive number, got -1"
        );
    }
}
