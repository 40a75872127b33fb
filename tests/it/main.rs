//! Integration tests of the `fleet` binary and library.
