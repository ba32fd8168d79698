//! The integration service: the store (cases, attachments, references, the durable job queue, the
//! integration log, settings), the retry policy and the worker pool that runs jobs.
//!
//! Everything the service keeps goes through [`store::Store`]; jobs are run by
//! [`worker::run_workers`] with a [`worker::JobHandler`] that reports an [`worker::Outcome`] per
//! attempt; [`retry::RetryPolicy`] decides when a transient failure is tried again.

pub mod app;
pub mod aurora_slot;
pub mod config;
pub mod flows;
pub mod http;
pub mod payload;
pub mod poller;
pub mod redact;
pub mod retry;
pub mod settings;
pub mod store;
pub mod updates;
pub mod worker;
