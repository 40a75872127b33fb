//! Hostile input: files that are not files, huge or binary, values that are megabytes long,
//! and a corpus of malformed `fleet.toml`s (`tests/it/hostile/*.toml`), each of which must be
//! reported (never a panic) with the exit code of the contract.

mod corpus;
pub mod fuzz;
mod messages;
mod read;
