//! A throwaway certificate authority and a server certificate for
//! 127.0.0.1/localhost, written as PEM files for test servers and clients.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};

/// PEM files: the CA certificate (for clients to trust) and the server's
/// certificate and key.
pub struct TestPki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestPki {
    /// The `--cert PEM --key PEM` arguments of the TLS test servers.
    pub fn server_args(&self) -> [String; 4] {
        [
            "--cert".into(),
            self.server_cert.display().to_string(),
            "--key".into(),
            self.server_key.display().to_string(),
        ]
    }
}

/// The URL scheme of an HTTP test server and the arguments that give it
/// TLS: `https` and [`TestPki::server_args`] when `pki` is given.
pub fn http_server_args(pki: Option<&TestPki>) -> (&'static str, Vec<String>) {
    match pki {
        Some(pki) => ("https", pki.server_args().to_vec()),
        None => ("http", Vec::new()),
    }
}

/// Generates a CA and a server certificate under `dir`.
pub fn generate(dir: &Path) -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cloudmarker test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();

    let pki = TestPki {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    };
    std::fs::write(&pki.ca_cert, ca.pem()).unwrap();
    std::fs::write(&pki.server_cert, cert.pem()).unwrap();
    std::fs::write(&pki.server_key, key.serialize_pem()).unwrap();
    pki
}
