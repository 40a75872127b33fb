//! Names as types: a WEC ([`WecName`]) and an RBAC expansion ([`ExpansionName`]).
//!
//! Both are checked by `config` (DNS-1123 labels) before they are built; here they only keep
//! one kind of name from being passed where the other is expected. They borrow as `str`, so
//! maps keyed by them can be looked up with a plain `&str`, and a name of up to 24 bytes is
//! held inline (a fleet holds several copies of every WEC's name).

use std::borrow::Borrow;
use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(CompactString);

        impl $name {
            /// Wraps a name that `config` validated.
            pub fn new(name: impl Into<String>) -> Self {
                $name(CompactString::from(name.into()))
            }

            /// The name as written in `fleet.toml`.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(CompactString::from(s))
            }
        }
    };
}

name_type!(
    /// A WEC: the name of its ManagedCluster on the ITS (`[wec.NAME]` in `fleet.toml`).
    WecName
);

name_type!(
    /// A named RBAC expansion (`[rbac.NAME]` in `fleet.toml`).
    ExpansionName
);
