//! observe: read the live state fleet manages, in as few requests as possible.

pub mod snapshot;
