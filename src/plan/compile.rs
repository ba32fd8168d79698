//! Packing checked templates into a plan bundle.

use super::bundle::*;
use crate::check::{Checked, Env};
use crate::diagnostics::SourceMap;

/// What `compile` needs besides the checked project.
pub struct CompileInput<'a> {
    pub checked: &'a Checked,
    pub env: Env<'a>,
    /// The sources the diagnostics and spans refer to (templates and schemas).
    pub sources: &'a SourceMap,
    /// SHA-256 (hex) of the Aurora and Connect schema texts.
    pub schemas: SchemaHashes,
}

/// Builds the bundle. Call only when `checked` has no errors.
pub fn compile(input: &CompileInput<'_>) -> Bundle {
    let _ = input;
    Bundle {
        format: FORMAT.to_string(),
        schemas: input.schemas.clone(),
        sources: Vec::new(),
        udf_wire: input.env.aurora.udf_wire.clone(),
        udfs: Vec::new(),
        tables: Vec::new(),
        templates: Vec::new(),
    }
}
