//! `GET/PUT /v1/settings`: the Aurora integration's settings, secrets redacted on read.
//!
//! A PUT that enables the integration first builds a client from the new settings and runs the
//! token grant with them; if the grant fails the answer is 422 with the reason and nothing is
//! saved or replaced. A secret left out, or sent back as `***`, keeps the one in force.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult, Detail};
use super::extract::JsonBody;
use super::validate::{count, member};
use crate::runtime::aurora::{AuroraClient, AuroraSettings};
use crate::service::redact::redact;
use crate::service::settings::{REDACTED, StoredAurora, save_aurora, stored_aurora};

const SECRETS: &[&str] = &["client_secret", "password"];

fn view(enabled: bool, settings: Option<&AuroraSettings>, source: Option<&str>) -> Value {
    json!({
        "enabled": enabled,
        "aurora": settings.map(AuroraSettings::redacted),
        "source": source,
    })
}

/// Settings with every member set to a value that fits, to check one given member at a time.
fn placeholder() -> Map<String, Value> {
    let settings = AuroraSettings::new(
        "http://127.0.0.1/",
        "http://127.0.0.1/",
        "client",
        "secret",
        "user",
        "password",
    );
    match serde_json::to_value(settings) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Members of the Aurora settings that have no default.
const REQUIRED: &[&str] = &["identity_url", "api_url", "client_id", "username"];

/// Reads the `aurora` member, reporting each problem at its own path: unknown members (with a
/// suggestion), missing required ones, and values of the wrong type.
fn aurora_settings(given: Map<String, Value>, details: &mut Vec<Detail>) -> Option<AuroraSettings> {
    let template = placeholder();
    for (key, value) in &given {
        let path = member("$.aurora", key);
        if !template.contains_key(key) {
            details.push(Detail::new(
                path,
                format!(
                    "is not an Aurora setting{}; the settings are {}",
                    super::error::did_you_mean(key, template.keys().map(String::as_str)),
                    template
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        }
        let mut one = template.clone();
        one.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<AuroraSettings>(Value::Object(one)) {
            let shown = if SECRETS.contains(&key.as_str()) {
                "is not text".to_owned()
            } else {
                redact(&e.to_string())
            };
            details.push(Detail::new(path, shown));
        }
    }
    for key in REQUIRED {
        if !given.contains_key(*key) {
            details.push(Detail::new(member("$.aurora", key), "is required"));
        }
    }
    if !details.is_empty() {
        return None;
    }
    match serde_json::from_value::<AuroraSettings>(Value::Object(given)) {
        Ok(settings) => Some(settings),
        Err(e) => {
            details.push(Detail::new("$.aurora", redact(&e.to_string())));
            None
        }
    }
}

/// The path of the member a settings problem names, else `$.aurora`.
fn settings_path(message: &str) -> String {
    placeholder()
        .keys()
        .find(|k| message.contains(k.as_str()))
        .map_or_else(|| "$.aurora".to_owned(), |k| member("$.aurora", k))
}

/// `GET /v1/settings`: the saved settings, or those in force from the configuration file.
pub(crate) async fn get_settings(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    if let Some(saved) = stored_aurora(&state.ctx.store).await? {
        return Ok(Json(view(
            saved.enabled,
            saved.settings.as_ref(),
            Some("api"),
        )));
    }
    Ok(Json(match state.ctx.aurora.get() {
        Some(client) => view(true, Some(client.settings()), Some("configuration")),
        None => view(false, None, None),
    }))
}

fn invalid(details: Vec<Detail>) -> ApiError {
    ApiError::unprocessable("invalid_settings", count("the settings request", &details))
        .with_details(details)
}

/// `PUT /v1/settings`: `{"enabled": true, "aurora": {…}}`.
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let Value::Object(obj) = body else {
        return Err(invalid(vec![Detail::new(
            "$",
            "the settings are an object: {\"enabled\": true, \"aurora\": {…}}",
        )]));
    };
    let mut details = Vec::new();
    let mut enabled = None;
    let mut given: Option<Map<String, Value>> = None;
    for (key, v) in &obj {
        let path = member("$", key);
        match (key.as_str(), v) {
            ("enabled", Value::Bool(b)) => enabled = Some(*b),
            ("enabled", _) => details.push(Detail::new(path, "is not true or false")),
            ("aurora", Value::Object(o)) => given = Some(o.clone()),
            ("aurora", Value::Null) => {}
            ("aurora", _) => details.push(Detail::new(path, "is not an object of Aurora settings")),
            _ => details.push(Detail::new(
                path,
                format!(
                    "is not a setting{}; the settings are enabled and aurora",
                    super::error::did_you_mean(key, ["enabled", "aurora"])
                ),
            )),
        }
    }
    if !obj.contains_key("enabled") {
        details.push(Detail::new("$.enabled", "is required (true or false)"));
    }
    let saved = stored_aurora(&state.ctx.store).await?;
    // The settings whose secrets a `***` keeps: the saved ones, else those in force.
    let base: Option<AuroraSettings> = saved
        .as_ref()
        .and_then(|s| s.settings.clone())
        .or_else(|| state.ctx.aurora.get().map(|c| c.settings().clone()));
    let settings = match given {
        Some(mut given) => {
            for secret in SECRETS {
                let keep = match given.get(*secret) {
                    None => true,
                    Some(Value::String(s)) => s == REDACTED,
                    Some(_) => false,
                };
                if keep {
                    let kept = base.as_ref().map(|b| match *secret {
                        "client_secret" => b.client_secret.expose().to_owned(),
                        _ => b.password.expose().to_owned(),
                    });
                    match kept {
                        Some(value) => {
                            given.insert((*secret).to_owned(), Value::String(value));
                        }
                        None => details.push(Detail::new(
                            member("$.aurora", secret),
                            "is required: there is no saved value to keep",
                        )),
                    }
                }
            }
            aurora_settings(given, &mut details)
        }
        None => saved.as_ref().and_then(|s| s.settings.clone()),
    };
    let enabled = enabled.unwrap_or(false);
    if details.is_empty() && enabled && settings.is_none() {
        details.push(Detail::new(
            "$.aurora",
            "is required to enable the integration (no settings are saved)",
        ));
    }
    if !details.is_empty() {
        return Err(invalid(details));
    }
    let client = match &settings {
        Some(s) => Some(AuroraClient::new(s.clone()).map_err(|e| {
            let message = redact(&e.to_string());
            invalid(vec![Detail::new(settings_path(&message), message)])
        })?),
        None => None,
    };
    if enabled
        && let Some(client) = &client
        && let Err(e) = client.verify_credentials().await
    {
        let code = if e.is_authentication() {
            "aurora_credentials_refused"
        } else {
            "aurora_unreachable"
        };
        return Err(ApiError::unprocessable(
            code,
            format!(
                "the token grant with these settings failed, so nothing was saved: {}",
                redact(&e.to_string())
            ),
        ));
    }
    let stored = StoredAurora {
        enabled,
        settings: settings.clone(),
    };
    save_aurora(&state.ctx.store, &stored).await?;
    state
        .ctx
        .aurora
        .replace(if enabled { client } else { None });
    Ok(Json(view(enabled, settings.as_ref(), Some("api"))))
}
