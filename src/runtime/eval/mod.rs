//! Evaluation of compiled plans, with no I/O and no clock (the time is passed in):
//!
//! - a create template + a Connect case → the CreateCase body and the contact fields;
//! - the incoming templates of a reference + an Aurora snapshot + the case → field writes.
//!
//! [`PreparedBundle::new`] prepares a bundle once (tables indexed, literals parsed, names
//! resolved, JSON keys pre-escaped); evaluation then writes the body straight into a byte
//! buffer ([`PreparedBundle::create_body`]). A mapping that cannot be evaluated is an
//! [`EvalFailure`] naming the template, `file:line`, the mapping and the reason.

pub mod builtins;
mod evaluator;
mod failure;
pub mod json;
pub mod prepare;
pub mod value;

pub use failure::EvalFailure;
pub use json::append_fields;
pub use prepare::{PrepareError, PreparedBundle, TemplateId};
pub use value::Scalar;

use crate::plan::{Bundle, TemplatePlan};
use crate::runtime::case::Case;
use crate::syntax::ast::TemplateKind;
use evaluator::Cx;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The fields of the contact to find or create for the case (`contact.*` targets).
pub type Contact = Map<String, Value>;

/// What a create template produces for one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    pub template: String,
    /// The reference that will hold the new Aurora case number.
    pub reference: String,
    /// The CreateCase body. The caller adds `contactId` and `attachments`.
    pub body: Map<String, Value>,
    pub contact: Contact,
}

/// One Connect value to write back from an Aurora case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub target: WriteTarget,
    /// Text, a number, a bool, or a date/datetime as text.
    pub value: Value,
}

/// Where a [`FieldWrite`] goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteTarget {
    /// `field.<name>`
    Field(String),
    /// `date.<name>`
    Date(String),
}

impl PreparedBundle {
    /// Evaluates a create template and writes the CreateCase body (a JSON object) into
    /// `out`; returns the contact fields. Empty optional values are left out; UDFs are
    /// written under `udf_wire.field` after the other fields. `out` is appended to, and
    /// left as it was on failure.
    pub fn create_body(
        &self,
        id: TemplateId,
        case: &Case,
        now: Timestamp,
        out: &mut Vec<u8>,
    ) -> Result<Contact, EvalFailure> {
        let t = self.template(id);
        if t.kind != TemplateKind::Create {
            return Err(EvalFailure::template(
                &t.name,
                &t.location,
                "this is an incoming template; only a create template makes a CreateCase request",
            ));
        }
        let cx = Cx {
            plan: self,
            t,
            case,
            snapshot: None,
            now,
        };
        let start = out.len();
        let mut contact = Map::new();
        match cx.write_create(out, &mut contact) {
            Ok(()) => Ok(contact),
            Err((index, why)) => {
                out.truncate(start);
                let (index, why) = cx.first_create_failure().unwrap_or((index, why));
                Err(cx.mapping_failure(index, &why))
            }
        }
    }

    /// Evaluates a create template into a [`CreateRequest`].
    pub fn create(
        &self,
        id: TemplateId,
        case: &Case,
        now: Timestamp,
    ) -> Result<CreateRequest, EvalFailure> {
        let mut out = Vec::with_capacity(512);
        let contact = self.create_body(id, case, now, &mut out)?;
        let t = self.template(id);
        let body = serde_json::from_slice::<Map<String, Value>>(&out).map_err(|e| {
            EvalFailure::template(
                &t.name,
                &t.location,
                format!("the request body is not valid JSON: {e}"),
            )
        })?;
        Ok(CreateRequest {
            template: t.name.clone(),
            reference: t.reference.clone(),
            body,
            contact,
        })
    }

    /// Evaluates every incoming template of `reference` (in file order, then source order)
    /// against a snapshot: one write per mapping whose value is not empty. The first
    /// failure stops the whole update.
    pub fn incoming(
        &self,
        reference: &str,
        snapshot: &Value,
        case: &Case,
        now: Timestamp,
    ) -> Result<Vec<FieldWrite>, EvalFailure> {
        let mut writes = Vec::new();
        for &i in self.incoming_of(reference) {
            let t = &self.templates[i];
            let cx = Cx {
                plan: self,
                t,
                case,
                snapshot: Some(snapshot),
                now,
            };
            for (index, m) in t.mappings.iter().enumerate() {
                let v = cx
                    .eval(m.value)
                    .map_err(|f| cx.mapping_failure(index as u32, &f.into()))?;
                if v.is_empty() {
                    continue;
                }
                let target = match &m.target {
                    prepare::PTarget::Field { name } => WriteTarget::Field(name.to_string()),
                    prepare::PTarget::Date { name } => WriteTarget::Date(name.to_string()),
                    _ => continue,
                };
                writes.push(FieldWrite {
                    target,
                    value: v.to_json(),
                });
            }
        }
        Ok(writes)
    }
}

fn prepare(bundle: &Bundle, template: &str, location: &str) -> Result<PreparedBundle, EvalFailure> {
    PreparedBundle::new(bundle)
        .map_err(|e| EvalFailure::template(template, location, e.to_string()))
}

/// Evaluates a create template of a bundle against a case (preparing the bundle first; a
/// service evaluating many cases keeps a [`PreparedBundle`] instead).
pub fn evaluate_create(
    bundle: &Bundle,
    template: &TemplatePlan,
    case: &Case,
    now: Timestamp,
) -> Result<CreateRequest, EvalFailure> {
    let prepared = prepare(bundle, &template.name, &template.location)?;
    let id = bundle
        .templates
        .iter()
        .position(|t| std::ptr::eq(t, template))
        .map(TemplateId)
        .or_else(|| prepared.template_id(&template.name))
        .ok_or_else(|| {
            EvalFailure::template(
                &template.name,
                &template.location,
                "the template is not in this plan bundle",
            )
        })?;
    prepared.create(id, case, now)
}

/// Evaluates the incoming templates of `reference` against a snapshot (the PascalCase
/// return-path body) and the case.
pub fn evaluate_incoming(
    bundle: &Bundle,
    reference: &str,
    snapshot: &Value,
    case: &Case,
    now: Timestamp,
) -> Result<Vec<FieldWrite>, EvalFailure> {
    prepare(bundle, "", "")?.incoming(reference, snapshot, case, now)
}

#[cfg(test)]
mod tests;
