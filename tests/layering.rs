//! The layering of DESIGN.md, checked: the engines and the base layer import nothing above them.
//!
//! Every `.rs` file under the checked modules is scanned for paths into the crate (`crate::x`,
//! `use crate::{x, y}`, and `super::` chains that climb to the crate root); the first segment
//! names the module depended on, which must be in the file's allowed list. A failure names file,
//! line and the offending path. Comments are ignored (a doc link is not a dependency).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Checked modules (a directory `src/x/` or a file `src/x.rs`) and the top-level modules each
/// may import besides itself.
const ALLOWED: &[(&str, &[&str])] = &[
    ("md", &["io", "error", "units", "rng", "vec3"]),
    ("sampler", &["error", "rng", "io", "units", "vec3"]),
    ("lattice", &["error", "units", "vec3", "io"]),
    ("io", &["error", "units", "vec3"]),
    ("vec3", &[]),
    ("rotation", &["vec3"]),
    (
        "grains",
        &[
            "error", "rng", "rotation", "vec3", "io", "units", "lattice", "state",
        ],
    ),
    (
        "parallel",
        &[
            "catalog", "deposit", "error", "lattice", "rates", "rng", "sampler", "state",
        ],
    ),
    ("units", &[]),
    ("error", &["io"]),
    ("rng", &[]),
];

/// Items re-exported at the crate root, and the module each belongs to.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Error", "error"),
    ("Location", "error"),
    ("Result", "error"),
    ("KmcRng", "rng"),
];

/// Imports that break the layering today, as (file, imported module); the test fails on stale
/// entries, so the list only shrinks. Empty since md/ moved its scenario driver up and its
/// file writers down to io/.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

/// One import of a module that the file's layer may not use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    module: String,
    path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: imports `{}` (module `{}` is above this layer)",
            self.file, self.line, self.path, self.module
        )
    }
}

/// The text with `//` comments and string literals blanked out (same length, same lines).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let (mut in_str, mut in_comment) = (false, false);
    while let Some(c) = chars.next() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push('\n');
            } else {
                out.push(' ');
            }
        } else if in_str {
            match c {
                '\\' => {
                    out.push(' ');
                    if let Some(n) = chars.next() {
                        out.push(if n == '\n' { '\n' } else { ' ' });
                    }
                }
                '"' => {
                    in_str = false;
                    out.push(' ');
                }
                '\n' => out.push('\n'),
                _ => out.push(' '),
            }
        } else if c == '/' && chars.peek() == Some(&'/') {
            in_comment = true;
            out.push(' ');
        } else if c == '"' {
            in_str = true;
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The module path of a source file relative to `src/` (`md/eam/mod.rs` → `[md, eam]`).
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules `text` (file `rel` under `src/`) imports, with line and path.
fn imports(rel: &str, text: &str) -> Vec<(usize, String, String)> {
    let code = code_only(text);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    let root_target = |first: &str| -> Option<String> {
        if first.is_empty() || first == "*" || first == "self" {
            return None;
        }
        Some(
            ROOT_ITEMS
                .iter()
                .find(|(item, _)| *item == first)
                .map_or(first, |(_, m)| *m)
                .to_owned(),
        )
    };
    let mut push = |at: usize, rest: &str, prefix: &str| {
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first segment of every top-level item of the group.
            let mut depth = 0usize;
            let mut item_start = 0usize;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        let item = group[item_start..i].trim_start();
                        let off = at + prefix.len() + 1 + i - item.len();
                        if let Some(m) = root_target(ident_at(item)) {
                            out.push((line_of(off), m, format!("{prefix}{}", item.trim())));
                        }
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let raw = &group[item_start..i];
                        let item = raw.trim_start();
                        let off = at + prefix.len() + 1 + item_start + (raw.len() - item.len());
                        if let Some(m) = root_target(ident_at(item)) {
                            out.push((line_of(off), m, format!("{prefix}{}", item.trim())));
                        }
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        } else if let Some(m) = root_target(ident_at(rest)) {
            out.push((line_of(at), m, format!("{prefix}{}", ident_at(rest))));
        }
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        push(at, &code[at + "crate::".len()..], "crate::");
    }
    // `super::` chains that climb to the crate root (`super::observe` in src/md/mod.rs).
    let depth = module_path(rel).len();
    for (at, _) in code.match_indices("super::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &code[at..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        if ups >= depth {
            let prefix = "super::".repeat(ups);
            push(at, rest, &prefix);
        }
    }
    out
}

/// The layering violations of file `rel` (relative to `src/`) with contents `text`.
fn violations(rel: &str, text: &str) -> Vec<Violation> {
    let own = module_path(rel)[0].clone();
    let allowed = ALLOWED
        .iter()
        .find(|(m, _)| *m == own)
        .map_or(&[][..], |(_, a)| *a);
    imports(rel, text)
        .into_iter()
        .filter(|(_, m, _)| *m != own && !allowed.contains(&m.as_str()))
        .map(|(line, module, path)| Violation {
            file: format!("src/{rel}"),
            line,
            module,
            path,
        })
        .collect()
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every violation in the checked modules of the source tree.
fn scan() -> Vec<Violation> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for (m, _) in ALLOWED {
        rs_files(&src.join(m), &mut files);
        let single = src.join(format!("{m}.rs"));
        if single.is_file() {
            files.push(single);
        }
    }
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with("md/mod.rs")),
        "no source found under {}",
        src.display()
    );
    let mut all = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        all.extend(violations(&rel, &text));
    }
    all
}

#[test]
fn engines_and_base_import_nothing_above_them() {
    let found = scan();
    let known = |v: &Violation| KNOWN_VIOLATIONS.contains(&(v.file.as_str(), v.module.as_str()));
    let new: Vec<String> = found
        .iter()
        .filter(|v| !known(v))
        .map(|v| v.to_string())
        .collect();
    assert!(
        new.is_empty(),
        "layering violations (see DESIGN.md, Layers):\n{}",
        new.join("\n")
    );
    let seen: BTreeSet<(&str, &str)> = found
        .iter()
        .map(|v| (v.file.as_str(), v.module.as_str()))
        .collect();
    let stale: Vec<_> = KNOWN_VIOLATIONS
        .iter()
        .filter(|k| !seen.contains(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "KNOWN_VIOLATIONS entries no longer occur; remove them: {stale:?}"
    );
}

#[test]
fn the_checker_flags_a_synthetic_violation_with_file_and_line() {
    let text = "\
//! crate::observe in a comment is not an import.
use crate::error::Result;
use crate::units::K_B_EV_PER_K;
use crate::{Error, vec3::dot,
    observe::write::write_bytes};
const S: &str = \"crate::scenario\";
fn f() { crate::scenario::locate::parse_ron(); }
";
    let v = violations("md/fake.rs", text);
    let got: Vec<String> = v.iter().map(|v| v.to_string()).collect();
    assert_eq!(v.len(), 2, "{got:#?}");
    assert_eq!((v[0].file.as_str(), v[0].line), ("src/md/fake.rs", 5));
    assert_eq!(v[0].module, "observe");
    assert_eq!((v[1].line, v[1].module.as_str()), (7, "scenario"));
    assert!(got[1].starts_with("src/md/fake.rs:7: imports `crate::scenario`"));
    // `super::` climbing to the crate root from a layer's own mod.rs is an import too.
    let v = violations(
        "sampler/mod.rs",
        "use super::engine::Engine;\nuse super::rng::KmcRng;\n",
    );
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].line, v[0].module.as_str()), (1, "engine"));
    // A re-exported root item counts as its module; a layer may not reach the engines above.
    assert!(violations("lattice/x.rs", "use crate::KmcRng;").len() == 1);
    assert!(violations("lattice/x.rs", "use crate::{Error, Result};").is_empty());
    assert!(violations("vec3.rs", "use crate::units::kt_ev;").len() == 1);
}
