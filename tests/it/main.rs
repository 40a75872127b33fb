//! Integration tests of `fleet`: one binary (like uv's `tests/it`) to keep link time down.

#[macro_use]
mod common;
mod cli;
mod completions;
mod diagnostics;
mod examples;
mod fmt;
mod hostile;
mod large;
mod layers;
mod names;
mod network;
mod resolve;
mod schema;
