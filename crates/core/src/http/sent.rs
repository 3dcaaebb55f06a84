//! What a request sent that may be secret, kept cheaply until an error needs it.
//!
//! Every call keeps its credential headers (reference-counted), its query and a form body, but
//! turns them into [`KnownSecrets`] only when text from the answer is kept in an error: the
//! success path pays a few reference counts, not a parse and a copy of every secret.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::HeaderValue;

use crate::redact::{self, KnownSecrets};

/// The secret-bearing parts of one request, and the client's own secrets.
#[derive(Clone, Default)]
pub(crate) struct SentSecrets {
    client: Arc<KnownSecrets>,
    headers: Vec<HeaderValue>,
    query: Option<String>,
    form: Option<Bytes>,
}

impl SentSecrets {
    /// The parts of `request` that may carry a secret: credential headers (marked sensitive,
    /// as reqwest marks Basic and Bearer credentials and providers mark their own), the
    /// query, and a form body. Names are not inspected here: this runs on every call, and a
    /// provider's own secrets reach [`KnownSecrets`] through the client anyway.
    pub(crate) fn of(client: &Arc<KnownSecrets>, request: &reqwest::Request) -> Self {
        let headers = request
            .headers()
            .values()
            .filter(|value| value.is_sensitive())
            .cloned()
            .collect();
        let is_form = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|t| {
                t.as_bytes()
                    .starts_with(b"application/x-www-form-urlencoded")
            });
        let form = is_form
            .then(|| request.body().and_then(|b| b.as_bytes()))
            .flatten()
            .map(Bytes::copy_from_slice);
        Self {
            client: client.clone(),
            headers,
            query: request.url().query().map(str::to_owned),
            form,
        }
    }

    /// Only `secrets`, for a response built without a request.
    pub(crate) fn only(secrets: KnownSecrets) -> Self {
        Self {
            client: Arc::new(secrets),
            ..Self::default()
        }
    }

    /// Every secret value: the client's, the credentials' (and a Basic password), and the
    /// values of secret-named query and form parameters.
    pub(crate) fn known(&self) -> KnownSecrets {
        let mut secrets = (*self.client).clone();
        for value in &self.headers {
            if let Ok(text) = value.to_str() {
                add_credential(&mut secrets, text);
            }
        }
        let pairs = self
            .query
            .iter()
            .map(|q| q.as_bytes())
            .chain(self.form.iter().map(|f| f.as_ref()));
        for encoded in pairs {
            for (key, value) in url::form_urlencoded::parse(encoded) {
                if redact::is_secret_key(&key) {
                    secrets.add(value.into_owned().into());
                }
            }
        }
        secrets
    }
}

impl fmt::Debug for SentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentSecrets").finish_non_exhaustive()
    }
}

/// Adds a credential header's value, its part after an auth scheme, and a Basic password.
fn add_credential(secrets: &mut KnownSecrets, value: &str) {
    secrets.add(value.to_owned().into());
    let Some((scheme, credential)) = value.trim().split_once(' ') else {
        return;
    };
    let credential = credential.trim();
    secrets.add(credential.to_owned().into());
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credential);
        if let Some(password) = decoded
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_owned()))
        {
            secrets.add(password.into());
        }
    }
}
