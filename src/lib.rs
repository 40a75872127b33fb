pub mod apply;
pub mod cli;
pub mod config;
pub mod diff;
pub mod kube;
pub mod observe;
pub mod plan;
pub mod render;
