//! The editor support files stay in step with the language: the VS Code extension's JSON files
//! parse, its manifest points at files that exist, and the TextMate grammar and the Vim syntax
//! name every keyword and path root of `grammar/amap.pest`.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The words of one rule of the pest grammar: the lowercase string literals of its body (up
/// to the next rule).
fn rule_words(pest: &str, rule: &str) -> Vec<String> {
    let start = pest
        .lines()
        .position(|l| l.starts_with(&format!("{rule} ")))
        .unwrap_or_else(|| panic!("no rule `{rule}` in grammar/amap.pest"));
    let mut body = String::new();
    for (i, line) in pest.lines().enumerate().skip(start) {
        if i > start && (line.trim().is_empty() || line.contains(" = ")) {
            break;
        }
        body.push_str(line);
        body.push('\n');
    }
    body.split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        .map(str::to_string)
        .collect()
}

/// Every keyword and path root the grammar reserves.
fn keywords() -> Vec<String> {
    let pest = read(&root().join("grammar/amap.pest"));
    let mut words = rule_words(&pest, "word_keyword");
    words.extend(rule_words(&pest, "root"));
    words.sort();
    words.dedup();
    words
}

/// The regular expressions (`match`, `begin`) of a TextMate grammar.
fn patterns(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("match" | "begin", Value::String(s)) => out.push(s.clone()),
                    _ => patterns(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| patterns(v, out)),
        _ => {}
    }
}

/// Whether `word` appears in `text` as a whole word (not inside a longer identifier).
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn the_grammar_keywords_are_read_from_the_pest_grammar() {
    let words = keywords();
    for want in [
        "create", "incoming", "table", "udf", "if", "exists", "aurora", "field",
    ] {
        assert!(words.iter().any(|w| w == want), "{want} not in {words:?}");
    }
    assert_eq!(words.len(), 22, "{words:?}");
}

#[test]
fn the_textmate_grammar_names_every_keyword() {
    let grammar = json(&root().join("editors/vscode/syntaxes/amap.tmLanguage.json"));
    assert_eq!(grammar["scopeName"], "source.amap");
    let mut regexes = Vec::new();
    patterns(&grammar, &mut regexes);
    let all = regexes.join("\n");
    let missing: Vec<String> = keywords()
        .into_iter()
        .filter(|w| !names_word(&all, w))
        .collect();
    assert!(
        missing.is_empty(),
        "the TextMate grammar does not name {missing:?}"
    );
    // Strings have `{…}` interpolation and escapes; `//` and `///` comments are scoped.
    let text = grammar.to_string();
    for scope in [
        "meta.interpolation.amap",
        "constant.character.escape.amap",
        "comment.line.double-slash.amap",
        "comment.line.documentation.amap",
        "constant.numeric.amap",
        "string.quoted.raw.amap",
    ] {
        assert!(text.contains(scope), "no {scope} in the TextMate grammar");
    }
}

#[test]
fn the_vim_syntax_names_every_keyword() {
    let syntax = read(&root().join("editors/vim/syntax/amap.vim"));
    let missing: Vec<String> = keywords()
        .into_iter()
        .filter(|w| !names_word(&syntax, w))
        .collect();
    assert!(missing.is_empty(), "editors/vim does not name {missing:?}");
}

#[test]
fn the_vscode_manifest_points_at_its_files() {
    let dir = root().join("editors/vscode");
    let manifest = json(&dir.join("package.json"));
    let language = &manifest["contributes"]["languages"][0];
    assert_eq!(language["id"], "amap");
    assert_eq!(language["extensions"], serde_json::json!([".amap"]));
    let grammar = &manifest["contributes"]["grammars"][0];
    assert_eq!(grammar["language"], "amap");
    assert_eq!(grammar["scopeName"], "source.amap");
    for file in [
        &language["configuration"],
        &grammar["path"],
        &manifest["main"],
    ] {
        let file = file.as_str().expect("a path");
        assert!(dir.join(file).is_file(), "package.json names {file}");
    }
    assert!(
        manifest["dependencies"]["vscode-languageclient"].is_string(),
        "the extension needs vscode-languageclient"
    );
    let config = json(&dir.join("language-configuration.json"));
    assert_eq!(config["comments"]["lineComment"], "//");
    let client = read(&dir.join("extension.js"));
    assert!(
        client.contains("vscode-languageclient") && client.contains("\"lsp\""),
        "extension.js starts `amap lsp` through the language client"
    );
}
