//! The vocabulary every stage shares, at the bottom of the pipeline: pure types, no I/O.
//!
//! - [`names`]: a WEC's name and an RBAC expansion's name as types;
//! - [`object`]: which object — where it lives ([`Location`]), what it is ([`Kind`]) and
//!   its identity ([`ObjectRef`]);
//! - [`vocab`]: fleet's labels, annotations and the names of the objects it creates;
//! - [`last_applied`]: the record fleet keeps on the objects it applies;
//! - [`json`]: the compact form live objects are kept in;
//! - [`observed`]: the live state as read, and what could not be read;
//! - [`registration`]: where a WEC stands in OCM registration;
//! - [`sensitive`]: secrets that are never shown;
//! - [`string_map`]: the compact map a WEC's labels and properties are kept in;
//! - [`text`]: small wording helpers shared by the diagnostics and the views.
//!
//! Everything above (`config`, `desired`, `observe`, `diff`, `plan`, `apply`, `render`,
//! `cli`) speaks in these types; no identity crosses a module boundary as a formatted string.

pub mod json;
pub mod last_applied;
pub mod live;
pub mod names;
pub mod object;
pub mod observed;
pub mod registration;
pub mod selector;
pub mod sensitive;
pub mod string_map;
pub mod text;
pub mod vocab;

pub use last_applied::LastApplied;
pub use names::{ExpansionName, WecName};
pub use object::{Kind, Location, ObjectRef};
pub use observed::{Endpoint, Failure, GrantCheck, ObservedFleet};
pub use registration::RegState;
pub use sensitive::Sensitive;
pub use string_map::StringMap;
