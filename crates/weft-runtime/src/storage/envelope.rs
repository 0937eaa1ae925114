//! The versioned envelope every stored record is written in.
//!
//! Encoding: two header bytes, then the record as JSON.
//!
//! | byte | value |
//! |---|---|
//! | 0 | `0xF7`, marks a weft record |
//! | 1 | format version, now `2` |
//! | 2.. | the record, serialised with serde_json |
//!
//! Versions: `1` (weft 0.1.0): run records carry the run's items in `events`; `2`: run records
//! carry `last_seq` instead and the items are in the run's event log. Other records are the
//! same in both. This weft reads both and writes `2`; a `1` run record is rewritten when a
//! writable open migrates the store (see the sled store's `migrate`). An older weft reading
//! a `2` record reports it as a format it does not know, rather than misreading it.
//!
//! Why: the version byte lets a later weft migrate old records instead of misreading them;
//! JSON keeps records readable by other tools (the `weft` CLI prints them as they are), is what
//! session state already is, and tolerates added fields. Anything that does not decode (wrong
//! marker, unknown version, bad JSON) is [`Error::Corrupt`] naming the record, never a panic.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

const MARKER: u8 = 0xF7;
/// The format version written now.
pub const FORMAT_VERSION: u8 = 2;
/// The oldest format version this weft still reads.
pub const OLDEST_READABLE: u8 = 1;

/// Encodes a record.
pub fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    let mut bytes = vec![MARKER, FORMAT_VERSION];
    serde_json::to_writer(&mut bytes, record)?;
    Ok(bytes)
}

/// Decodes a record of any readable version; `key` names it in errors.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], key: impl FnOnce() -> String) -> Result<T> {
    let (_, body) = body(bytes, key)?;
    Ok(body)
}

/// The format version of an encoded record, if it has a weft header.
pub fn version(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [MARKER, version, ..] => Some(*version),
        _ => None,
    }
}

/// Decodes a record and says which format version it was written in.
pub fn body<T: DeserializeOwned>(bytes: &[u8], key: impl FnOnce() -> String) -> Result<(u8, T)> {
    let corrupt = |key: String, reason: String| Error::Corrupt { key, reason };
    match bytes {
        [MARKER, version @ OLDEST_READABLE..=FORMAT_VERSION, body @ ..] => serde_json::from_slice(body)
            .map(|record| (*version, record))
            .map_err(|err| corrupt(key(), format!("invalid record body: {err}"))),
        [MARKER, version, ..] => Err(corrupt(
            key(),
            format!("record format version {version} is not known to this weft (it knows {OLDEST_READABLE} to {FORMAT_VERSION}); upgrade weft"),
        )),
        _ => Err(corrupt(key(), "not a weft record (bad header)".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_typed_failures() {
        let bytes = encode(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(&bytes[..2], &[0xF7, 2]);
        let back: serde_json::Value = decode(&bytes, || "k".into()).unwrap();
        assert_eq!(back["a"], 1);
        let (version, old): (u8, serde_json::Value) =
            body(b"\xF7\x01{\"a\":2}", String::new).unwrap();
        assert_eq!(
            (version, old["a"].as_i64()),
            (1, Some(2)),
            "version 1 still reads"
        );
        for garbage in [
            &b""[..],
            b"\x00\x01{}",
            b"\xF7\x09{}",
            b"\xF7\x00{}",
            b"\xF7\x02{not json",
        ] {
            let err = decode::<serde_json::Value>(garbage, || "sessions/x".into()).unwrap_err();
            assert!(
                matches!(err, Error::Corrupt { ref key, .. } if key == "sessions/x"),
                "{err}"
            );
        }
    }
}
