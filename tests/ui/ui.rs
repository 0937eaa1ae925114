//! Every `#[workflow]`/`#[tool]` definition mistake listed in `weft::workflow`'s docs gives one error, at the mistake, saying
//! what to write. Each case in `cases/` has its expected `.stderr` committed next to it.
//! Regenerate after an intended change with `TRYBUILD=overwrite cargo test -p weft-ui-tests`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("cases/pass/*.rs");
    cases.compile_fail("cases/fail/*.rs");
}
