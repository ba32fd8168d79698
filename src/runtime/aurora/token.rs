//! The OAuth2 resource-owner password grant and the token cache.
//!
//! One grant serves every call until the token is about to expire (`expires_in` minus the
//! configured skew); callers that need a token while a grant runs wait for that grant instead of
//! starting their own.

use super::error::{AuroraError, Call};
use super::settings::AuroraSettings;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A bearer token. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

struct CachedToken {
    token: AccessToken,
    renew_at: Instant,
}

/// Used when the answer has no `expires_in` (OAuth2 makes it optional).
const DEFAULT_LIFETIME_SECS: u64 = 300;

#[derive(Default)]
pub(crate) struct TokenCache {
    current: Mutex<Option<CachedToken>>,
    grants: AtomicU64,
}

impl TokenCache {
    /// How many grants this cache has run (successful or not).
    pub(crate) fn grants(&self) -> u64 {
        self.grants.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a fresh grant (one at a time).
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        settings: &AuroraSettings,
    ) -> Result<AccessToken, AuroraError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref()
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        self.grant_into(&mut current, http, settings).await
    }

    /// After the Cases API refused `rejected` with 401: a new grant, unless another caller has
    /// already replaced that token.
    pub(crate) async fn renew_after_reject(
        &self,
        rejected: &AccessToken,
        http: &reqwest::Client,
        settings: &AuroraSettings,
    ) -> Result<AccessToken, AuroraError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref()
            && cached.token != *rejected
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        self.grant_into(&mut current, http, settings).await
    }

    /// Runs a grant now, whatever is cached (checking settings).
    pub(crate) async fn force(
        &self,
        http: &reqwest::Client,
        settings: &AuroraSettings,
    ) -> Result<AccessToken, AuroraError> {
        let mut current = self.current.lock().await;
        self.grant_into(&mut current, http, settings).await
    }

    async fn grant_into(
        &self,
        slot: &mut Option<CachedToken>,
        http: &reqwest::Client,
        settings: &AuroraSettings,
    ) -> Result<AccessToken, AuroraError> {
        *slot = None;
        self.grants.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let (token, lifetime) = password_grant(http, settings).await?;
        let skew = settings.token_skew_seconds.min(lifetime / 2);
        let renew_at = started + Duration::from_secs(lifetime - skew);
        *slot = Some(CachedToken {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }
}

/// The grant itself: a form POST with the client credentials in the body. Returns the token
/// and its lifetime in seconds.
async fn password_grant(
    http: &reqwest::Client,
    settings: &AuroraSettings,
) -> Result<(AccessToken, u64), AuroraError> {
    let form = [
        ("grant_type", "password"),
        ("scope", settings.scope.as_str()),
        ("username", settings.username.as_str()),
        ("password", settings.password.expose()),
        ("client_id", settings.client_id.as_str()),
        ("client_secret", settings.client_secret.expose()),
    ];
    let response = http
        .post(settings.token_url())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| AuroraError::from_transport(Call::TokenGrant, e))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| AuroraError::from_transport(Call::TokenGrant, e))?;
    match status {
        200..=299 => parse_token(&body),
        400 | 401 | 403 => Err(AuroraError::Authentication {
            call: Call::TokenGrant,
            message: oauth_reason(status, &body),
        }),
        _ => Err(AuroraError::from_status(Call::TokenGrant, status, &body)),
    }
}

fn parse_token(body: &[u8]) -> Result<(AccessToken, u64), AuroraError> {
    let unexpected = |message: &str| AuroraError::Unexpected {
        call: Call::TokenGrant,
        status: None,
        message: message.to_owned(),
    };
    let v: Value =
        serde_json::from_slice(body).map_err(|_| unexpected("the answer is not JSON"))?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unexpected("the answer has no access_token"))?;
    let lifetime = match v.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_LIFETIME_SECS,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| unexpected("expires_in is not a number of seconds"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| unexpected("expires_in is not a number of seconds"))?,
        Some(_) => return Err(unexpected("expires_in is not a number of seconds")),
    };
    Ok((AccessToken(Arc::from(token)), lifetime))
}

/// The OAuth2 error and its description (`invalid_grant: invalid_username_or_password`).
fn oauth_reason(status: u16, body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = v.get("error").and_then(Value::as_str).unwrap_or("");
    let description = v
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    match (error.is_empty(), description.is_empty()) {
        (false, false) => format!("{error}: {description}"),
        (false, true) => error.to_owned(),
        (true, false) => description.to_owned(),
        (true, true) => format!("the identity service answered HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_parse() {
        let (t, life) =
            parse_token(br#"{"access_token":"abc","expires_in":3600,"token_type":"Bearer"}"#)
                .expect("token");
        assert_eq!(t.expose(), "abc");
        assert_eq!(life, 3600);
        assert_eq!(format!("{t:?}"), "AccessToken(***)");
        let (_, life) =
            parse_token(br#"{"access_token":"abc","expires_in":"120"}"#).expect("token");
        assert_eq!(life, 120);
        let (_, life) = parse_token(br#"{"access_token":"abc"}"#).expect("token");
        assert_eq!(life, DEFAULT_LIFETIME_SECS);
        assert!(parse_token(br#"{"expires_in":1}"#).is_err());
        assert!(parse_token(b"<html>").is_err());
    }

    #[test]
    fn oauth_reasons() {
        assert_eq!(
            oauth_reason(
                400,
                br#"{"error":"invalid_grant","error_description":"invalid_username_or_password"}"#
            ),
            "invalid_grant: invalid_username_or_password"
        );
        assert_eq!(
            oauth_reason(401, b""),
            "the identity service answered HTTP 401"
        );
    }
}
