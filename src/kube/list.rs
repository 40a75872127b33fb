//! LISTs decoded as the response arrives: one request per kind, however many objects
//! (consistent reads the API server serves from its watch cache), each item decoded once
//! into a `serde_json::Value` and trimmed ([`crate::model::live::trim`]) before the next is
//! read, so neither the response body nor untrimmed objects are ever held whole.

use std::fmt;
use std::io::BufReader;

use kube::Client;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::Resource;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio_util::compat::FuturesAsyncReadCompatExt;
use tokio_util::io::SyncIoBridge;

use crate::model::Kind;
use crate::model::live::trim;

/// The decoder's buffer: large reads keep the bridge to the async body cheap.
const READ_BUFFER: usize = 256 * 1024;

/// Every object `lp` selects, trimmed, in one unpaginated LIST.
pub(super) async fn list(
    client: &Client,
    kind: Kind,
    resource: &ApiResource,
    namespace: Option<&str>,
    lp: &ListParams,
) -> Result<Vec<Value>, kube::Error> {
    let url = DynamicObject::url_path(resource, namespace);
    let request = kube::core::Request::new(url)
        .list(lp)
        .map_err(kube::Error::BuildRequest)?;
    let body = client.request_stream(request).await?;
    let reader = SyncIoBridge::new(body.compat());
    tokio::task::spawn_blocking(move || {
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(READ_BUFFER, reader));
        let items = ListSeed(kind).deserialize(&mut de).map_err(body_error)?;
        de.end().map_err(body_error)?;
        Ok(items)
    })
    .await
    .expect("the LIST decoder does not panic")
}

/// A body that stopped arriving (reset, timed out) is a transport error, named by its I/O
/// cause; anything else is a body that is not a LIST.
fn body_error(e: serde_json::Error) -> kube::Error {
    if e.is_io() {
        kube::Error::ReadEvents(e.into())
    } else {
        kube::Error::SerdeError(e)
    }
}

/// A `…List` object: its `items`, every other key skipped.
struct ListSeed(Kind);

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {}List object", self.0.as_str())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                items = map.next_value_seed(ItemsSeed(self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

/// The `items` array, each item trimmed as soon as it is decoded.
struct ItemsSeed(Kind);

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self) // an array, or `null`
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new()) // `"items": null`
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(mut item) = seq.next_element::<Value>()? {
            trim(self.0, &mut item);
            items.push(item);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_are_trimmed_and_the_rest_of_the_list_skipped() {
        let body = json!({
            "kind": "SecretList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "9", "continue": ""},
            "items": [{"kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "dg=="}},
                      {"metadata": {"name": "b"}}],
        })
        .to_string();
        let mut de = serde_json::Deserializer::from_str(&body);
        let items = ListSeed(Kind::Secret).deserialize(&mut de).unwrap();
        assert_eq!(
            items,
            [
                json!({"kind": "Secret", "metadata": {"name": "a"}}),
                json!({"metadata": {"name": "b"}})
            ]
        );
        let null = r#"{"items": null}"#;
        let mut de = serde_json::Deserializer::from_str(null);
        assert!(
            ListSeed(Kind::Role)
                .deserialize(&mut de)
                .unwrap()
                .is_empty()
        );
    }
}
