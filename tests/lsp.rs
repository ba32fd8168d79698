//! The language server as an editor sees it: `amap lsp` started as a process, spoken to in
//! JSON-RPC with `Content-Length` framing over its stdin and stdout.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications received while waiting for something else.
    notifications: Vec<Value>,
    next_id: i64,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_amap"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start amap lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming: rx,
            notifications: Vec::new(),
            next_id: 1,
        };
        let init = client.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        let caps = &init["result"]["capabilities"];
        assert!(caps["completionProvider"].is_object(), "{init}");
        assert_eq!(caps["hoverProvider"], json!(true), "{init}");
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn recv(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no message in time; notifications so far: {:#?}",
                self.notifications
            ),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let msg = self.recv(deadline);
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            if msg.get("method").is_some() && msg.get("id").is_none() {
                self.notifications.push(msg);
            }
        }
    }

    /// The first notification of `method` (already received or arriving) matching `want`.
    fn notification(&mut self, method: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method && want(&n["params"]))
        {
            return self.notifications.remove(i)["params"].clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let msg = self.recv(deadline);
            if msg["method"] == method && want(&msg["params"]) {
                return msg["params"].clone();
            }
            if msg.get("method").is_some() && msg.get("id").is_none() {
                self.notifications.push(msg);
            }
        }
    }

    fn diagnostics_for(&mut self, uri: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let params = self.notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && want(p["diagnostics"].as_array().map_or(&[], |v| v))
        });
        params["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "amap lsp exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "amap lsp did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

const TEMPLATE: &str = "/// Potholes from the website.\ncreate \"Pothole\" for ref.aurora_case {\n    aurora.caseTypeCode = \"P001\"\n    aurora.description  = field.sumary\n}\n";

/// A project folder with the fixture schemas and one template file.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema");
    std::fs::create_dir_all(dir.path().join("schema")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
    for name in ["aurora.toml", "connect.toml"] {
        std::fs::copy(fixtures.join(name), dir.path().join("schema").join(name)).expect("copy");
    }
    std::fs::write(
        dir.path().join("amap.toml"),
        "[project]\ntemplates = [\"templates/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n",
    )
    .expect("write amap.toml");
    let file = dir.path().join("templates/potholes.amap");
    std::fs::write(&file, TEMPLATE).expect("write template");
    (dir, file)
}

fn has_code(diags: &[Value], code: &str) -> bool {
    diags.iter().any(|d| d["code"] == code)
}

fn position(text: &str, needle: &str, after: usize) -> Value {
    position_of(text, text.find(needle).expect("needle") + after)
}

/// The protocol position (UTF-16 columns) of a byte offset.
fn position_of(text: &str, at: usize) -> Value {
    let line = text[..at].matches('\n').count();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..at].encode_utf16().count();
    json!({ "line": line, "character": col })
}

/// The byte offset of a protocol position (UTF-16 columns).
fn offset_of(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().expect("line") as usize;
    let col = pos["character"].as_u64().expect("character") as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, c) in text[start..].char_indices() {
        if units >= col || c == '\n' {
            return start + i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// A text with a list of `TextEdit`s applied (they do not overlap; applied from the end).
fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset_of(text, &e["range"]["start"]),
                offset_of(text, &e["range"]["end"]),
                e["newText"].as_str().expect("newText"),
            )
        })
        .collect();
    spans.sort_by_key(|(start, end, _)| std::cmp::Reverse((*start, *end)));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, new);
    }
    out
}

fn open(client: &mut Client, path: &Path, text: &str) -> String {
    let u = uri(path);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": u, "languageId": "amap", "version": 1, "text": text } }),
    );
    u
}

#[test]
fn diagnostics_follow_edits() {
    let (_dir, file) = project();
    let mut client = Client::start();
    let u = open(&mut client, &file, TEMPLATE);

    let diags = client.diagnostics_for(&u, |d| has_code(d, "E0101"));
    let d = diags.iter().find(|d| d["code"] == "E0101").expect("E0101");
    assert_eq!(d["range"]["start"], position(TEMPLATE, "field.sumary", 0));
    assert_eq!(d["range"]["end"], position(TEMPLATE, "field.sumary", 12));
    assert_eq!(d["severity"], 1);
    assert!(
        d["codeDescription"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with("#e0101")),
        "{d}"
    );

    let fixed = TEMPLATE.replace("field.sumary", "field.summary");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": u, "version": 2 },
            "contentChanges": [{ "text": fixed }]
        }),
    );
    let diags = client.diagnostics_for(&u, |d| !has_code(d, "E0101"));
    assert!(!diags.iter().any(|d| d["severity"] == 1), "{diags:?}");

    // An incremental edit breaks it again.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": u, "version": 3 },
            "contentChanges": [{
                "range": {
                    "start": position(&fixed, "summary", 3),
                    "end": position(&fixed, "summary", 4)
                },
                "text": ""
            }]
        }),
    );
    client.diagnostics_for(&u, |d| has_code(d, "E0101"));
    client.shutdown();
}

#[test]
fn completion_hover_definition_and_fixes() {
    let (_dir, file) = project();
    let mut client = Client::start();
    let u = open(&mut client, &file, TEMPLATE);
    client.diagnostics_for(&u, |d| has_code(d, "E0101"));

    // Completion after `field.` on a line being typed.
    let typing = TEMPLATE.replace(
        "    aurora.description  = field.sumary\n",
        "    aurora.description  = field.sumary\n    aurora.locationText = field.\n",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    let r = client.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": u }, "position": position(&typing, "= field.\n", 8) }),
    );
    let labels: Vec<&str> = r["result"]
        .as_array()
        .expect("completion list")
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    for want in ["summary", "details", "hazard", "udf_pick"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
    assert!(!labels.contains(&"caseTypeCode"), "{labels:?}");

    // Completion of Aurora targets and of UDF codes.
    let r = client.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": u }, "position": position(&typing, "caseTypeCode", 0) }),
    );
    let labels: Vec<String> = r["result"]
        .as_array()
        .expect("completion list")
        .iter()
        .filter_map(|i| i["label"].as_str().map(str::to_string))
        .collect();
    assert!(labels.contains(&"description".to_string()), "{labels:?}");

    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 3 }, "contentChanges": [{ "text": TEMPLATE }] }),
    );

    // Hover on an Aurora field: its type and whether it is required.
    let r = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": u }, "position": position(TEMPLATE, "description", 2) }),
    );
    let text = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("aurora.description"), "{r}");
    assert!(text.contains("text"), "{r}");
    assert!(text.contains("required"), "{r}");
    assert!(text.contains("200"), "{r}");

    // Go to the schema entry of an Aurora field.
    let r = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": u }, "position": position(TEMPLATE, "caseTypeCode", 1) }),
    );
    let target = r["result"]["uri"].as_str().unwrap_or_default();
    assert!(target.ends_with("schema/aurora.toml"), "{r}");

    // The quick fix for the misspelt field.
    let r = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": u },
            "range": {
                "start": position(TEMPLATE, "field.sumary", 2),
                "end": position(TEMPLATE, "field.sumary", 2)
            },
            "context": { "diagnostics": [] }
        }),
    );
    let actions = r["result"].as_array().expect("actions");
    let fix = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.contains("field.summary"))
        })
        .unwrap_or_else(|| panic!("no fix in {r}"));
    let edit = &fix["edit"]["changes"][&u][0];
    assert_eq!(edit["newText"], "field.summary");
    assert_eq!(
        edit["range"]["start"],
        position(TEMPLATE, "field.sumary", 0)
    );
    assert_eq!(edit["range"]["end"], position(TEMPLATE, "field.sumary", 12));
    let fixed = apply_edits(TEMPLATE, std::slice::from_ref(edit));
    assert_eq!(fixed, TEMPLATE.replace("field.sumary", "field.summary"));
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 4 }, "contentChanges": [{ "text": fixed }] }),
    );
    client.diagnostics_for(&u, |d| !has_code(d, "E0101"));

    // The outline and formatting.
    let r = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": u } }),
    );
    assert_eq!(r["result"][0]["name"], "Pothole", "{r}");
    assert_eq!(
        r["result"][0]["children"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    let messy = TEMPLATE.replace("aurora.caseTypeCode = ", "aurora.caseTypeCode=");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u, "version": 5 }, "contentChanges": [{ "text": messy }] }),
    );
    let r = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let edits = r["result"].as_array().expect("edits");
    assert_eq!(edits.len(), 1, "{r}");
    assert_eq!(edits[0]["newText"], TEMPLATE, "{r}");
    client.shutdown();
}

#[test]
fn a_file_outside_any_project_gets_a_message_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("loose.amap");
    let text = "create \"A\" for ref.x {\n    aurora.a = \n}\n";
    std::fs::write(&file, text).expect("write");
    let mut client = Client::start();
    let u = open(&mut client, &file, text);
    let message = client.notification("window/showMessage", |_| true);
    let said = message["message"].as_str().unwrap_or_default();
    assert!(said.contains("amap.toml"), "{message}");
    // Its syntax is still checked, and the server still answers.
    client.diagnostics_for(&u, |d| has_code(d, "E0001"));
    let r = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": u }, "position": { "line": 1, "character": 5 } }),
    );
    assert!(r.get("error").is_none(), "{r}");
    let r = client.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": u }, "position": { "line": 1, "character": 4 } }),
    );
    assert!(r["result"].is_array(), "{r}");
    client.shutdown();
}

/// The code actions at `needle` (one character in), as `(title, edits for this document)`.
fn actions_at(client: &mut Client, u: &str, text: &str, needle: &str) -> Vec<(String, Vec<Value>)> {
    actions_at_position(client, u, &position(text, needle, 1))
}

#[test]
fn code_actions_add_a_default_or_an_assertion_to_an_optional_value() {
    let (_dir, file) = project();
    let mut client = Client::start();
    let u = open(&mut client, &file, TEMPLATE);
    client.diagnostics_for(&u, |d| has_code(d, "E0101"));
    let mut version = 1;
    let mut change = |client: &mut Client, text: &str| {
        version += 1;
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": u, "version": version },
                "contentChanges": [{ "text": text }]
            }),
        );
    };
    // `field.details` may be empty and `aurora.description` is required: E0202. Whatever the
    // value's form, each fix applied clears the error (an `if` is put in parentheses first).
    for value in [
        "field.details",
        "if field.flag then field.details else \"Reported\"",
    ] {
        let text = TEMPLATE.replace("field.sumary", value);
        change(&mut client, &text);
        let at = |d: &[Value]| {
            d.iter().any(|d| {
                d["code"] == "E0202"
                    && d["range"]["start"] == position(&text, value, 0)
                    && d["range"]["end"] == position(&text, value, value.len())
            })
        };
        client.diagnostics_for(&u, at);

        let actions = actions_at(&mut client, &u, &text, value);
        for want in ["??", "!"] {
            let (title, edits) = actions
                .iter()
                .find(|(t, _)| t.contains(want))
                .unwrap_or_else(|| panic!("no action adding `{want}` in {actions:?}"));
            let fixed = apply_edits(&text, edits);
            assert!(fixed.contains(want), "{title}: {fixed}");
            change(&mut client, &fixed);
            let diags = client.diagnostics_for(&u, |d| !has_code(d, "E0202"));
            assert!(
                !diags.iter().any(|d| d["severity"] == 1),
                "{title}: {fixed}: {diags:?}"
            );
            // Back to the broken text, so that the next fix starts from it.
            change(&mut client, &text);
            client.diagnostics_for(&u, at);
        }
    }
    client.shutdown();
}

#[test]
fn a_request_with_bad_params_gets_an_error_and_the_server_answers_the_next() {
    let (_dir, file) = project();
    let mut client = Client::start();
    let u = open(&mut client, &file, TEMPLATE);
    client.diagnostics_for(&u, |d| has_code(d, "E0101"));

    // Parameters of the wrong shape: an InvalidParams error that says what was wrong.
    let r = client.request(
        "textDocument/hover",
        json!({ "textDocument": 42, "position": "here" }),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid parameters")),
        "{r}"
    );
    // A method the server does not know: MethodNotFound.
    let r = client.request("textDocument/noSuchThing", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // A notification with bad parameters and an edit whose range is outside the text change
    // nothing that breaks the server.
    client.notify("textDocument/didChange", json!({ "textDocument": "x" }));
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": "file:///nowhere/x.amap", "version": 2 },
            "contentChanges": [{ "text": "create" }]
        }),
    );
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": u, "version": 2 },
            "contentChanges": [{
                "range": {
                    "start": { "line": 400, "character": 9 },
                    "end": { "line": 401, "character": 0 }
                },
                "text": "\n"
            }]
        }),
    );

    // The next request is answered as usual.
    let r = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": u }, "position": position(TEMPLATE, "description", 2) }),
    );
    let text = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("aurora.description"), "{r}");
    client.shutdown();
}

// ----- requests as data -------------------------------------------------------------------

/// A project folder for one case, with the examples' schemas and `templates/case.amap`.
fn case_project(root: &Path, text: &str) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::create_dir_all(root.join("schema")).expect("mkdir");
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    for name in ["aurora.toml", "connect.toml"] {
        std::fs::copy(
            examples.join("schema").join(name),
            root.join("schema").join(name),
        )
        .expect("copy schema");
    }
    std::fs::write(
        root.join("amap.toml"),
        "[project]\ntemplates = [\"templates/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n",
    )
    .expect("write amap.toml");
    let file = root.join("templates/case.amap");
    std::fs::write(&file, text).expect("write case");
    file
}

fn show_range(r: &Value) -> String {
    let p = |v: &Value| {
        format!(
            "{}:{}",
            v["line"].as_u64().unwrap_or(0) + 1,
            v["character"].as_u64().unwrap_or(0) + 1
        )
    };
    format!("{}-{}", p(&r["start"]), p(&r["end"]))
}

fn show_symbols(symbols: &[Value], depth: usize, out: &mut String) {
    for s in symbols {
        out.push_str(&format!(
            "{}{} [kind {}] {} @ {}\n",
            "  ".repeat(depth),
            s["name"].as_str().unwrap_or_default(),
            s["kind"],
            s["detail"].as_str().unwrap_or_default(),
            show_range(&s["selectionRange"])
        ));
        if let Some(children) = s["children"].as_array() {
            show_symbols(children, depth + 1, out);
        }
    }
}

/// Runs one case's request at its cursor and renders the answer as text.
fn run_case(client: &mut Client, root: &Path, request: &str, text: &str, at: usize) -> String {
    let file = case_project(root, text);
    let u = open(client, &file, text);
    let pos = position_of(text, at);
    let doc = json!({ "uri": u });
    match request {
        "completion" => {
            let r = client.request(
                "textDocument/completion",
                json!({ "textDocument": doc, "position": pos }),
            );
            let mut items: Vec<String> = r["result"]
                .as_array()
                .unwrap_or_else(|| panic!("no completion list: {r}"))
                .iter()
                .map(|i| {
                    let label = i["label"].as_str().unwrap_or_default();
                    let mut line =
                        format!("{label} — {}", i["detail"].as_str().unwrap_or_default());
                    let edit = &i["textEdit"];
                    let new = edit["newText"].as_str().unwrap_or_default();
                    if new != label {
                        line.push_str(&format!(" ⇒ {new}"));
                    }
                    line.push_str(&format!(" @ {}", show_range(&edit["range"])));
                    line
                })
                .collect();
            items.sort();
            items.join("\n") + "\n"
        }
        "hover" => {
            let r = client.request(
                "textDocument/hover",
                json!({ "textDocument": doc, "position": pos }),
            );
            match r["result"].as_object() {
                None => format!("no hover: {r}\n"),
                Some(h) => format!(
                    "@ {}\n{}\n",
                    show_range(&h["range"]),
                    h["contents"]["value"].as_str().unwrap_or_default()
                ),
            }
        }
        "definition" => {
            let r = client.request(
                "textDocument/definition",
                json!({ "textDocument": doc, "position": pos }),
            );
            let target = &r["result"];
            let Some(path) = target["uri"].as_str() else {
                return format!("no definition: {r}\n");
            };
            let root_uri = uri(root);
            let rel = path
                .strip_prefix(&root_uri)
                .unwrap_or(path)
                .trim_start_matches('/');
            let target_text =
                std::fs::read_to_string(root.join(rel)).unwrap_or_else(|_| text.to_string());
            let line = target["range"]["start"]["line"].as_u64().unwrap_or(0) as usize;
            let shown = target_text.lines().nth(line).unwrap_or_default();
            format!("{rel} @ {}\n{shown}\n", show_range(&target["range"]))
        }
        "actions" => {
            let mut out = String::new();
            for (title, edits) in actions_at_position(client, &u, &pos) {
                out.push_str(&format!("# {title}\n{}", apply_edits(text, &edits)));
            }
            out
        }
        "symbols" => {
            let r = client.request(
                "textDocument/documentSymbol",
                json!({ "textDocument": doc }),
            );
            let mut out = String::new();
            show_symbols(r["result"].as_array().map_or(&[], |v| v), 0, &mut out);
            out
        }
        other => panic!("unknown request `{other}`"),
    }
}

fn actions_at_position(client: &mut Client, u: &str, pos: &Value) -> Vec<(String, Vec<Value>)> {
    let r = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": u },
            "range": { "start": pos, "end": pos },
            "context": { "diagnostics": [] }
        }),
    );
    r["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no actions in {r}"))
        .iter()
        .map(|a| {
            let title = a["title"].as_str().unwrap_or_default().to_string();
            let edits = a["edit"]["changes"][u]
                .as_array()
                .cloned()
                .unwrap_or_default();
            (title, edits)
        })
        .collect()
}

/// Each `tests/lsp/NAME.amap` is a template file against the examples' schemas whose first line
/// says which request to make (`// request: completion`, `hover`, `definition`, `actions` or
/// `symbols`) and whose `$0` marks the cursor; `NAME.expected` holds the answer as text.
/// `AMAP_BLESS=1 cargo test --test lsp` rewrites the `.expected` files.
#[test]
fn requests_as_data() {
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lsp");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .expect("tests/lsp")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "amap"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "only {} cases in tests/lsp", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut client = Client::start();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let raw = std::fs::read_to_string(case).expect("read case");
        let request = raw
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// request: "))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{name}: the first line must be `// request: …`"))
            .to_string();
        let at = raw
            .find("$0")
            .unwrap_or_else(|| panic!("{name}: no `$0` cursor"));
        let text = raw.replacen("$0", "", 1);
        let actual = run_case(&mut client, &dir.path().join(&name), &request, &text, at);
        let expected_path = case.with_extension("expected");
        if std::env::var_os("AMAP_BLESS").is_some() {
            std::fs::write(&expected_path, &actual).expect("write .expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{name}: the answer differs\n--- expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    client.shutdown();
    assert!(
        failures.is_empty(),
        "{}\n(`AMAP_BLESS=1 cargo test --test lsp` rewrites the .expected files)",
        failures.join("\n")
    );
}

#[test]
fn a_broken_project_file_is_reported_and_its_fix_picked_up() {
    let (dir, file) = project();
    let toml = dir.path().join("amap.toml");
    let good = std::fs::read_to_string(&toml).expect("read amap.toml");
    std::fs::write(&toml, "[project]\ntemplates = 5\n").expect("write amap.toml");
    let mut client = Client::start();
    let u = open(&mut client, &file, TEMPLATE);
    // The message points at amap.toml, whose own diagnostics say what is wrong.
    let message = client.notification("window/showMessage", |_| true);
    let said = message["message"].as_str().unwrap_or_default();
    assert!(said.contains("amap.toml, which has errors"), "{message}");
    let toml_uri = uri(&toml);
    let diags = client.diagnostics_for(&toml_uri, |d| has_code(d, "S0003"));
    let d = diags.iter().find(|d| d["code"] == "S0003").expect("S0003");
    assert_eq!(
        d["range"]["start"],
        position("[project]\ntemplates = 5\n", "5", 0)
    );
    // Its syntax is still checked meanwhile: a request is answered.
    let r = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": u } }),
    );
    assert_eq!(r["result"][0]["name"], "Pothole", "{r}");

    // Fixed on disk and reported by the editor: the file is checked against the schemas.

    std::fs::write(&toml, good).expect("write amap.toml");
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": toml_uri, "type": 2 }] }),
    );
    client.diagnostics_for(&u, |d| has_code(d, "E0101"));
    client.diagnostics_for(&toml_uri, |d| d.is_empty());
    client.shutdown();
}

/// A diagnostic about two files: its related location points into the other one, and editing
/// that other file clears it.
#[test]
fn related_locations_point_into_other_files_and_follow_their_edits() {
    let (dir, first) = project();
    let fixed = TEMPLATE.replace("field.sumary", "field.summary");
    std::fs::write(&first, &fixed).expect("write");
    let second = dir.path().join("templates/second.amap");
    let duplicate = fixed.replace("/// Potholes from the website.\n", "");
    std::fs::write(&second, &duplicate).expect("write");

    let mut client = Client::start();
    let u1 = open(&mut client, &first, &fixed);
    let u2 = uri(&second);
    // The second file is not open: its diagnostics are published all the same.
    let diags = client.diagnostics_for(&u2, |d| has_code(d, "E0109"));
    let d = diags.iter().find(|d| d["code"] == "E0109").expect("E0109");
    assert_eq!(d["range"]["start"], position(&duplicate, "\"Pothole\"", 0));
    let related = &d["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], u1.as_str(), "{d}");
    assert_eq!(
        related["location"]["range"]["start"],
        position(&fixed, "\"Pothole\"", 0),
        "{d}"
    );
    assert!(
        related["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{d}"
    );

    // Renaming the first template (unsaved) clears the second file's error.
    let renamed = fixed.replace("\"Pothole\"", "\"Pothole (web)\"");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": u1, "version": 2 }, "contentChanges": [{ "text": renamed }] }),
    );
    client.diagnostics_for(&u2, |d| !has_code(d, "E0109"));
    client.shutdown();
}

/// Every open and every change gets its diagnostics, even none or the same as before, with the
/// version of the text they are about.
#[test]
fn each_open_and_change_is_answered_with_versioned_diagnostics() {
    let (_dir, file) = project();
    let clean = TEMPLATE.replace("field.sumary", "field.summary");
    let mut client = Client::start();
    let u = open(&mut client, &file, &clean);
    let first = client.notification("textDocument/publishDiagnostics", |p| p["uri"] == u);
    assert_eq!(first["version"], 1, "{first}");
    assert!(
        !first["diagnostics"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|d| d["severity"] == 1),
        "{first}"
    );
    // A change that keeps the diagnostics as they were is answered too.
    let spaced = clean.replace("\"P001\"", "\"P001\" ");
    for (version, text) in [(2, &spaced), (3, &clean)] {
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": u, "version": version },
                "contentChanges": [{ "text": text }]
            }),
        );
        let p = client.notification("textDocument/publishDiagnostics", |p| p["uri"] == u);
        assert_eq!(p["version"], version, "{p}");
        assert_eq!(p["diagnostics"], first["diagnostics"], "{p}");
    }
    client.shutdown();
}
