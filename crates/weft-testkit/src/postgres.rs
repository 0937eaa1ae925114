//! The PostgreSQL a test may use: `WEFT_TEST_POSTGRES_URL`, or a skip with a clear message.

/// The variable naming the test database.
pub const URL_VARIABLE: &str = "WEFT_TEST_POSTGRES_URL";
/// Set to `1` (CI does) to make a missing database fail the test instead of skipping it.
pub const REQUIRE_VARIABLE: &str = "WEFT_REQUIRE_POSTGRES";

/// The test database's URL from `WEFT_TEST_POSTGRES_URL`. Without it, prints why the test is
/// skipped and returns `None`, or panics when `WEFT_REQUIRE_POSTGRES=1` (so CI cannot skip).
///
/// ```
/// if let Some(url) = weft_testkit::postgres::test_url("my_test") {
///     // connect to `url`
/// #   let _ = url;
/// }
/// ```
pub fn test_url(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let message = format!(
                "{test}: skipped: set {URL_VARIABLE}=postgres://user:pass@127.0.0.1:5432/db to run the Postgres tests (README, \"Running the tests\")"
            );
            if std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1") {
                panic!("{message}; {REQUIRE_VARIABLE}=1 does not allow skipping");
            }
            eprintln!("{message}");
            None
        }
    }
}

/// A schema name no other test uses (`<prefix>_<16 hex digits>`, from a per-process counter,
/// the process id and a random hash key), for a test's own tables.
pub fn fresh_schema(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_usize(NEXT.fetch_add(1, Ordering::SeqCst));
    hasher.write_u32(std::process::id());
    format!("{prefix}_{:016x}", hasher.finish())
}
