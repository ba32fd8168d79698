//! The Aurora client the service currently uses. The settings PUT replaces it (after the token
//! grant succeeded with the new settings); jobs take the client in force when their attempt starts.

use std::sync::{Arc, PoisonError, RwLock};

use crate::runtime::aurora::AuroraClient;

/// A shared, replaceable Aurora client. Cloning shares the slot.
#[derive(Clone, Debug, Default)]
pub struct AuroraSlot(Arc<RwLock<Option<Arc<AuroraClient>>>>);

impl AuroraSlot {
    /// A slot holding `client`.
    pub fn new(client: Option<AuroraClient>) -> AuroraSlot {
        AuroraSlot(Arc::new(RwLock::new(client.map(Arc::new))))
    }

    /// The client in force, or `None` while the integration is not configured.
    pub fn get(&self) -> Option<Arc<AuroraClient>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `client` in force for the attempts that start from now on.
    pub fn replace(&self, client: Option<AuroraClient>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = client.map(Arc::new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::aurora::AuroraSettings;

    #[test]
    fn a_replaced_client_is_seen_by_every_clone() {
        let slot = AuroraSlot::default();
        let seen_by_jobs = slot.clone();
        assert!(seen_by_jobs.get().is_none());
        let settings = AuroraSettings::new(
            "http://127.0.0.1:9/identity",
            "http://127.0.0.1:9/api",
            "client",
            "client-secret",
            "user",
            "password",
        );
        slot.replace(Some(AuroraClient::new(settings).expect("client")));
        let client = seen_by_jobs.get().expect("client in force");
        assert_eq!(client.settings().client_id, "client");
        slot.replace(None);
        assert!(seen_by_jobs.get().is_none());
    }
}
