//! From a validated [`RawFleet`] to the [`DesiredFleet`]: defaults, then each group in the
//! order the WEC lists them, then the WEC's own values (later layers win per key; RBAC names
//! are unioned). Relative kubeconfig paths are anchored at the file's directory.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::model::{
    ClusterAccess, DesiredFleet, Its, JoinOptions, OcmRelease, RbacExpansion, RbacMode, RbacRule,
    Wec,
};
use crate::model::{ExpansionName, StringMap, WecName};

use super::raw::{
    RawFleet, RawJoin, RawProfile, RawRbacMode, RawRule, RawWec, SpannedList, SpannedListField,
    SpannedMap, items,
};

/// Resolves `raw`. It runs beside [`validate`](super::validate), so it must not panic on a
/// file with errors (its result is then dropped). `base_dir` is the directory of
/// `fleet.toml`.
pub(crate) fn resolve(raw: &RawFleet, base_dir: &Path) -> DesiredFleet {
    let path = |p: &Option<Spanned<String>>| p.as_ref().map(|p| base_dir.join(p.get_ref()));
    let text = |c: &Option<Spanned<String>>| c.as_ref().map(|c| c.get_ref().clone());
    // A control plane is reached through its hosting cluster's context.
    let access = |context: &Option<Spanned<String>>,
                  control_plane: &Option<Spanned<String>>,
                  hosting: &Option<Spanned<String>>,
                  kubeconfig: &Option<Spanned<String>>| ClusterAccess {
        context: match control_plane {
            Some(_) => text(hosting),
            None => text(context),
        }
        .unwrap_or_default(),
        kubeconfig: path(kubeconfig),
        control_plane: text(control_plane),
    };

    let its = raw.its.as_ref().map(|its| its.get_ref());
    let its = Its {
        access: its
            .map(|i| {
                access(
                    &i.context,
                    &i.control_plane,
                    &i.hosting_context,
                    &i.kubeconfig,
                )
            })
            .unwrap_or_else(|| ClusterAccess::context("")),
        hub_api_server: its
            .and_then(|i| i.hub_api_server.as_ref())
            .map(|u| u.get_ref().clone()),
        ocm: OcmRelease {
            registry: its.and_then(|i| i.image_registry.as_ref()).map_or_else(
                || OcmRelease::DEFAULT_REGISTRY.to_owned(),
                |r| r.get_ref().clone(),
            ),
            version: its.and_then(|i| i.ocm_version.as_ref()).map_or_else(
                || OcmRelease::DEFAULT_VERSION.to_owned(),
                |v| v.get_ref().clone(),
            ),
        },
    };
    let wds = raw.wds.as_ref().map(|wds| {
        let w = wds.get_ref();
        access(
            &w.context,
            &w.control_plane,
            &w.hosting_context,
            &w.kubeconfig,
        )
    });

    let rbac = raw
        .rbac
        .iter()
        .map(|(name, rbac)| {
            let expansion = RbacExpansion {
                name: ExpansionName::new(name.get_ref().as_str()),
                mode: match rbac.mode.as_ref().map(|m| *m.get_ref()) {
                    Some(RawRbacMode::Direct) => RbacMode::Direct,
                    Some(RawRbacMode::Downsync) | None => RbacMode::Downsync,
                },
                namespace: rbac.namespace.as_ref().map(|n| n.get_ref().clone()),
                rules: rbac.rules.iter().map(|r| rule(r.get_ref())).collect(),
            };
            (expansion.name.clone(), expansion)
        })
        .collect();

    let wecs = raw
        .wec
        .iter()
        .map(|(name, wec)| {
            let wec = resolve_wec(raw, name.get_ref(), wec, base_dir);
            (wec.name.clone(), wec)
        })
        .collect();

    DesiredFleet {
        its,
        wds,
        rbac,
        wecs,
    }
}

/// One layer of a WEC's settings, borrowed: `[defaults]`, a group, or the WEC's own table.
struct Layer<'a> {
    labels: Option<&'a SpannedMap>,
    properties: Option<&'a SpannedMap>,
    rbac: Option<&'a SpannedList>,
    register: Option<bool>,
    join: Option<&'a RawJoin>,
}

impl<'a> From<&'a RawProfile> for Layer<'a> {
    fn from(p: &'a RawProfile) -> Self {
        Layer {
            labels: p.labels.as_ref(),
            properties: p.properties.as_ref(),
            rbac: p.rbac.as_ref(),
            register: p.register,
            join: p.join.as_ref(),
        }
    }
}

fn resolve_wec(raw: &RawFleet, name: &str, wec: &RawWec, base_dir: &Path) -> Wec {
    let own = Layer {
        labels: wec.labels.as_ref(),
        properties: wec.properties.as_ref(),
        rbac: wec.rbac.as_ref(),
        register: wec.register,
        join: wec.join.as_ref(),
    };
    let layers = raw
        .defaults
        .iter()
        .chain(
            wec.groups
                .iter()
                .filter_map(|g| raw.group.get(g.get_ref().as_str())),
        )
        .map(Layer::from)
        .chain(std::iter::once(own));

    let mut resolved = Wec {
        name: WecName::from(name),
        access: ClusterAccess {
            context: wec
                .context
                .as_ref()
                .map_or_else(|| name.to_owned(), |c| c.get_ref().clone()),
            kubeconfig: wec.kubeconfig.as_ref().map(|p| base_dir.join(p.get_ref())),
            control_plane: None,
        },
        groups: wec.groups.iter().map(|g| g.get_ref().clone()).collect(),
        labels: StringMap::default(),
        properties: StringMap::default(),
        rbac: Default::default(),
        register: true,
        join: JoinOptions::default(),
    };
    // Later layers win per key.
    let mut labels: BTreeMap<&str, &str> = BTreeMap::new();
    let mut properties: BTreeMap<&str, &str> = BTreeMap::new();
    for layer in layers {
        for (k, v) in layer.labels.into_iter().flatten() {
            labels.insert(k.get_ref().as_str(), v.get_ref().as_str());
        }
        for (k, v) in layer.properties.into_iter().flatten() {
            properties.insert(k.get_ref().as_str(), v.get_ref().as_str());
        }
        resolved.rbac.extend(
            layer
                .rbac
                .into_iter()
                .flatten()
                .map(|r| ExpansionName::new(r.get_ref().as_str())),
        );
        if let Some(register) = layer.register {
            resolved.register = register;
        }
        if let Some(RawJoin {
            singleton,
            force_internal_endpoint_lookup,
        }) = layer.join
        {
            if let Some(s) = singleton {
                resolved.join.singleton = *s;
            }
            if let Some(f) = force_internal_endpoint_lookup {
                resolved.join.force_internal_endpoint_lookup = *f;
            }
        }
    }
    resolved.labels = labels.into();
    resolved.properties = properties.into();
    resolved
}

fn rule(raw: &RawRule) -> RbacRule {
    let strings =
        |list: &SpannedListField| items(list).iter().map(|s| s.get_ref().clone()).collect();
    RbacRule {
        api_groups: strings(&raw.api_groups),
        resources: strings(&raw.resources),
        verbs: strings(&raw.verbs),
        resource_names: strings(&raw.resource_names),
    }
}
