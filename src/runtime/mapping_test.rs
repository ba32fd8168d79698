//! Mapping tests: a case (or a snapshot) in, the expected request (or field writes) out.
//! `docs/testing.md` describes the format; this module is its pure part: reading a test
//! file, comparing an outcome with an expectation, the diff shown on failure, and the
//! expectation written by `--bless`. The command line reads and writes the files.
//!
//! A test file is TOML with one `[[test]]` table per test:
//!
//! ```toml
//! [[test]]
//! name = "a pothole on the pavement goes to the footway queue"
//! template = "Pothole report"
//! case = "../cases/pothole.json"         # a JSON file, relative to this file, or a table
//! patch = { fields = { surface = "pavement" } }  # optional: merged into the case
//! snapshot = "../snapshots/closed.json"  # optional: test the incoming templates instead
//! now = "2025-12-02T10:00:00Z"           # optional: what now() returns
//! expect = "expected/footway.json"       # optional: a JSON file or a table;
//!                                        # default: expected/<the name as a slug>.json
//! ```

use super::preview::pretty;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The sections an expectation may hold; each one present must equal the outcome's.
pub const SECTIONS: [&str; 5] = ["request", "contact", "udfs", "writes", "failure"];

/// What `now()` returns in a test that does not set `now`.
pub const DEFAULT_NOW: &str = "1970-01-01T00:00:00Z";

/// A value given as a file (a path relative to the test file) or inline.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    File(String),
    Inline(Value),
}

/// One mapping test.
#[derive(Clone, Debug, PartialEq)]
pub struct MappingTest {
    pub name: String,
    pub template: String,
    /// The case; `None` only with a snapshot (the incoming templates then see an empty case).
    pub case: Option<Input>,
    /// A JSON merge patch (RFC 7396) applied to the case before it is read.
    pub patch: Option<Value>,
    pub snapshot: Option<Input>,
    pub now: Timestamp,
    /// The expectation; by default the file `expected/<slug of the name>.json`.
    pub expect: Input,
    /// The line of the test's `[[test]]` header (1-based).
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    test: Vec<toml::Spanned<RawTest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    template: String,
    case: Option<toml::Value>,
    patch: Option<toml::Value>,
    snapshot: Option<toml::Value>,
    now: Option<toml::Value>,
    expect: Option<toml::Value>,
}

/// Reads a test file. Errors name the line.
pub fn parse_file(text: &str) -> Result<Vec<MappingTest>, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        match line {
            Some(l) => format!("line {l}: {}", e.message().trim_end()),
            None => e.message().trim_end().to_string(),
        }
    })?;
    if raw.test.is_empty() {
        return Err("it holds no tests (each test is a [[test]] table)".to_string());
    }
    let mut tests = Vec::with_capacity(raw.test.len());
    for spanned in raw.test {
        let line = line_of(text, spanned.span().start);
        let t = spanned.into_inner();
        let at = |what: String| format!("line {line}: test \"{}\": {what}", t.name);
        if t.name.trim().is_empty() {
            return Err(format!("line {line}: a test needs a name"));
        }
        let input = |v: Option<toml::Value>, what: &str| -> Result<Option<Input>, String> {
            match v {
                None => Ok(None),
                Some(toml::Value::String(path)) => Ok(Some(Input::File(path))),
                Some(v @ toml::Value::Table(_)) => Ok(Some(Input::Inline(toml_to_json(v)))),
                Some(other) => Err(at(format!(
                    "`{what}` is a file name or a table, not {}",
                    other.type_str()
                ))),
            }
        };
        let case = input(t.case, "case")?;
        let snapshot = input(t.snapshot, "snapshot")?;
        if case.is_none() && snapshot.is_none() {
            return Err(at(
                "give a `case` (or a `snapshot` for incoming templates)".into()
            ));
        }
        let patch = match t.patch {
            None => None,
            Some(v @ toml::Value::Table(_)) => Some(toml_to_json(v)),
            Some(other) => {
                return Err(at(format!("`patch` is a table, not {}", other.type_str())));
            }
        };
        if patch.is_some() && case.is_none() {
            return Err(at("`patch` changes the case, but there is no `case`".into()));
        }
        let now = match t.now {
            None => DEFAULT_NOW.parse().map_err(|e| format!("{e}"))?,
            Some(v) => {
                let text = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Datetime(d) => d.to_string(),
                    other => {
                        return Err(at(format!("`now` is a time, not {}", other.type_str())));
                    }
                };
                text.parse::<Timestamp>().map_err(|_| {
                    at(format!(
                        "`now` = \"{text}\" is not an RFC 3339 time such as 2025-12-02T10:00:00Z"
                    ))
                })?
            }
        };
        let expect = match input(t.expect, "expect")? {
            Some(Input::Inline(v)) => {
                check_expectation(&v).map_err(at)?;
                Input::Inline(v)
            }
            Some(file) => file,
            None => Input::File(format!("expected/{}.json", slug(&t.name))),
        };
        tests.push(MappingTest {
            name: t.name,
            template: t.template,
            case,
            patch,
            snapshot,
            now,
            expect,
            line,
        });
    }
    Ok(tests)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1
}

/// A file name from a test name: lower case letters and digits, runs of anything else as
/// one `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("test");
    }
    out
}

/// A TOML value as JSON (times as their RFC 3339 text).
pub fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// Applies a JSON merge patch (RFC 7396): objects merge key by key, `null` removes a key,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (k, v) in changes {
            if v.is_null() {
                map.remove(k);
            } else {
                merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// An expectation is an object of [`SECTIONS`], at least one.
pub fn check_expectation(v: &Value) -> Result<(), String> {
    let Value::Object(map) = v else {
        return Err("an expectation is a JSON object".into());
    };
    if let Some(k) = map.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        return Err(format!(
            "the expectation has an unknown section `{k}` (the sections are {})",
            SECTIONS.join(", ")
        ));
    }
    if map.is_empty() {
        return Err(format!(
            "the expectation is empty (give one of {})",
            SECTIONS.join(", ")
        ));
    }
    Ok(())
}

/// The sections an outcome is recorded with when nothing else was asked for.
fn default_sections(actual: &Value) -> &'static [&'static str] {
    if actual.get("failure").is_some() {
        &["failure"]
    } else if actual.get("writes").is_some() {
        &["writes"]
    } else {
        &["request", "contact"]
    }
}

/// The part of `actual` that `expected` speaks about: its sections; but a failure where
/// success was expected (or the other way round) shows what came out instead.
fn relevant(expected: &Map<String, Value>, actual: &Value) -> Map<String, Value> {
    let failed = actual.get("failure").is_some();
    let expects_failure = expected.contains_key("failure");
    let keys: Vec<&str> = if failed != expects_failure {
        default_sections(actual).to_vec()
    } else {
        SECTIONS
            .iter()
            .copied()
            .filter(|k| expected.contains_key(*k))
            .collect()
    };
    let mut out = Map::new();
    for k in keys {
        if let Some(v) = actual.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    out
}

/// Compares an outcome with an expectation: `Ok` when every section of the expectation
/// equals the outcome's (object keys in any order), else a unified diff of the two as
/// pretty JSON (`-` expected, `+` actual).
pub fn compare(expected: &Value, actual: &Value) -> Result<(), String> {
    let Value::Object(expected) = expected else {
        return Err("the expectation is not a JSON object".into());
    };
    let got = Value::Object(relevant(expected, actual));
    let mut want = Value::Object(expected.clone());
    if want == got {
        return Ok(());
    }
    order_like(&mut want, &got);
    Err(diff(&pretty(&want), &pretty(&got)))
}

/// Reorders the keys of `v`'s objects to follow `like`'s where both have them, so that
/// a diff shows only real differences. Keys `like` lacks go last.
fn order_like(v: &mut Value, like: &Value) {
    match (v, like) {
        (Value::Object(m), Value::Object(l)) => {
            let mut old = std::mem::take(m);
            for (k, lv) in l {
                if let Some(mut x) = old.remove(k) {
                    order_like(&mut x, lv);
                    m.insert(k.clone(), x);
                }
            }
            m.extend(old);
        }
        (Value::Array(a), Value::Array(l)) => {
            for (x, lx) in a.iter_mut().zip(l) {
                order_like(x, lx);
            }
        }
        _ => {}
    }
}

/// A unified line diff, three lines of context.
pub fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// The expectation `--bless` records: the sections the previous expectation had (when the
/// outcome still has them), else the outcome's default sections.
pub fn blessed(previous: Option<&Value>, actual: &Value) -> Value {
    let kept: Map<String, Value> = match previous {
        Some(Value::Object(prev)) => relevant(prev, actual),
        _ => Map::new(),
    };
    if !kept.is_empty() {
        return Value::Object(kept);
    }
    let mut out = Map::new();
    for k in default_sections(actual) {
        if let Some(v) = actual.get(*k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_test_file_reads_with_defaults() {
        let tests = parse_file(
            r#"
# comment
[[test]]
name = "A pothole, on the road!"
template = "Pothole report"
case = "../cases/pothole.json"
patch = { fields = { surface = "pavement" } }

[[test]]
name = "closed"
template = "Pothole progress"
snapshot = { Message = { CaseNumber = "C1" } }
now = 2025-12-02T10:00:00Z
expect = { writes = { "field.aurora_status" = "Closed" } }
"#,
        )
        .unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].line, 3);
        assert_eq!(
            tests[0].case,
            Some(Input::File("../cases/pothole.json".into()))
        );
        assert_eq!(
            tests[0].patch,
            Some(json!({"fields": {"surface": "pavement"}}))
        );
        assert_eq!(
            tests[0].expect,
            Input::File("expected/a-pothole-on-the-road.json".into())
        );
        assert_eq!(tests[0].now.to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(tests[1].line, 9);
        assert_eq!(tests[1].case, None);
        assert_eq!(
            tests[1].snapshot,
            Some(Input::Inline(json!({"Message": {"CaseNumber": "C1"}})))
        );
        assert_eq!(tests[1].now.to_string(), "2025-12-02T10:00:00Z");
        assert_eq!(
            tests[1].expect,
            Input::Inline(json!({"writes": {"field.aurora_status": "Closed"}}))
        );
    }

    #[test]
    fn mistakes_in_a_test_file_name_the_line() {
        let err = |text: &str| parse_file(text).unwrap_err();
        assert_eq!(
            err("[[test]]\nname = \"x\"\ntemplate = \"T\"\n"),
            "line 1: test \"x\": give a `case` (or a `snapshot` for incoming templates)"
        );
        assert!(
            err("[[test]]\nname = \"x\"\ntemplate = \"T\"\ncase = \"c.json\"\nexpected = \"e.json\"\n")
                .starts_with("line 5: unknown field `expected`"),
        );
        assert_eq!(
            err("[[test]]\nname = \"x\"\ntemplate = \"T\"\ncase = 3\n"),
            "line 1: test \"x\": `case` is a file name or a table, not integer"
        );
        assert_eq!(
            err(
                "[[test]]\nname = \"x\"\ntemplate = \"T\"\ncase = \"c.json\"\nnow = \"tomorrow\"\n"
            ),
            "line 1: test \"x\": `now` = \"tomorrow\" is not an RFC 3339 time such as 2025-12-02T10:00:00Z"
        );
        assert_eq!(
            err(
                "[[test]]\nname = \"x\"\ntemplate = \"T\"\ncase = \"c.json\"\nexpect = { body = 1 }\n"
            ),
            "line 1: test \"x\": the expectation has an unknown section `body` (the sections are request, contact, udfs, writes, failure)"
        );
        assert_eq!(
            err("# nothing\n"),
            "it holds no tests (each test is a [[test]] table)"
        );
        assert!(err("[[test]\n").starts_with("line 1: "));
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("A pothole, on the road!"), "a-pothole-on-the-road");
        assert_eq!(slug("  --  "), "test");
        assert_eq!(slug("Straße 7"), "straße-7");
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut v,
            &json!({"a": null, "b": {"c": 4}, "e": {"x": 1}, "f": "new"}),
        );
        assert_eq!(v, json!({"b": {"c": 4, "d": 3}, "e": {"x": 1}, "f": "new"}));
    }

    #[test]
    fn only_the_expected_sections_are_compared() {
        let actual = json!({
            "template": "T",
            "request": {"a": 1, "b": "x"},
            "contact": {"firstName": "Ann"},
            "udfs": {"H": "L"}
        });
        assert_eq!(compare(&json!({"udfs": {"H": "L"}}), &actual), Ok(()));
        assert_eq!(
            compare(
                &json!({"request": {"b": "x", "a": 1}, "contact": {"firstName": "Ann"}}),
                &actual
            ),
            Ok(())
        );
        let d = compare(&json!({"request": {"b": "y", "a": 1}}), &actual).unwrap_err();
        assert_eq!(
            d,
            "--- expected\n+++ actual\n@@ -1,6 +1,6 @@\n {\n   \"request\": {\n     \"a\": 1,\n-    \"b\": \"y\"\n+    \"b\": \"x\"\n   }\n }\n"
        );
    }

    #[test]
    fn a_failure_where_success_was_expected_shows_the_failure() {
        let actual = json!({"template": "T", "failure": {"location": "t.amap:3", "mapping": "m", "reason": "r"}});
        let d = compare(&json!({"udfs": {}}), &actual).unwrap_err();
        assert!(d.contains("-  \"udfs\": {}\n+  \"failure\": {"), "{d}");
        let ok = json!({"template": "T", "request": {}, "contact": {}, "udfs": {}});
        let d = compare(&json!({"failure": {"reason": "r"}}), &ok).unwrap_err();
        assert!(
            d.contains("+  \"request\": {},\n+  \"contact\": {}\n"),
            "{d}"
        );
    }

    #[test]
    fn bless_keeps_the_sections_asked_for() {
        let actual =
            json!({"template": "T", "request": {"a": 1}, "contact": {}, "udfs": {"H": "L"}});
        assert_eq!(
            blessed(None, &actual),
            json!({"request": {"a": 1}, "contact": {}})
        );
        assert_eq!(
            blessed(Some(&json!({"udfs": {"H": "M"}})), &actual),
            json!({"udfs": {"H": "L"}})
        );
        let failed = json!({"template": "T", "failure": {"reason": "r"}});
        assert_eq!(
            blessed(Some(&json!({"udfs": {}})), &failed),
            json!({"failure": {"reason": "r"}})
        );
        let writes = json!({"reference": "r", "templates": [], "writes": {"field.a": 1}});
        assert_eq!(blessed(None, &writes), json!({"writes": {"field.a": 1}}));
    }
}
