//! Connection settings of the Aurora client.
//!
//! Confirmed facts (see `docs/aurora.md`) have fixed behaviour; everything that Aurora does not
//! publish (token path, where the System Code goes, the case lookup and read-back endpoints) is a
//! setting with the conventional default.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A secret value (password, client secret, SAS token). `Debug` and `Display` print `***`;
/// the value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

/// Where the System Code goes on a Cases API call (unverified: configurable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemCodeIn {
    /// A request header, named by `system_code_name` (default `X-System-Code`).
    Header,
    /// A query parameter, named by `system_code_name` (default `systemCode`).
    Query,
    /// A path segment put before every Cases API path (`{api_url}/{code}/Cases/…`).
    Path,
    /// Not sent.
    #[default]
    None,
}

/// The settings of one Aurora tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuroraSettings {
    /// Base URL of the Identity Service (`https://identity.aurora.symology.net`).
    pub identity_url: String,
    /// Base URL of the Cases API (`https://cases.aurora.symology.net`), with any path prefix.
    pub api_url: String,
    /// Path of the token endpoint under `identity_url` (unverified; IdentityServer convention).
    #[serde(default = "default_token_path")]
    pub token_path: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub username: String,
    pub password: Secret,
    /// The tenant's System Code, if the site needs one sent.
    #[serde(default)]
    pub system_code: Option<String>,
    /// Where the System Code goes (unverified).
    #[serde(default)]
    pub system_code_in: SystemCodeIn,
    /// Header or query parameter name for the System Code; defaults by placement.
    #[serde(default)]
    pub system_code_name: Option<String>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// A token is renewed this many seconds before Aurora says it expires.
    #[serde(default = "default_token_skew_seconds")]
    pub token_skew_seconds: u64,
    /// Path of a case lookup by `externalReference` (unverified; no such call is known to exist).
    /// `{externalReference}` in it is replaced by the encoded reference; without the placeholder
    /// the encoded reference is appended (`Cases/Case/FindByExternalReference?externalReference=`).
    #[serde(default)]
    pub lookup_by_reference_path: Option<String>,
    /// Path of a case read-back (unverified), with `{caseNumber}` replaced by the encoded number
    /// (`Cases/Case/{caseNumber}`); without the placeholder the encoded number is appended.
    #[serde(default)]
    pub read_back_path: Option<String>,
}

pub const DEFAULT_TOKEN_PATH: &str = "/connect/token";
pub const DEFAULT_SCOPE: &str = "Symology.Aurora.Customer.Api.User";
pub const DEFAULT_SYSTEM_CODE_HEADER: &str = "X-System-Code";
pub const DEFAULT_SYSTEM_CODE_QUERY: &str = "systemCode";

fn default_token_path() -> String {
    DEFAULT_TOKEN_PATH.to_owned()
}
fn default_scope() -> String {
    DEFAULT_SCOPE.to_owned()
}
fn default_connect_timeout_ms() -> u64 {
    10_000
}
fn default_request_timeout_ms() -> u64 {
    60_000
}
fn default_token_skew_seconds() -> u64 {
    60
}

impl AuroraSettings {
    /// Settings with every optional item at its default.
    pub fn new(
        identity_url: impl Into<String>,
        api_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> AuroraSettings {
        AuroraSettings {
            identity_url: identity_url.into(),
            api_url: api_url.into(),
            token_path: default_token_path(),
            scope: default_scope(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            username: username.into(),
            password: password.into(),
            system_code: None,
            system_code_in: SystemCodeIn::None,
            system_code_name: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            token_skew_seconds: default_token_skew_seconds(),
            lookup_by_reference_path: None,
            read_back_path: None,
        }
    }

    /// The token endpoint: `identity_url` without its trailing `/`, then `token_path`.
    pub fn token_url(&self) -> String {
        join_url(&self.identity_url, &self.token_path)
    }

    /// The Cases API base without a trailing `/`, with the System Code segment when it goes
    /// in the path.
    pub fn api_base(&self) -> String {
        let base = self.api_url.trim_end_matches('/');
        match (&self.system_code, self.system_code_in) {
            (Some(code), SystemCodeIn::Path) if !code.is_empty() => {
                format!("{base}/{}", percent_encode(code))
            }
            _ => base.to_owned(),
        }
    }

    /// The URL of a Cases API path (`Cases/Case/CreateCase`).
    pub fn api_url_for(&self, path: &str) -> String {
        join_url(&self.api_base(), path)
    }

    /// The header or query parameter carrying the System Code, when one is configured there.
    pub fn system_code_param(&self) -> Option<(SystemCodeIn, &str, &str)> {
        let code = self.system_code.as_deref().filter(|c| !c.is_empty())?;
        let default = match self.system_code_in {
            SystemCodeIn::Header => DEFAULT_SYSTEM_CODE_HEADER,
            SystemCodeIn::Query => DEFAULT_SYSTEM_CODE_QUERY,
            SystemCodeIn::Path | SystemCodeIn::None => return None,
        };
        let name = self.system_code_name.as_deref().unwrap_or(default);
        Some((self.system_code_in, name, code))
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// A copy fit for showing: every secret replaced by `***`.
    pub fn redacted(&self) -> AuroraSettings {
        AuroraSettings {
            client_secret: Secret::new("***"),
            password: Secret::new("***"),
            ..self.clone()
        }
    }
}

/// `base` without its trailing `/`s, then `path` with exactly one `/` between them.
pub fn join_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{path}")
    }
}

/// Percent-encodes everything but the RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xF)] as char);
            }
        }
    }
    out
}

/// Fills a configured path: `{placeholder}` replaced by the encoded value, or the encoded value
/// appended when the path has no placeholder.
pub fn fill_path(path: &str, placeholder: &str, value: &str) -> String {
    let encoded = percent_encode(value);
    let marker = format!("{{{placeholder}}}");
    if path.contains(&marker) {
        path.replace(&marker, &encoded)
    } else {
        format!("{path}{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuroraSettings {
        AuroraSettings::new(
            "https://identity.example/",
            "https://cases.example/api//",
            "client",
            "client-secret-value",
            "user",
            "password-value",
        )
    }

    #[test]
    fn debug_hides_secrets() {
        let s = settings();
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("client-secret-value"), "{shown}");
        assert!(!shown.contains("password-value"), "{shown}");
        assert!(shown.contains("***"));
        assert_eq!(format!("{}", s.password), "***");
    }

    #[test]
    fn urls_are_normalised() {
        let mut s = settings();
        assert_eq!(s.token_url(), "https://identity.example/connect/token");
        assert_eq!(
            s.api_url_for("Cases/Case/CreateCase"),
            "https://cases.example/api/Cases/Case/CreateCase"
        );
        s.system_code = Some("HW 1".into());
        s.system_code_in = SystemCodeIn::Path;
        assert_eq!(
            s.api_url_for("/Attachments"),
            "https://cases.example/api/HW%201/Attachments"
        );
        assert_eq!(s.system_code_param(), None);
        s.system_code_in = SystemCodeIn::Header;
        assert_eq!(
            s.system_code_param(),
            Some((SystemCodeIn::Header, "X-System-Code", "HW 1"))
        );
    }

    #[test]
    fn settings_from_toml_with_defaults() {
        let s: AuroraSettings = toml::from_str(
            r#"
            identity_url = "https://id.example"
            api_url = "https://cases.example"
            client_id = "c"
            client_secret = "s"
            username = "u"
            password = "p"
            system_code = "HW"
            system_code_in = "query"
            "#,
        )
        .expect("settings parse");
        assert_eq!(s.token_path, "/connect/token");
        assert_eq!(s.scope, "Symology.Aurora.Customer.Api.User");
        assert_eq!(s.token_skew_seconds, 60);
        assert_eq!(
            s.system_code_param(),
            Some((SystemCodeIn::Query, "systemCode", "HW"))
        );
        let unknown = toml::from_str::<AuroraSettings>(
            "identity_url = \"a\"\napi_url = \"b\"\nclient_id = \"c\"\nclient_secret = \"s\"\nusername = \"u\"\npassword = \"p\"\nsurprise = 1\n",
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn paths_are_filled() {
        assert_eq!(
            fill_path(
                "Cases/Case/FindByExternalReference?externalReference=",
                "externalReference",
                "A/1 2"
            ),
            "Cases/Case/FindByExternalReference?externalReference=A%2F1%202"
        );
        assert_eq!(
            fill_path("Cases/Case/{caseNumber}/Detail", "caseNumber", "42"),
            "Cases/Case/42/Detail"
        );
    }
}
