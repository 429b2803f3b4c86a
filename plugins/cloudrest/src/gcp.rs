//! Google Cloud: service-account tokens (a JWT signed with RS256, exchanged
//! at the key file's `token_uri`) and Compute Engine list paging.

use crate::{Http, HttpError, Pager, TokenCache};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use cloudmarker_plugin_api::sdk::files;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The parts of a service-account key file that are used.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The project the account belongs to.
    pub project_id: String,
    /// The account's email.
    pub client_email: String,
    /// The PEM private key (never logged).
    pub private_key: String,
    /// Where tokens are exchanged.
    pub token_uri: String,
}

impl ServiceAccountKey {
    /// Reads a key file.
    pub fn read(path: &str) -> Result<Self, String> {
        // Key files are about 2 KB; a wrong path must not fill memory.
        let bytes = files::read_limited(std::path::Path::new(path), files::MAX_PEM_BYTES)
            .map_err(|e| format!("cannot read key_file_path {path}: {e}"))?;
        let text = String::from_utf8_lossy(&bytes);
        let key: Self = serde_json::from_str(&text)
            .map_err(|e| format!("key_file_path {path} is not a service-account key file: {e}"))?;
        cloudmarker_plugin_api::sdk::secret::register(&key.private_key);
        Ok(key)
    }
}

/// Tokens for `scope`, signed with the account's key.
pub fn token_cache(
    http: Http,
    key: ServiceAccountKey,
    scope: String,
) -> Result<TokenCache, String> {
    let signer = signer(&key.private_key)?;
    Ok(TokenCache::new(move || {
        let assertion = jwt(&key, &scope, &signer)?;
        cloudmarker_plugin_api::sdk::secret::register(&assertion);
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ];
        let body = http
            .post_form("Google token request", &key.token_uri, &form)
            .map_err(|e| e.to_string())?;
        crate::azure::parse_token(&body)
    }))
}

/// The RSA key from a PEM block: PKCS#8 (`PRIVATE KEY`, as Google issues)
/// or PKCS#1 (`RSA PRIVATE KEY`).
fn signer(pem: &str) -> Result<RsaKeyPair, String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD
        .decode(body.trim())
        .map_err(|_| "the private key is not PEM".to_string())?;
    let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
        RsaKeyPair::from_der(&der)
    } else {
        RsaKeyPair::from_pkcs8(&der)
    };
    key.map_err(|e| format!("the private key cannot be used for RS256: {e}"))
}

/// A signed JWT asking for `scope`, valid for an hour.
fn jwt(key: &ServiceAccountKey, scope: &str, signer: &RsaKeyPair) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"iss": key.client_email, "scope": scope, "aud": key.token_uri, "iat": now, "exp": now + 3600}).to_string(),
    );
    let message = format!("{header}.{claims}");
    let mut signature = vec![0; signer.public().modulus_len()];
    signer
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "cannot sign the token request".to_string())?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// GETs `url` and the pages after it (`nextPageToken`), handing each page's
/// body to `page`. Returns how many pages there were. A token seen before,
/// or more than `max_pages` pages, ends the listing with an error.
pub fn list(
    http: &Http,
    what: &str,
    url: &str,
    token: &TokenCache,
    mut page: impl FnMut(Value),
) -> Result<usize, HttpError> {
    let mut page_token: Option<String> = None;
    let mut pager = Pager::new(what, http.limits().max_pages, "");
    for pages in 1.. {
        let token = token.get().map_err(HttpError::Transport)?;
        let page_url = match &page_token {
            None => url.to_string(),
            Some(t) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}pageToken={}", percent_encode(t))
            }
        };
        let body = http.get_json(what, &page_url, &token)?;
        page_token = body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        page(body);
        match &page_token {
            None => return Ok(pages),
            Some(next) => pager.next(next)?,
        }
    }
    unreachable!("the page loop ends by returning")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key() -> ServiceAccountKey {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/gcp/service_account_key.google-auth-library-python.json"
        );
        ServiceAccountKey::read(path).expect("the published example key file")
    }

    #[test]
    fn signs_a_jwt_that_verifies_with_the_public_key() {
        let key = fixture_key();
        let signer = signer(&key.private_key).unwrap();
        let token = jwt(
            &key,
            "https://www.googleapis.com/auth/compute.readonly",
            &signer,
        )
        .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "service-account@example.com");
        assert_eq!(claims["aud"], "https://accounts.google.com/o/oauth2/token");
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ring::signature::KeyPair::public_key(&signer)
                .as_ref()
                .to_vec(),
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn page_tokens_are_encoded() {
        assert_eq!(percent_encode("a b/c=="), "a%20b%2Fc%3D%3D");
    }
}
