pub mod cli;
pub mod config;
pub mod diff;
pub mod observe;
pub mod plan;
