//! Renderers: the same diagnostics as rustc-like text, JSON, GitHub annotations or SARIF.
