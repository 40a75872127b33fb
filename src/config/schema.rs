//! The JSON Schema of `fleet.toml`, generated from the [`raw`](super::raw) types.
//!
//! The checked-in copy lives at `schema/fleet.schema.json`; a test regenerates it and fails
//! when it is stale (`FLEET_UPDATE_SCHEMA=1` rewrites it). Draft-07 is used because editors
//! (Taplo / Even Better TOML, VS Code) support it best.

use schemars::generate::SchemaSettings;

use super::raw::RawFleet;

/// Where the schema is published, relative to the repository root.
pub const PATH: &str = "schema/fleet.schema.json";

/// The schema as pretty-printed JSON, ending in a newline.
pub fn json_schema() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawFleet>();
    let mut json = serde_json::to_string_pretty(&schema).expect("a schema is always JSON");
    json.push('\n');
    json
}
