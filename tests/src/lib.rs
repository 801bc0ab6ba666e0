//! Cross-crate integration and system tests live in `tests/tests/`; shared test data in `tests/data/`.
