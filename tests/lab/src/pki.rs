//! The lab's certificates: one serving CA (every apiserver's serving cert), one client CA
//! (trusted by every apiserver, also the signer kube-controller-manager uses for CSRs, so the
//! certificates OCM agents obtain really authenticate), an admin client certificate in
//! `system:masters`, and the service-account signing key.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::LabError;

/// PEM files written under `<root>/pki`.
#[derive(Debug, Clone)]
pub struct Pki {
    pub serving_ca: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub client_ca: PathBuf,
    pub client_ca_key: PathBuf,
    pub sa_key: PathBuf,
    pub sa_pub: PathBuf,
    /// PEM text of the serving CA, for kubeconfigs.
    pub serving_ca_pem: String,
    /// PEM text of the admin client certificate and key, for kubeconfigs.
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
}

fn ca(cn: &str) -> Result<(CertificateParams, KeyPair, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn(cn, None);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key)?.pem();
    Ok((params, key, pem))
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d
}

impl Pki {
    /// Generates every key and certificate and writes them under `dir`.
    pub fn generate(dir: &Path) -> Result<Pki, LabError> {
        let cert_err = |e: rcgen::Error| LabError::Pki(e.to_string());
        std::fs::create_dir_all(dir).map_err(|source| LabError::Io {
            what: "create pki dir".into(),
            source,
        })?;

        let (serving_ca_params, serving_ca_key, serving_ca_pem) =
            ca("fleet-lab-serving-ca").map_err(cert_err)?;
        let serving_issuer = Issuer::new(serving_ca_params, serving_ca_key);
        let serving_key = KeyPair::generate().map_err(cert_err)?;
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(cert_err)?;
        p.distinguished_name = dn("fleet-lab-apiserver", None);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_cert = p
            .signed_by(&serving_key, &serving_issuer)
            .map_err(cert_err)?
            .pem();

        let (client_ca_params, client_ca_key, client_ca_pem) =
            ca("fleet-lab-client-ca").map_err(cert_err)?;
        let client_ca_key_pem = client_ca_key.serialize_pem();
        let client_issuer = Issuer::new(client_ca_params, client_ca_key);
        let admin_key = KeyPair::generate().map_err(cert_err)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        p.distinguished_name = dn("lab-admin", Some("system:masters"));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_cert_pem = p
            .signed_by(&admin_key, &client_issuer)
            .map_err(cert_err)?
            .pem();

        let sa_key = KeyPair::generate().map_err(cert_err)?;

        let write = |name: &str, text: &str| -> Result<PathBuf, LabError> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| LabError::Io {
                what: format!("write {}", path.display()),
                source,
            })?;
            Ok(path)
        };
        Ok(Pki {
            serving_ca: write("serving-ca.crt", &serving_ca_pem)?,
            serving_cert: write("serving.crt", &serving_cert)?,
            serving_key: write("serving.key", &serving_key.serialize_pem())?,
            client_ca: write("client-ca.crt", &client_ca_pem)?,
            client_ca_key: write("client-ca.key", &client_ca_key_pem)?,
            sa_key: write("sa.key", &sa_key.serialize_pem())?,
            sa_pub: write("sa.pub", &sa_key.public_key_pem())?,
            admin_key_pem: admin_key.serialize_pem(),
            serving_ca_pem,
            admin_cert_pem,
        })
    }
}
