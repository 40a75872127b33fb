//! What `clusteradm join` applies on a WEC, as fleet applies it: the Klusterlet CRD, the
//! klusterlet operator (namespace, RBAC, service account, Deployment), the `Klusterlet` and
//! the `bootstrap-hub-kubeconfig` Secret whose kubeconfig lets the agent reach the ITS.
//!
//! Pure: the plan lists [`JoinManifest::objects`]; apply asks for the bodies
//! ([`JoinManifest::bodies`]) once it holds a fresh bootstrap token, which goes into the
//! Secret's kubeconfig and nowhere else. The CRD and the operator's ClusterRole are OCM's
//! own files (`ocm/`, see `ocm/PROVENANCE.md`).

use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::config::model::{JoinOptions, OcmRelease};
use crate::model::vocab::ocm::{
    AGENT_NS, BOOTSTRAP_SECRET, KLUSTERLET, KLUSTERLET_CRD, OPERATOR_NS,
};
use crate::model::{Endpoint, Kind, Location, ObjectRef, Sensitive, WecName};

/// OCM's Klusterlet CRD and the klusterlet operator's ClusterRole, parsed once.
static KLUSTERLET_CRD_BODY: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("ocm/klusterlets.crd.json")).expect("shipped CRD is JSON")
});
static OPERATOR_ROLE: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("ocm/klusterlet-operator.clusterrole.json"))
        .expect("shipped role is JSON")
});
/// The (empty) image pull Secret `clusteradm join` creates for the klusterlet operator.
pub const IMAGE_PULL_SECRET: &str = "open-cluster-management-image-pull-credentials";

/// What join applies on the WEC, in order: kind, namespace, name.
const OBJECTS: [(Kind, Option<&str>, &str); 10] = [
    (Kind::CustomResourceDefinition, None, KLUSTERLET_CRD),
    (Kind::Namespace, None, OPERATOR_NS),
    (Kind::Namespace, None, AGENT_NS),
    (Kind::Secret, Some(AGENT_NS), BOOTSTRAP_SECRET),
    (Kind::ClusterRole, None, KLUSTERLET),
    (Kind::ClusterRoleBinding, None, KLUSTERLET),
    (Kind::ServiceAccount, Some(OPERATOR_NS), KLUSTERLET),
    (Kind::Secret, Some(OPERATOR_NS), IMAGE_PULL_SECRET),
    (Kind::Deployment, Some(OPERATOR_NS), KLUSTERLET),
    (Kind::Klusterlet, None, KLUSTERLET),
];

/// The Klusterlet's `spec.deployOption.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KlusterletMode {
    /// Registration and work agents as two Deployments.
    Default,
    /// One agent process (`--singleton`; what KubeStellar uses).
    Singleton,
}

impl KlusterletMode {
    /// The value in the Klusterlet.
    pub fn as_str(self) -> &'static str {
        match self {
            KlusterletMode::Default => "Default",
            KlusterletMode::Singleton => "Singleton",
        }
    }
}

/// Everything one WEC's join applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JoinManifest {
    pub wec: WecName,
    pub mode: KlusterletMode,
    pub ocm: OcmRelease,
    /// How the agent reaches the ITS.
    pub hub: Endpoint,
}

impl JoinManifest {
    /// The join of `wec` with its `join` options.
    pub fn new(wec: WecName, join: &JoinOptions, ocm: OcmRelease, hub: Endpoint) -> Self {
        JoinManifest {
            wec,
            mode: if join.singleton {
                KlusterletMode::Singleton
            } else {
                KlusterletMode::Default
            },
            ocm,
            hub,
        }
    }

    fn at(&self, kind: Kind, ns: Option<&str>, name: &str) -> ObjectRef {
        let loc = Location::Wec(self.wec.clone());
        match ns {
            Some(ns) => ObjectRef::namespaced(loc, kind, ns, name),
            None => ObjectRef::cluster(loc, kind, name),
        }
    }

    /// The objects, in the order they are applied (the CRD first: the Klusterlet needs it
    /// established). The bootstrap Secret's content is not part of the plan.
    pub fn objects(&self) -> Vec<ObjectRef> {
        OBJECTS
            .iter()
            .map(|&(kind, ns, name)| self.at(kind, ns, name))
            .collect()
    }

    /// The objects with their bodies; the bootstrap Secret carries `token`.
    pub fn bodies(&self, token: &Sensitive) -> Vec<(ObjectRef, Value)> {
        let mut role = OPERATOR_ROLE.clone();
        role["metadata"] = json!({ "name": KLUSTERLET });
        let operator_labels = json!({ "app": KLUSTERLET });
        // In the order of OBJECTS.
        let bodies = [
            KLUSTERLET_CRD_BODY.clone(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NS}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": AGENT_NS,
                "annotations": {"workload.openshift.io/allowed": "management"}}}),
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": BOOTSTRAP_SECRET, "namespace": AGENT_NS},
                "data": {"kubeconfig": self.bootstrap_kubeconfig(token)}}),
            role,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": KLUSTERLET},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": KLUSTERLET},
                "subjects": [{"kind": "ServiceAccount", "name": KLUSTERLET, "namespace": OPERATOR_NS}]}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": KLUSTERLET, "namespace": OPERATOR_NS},
                "imagePullSecrets": [{"name": IMAGE_PULL_SECRET}]}),
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                "metadata": {"name": IMAGE_PULL_SECRET, "namespace": OPERATOR_NS, "labels": operator_labels},
                "data": {".dockerconfigjson": "e30="}}),
            self.operator_deployment(),
            self.klusterlet(),
        ];
        self.objects().into_iter().zip(bodies).collect()
    }

    /// The operator Deployment of OCM's klusterlet chart (`templates/operator.yaml`).
    fn operator_deployment(&self) -> Value {
        let probe = json!({"httpGet": {"path": "/healthz", "scheme": "HTTPS", "port": 8443}, "initialDelaySeconds": 2});
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": KLUSTERLET, "namespace": OPERATOR_NS, "labels": {"app": KLUSTERLET}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": KLUSTERLET}},
                "template": {
                    "metadata": {"labels": {"app": KLUSTERLET},
                        "annotations": {"target.workload.openshift.io/management": "{\"effect\": \"PreferredDuringScheduling\"}"}},
                    "spec": {
                        "serviceAccountName": KLUSTERLET,
                        "containers": [{
                            "name": KLUSTERLET,
                            "image": self.ocm.image("registration-operator"),
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["/registration-operator", "klusterlet"],
                            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                            "livenessProbe": probe,
                            "readinessProbe": probe,
                            "volumeMounts": [{"name": "tmpdir", "mountPath": "/tmp"}],
                        }],
                        "volumes": [{"name": "tmpdir", "emptyDir": {}}],
                    },
                },
            },
        })
    }

    /// The Klusterlet, with the fields `clusteradm join` sets.
    fn klusterlet(&self) -> Value {
        json!({
            "apiVersion": "operator.open-cluster-management.io/v1", "kind": "Klusterlet",
            "metadata": {"name": KLUSTERLET},
            "spec": {
                "clusterName": self.wec,
                "namespace": AGENT_NS,
                "deployOption": {"mode": self.mode.as_str()},
                "imagePullSpec": self.ocm.image("registration-operator"),
                "registrationImagePullSpec": self.ocm.image("registration"),
                "workImagePullSpec": self.ocm.image("work"),
                "registrationConfiguration": {
                    "featureGates": [
                        {"feature": "ClusterClaim", "mode": "Enable"},
                        {"feature": "AddonManagement", "mode": "Enable"},
                    ],
                    "clientCertExpirationSeconds": 31_536_000,
                },
                "resourceRequirement": {"type": "Default"},
            },
        })
    }

    /// The bootstrap kubeconfig (base64, as Secret data holds it): the hub, the token,
    /// nothing else.
    fn bootstrap_kubeconfig(&self, token: &Sensitive) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.bootstrap_kubeconfig_text(token))
    }

    fn bootstrap_kubeconfig_text(&self, token: &Sensitive) -> String {
        let mut cluster = json!({ "server": self.hub.server });
        if let Some(ca) = &self.hub.ca_data {
            cluster["certificate-authority-data"] = ca.clone().into();
        }
        json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "hub", "cluster": cluster}],
            "users": [{"name": "bootstrap", "user": {"token": token.expose()}}],
            "contexts": [{"name": "bootstrap", "context": {"cluster": "hub", "user": "bootstrap", "namespace": "default"}}],
            "current-context": "bootstrap",
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> JoinManifest {
        JoinManifest::new(
            WecName::from("cluster1"),
            &JoinOptions {
                singleton: true,
                force_internal_endpoint_lookup: false,
            },
            OcmRelease::default(),
            Endpoint {
                server: "https://its.example:6443".into(),
                ca_data: Some("Q0E=".into()),
            },
        )
    }

    #[test]
    fn the_plan_lists_the_objects_without_any_token() {
        let names: Vec<String> = manifest()
            .objects()
            .iter()
            .map(ObjectRef::display_name)
            .collect();
        assert_eq!(
            names,
            [
                "CustomResourceDefinition klusterlets.operator.open-cluster-management.io",
                "Namespace open-cluster-management",
                "Namespace open-cluster-management-agent",
                "Secret open-cluster-management-agent/bootstrap-hub-kubeconfig",
                "ClusterRole klusterlet",
                "ClusterRoleBinding klusterlet",
                "ServiceAccount open-cluster-management/klusterlet",
                "Secret open-cluster-management/open-cluster-management-image-pull-credentials",
                "Deployment open-cluster-management/klusterlet",
                "Klusterlet klusterlet",
            ]
        );
    }

    #[test]
    fn the_token_goes_only_into_the_bootstrap_secret() {
        let token = Sensitive::new("tok-123-secret".into());
        let bodies = manifest().bodies(&token);
        let holding: Vec<String> = bodies
            .iter()
            .filter(|(_, b)| b.to_string().contains("tok-123-secret"))
            .map(|(r, _)| r.display_name())
            .collect();
        assert!(
            holding.is_empty(),
            "the token shows in clear in {holding:?}"
        );
        let secret = &bodies[3].1;
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD
            .decode(secret["data"]["kubeconfig"].as_str().unwrap())
            .unwrap();
        let kc: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(kc["users"][0]["user"]["token"], "tok-123-secret");
        assert_eq!(
            kc["clusters"][0]["cluster"]["server"],
            "https://its.example:6443"
        );
        assert_eq!(
            kc["clusters"][0]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
        let klusterlet = &bodies.last().unwrap().1;
        assert_eq!(klusterlet["spec"]["deployOption"]["mode"], "Singleton");
        assert_eq!(klusterlet["spec"]["clusterName"], "cluster1");
        assert_eq!(
            klusterlet["spec"]["imagePullSpec"],
            "quay.io/open-cluster-management/registration-operator:v1.0.0"
        );
        let crd = &bodies[0].1;
        assert_eq!(crd["metadata"]["name"], KLUSTERLET_CRD);
        let role = &bodies[4].1;
        assert!(
            role["rules"].as_array().is_some_and(|r| r.len() > 10),
            "{role}"
        );
    }
}
