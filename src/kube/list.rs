//! LISTs decoded as the response arrives: one request per kind, however many objects
//! (consistent reads the API server serves from its watch cache; more only if a server
//! paginates anyway), each item decoded once
//! into the compact [`Json`], as much as fleet keeps of it ([`Live`]), before the next is
//! read, so neither the response body nor untrimmed objects are ever held whole.

use std::fmt;
use std::io::BufReader;

use kube::Client;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::Resource;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio_util::compat::FuturesAsyncReadCompatExt;
use tokio_util::io::SyncIoBridge;

use crate::model::Kind;
use crate::model::json::Json;
use crate::model::live::Live;

/// The decoder's buffer: large reads keep the bridge to the async body cheap.
const READ_BUFFER: usize = 256 * 1024;

/// Every object `lp` selects, trimmed: one unpaginated LIST, and more pages only if the
/// server paginates anyway (it names a `continue` token).
pub(super) async fn list(
    client: &Client,
    kind: Kind,
    resource: &ApiResource,
    namespace: Option<&str>,
    lp: &ListParams,
) -> Result<Vec<Json>, kube::Error> {
    let url = DynamicObject::url_path(resource, namespace);
    let mut lp = lp.clone();
    let mut items = Vec::new();
    loop {
        let request = kube::core::Request::new(url.clone())
            .list(&lp)
            .map_err(kube::Error::BuildRequest)?;
        let body = client.request_stream(request).await?;
        let reader = SyncIoBridge::new(body.compat());
        let page = tokio::task::spawn_blocking(move || {
            let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(
                READ_BUFFER,
                reader,
            ));
            let page = ListSeed(kind).deserialize(&mut de).map_err(body_error)?;
            de.end().map_err(body_error)?;
            Ok::<_, kube::Error>(page)
        })
        .await
        .expect("the LIST decoder does not panic")?;
        items.extend(page.items);
        match page.next {
            Some(token) => lp = lp.continue_token(&token),
            None => return Ok(items),
        }
    }
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

/// One page of a LIST.
struct Page {
    items: Vec<Json>,
    /// The `continue` token, when the server has more.
    next: Option<String>,
}

/// A `…List` object: its `items` (required, as in kube's `ObjectList`: a body without them is
/// not a LIST, never an empty one) and `metadata.continue`; every other key skipped.
struct ListSeed(Kind);

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Page;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// The list's `metadata`: only `continue`.
#[derive(serde::Deserialize)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    next: Option<String>,
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Page;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {}List object", self.0.as_str())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = None;
        let mut next = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "items" => items = Some(map.next_value_seed(ItemsSeed(self.0))?),
                "metadata" => next = map.next_value::<ListMeta>()?.next,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Page {
            items: items.ok_or_else(|| serde::de::Error::missing_field("items"))?,
            next: next.filter(|t| !t.is_empty()),
        })
    }
}

/// The `items` array, each item trimmed as soon as it is decoded.
struct ItemsSeed(Kind);

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Vec<Json>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self) // an array, or `null`
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Vec<Json>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new()) // `"items": null`
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Live(self.0))? {
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
        let page = ListSeed(Kind::Secret).deserialize(&mut de).unwrap();
        assert_eq!(page.next, None, "an empty token is the last page");
        assert_eq!(
            page.items.iter().map(Json::to_value).collect::<Vec<_>>(),
            [
                json!({"metadata": {"name": "a"}}),
                json!({"metadata": {"name": "b"}})
            ]
        );
        let null = r#"{"items": null}"#;
        let mut de = serde_json::Deserializer::from_str(null);
        assert!(
            ListSeed(Kind::Role)
                .deserialize(&mut de)
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[test]
    fn a_body_without_items_is_no_list_and_a_token_asks_for_more() {
        let mut de = serde_json::Deserializer::from_str(r#"{"kind": "Status"}"#);
        let err = ListSeed(Kind::Role).deserialize(&mut de).err().unwrap();
        assert!(err.to_string().contains("missing field `items`"), "{err}");
        let more = r#"{"metadata": {"continue": "abc"}, "items": []}"#;
        let mut de = serde_json::Deserializer::from_str(more);
        let page = ListSeed(Kind::Role).deserialize(&mut de).unwrap();
        assert_eq!(page.next.as_deref(), Some("abc"));
    }
}
