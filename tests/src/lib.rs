//! weft integration tests live in `runtime/`.
