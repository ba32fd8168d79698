//! Bearer API keys, compared in constant time.
//!
//! The keys are kept as SHA-256 digests; a presented key is hashed and compared with every
//! configured digest by [`subtle::ConstantTimeEq`], without stopping at a match, so neither the
//! time taken nor the answer tells which keys exist or how much of a key was right. A missing and
//! a wrong key get the same 401.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::error::ApiError;
use super::{Access, AppState};
use crate::runtime::aurora::Secret;

/// The configured keys, as digests.
pub(crate) struct Keys(Vec<[u8; 32]>);

impl Keys {
    pub(crate) fn new(keys: &[Secret]) -> Keys {
        Keys(
            keys.iter()
                .filter(|k| !k.is_empty())
                .map(|k| digest(k.expose()))
                .collect(),
        )
    }

    /// Whether `presented` is one of the keys.
    pub(crate) fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        let mut found = Choice::from(0);
        for key in &self.0 {
            found |= key.ct_eq(&presented);
        }
        bool::from(found)
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The key of `Authorization: Bearer <key>`, if the header has that form.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

/// The `key` query parameter, percent-decoded.
pub(crate) fn query_key(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "key").map(|(_, v)| v)
}

/// Lets the request through when it carries one of the keys; 401 otherwise.
pub(crate) async fn require_key(
    State((state, access)): State<(AppState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let accepted = match bearer(&request) {
        Some(key) => state.keys.accepts(key),
        None if access == Access::KeyOrQuery => {
            query_key(request.uri().query()).is_some_and(|key| state.keys.accepts(&key))
        }
        None => false,
    };
    if accepted {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_keys_are_accepted() {
        let keys = Keys::new(&[
            Secret::new("first-key"),
            Secret::new(""),
            Secret::new("second"),
        ]);
        assert!(keys.accepts("first-key"));
        assert!(keys.accepts("second"));
        assert!(!keys.accepts("first-ke"));
        assert!(!keys.accepts("first-key "));
        assert!(!keys.accepts(""), "an empty configured key never matches");
        assert!(!Keys::new(&[]).accepts("anything"));
    }

    #[test]
    fn the_query_key_is_decoded() {
        assert_eq!(query_key(Some("case=A&key=a%2Bb")), Some("a+b".into()));
        assert_eq!(query_key(Some("case=A")), None);
        assert_eq!(query_key(None), None);
    }
}
