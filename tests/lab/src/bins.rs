//! Where the lab's programs and CRDs are: the Go binaries built once by `build-bins.sh` into
//! a cache outside the repository (recorded in `<cache>/lab.env`), etcd from the
//! `etcd-bin-vendored-linux-amd64` crate, and CRD YAML read from the Go module cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LabError;

/// Paths of everything the lab runs or loads.
#[derive(Debug, Clone)]
pub struct Bins {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    /// OCM `registration` (subcommands `controller` and `agent`).
    pub ocm_registration: PathBuf,
    /// OCM `registration-operator` (subcommand `agent`: the singleton klusterlet agent).
    pub ocm_registration_operator: PathBuf,
    /// Root of the `open-cluster-management.io/api` module (OCM CRDs).
    pub ocm_api_dir: PathBuf,
    /// Root of the `open-cluster-management.io/ocm` module (the klusterlet chart).
    pub ocm_dir: PathBuf,
    /// Root of the `github.com/kubestellar/kubestellar` module (KubeStellar CRDs).
    pub kubestellar_dir: PathBuf,
    /// Root of the `github.com/kubestellar/kubeflex` module KubeStellar requires (the
    /// `ControlPlane` CRD).
    pub kubeflex_dir: PathBuf,
    /// KubeStellar's `controller-manager` (the binding controller).
    pub ks_controller_manager: PathBuf,
    /// KubeStellar's `ocm-transport-controller` (Bindings → ManifestWorks).
    pub ks_ocm_transport: PathBuf,
    /// `actionlint`, the GitHub Actions workflow linter (for the CI recipes' e2e test).
    pub actionlint: PathBuf,
    /// `kubectl`, from the same `k8s.io/kubernetes` module as `kube_apiserver` (for the
    /// benchmarks that compare fleet with kubectl).
    pub kubectl: PathBuf,
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLEET_LAB_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/fleet-lab")
}

fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("build-bins.sh")
}

fn read_env(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

impl Bins {
    /// Finds the binaries, building them first (`build-bins.sh`) when the cache is cold.
    pub fn ensure() -> Result<Bins, LabError> {
        if let Some(bins) = Self::from_cache() {
            return Ok(bins);
        }
        let script = build_script();
        let status = Command::new("bash")
            .arg(&script)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|source| LabError::Io {
                what: format!("run {}", script.display()),
                source,
            })?;
        if !status.success() {
            return Err(LabError::Build(format!(
                "{} exited with {status}",
                script.display()
            )));
        }
        Self::from_cache().ok_or_else(|| {
            LabError::Build(format!(
                "{} finished but {} is incomplete",
                script.display(),
                cache_dir().join("lab.env").display()
            ))
        })
    }

    fn from_cache() -> Option<Bins> {
        let env = read_env(&cache_dir().join("lab.env"))?;
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let bins = Bins {
            etcd: etcd_bin_vendored_linux_amd64::etcd_bin_path()
                .ok()?
                .to_owned(),
            kube_apiserver: get("FLEET_LAB_KUBE_APISERVER")?,
            kube_controller_manager: get("FLEET_LAB_KUBE_CONTROLLER_MANAGER")?,
            ocm_registration: get("FLEET_LAB_OCM_REGISTRATION")?,
            ocm_registration_operator: get("FLEET_LAB_OCM_REGISTRATION_OPERATOR")?,
            ocm_api_dir: get("FLEET_LAB_OCM_API_DIR")?,
            ocm_dir: get("FLEET_LAB_OCM_DIR")?,
            kubestellar_dir: get("FLEET_LAB_KUBESTELLAR_DIR")?,
            kubeflex_dir: get("FLEET_LAB_KUBEFLEX_DIR")?,
            ks_controller_manager: get("FLEET_LAB_KUBESTELLAR_CONTROLLER_MANAGER")?,
            ks_ocm_transport: get("FLEET_LAB_KUBESTELLAR_OCM_TRANSPORT_CONTROLLER")?,
            actionlint: get("FLEET_LAB_ACTIONLINT")?,
            kubectl: get("FLEET_LAB_KUBECTL")?,
        };
        let present = [
            &bins.etcd,
            &bins.kube_apiserver,
            &bins.kube_controller_manager,
            &bins.ocm_registration,
            &bins.ocm_registration_operator,
            &bins.ks_controller_manager,
            &bins.ks_ocm_transport,
            &bins.actionlint,
            &bins.kubectl,
        ]
        .iter()
        .all(|p| p.is_file())
            && bins.ocm_api_dir.is_dir()
            && bins.ocm_dir.is_dir()
            && bins.kubestellar_dir.is_dir()
            && bins.kubeflex_dir.is_dir();
        present.then_some(bins)
    }

    /// The OCM hub CRDs (as `clusteradm init` installs them, addon and work included) and the
    /// spoke CRDs the klusterlet operator would install on a WEC.
    pub fn ocm_hub_crds(&self) -> Vec<PathBuf> {
        let a = &self.ocm_api_dir;
        [
            "cluster/v1/0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml",
            "cluster/v1beta2/0000_00_clusters.open-cluster-management.io_managedclustersets.crd.yaml",
            "cluster/v1beta2/0000_01_clusters.open-cluster-management.io_managedclustersetbindings.crd.yaml",
            "cluster/v1beta1/0000_02_clusters.open-cluster-management.io_placements.crd.yaml",
            "cluster/v1beta1/0000_03_clusters.open-cluster-management.io_placementdecisions.crd.yaml",
            "cluster/v1alpha1/0000_05_clusters.open-cluster-management.io_addonplacementscores.crd.yaml",
            "work/v1/0000_00_work.open-cluster-management.io_manifestworks.crd.yaml",
            "work/v1alpha1/0000_00_work.open-cluster-management.io_manifestworkreplicasets.crd.yaml",
            "addon/v1alpha1/0000_00_addon.open-cluster-management.io_clustermanagementaddons.crd.yaml",
            "addon/v1alpha1/0000_01_addon.open-cluster-management.io_managedclusteraddons.crd.yaml",
            "addon/v1alpha1/0000_02_addon.open-cluster-management.io_addondeploymentconfigs.crd.yaml",
            "addon/v1alpha1/0000_03_addon.open-cluster-management.io_addontemplates.crd.yaml",
        ]
        .iter()
        .map(|p| a.join(p))
        .collect()
    }

    /// CRDs the klusterlet operator installs on a managed cluster before the agent runs.
    pub fn ocm_spoke_crds(&self) -> Vec<PathBuf> {
        let a = &self.ocm_api_dir;
        [
            "cluster/v1alpha1/0000_02_clusters.open-cluster-management.io_clusterclaims.crd.yaml",
            "work/v1/0000_01_work.open-cluster-management.io_appliedmanifestworks.crd.yaml",
        ]
        .iter()
        .map(|p| a.join(p))
        .collect()
    }

    /// The OCM manifests fleet ships as data (file name, JSON text), made from the klusterlet
    /// chart of the `open-cluster-management.io/ocm` module exactly as `lab ocm-manifests`
    /// writes them into `src/desired/ocm/`: the Klusterlet CRD, and the klusterlet
    /// operator's ClusterRole with the chart's template lines dropped.
    pub fn ocm_manifests(&self) -> Result<Vec<(&'static str, String)>, LabError> {
        let chart = self.ocm_dir.join("deploy/klusterlet/chart/klusterlet");
        let read = |rel: &str| {
            let path = chart.join(rel);
            std::fs::read_to_string(&path).map_err(|source| LabError::Io {
                what: format!("read {}", path.display()),
                source,
            })
        };
        let json = |yaml: &str, what: &str| -> Result<String, LabError> {
            let value: serde_json::Value = serde_saphyr::from_str(yaml)
                .map_err(|e| LabError::Kube(format!("parse {what}: {e}")))?;
            let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            text.push('\n');
            Ok(text)
        };
        let crd = read("crds/0000_00_operator.open-cluster-management.io_klusterlets.crd.yaml")?;
        let role: String = read("templates/cluster_role.yaml")?
            .lines()
            .filter(|l| !l.trim_start().starts_with("{{"))
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(vec![
            ("klusterlets.crd.json", json(&crd, "the Klusterlet CRD")?),
            (
                "klusterlet-operator.clusterrole.json",
                json(&role, "the klusterlet ClusterRole")?,
            ),
        ])
    }

    /// KubeStellar's authoritative post-kustomize CRD bundle (what its controller-manager
    /// applies to a WDS).
    pub fn kubestellar_crds(&self) -> Vec<PathBuf> {
        vec![self.kubestellar_dir.join("pkg/crd/files/crds.yaml")]
    }

    /// KubeFlex's `ControlPlane` CRD, which the lab's hosting cluster (the ITS) serves.
    pub fn kubeflex_crds(&self) -> Vec<PathBuf> {
        vec![
            self.kubeflex_dir
                .join("config/crd/bases/tenancy.kflex.kubestellar.org_controlplanes.yaml"),
        ]
    }
}
