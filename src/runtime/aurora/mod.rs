//! The Symology Aurora client: token grant and cache, the Cases API calls, and the return path
//! (snapshots that Aurora writes to an Azure blob container).
//!
//! What is confirmed about Aurora and what is configurable guesswork is listed in
//! `docs/aurora.md`.

mod client;
mod contact;
mod error;
pub mod returns;
mod settings;
mod token;

pub use client::{AttachmentRef, AuroraClient, install_crypto_provider};
pub use contact::{
    ContactId, ContactMatch, ContactOutcome, NewContact, PhoneKind, normalise_phone,
};
pub use error::{AuroraError, Call, FieldProblem};
pub use settings::{
    AuroraSettings, DEFAULT_SCOPE, DEFAULT_SYSTEM_CODE_HEADER, DEFAULT_SYSTEM_CODE_QUERY,
    DEFAULT_TOKEN_PATH, Secret, SystemCodeIn, fill_path, join_url, percent_encode,
};
pub use token::AccessToken;
