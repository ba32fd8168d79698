//! SARIF 2.1.0 for GitHub code scanning: one run, a rule for each code that was reported
//! (summary as the short description, the explanation as the full description and help),
//! one result per diagnostic with its secondary labels as related locations.

use super::{Region, file_name};
use crate::diagnostics::{Code, Diagnostic, Location, Severity, SourceMap};
use serde_json::{Value, json};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where users learn about the tool: the package's repository or home page, when declared.
fn information_uri() -> Option<&'static str> {
    [
        option_env!("CARGO_PKG_REPOSITORY"),
        option_env!("CARGO_PKG_HOMEPAGE"),
    ]
    .into_iter()
    .flatten()
    .find(|uri| !uri.is_empty())
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The SARIF log as pretty-printed JSON, ending in a newline. File names are used as
/// relative URIs (with `/` separators).
pub fn sarif(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();

    let rules: Vec<Value> = codes.iter().map(|&code| rule(code)).collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let rule_index = codes.binary_search(&d.code).unwrap_or_default();
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": rule_index,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [ { "physicalLocation": physical(sources, d.primary) } ],
            });
            if !d.labels.is_empty() {
                let related: Vec<Value> = d
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        json!({
                            "id": i,
                            "physicalLocation": physical(sources, l.location),
                            "message": { "text": l.message },
                        })
                    })
                    .collect();
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();

    let mut driver = json!({
        "name": "amap",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
    });
    if let Some(uri) = information_uri() {
        driver["informationUri"] = Value::String(uri.to_string());
    }
    driver["rules"] = Value::Array(rules);

    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [ {
            "tool": { "driver": driver },
            "columnKind": "unicodeCodePoints",
            "results": results,
        } ],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

fn rule(code: Code) -> Value {
    let explanation = code.explanation();
    json!({
        "id": code.as_str(),
        "name": rule_name(code.summary()),
        "shortDescription": { "text": code.summary() },
        "fullDescription": { "text": first_paragraph(explanation) },
        "help": { "text": explanation, "markdown": explanation },
        "defaultConfiguration": { "level": level(code.severity()) },
    })
}

/// A rule's `name`: the summary in UpperCamelCase, letters and digits only.
fn rule_name(summary: &str) -> String {
    summary
        .replace('\'', "")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The explanation's first paragraph (what the code means), for the full description.
fn first_paragraph(text: &str) -> String {
    let paragraph = text.trim().split("\n\n").next().unwrap_or_default();
    paragraph.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn physical(sources: &SourceMap, location: Location) -> Value {
    let r = Region::of(sources, location);
    json!({
        "artifactLocation": { "uri": file_name(sources, location.file).replace('\\', "/") },
        "region": {
            "startLine": r.line,
            "startColumn": r.column,
            "endLine": r.end_line,
            "endColumn": r.end_column,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(
            rule_name("optional value into a required target"),
            "OptionalValueIntoARequiredTarget"
        );
        assert_eq!(rule_name("`!` or `??` on a value"), "OrOnAValue");
        assert_eq!(
            rule_name("the target's `max_length`"),
            "TheTargetsMaxLength"
        );
    }

    #[test]
    fn full_description_is_the_first_paragraph() {
        assert_eq!(first_paragraph("One\ntwo.\n\nThree."), "One two.");
    }
}
