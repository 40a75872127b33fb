//! The corpus of hostile `fleet.toml`s: one file per case in `tests/it/hostile/`, each
//! validated and its diagnostics snapshotted.
