//! The Aurora settings as the service keeps them: saved by `PUT /v1/settings` in the store's
//! settings table (one setting, `aurora`), and read at start, where settings saved through the
//! API win over the `[aurora]` table of `amap.toml`.
//!
//! The stored value holds the secrets (the service needs them to ask for tokens); showing it is
//! always through [`AuroraSettingsView`], which replaces every secret by [`REDACTED`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runtime::aurora::AuroraSettings;
use crate::service::store::{Store, StoreError, StoreResult};

/// The name of the setting in the store.
pub const AURORA_SETTING: &str = "aurora";

/// What a secret is shown as; sent back in a PUT it means "keep the stored one".
pub const REDACTED: &str = "***";

/// The Aurora integration as saved through the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredAurora {
    /// Whether the service sends cases to Aurora with these settings.
    pub enabled: bool,
    /// The connection settings; `None` when only the switch was saved.
    pub settings: Option<AuroraSettings>,
}

/// The settings as shown by `GET /v1/settings`: secrets redacted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuroraSettingsView {
    /// Whether the integration is enabled.
    pub enabled: bool,
    /// The connection settings with `client_secret` and `password` shown as `***`.
    pub aurora: Option<AuroraSettings>,
}

impl StoredAurora {
    /// The view for showing.
    pub fn view(&self) -> AuroraSettingsView {
        AuroraSettingsView {
            enabled: self.enabled,
            aurora: self.settings.as_ref().map(AuroraSettings::redacted),
        }
    }
}

/// The Aurora integration saved through the API, if it ever was.
pub async fn stored_aurora(store: &Store) -> StoreResult<Option<StoredAurora>> {
    let Some(value) = store.get_setting(AURORA_SETTING).await? else {
        return Ok(None);
    };
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("setting {AURORA_SETTING}: {e}")))
}

/// The Aurora settings saved through the API when they are enabled; these win over
/// `amap.toml`'s `[aurora]` table at start. `None` when nothing was saved or the saved
/// integration is disabled (use [`stored_aurora`] to tell the two apart).
pub async fn stored_aurora_settings(store: &Store) -> StoreResult<Option<AuroraSettings>> {
    Ok(stored_aurora(store)
        .await?
        .filter(|s| s.enabled)
        .and_then(|s| s.settings))
}

/// Saves the Aurora integration.
pub async fn save_aurora(store: &Store, aurora: &StoredAurora) -> StoreResult<()> {
    let value: Value = serde_json::to_value(aurora)
        .map_err(|e| StoreError::Corrupt(format!("setting {AURORA_SETTING}: {e}")))?;
    store.put_settings(&[(AURORA_SETTING, &value)]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::StoreConfig;

    fn settings() -> AuroraSettings {
        AuroraSettings::new(
            "http://127.0.0.1:9/identity",
            "http://127.0.0.1:9/api",
            "client",
            "client-secret-value",
            "user",
            "password-value",
        )
    }

    #[tokio::test]
    async fn saved_settings_round_trip_and_show_no_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_sqlite(&dir.path().join("s.db"), StoreConfig::default())
            .await
            .expect("store");
        assert_eq!(stored_aurora(&store).await.expect("read"), None);
        let saved = StoredAurora {
            enabled: true,
            settings: Some(settings()),
        };
        save_aurora(&store, &saved).await.expect("save");
        assert_eq!(
            stored_aurora(&store).await.expect("read"),
            Some(saved.clone())
        );
        assert_eq!(
            stored_aurora_settings(&store).await.expect("read"),
            Some(settings())
        );
        let shown = serde_json::to_string(&saved.view()).expect("json");
        assert!(!shown.contains("client-secret-value"), "{shown}");
        assert!(!shown.contains("password-value"), "{shown}");
        assert!(shown.contains("\"***\""), "{shown}");
        save_aurora(
            &store,
            &StoredAurora {
                enabled: false,
                ..saved
            },
        )
        .await
        .expect("save");
        assert_eq!(stored_aurora_settings(&store).await.expect("read"), None);
    }
}
