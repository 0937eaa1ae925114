//! Ids that come in from outside (paths, bodies, headers), checked before they reach the store.

use crate::error::ApiError;

/// The longest id accepted.
const MAX_ID_LEN: usize = 128;

/// Checks a run, session or user id: 1 to 128 characters of `A-Z a-z 0-9 - _ . :`, not
/// `.`/`..`. Anything else (path separators, `../`, control characters, spaces) is a `400`
/// naming the id, so no id can mean something else to a store or a log line.
pub fn check(what: &str, id: &str) -> Result<(), ApiError> {
    let fits = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if fits {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            format!(
                "{what} {:?} is not a valid id: use 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, `-`, `_`, `.` and `:`",
                preview(id)
            ),
        ))
    }
}

/// At most 64 characters of an id, for an error message.
fn preview(id: &str) -> String {
    id.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn ids_from_uuids_and_names_pass() {
        for id in [
            "6f1c2a9e-55a1-4d7a-9a39-1b1f2d9f0a11",
            "cache-demo",
            "user_1",
            "a.b:c",
        ] {
            assert!(check("session", id).is_ok(), "{id}");
        }
    }

    #[test]
    fn traversal_control_characters_and_oversized_ids_are_refused() {
        let long = "x".repeat(129);
        for id in [
            "", ".", "..", "../etc", "a/b", "a\\b", "a\u{0}b", "a\nb", "a b", "é", &long,
        ] {
            let err = check("run", id).expect_err(id);
            assert_eq!(err.status.as_u16(), 400);
            assert_eq!(err.code, "invalid_id");
        }
    }
}
