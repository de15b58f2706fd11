//! Pinned regressions, not statistics: the shipped scenarios produce exactly the bytes they
//! produced before (tests/data/trajectories/pins.ron says when and how the pins were made).
//! A refactor that changes one event, one clock value or one printed digit fails here.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pin {
    scenario: String,
    events: Option<u64>,
    file: String,
    crc32: u32,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shipped_scenarios_reproduce_their_pinned_files() {
    let pins_path = root().join("tests/data/trajectories/pins.ron");
    let text = std::fs::read_to_string(&pins_path).unwrap();
    let mut pins: Vec<Pin> = ron::from_str(&text).unwrap();
    let bless = std::env::var_os("KMC_BLESS").is_some();
    let mut runs: Vec<(String, Option<u64>)> = Vec::new();
    for p in &pins {
        if !runs.contains(&(p.scenario.clone(), p.events)) {
            runs.push((p.scenario.clone(), p.events));
        }
    }
    let mut failures = Vec::new();
    for (scenario, events) in runs {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pin-{scenario}"));
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kmc"));
        cmd.arg("run")
            .arg(root().join(format!("scenarios/{scenario}.ron")))
            .arg("--quiet")
            .arg("--out")
            .arg(&out);
        if let Some(n) = events {
            cmd.arg("--events").arg(n.to_string());
        }
        let st = cmd.output().unwrap();
        assert!(
            st.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        for p in pins
            .iter_mut()
            .filter(|p| p.scenario == scenario && p.events == events)
        {
            let bytes = std::fs::read(out.join(&p.file)).unwrap();
            let crc = crc32fast::hash(&bytes);
            if crc != p.crc32 {
                failures.push(format!(
                    "{scenario} (events {events:?}): {} has CRC-32 {crc}, pinned {}",
                    p.file, p.crc32
                ));
                p.crc32 = crc;
            }
        }
    }
    if bless && !failures.is_empty() {
        let head: String = text
            .lines()
            .take_while(|l| l.starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        let body = ron::ser::to_string_pretty(&pins, ron::ser::PrettyConfig::default()).unwrap();
        std::fs::write(&pins_path, format!("{head}{body}\n")).unwrap();
        eprintln!("re-pinned:\n{}", failures.join("\n"));
        return;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check can fail: a file whose bytes differ by one digit has another CRC-32.
#[test]
fn a_changed_digit_changes_the_checksum() {
    let a = b"0.00000918353001625327,merge,2433";
    let b = b"0.00000918353001625328,merge,2433";
    assert_ne!(crc32fast::hash(a), crc32fast::hash(b));
}
