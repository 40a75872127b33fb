//! fleet plan / apply / drift end to end.

use crate::TestFn;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    Vec::new()
}
