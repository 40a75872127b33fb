//! A value that must never be shown: bootstrap tokens and what holds them. Its `Debug` and
//! `Display` print `(sensitive)`; only [`Sensitive::expose`] gives the value, to the one
//! place that sends it to a cluster.

use std::fmt;

/// A secret string.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Sensitive(value)
    }

    /// The secret itself: only for the request body that carries it to a cluster.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let s = Sensitive::new("eyJhbGciOi.secret".into());
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "(sensitive) (sensitive) Some((sensitive))"
        );
        assert_eq!(s.expose(), "eyJhbGciOi.secret");
    }
}
