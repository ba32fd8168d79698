//! The Cases API client: contacts, attachments, CreateCase, AddNote and the optional lookups.

use super::contact::{
    ContactId, ContactMatch, ContactOutcome, NewContact, first_email_match, first_phone_match,
    normalise_phone,
};
use super::error::{AuroraError, Call};
use super::settings::{AuroraSettings, SystemCodeIn, fill_path};
use super::token::{AccessToken, TokenCache};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// An uploaded file as a case or note lists it. Aurora drops (or fails on) an attachment listed
/// without a name, so both are always sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub id: String,
    pub name: String,
}

/// An HTTP answer with a success status.
struct Answer {
    body: Vec<u8>,
}

/// The Aurora client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct AuroraClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: AuroraSettings,
    http: reqwest::Client,
    tokens: TokenCache,
}

impl std::fmt::Debug for AuroraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuroraClient")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Installs the ring crypto provider for rustls once per process (needed before the first
/// HTTPS client is built; a second install is harmless).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client both the Cases API client and the blob reader use.
pub(crate) fn http_client(
    connect_timeout: std::time::Duration,
    request_timeout: std::time::Duration,
) -> Result<reqwest::Client, AuroraError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .user_agent(concat!("amap/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            AuroraError::Settings(format!("cannot build the HTTP client: {}", e.without_url()))
        })
}

impl AuroraClient {
    pub fn new(settings: AuroraSettings) -> Result<AuroraClient, AuroraError> {
        for (what, url) in [
            ("identity_url", &settings.identity_url),
            ("api_url", &settings.api_url),
        ] {
            if reqwest::Url::parse(url).is_err() {
                return Err(AuroraError::Settings(format!("{what} is not a URL")));
            }
        }
        let http = http_client(settings.connect_timeout(), settings.request_timeout())?;
        Ok(AuroraClient {
            inner: Arc::new(Inner {
                settings,
                http,
                tokens: TokenCache::default(),
            }),
        })
    }

    pub fn settings(&self) -> &AuroraSettings {
        &self.inner.settings
    }

    /// How many token grants this client has run.
    pub fn grants(&self) -> u64 {
        self.inner.tokens.grants()
    }

    /// Runs the token grant now. Aurora has no call that tests access to the Cases API, so
    /// checking settings can only check the grant.
    pub async fn verify_credentials(&self) -> Result<(), AuroraError> {
        self.inner
            .tokens
            .force(&self.inner.http, &self.inner.settings)
            .await
            .map(|_| ())
    }

    /// Searches contacts by e-mail; the first exact match (ignoring case) wins.
    pub async fn find_contact_by_email(
        &self,
        email: &str,
    ) -> Result<Option<ContactId>, AuroraError> {
        let email = email.trim();
        if email.is_empty() {
            return Ok(None);
        }
        let answer = self
            .json_call(Call::FindContact, Method::GET, "Cases/Contact", |r| {
                r.query(&[("emailAddress", email)])
            })
            .await?;
        Ok(first_email_match(&answer, email))
    }

    /// Searches contacts by phone (the phone rule picks `mobilePhone` or `homePhone`); the first
    /// contact with the same digits wins.
    pub async fn find_contact_by_phone(
        &self,
        phone: &str,
    ) -> Result<Option<ContactId>, AuroraError> {
        let Some((digits, kind)) = normalise_phone(phone) else {
            return Ok(None);
        };
        let answer = self
            .json_call(Call::FindContact, Method::GET, "Cases/Contact", |r| {
                r.query(&[(kind.field(), digits.as_str())])
            })
            .await?;
        Ok(first_phone_match(&answer, &digits, kind))
    }

    /// `POST Cases/Contact/CreateContact` → `contactId`.
    pub async fn create_contact(&self, contact: &NewContact) -> Result<ContactId, AuroraError> {
        let body = contact.to_body();
        let answer = self
            .json_call(
                Call::CreateContact,
                Method::POST,
                "Cases/Contact/CreateContact",
                |r| r.json(&body),
            )
            .await?;
        answer
            .get("contactId")
            .and_then(ContactId::from_json)
            .ok_or_else(|| unexpected(Call::CreateContact, "the answer has no contactId"))
    }

    /// By e-mail, then by phone, else a new contact.
    pub async fn find_or_create_contact(
        &self,
        contact: &NewContact,
    ) -> Result<ContactOutcome, AuroraError> {
        if let Some(email) = contact.email()
            && let Some(id) = self.find_contact_by_email(email).await?
        {
            return Ok(ContactOutcome {
                id,
                matched: ContactMatch::Email,
            });
        }
        if let Some(phone) = contact.phone.as_deref()
            && let Some(id) = self.find_contact_by_phone(phone).await?
        {
            return Ok(ContactOutcome {
                id,
                matched: ContactMatch::Phone,
            });
        }
        let id = self.create_contact(contact).await?;
        Ok(ContactOutcome {
            id,
            matched: ContactMatch::Created,
        })
    }

    /// `POST Attachments` (multipart, one part `file`) → the attachment id, a bare JSON string.
    pub async fn upload_attachment(
        &self,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, AuroraError> {
        // Checked once here so that building each attempt's part cannot fail.
        reqwest::multipart::Part::bytes(Vec::new())
            .mime_str(content_type)
            .map_err(|_| AuroraError::Validation {
                call: Call::UploadAttachment,
                status: 415,
                title: format!("{content_type:?} is not a content type"),
                problems: Vec::new(),
            })?;
        let answer = self
            .call(Call::UploadAttachment, Method::POST, "Attachments", |r| {
                let part =
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.to_owned());
                let part = match part.mime_str(content_type) {
                    Ok(p) => p,
                    Err(_) => reqwest::multipart::Part::bytes(bytes.clone())
                        .file_name(file_name.to_owned()),
                };
                r.multipart(reqwest::multipart::Form::new().part("file", part))
            })
            .await?;
        parse_attachment_id(&answer.body)
            .ok_or_else(|| unexpected(Call::UploadAttachment, "the answer is not an attachment id"))
    }

    /// `POST Cases/Case/CreateCase` with a body built by the evaluator → `caseNumber`.
    /// A request that was sent but got no answer is [`AuroraError::LostAnswer`].
    pub async fn create_case(&self, body: &Value) -> Result<String, AuroraError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| AuroraError::Settings(format!("CreateCase body: {e}")))?;
        self.create_case_raw(bytes).await
    }

    /// As [`create_case`](Self::create_case), with the JSON body already serialised.
    pub async fn create_case_raw(&self, body: Vec<u8>) -> Result<String, AuroraError> {
        let answer = self
            .json_call(
                Call::CreateCase,
                Method::POST,
                "Cases/Case/CreateCase",
                |r| {
                    r.header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone())
                },
            )
            .await?;
        case_number(answer.get("caseNumber"))
            .ok_or_else(|| unexpected(Call::CreateCase, "the answer has no caseNumber"))
    }

    /// `POST Cases/Case/AddNote?caseNumber=…` with `{noteText, attachments:[{id,name}]}`.
    pub async fn add_note(
        &self,
        case_number: &str,
        note_text: &str,
        attachments: &[AttachmentRef],
    ) -> Result<(), AuroraError> {
        let body = json!({"noteText": note_text, "attachments": attachments});
        self.call(Call::AddNote, Method::POST, "Cases/Case/AddNote", |r| {
            r.query(&[("caseNumber", case_number)]).json(&body)
        })
        .await
        .map(|_| ())
    }

    /// True when a lookup by `externalReference` is configured.
    pub fn can_lookup_by_reference(&self) -> bool {
        self.inner.settings.lookup_by_reference_path.is_some()
    }

    /// The case number of the case carrying `external_reference`, through the configured
    /// (unverified) lookup. A 404 or an empty answer is `None`.
    pub async fn find_case_by_reference(
        &self,
        external_reference: &str,
    ) -> Result<Option<String>, AuroraError> {
        let Some(path) = self.inner.settings.lookup_by_reference_path.as_deref() else {
            return Err(AuroraError::Settings(
                "no lookup_by_reference_path is configured".into(),
            ));
        };
        let path = fill_path(path, "externalReference", external_reference);
        let answer = match self
            .json_call(Call::LookupByReference, Method::GET, &path, |r| r)
            .await
        {
            Ok(answer) => answer,
            Err(AuroraError::Unexpected {
                status: Some(404), ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(lookup_case_number(&answer))
    }

    /// The case as the configured (unverified) read-back endpoint gives it; `None` on 404.
    pub async fn read_back(&self, case_number: &str) -> Result<Option<Value>, AuroraError> {
        let Some(path) = self.inner.settings.read_back_path.as_deref() else {
            return Err(AuroraError::Settings(
                "no read_back_path is configured".into(),
            ));
        };
        let path = fill_path(path, "caseNumber", case_number);
        match self
            .json_call(Call::ReadBack, Method::GET, &path, |r| r)
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(AuroraError::Unexpected {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn json_call(
        &self,
        call: Call,
        method: Method,
        path: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Value, AuroraError> {
        let answer = self.call(call, method, path, build).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&answer.body).map_err(|_| unexpected(call, "the answer is not JSON"))
    }

    /// Sends one call with a bearer token; on 401 renews the token once and sends it again.
    async fn call(
        &self,
        call: Call,
        method: Method,
        path: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, AuroraError> {
        let inner = &*self.inner;
        let url = inner.settings.api_url_for(path);
        let mut token = inner.tokens.get(&inner.http, &inner.settings).await?;
        let mut renewed = false;
        loop {
            let request = build(self.request(method.clone(), &url, &token));
            let response = request
                .send()
                .await
                .map_err(|e| AuroraError::from_transport(call, e))?;
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|e| AuroraError::from_transport(call, e))?;
            if status.is_success() {
                return Ok(Answer {
                    body: body.to_vec(),
                });
            }
            if status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                tracing::debug!(call = call.name(), "token refused; renewing it once");
                token = inner
                    .tokens
                    .renew_after_reject(&token, &inner.http, &inner.settings)
                    .await?;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED {
                return Err(AuroraError::Authentication {
                    call,
                    message: "the Cases API refused a freshly granted token (HTTP 401)".into(),
                });
            }
            return Err(AuroraError::from_status(call, status.as_u16(), &body));
        }
    }

    fn request(&self, method: Method, url: &str, token: &AccessToken) -> RequestBuilder {
        let settings = &self.inner.settings;
        let mut r = self
            .inner
            .http
            .request(method, url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        match settings.system_code_param() {
            Some((SystemCodeIn::Header, name, code)) => r = r.header(name, code),
            Some((SystemCodeIn::Query, name, code)) => r = r.query(&[(name, code)]),
            _ => {}
        }
        r
    }
}

fn unexpected(call: Call, message: &str) -> AuroraError {
    AuroraError::Unexpected {
        call,
        status: None,
        message: message.to_owned(),
    }
}

/// The upload answer: a bare JSON string; a number, `{"id": …}` or plain text are accepted too.
fn parse_attachment_id(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(s)) if !s.is_empty() => Some(s),
        Ok(Value::Number(n)) => Some(n.to_string()),
        Ok(Value::Object(map)) => case_number(map.get("id")),
        Ok(_) => None,
        Err(_) => {
            let text = std::str::from_utf8(body).ok()?.trim().trim_matches('"');
            (!text.is_empty() && !text.contains(char::is_whitespace)).then(|| text.to_owned())
        }
    }
}

/// An opaque identifier that may come as a string or a number.
fn case_number(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A lookup answer: `{"caseNumber"}`, a bare string, or a list (`[…]` or `{"cases":[…]}`)
/// whose first item has a case number.
fn lookup_case_number(answer: &Value) -> Option<String> {
    match answer {
        Value::String(_) | Value::Number(_) => case_number(Some(answer)),
        Value::Array(items) => items.iter().find_map(lookup_case_number),
        Value::Object(map) => case_number(map.get("caseNumber")).or_else(|| {
            map.get("cases")
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find_map(lookup_case_number))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_ids() {
        assert_eq!(parse_attachment_id(br#""a1b2""#), Some("a1b2".into()));
        assert_eq!(parse_attachment_id(b"17"), Some("17".into()));
        assert_eq!(parse_attachment_id(br#"{"id":"x"}"#), Some("x".into()));
        assert_eq!(parse_attachment_id(b"plain-id\n"), Some("plain-id".into()));
        assert_eq!(parse_attachment_id(b"null"), None);
    }

    #[test]
    fn lookup_answers() {
        assert_eq!(
            lookup_case_number(&json!({"caseNumber": 12})),
            Some("12".into())
        );
        assert_eq!(
            lookup_case_number(&json!({"cases": [{"caseNumber": "C1"}]})),
            Some("C1".into())
        );
        assert_eq!(lookup_case_number(&json!([])), None);
        assert_eq!(lookup_case_number(&Value::Null), None);
    }
}
