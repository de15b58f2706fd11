//! Checkpoint files: a fixed header (magic, format version, scenario fingerprint, payload
//! length, CRC-32 of the payload) followed by the postcard-encoded payload. A truncated,
//! corrupted or foreign file is reported as such, never decoded blindly.

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

const MAGIC: &[u8; 8] = b"KMCCKPT\0";
/// Format version; bumped whenever the payload layout changes.
pub const VERSION: u32 = 7;
const HEADER: usize = 8 + 4 + 4 + 8 + 4;

/// Writes `payload` to `path` (atomically).
pub fn write<T: Serialize>(path: &Path, fingerprint: u32, payload: &T) -> Result<()> {
    let bytes = to_bytes(fingerprint, payload).map_err(|message| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    })?;
    crate::io::write_atomic(path, |w| w.write_all(&bytes))
}

/// Reads a checkpoint written for the scenario with `fingerprint`.
pub fn read<T: DeserializeOwned>(path: &Path, fingerprint: u32) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes, fingerprint).map_err(|message| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    })
}

/// The checkpoint of `payload` as bytes (what [`write()`] puts in the file), for callers that
/// keep checkpoints in memory or hand them over (the C ABI, the Python module).
pub fn to_bytes<T: Serialize>(
    fingerprint: u32,
    payload: &T,
) -> std::result::Result<Vec<u8>, String> {
    let body = postcard::to_stdvec(payload).map_err(|e| format!("cannot encode: {e}"))?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&fingerprint.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes checkpoint bytes written for the scenario with `fingerprint`; the error says what
/// is wrong with them.
pub fn from_bytes<T: DeserializeOwned>(
    bytes: &[u8],
    fingerprint: u32,
) -> std::result::Result<T, String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "truncated: {} bytes, shorter than the {HEADER}-byte header",
            bytes.len()
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a kmc checkpoint (bad magic number)".into());
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let version = u32_at(8);
    if version != VERSION {
        return Err(format!(
            "format version {version}, this kmc reads version {VERSION}"
        ));
    }
    let fp = u32_at(12);
    if fp != fingerprint {
        return Err(format!(
            "written for a different scenario (fingerprint {fp:08x}, this scenario {fingerprint:08x}): \
             lattice, species, rates, deposition, sampler and seed must be unchanged to resume"
        ));
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")) as usize;
    let body = &bytes[HEADER..];
    if body.len() != len {
        return Err(format!(
            "truncated or padded: payload has {} bytes, header says {len}",
            body.len()
        ));
    }
    if crc32fast::hash(body) != u32_at(24) {
        return Err("corrupted: payload checksum does not match".into());
    }
    postcard::from_bytes(body).map_err(|e| format!("corrupted: cannot decode payload: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_damage() {
        let dir = std::env::temp_dir().join(format!("kmc-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.kmc");
        let payload = (vec![1u8, 2, 3], 4.5f64, String::from("x"));
        write(&p, 7, &payload).unwrap();
        let back: (Vec<u8>, f64, String) = read(&p, 7).unwrap();
        assert_eq!(back, payload);
        let msg = |r: Result<(Vec<u8>, f64, String)>| r.unwrap_err().to_string();
        assert!(msg(read(&p, 8)).contains("different scenario"));
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 2]).unwrap();
        assert!(msg(read(&p, 7)).contains("truncated"));
        std::fs::write(&p, &bytes[..10]).unwrap();
        assert!(msg(read(&p, 7)).contains("truncated"));
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 0x55;
        std::fs::write(&p, &bad).unwrap();
        assert!(msg(read(&p, 7)).contains("checksum"));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        std::fs::write(&p, &bad).unwrap();
        assert!(msg(read(&p, 7)).contains("magic"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
