//! Signing in to Entra ID with a client certificate.
//!
//! `azure_identity` has a `ClientCertificateCredential`, but only with its
//! `client_certificate` feature, which builds OpenSSL: a C library this
//! project does not otherwise use (rustls with ring everywhere, no system
//! headers needed on a fresh machine), and it reads PKCS#12 only. So the
//! client assertion (RFC 7523: an RS256 JWT naming the certificate by its
//! SHA-1 thumbprint, `x5t`) is signed here with ring, from a PEM or a
//! PKCS#12 file, and the crate's `ClientAssertionCredential` does the rest:
//! the token exchange, the cache and the refresh before expiry.

use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cloudmarker_plugin_api::sdk::{files, secret, Secret};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long one assertion is valid (Entra ID accepts up to ten minutes).
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// Signs client assertions with a certificate's RSA key.
pub struct CertificateAssertion {
    client: String,
    /// The token endpoint, the assertion's audience.
    audience: String,
    /// The JWT header, encoded: RS256 and the certificate's thumbprint.
    header: String,
    key: RsaKeyPair,
    random: SystemRandom,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client", &self.client)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    /// Reads the certificate and its private key from `path`: PEM (the
    /// certificate and the key, PKCS#8 or PKCS#1, in one file) or PKCS#12
    /// (`.pfx`/`.p12`, opened with `password`).
    pub fn read(
        path: &str,
        password: &Secret,
        client: &str,
        audience: &str,
    ) -> Result<Self, String> {
        let bytes = files::read_limited(Path::new(path), files::MAX_PEM_BYTES)
            .map_err(|e| format!("cannot read certificate {path}: {e}"))?;
        let (certificate, key) = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            from_pem(&bytes)
        } else {
            from_pkcs12(&bytes, password.expose())
        }
        .map_err(|e| format!("certificate {path}: {e}"))?;
        let thumbprint =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
        let header = json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        });
        Ok(Self {
            client: client.to_string(),
            audience: audience.to_string(),
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            key,
            random: SystemRandom::new(),
        })
    }

    /// A fresh signed assertion.
    fn sign(&self) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let mut id = [0u8; 16];
        self.random
            .fill(&mut id)
            .map_err(|_| "no randomness for the assertion id".to_string())?;
        let claims = json!({
            "aud": self.audience,
            "iss": self.client,
            "sub": self.client,
            "jti": URL_SAFE_NO_PAD.encode(id),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let message = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.random,
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "cannot sign the client assertion".to_string())?;
        let assertion = format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature));
        secret::register(&assertion);
        Ok(assertion)
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign().map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })
    }
}

/// The first certificate and the private key of a PEM file.
fn from_pem(bytes: &[u8]) -> Result<(Vec<u8>, RsaKeyPair), String> {
    let certificate = CertificateDer::pem_slice_iter(bytes)
        .next()
        .ok_or("the PEM file has no CERTIFICATE block")?
        .map_err(|e| format!("the certificate is not valid PEM: {e}"))?;
    let key = match PrivateKeyDer::from_pem_slice(bytes)
        .map_err(|e| format!("the PEM file has no usable private key: {e}"))?
    {
        PrivateKeyDer::Pkcs8(key) => RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()),
        _ => return Err("the private key is not an RSA key (Entra ID needs RS256)".into()),
    }
    .map_err(|e| format!("the private key cannot sign RS256: {e}"))?;
    Ok((certificate.to_vec(), key))
}

/// The certificate and private key of a PKCS#12 file.
fn from_pkcs12(bytes: &[u8], password: &str) -> Result<(Vec<u8>, RsaKeyPair), String> {
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| format!("not a PKCS#12 file, or certificate_password does not open it ({e})"))?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or("the PKCS#12 file has no private key")?;
    let certificate = chain
        .certs()
        .first()
        .ok_or("the PKCS#12 file has no certificate for its key")?;
    let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
        .map_err(|e| format!("the private key is not an RSA key that can sign RS256: {e}"))?;
    Ok((certificate.as_der().to_vec(), key))
}
