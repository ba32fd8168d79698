//! `amap lsp`: the language server, over stdio.
//!
//! A synchronous main loop owns the databases (one per project, plus one for files outside any
//! project) and applies every edit in the order it arrives; each request then runs against the
//! current database. Every request and notification is handled under `catch_unwind`, so a bug
//! met by one request answers that request with an error instead of ending the server.
//!
//! Files outside a project (no `amap.toml` in their folder or above) get a message saying so
//! and only their syntax checked.

mod convert;

use self::convert::{Text, path_to_uri, uri_to_path};
use super::db::{self, Database, ProjectInputs, Source};
use super::format::{FormatError, format};
use super::line_index::Encoding;
use super::project::ProjectDb;
use super::{complete, fixes, hover, navigate};
use crate::diagnostics::{self, FileId, Span};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// What can stop the server (a broken connection; never a failing request).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The page the diagnostics' code links point to (`PAGE#e0202`), unless the client's
/// initialization options give `diagnosticsUrl`: the reference shipped with these sources, when
/// they are on this machine. Without either, diagnostics carry no link (`amap explain CODE`
/// prints the same text).
fn default_docs_url() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md");
    if !path.is_file() {
        return None;
    }
    path_to_uri(&path).map(|u| u.as_str().to_string())
}

/// Serves the protocol on stdin and stdout until the client says `exit`.
pub fn run() -> Result<(), Error> {
    let (connection, io) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join()?;
    Ok(())
}

/// Serves the protocol on a connection until the client says `exit`.
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let (id, params) = connection.initialize_start()?;
    let params: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|encs| encs.contains(&lsp::PositionEncodingKind::UTF8));
    let encoding = if utf8 {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let docs_url = params
        .initialization_options
        .as_ref()
        .and_then(|o| o.get("diagnosticsUrl"))
        .and_then(|u| u.as_str())
        .map(str::to_string)
        .or_else(default_docs_url)
        .unwrap_or_default();
    let dynamic_watch = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);

    let capabilities = lsp::ServerCapabilities {
        position_encoding: Some(if utf8 {
            lsp::PositionEncodingKind::UTF8
        } else {
            lsp::PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: None,
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".to_string(), "\"".to_string()]),
            ..Default::default()
        }),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "amap", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result)?;

    let mut server = Server::new(connection, encoding, docs_url);
    if dynamic_watch {
        server.register_watchers();
    }
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let id = req.id.clone();
                let method = req.method.clone();
                let response = match catch_unwind(AssertUnwindSafe(|| server.request(req))) {
                    Ok(r) => r,
                    Err(panic) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!("{method} failed: {}", panic_message(&panic)),
                    ),
                };
                server.send(Message::Response(response));
            }
            Message::Notification(note) => {
                let method = note.method.clone();
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| server.notification(note))) {
                    tracing::error!("{method} failed: {}", panic_message(&panic));
                    server.show(
                        lsp::MessageType::ERROR,
                        format!("amap: handling {method} failed: {}", panic_message(&panic)),
                    );
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "internal error".to_string()
    }
}

/// A document the editor has open.
struct OpenDoc {
    text: String,
    path: Option<PathBuf>,
    /// The client's version of the text, sent back with its diagnostics.
    version: i32,
}

/// Where a document is checked.
#[derive(Clone, Copy)]
enum Home {
    Project(usize, Source),
    Loose(Source),
}

/// Files outside any project: checked for syntax only, against empty schemas.
struct Loose {
    db: Database,
    inputs: ProjectInputs,
    files: HashMap<lsp::Uri, Source>,
}

struct Server<'c> {
    connection: &'c Connection,
    encoding: Encoding,
    docs_url: String,
    projects: Vec<ProjectDb>,
    loose: Loose,
    open: BTreeMap<lsp::Uri, OpenDoc>,
    /// What was last published for each URI (to send only changes and clear stale ones).
    published: HashMap<lsp::Uri, Vec<lsp::Diagnostic>>,
    /// The document just opened or changed: its diagnostics are published even when they are
    /// the same as before (or none), so that the client knows they are current.
    touched: Option<lsp::Uri>,
    next_request: i32,
}

impl<'c> Server<'c> {
    fn new(connection: &'c Connection, encoding: Encoding, docs_url: String) -> Self {
        let mut db = Database::default();
        let inputs = ProjectInputs::new(&mut db, ("", ""), ("", ""));
        Server {
            connection,
            encoding,
            docs_url,
            projects: Vec::new(),
            loose: Loose {
                db,
                inputs,
                files: HashMap::new(),
            },
            open: BTreeMap::new(),
            published: HashMap::new(),
            touched: None,
            next_request: 1,
        }
    }

    fn send(&self, msg: Message) {
        // The client has gone when this fails; the main loop then ends on its own.
        let _ = self.connection.sender.send(msg);
    }

    fn notify<N: lsp::notification::Notification>(&self, params: N::Params) {
        self.send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )));
    }

    fn show(&self, typ: lsp::MessageType, message: String) {
        self.notify::<lsp::notification::ShowMessage>(lsp::ShowMessageParams { typ, message });
    }

    fn register_watchers(&mut self) {
        let id = RequestId::from(self.next_request);
        self.next_request += 1;
        let params = serde_json::json!({
            "registrations": [{
                "id": "amap-files",
                "method": lsp::notification::DidChangeWatchedFiles::METHOD,
                "registerOptions": {
                    "watchers": [
                        { "globPattern": "**/*.amap" },
                        { "globPattern": "**/*.toml" }
                    ]
                }
            }]
        });
        self.send(Message::Request(Request::new(
            id,
            lsp::request::RegisterCapability::METHOD.to_string(),
            params,
        )));
    }

    // ----- notifications: the only place state changes -----

    fn notification(&mut self, note: Notification) {
        use lsp::notification::*;
        match note.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    note.extract::<lsp::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    let doc = p.text_document;
                    self.did_open(doc.uri, doc.text, doc.version);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    note.extract::<lsp::DidChangeTextDocumentParams>(DidChangeTextDocument::METHOD)
                {
                    self.did_change(p);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    note.extract::<lsp::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    self.did_close(p.text_document.uri);
                }
            }
            DidChangeWatchedFiles::METHOD => {
                if let Ok(p) =
                    note.extract::<lsp::DidChangeWatchedFilesParams>(DidChangeWatchedFiles::METHOD)
                {
                    self.files_changed(p.changes);
                }
            }
            _ => {}
        }
    }

    fn overlay(&self) -> Vec<(PathBuf, String)> {
        self.open
            .values()
            .filter_map(|d| Some((d.path.clone()?, d.text.clone())))
            .collect()
    }

    /// The project and template of an absolute path, if one of the loaded projects has it.
    fn find_template(&self, path: &Path) -> Option<(usize, Source)> {
        self.projects.iter().enumerate().find_map(|(i, p)| {
            let name = p.name_of_path(path)?;
            Some((i, p.template(&name)?))
        })
    }

    fn home(&self, uri: &lsp::Uri) -> Option<Home> {
        if let Some(source) = self.loose.files.get(uri) {
            return Some(Home::Loose(*source));
        }
        let path = self.open.get(uri)?.path.as_ref()?;
        self.find_template(path).map(|(i, s)| Home::Project(i, s))
    }

    fn did_open(&mut self, uri: lsp::Uri, text: String, version: i32) {
        let path = uri_to_path(&uri);
        self.open.insert(
            uri.clone(),
            OpenDoc {
                text: text.clone(),
                path: path.clone(),
                version,
            },
        );
        self.touched = Some(uri.clone());
        let Some(path) = path else {
            self.make_loose(&uri, &text);
            self.publish();
            return;
        };
        if let Some((i, source)) = self.find_template(&path) {
            let p = &mut self.projects[i];
            p.inputs.set_text(&mut p.db, source, &text);
            self.publish();
            return;
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match crate::workspace::find_project(&dir) {
            None => {
                self.show(
                    lsp::MessageType::WARNING,
                    format!(
                        "{} is not part of an amap project: there is no amap.toml in its folder or any folder above it. Only its syntax is checked; add an amap.toml naming the templates and schemas to check it against them.",
                        path.display()
                    ),
                );
                self.make_loose(&uri, &text);
            }
            Some(toml) => {
                let root = toml.parent().map(Path::to_path_buf).unwrap_or_default();
                self.load_project(&root);
                if self.find_template(&path).is_none() {
                    let usable = self
                        .projects
                        .iter()
                        .find(|p| p.root == root)
                        .is_some_and(ProjectDb::usable);
                    let why = if usable {
                        format!(
                            "is not matched by the template patterns of {}",
                            toml.display()
                        )
                    } else {
                        format!(
                            "belongs to {}, which has errors (shown in that file)",
                            toml.display()
                        )
                    };
                    self.show(
                        lsp::MessageType::WARNING,
                        format!("{} {why}; only its syntax is checked.", path.display()),
                    );
                    self.make_loose(&uri, &text);
                }
            }
        }
        self.publish();
    }

    /// (Re)loads the project rooted at `root` with the open documents laid over the disk.
    fn load_project(&mut self, root: &Path) {
        let overlay = self.overlay();
        let existing = self.projects.iter().position(|p| p.root == root);
        match ProjectDb::load(root, &overlay) {
            Ok(p) => match existing {
                Some(i) => self.projects[i] = p,
                None => self.projects.push(p),
            },
            Err(e) => {
                if let Some(i) = existing {
                    self.projects.remove(i);
                }
                self.show(
                    lsp::MessageType::ERROR,
                    format!("amap: cannot load the project in {}: {e}", root.display()),
                );
            }
        }
        // Documents that now belong to the project leave the loose set.
        let moved: Vec<lsp::Uri> = self
            .loose
            .files
            .keys()
            .filter(|u| {
                self.open
                    .get(*u)
                    .and_then(|d| d.path.as_ref())
                    .is_some_and(|p| self.find_template(p).is_some())
            })
            .cloned()
            .collect();
        for uri in moved {
            self.drop_loose(&uri);
        }
    }

    fn make_loose(&mut self, uri: &lsp::Uri, text: &str) {
        match self.loose.files.get(uri) {
            Some(source) => self
                .loose
                .inputs
                .set_text(&mut self.loose.db, *source, text),
            None => {
                let name = uri_to_path(uri)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| uri.as_str().to_string());
                let source = self.loose.inputs.add_file(&mut self.loose.db, &name, text);
                self.loose.files.insert(uri.clone(), source);
            }
        }
    }

    fn drop_loose(&mut self, uri: &lsp::Uri) {
        if let Some(source) = self.loose.files.remove(uri) {
            self.loose.inputs.remove_file(&mut self.loose.db, source);
        }
    }

    fn did_change(&mut self, p: lsp::DidChangeTextDocumentParams) {
        let uri = p.text_document.uri;
        let enc = self.encoding;
        let Some(doc) = self.open.get_mut(&uri) else {
            return;
        };
        doc.version = p.text_document.version;
        for change in p.content_changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let span = Text::new(&doc.text).span(range, enc);
                    doc.text.replace_range(span.range(), &change.text);
                }
            }
        }
        let text = doc.text.clone();
        self.touched = Some(uri.clone());
        match self.home(&uri) {
            Some(Home::Project(i, source)) => {
                let p = &mut self.projects[i];
                p.inputs.set_text(&mut p.db, source, &text);
            }
            Some(Home::Loose(source)) => {
                self.loose
                    .inputs
                    .set_text(&mut self.loose.db, source, &text);
            }
            None => {}
        }
        self.publish();
    }

    fn did_close(&mut self, uri: lsp::Uri) {
        let home = self.home(&uri);
        let doc = self.open.remove(&uri);
        match home {
            Some(Home::Loose(_)) => self.drop_loose(&uri),
            Some(Home::Project(i, source)) => {
                let path = doc.and_then(|d| d.path);
                match path.and_then(|p| std::fs::read_to_string(p).ok()) {
                    Some(text) => {
                        let p = &mut self.projects[i];
                        p.inputs.set_text(&mut p.db, source, &text);
                    }
                    // Never saved: the project no longer has it.
                    None => {
                        let root = self.projects[i].root.clone();
                        self.load_project(&root);
                    }
                }
            }
            None => {}
        }
        self.publish();
    }

    fn files_changed(&mut self, changes: Vec<lsp::FileEvent>) {
        let mut reload: Vec<PathBuf> = Vec::new();
        for change in changes {
            let Some(path) = uri_to_path(&change.uri) else {
                continue;
            };
            let open = self.open.contains_key(&change.uri);
            for p in &mut self.projects {
                let Some(name) = p.name_of_path(&path) else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).ok();
                let handled = match (&text, change.typ) {
                    (Some(text), lsp::FileChangeType::CHANGED) => {
                        (open && p.template(&name).is_some())
                            || p.set_template_text(&name, text)
                            || p.set_schema_text(&name, text)
                    }
                    _ => false,
                };
                let relevant = name.ends_with(".amap") || name.ends_with(".toml");
                if !handled && relevant && !reload.contains(&p.root) {
                    reload.push(p.root.clone());
                }
            }
        }
        for root in reload {
            self.load_project(&root);
        }
        self.publish();
    }

    // ----- diagnostics -----

    /// Publishes the diagnostics of every project and loose file that changed since the last
    /// time, and clears those of files that no longer have any; always those of the document
    /// just opened or changed. Open documents' diagnostics carry the version they are about.
    #[allow(clippy::mutable_key_type)] // `Uri` hashes and compares its text only.
    fn publish(&mut self) {
        let mut fresh: HashMap<lsp::Uri, Vec<lsp::Diagnostic>> = HashMap::new();
        let enc = self.encoding;
        for p in &self.projects {
            let locate = |id: FileId| -> Option<(lsp::Uri, Text<'_>)> {
                Some((path_to_uri(&p.path(id)?)?, Text::new(p.text(id)?)))
            };
            let mut by_file: BTreeMap<FileId, Vec<&diagnostics::Diagnostic>> = BTreeMap::new();
            for d in p.diagnostics() {
                by_file.entry(d.primary.file).or_default().push(d);
            }
            for (id, diags) in by_file {
                let Some((uri, text)) = locate(id) else {
                    continue;
                };
                let list = diags
                    .iter()
                    .map(|d| convert::diagnostic(d, &text, enc, &self.docs_url, &locate))
                    .collect();
                fresh.insert(uri, list);
            }
        }
        for (uri, source) in &self.loose.files {
            let text = source.text(&self.loose.db);
            let t = Text::new(text);
            let none = |_: FileId| None;
            let list = db::parse(&self.loose.db, *source)
                .diagnostics
                .iter()
                .map(|d| convert::diagnostic(d, &t, enc, &self.docs_url, &none))
                .collect();
            fresh.insert(uri.clone(), list);
        }
        let stale: Vec<lsp::Uri> = self
            .published
            .keys()
            .filter(|u| !fresh.contains_key(*u))
            .cloned()
            .collect();
        for uri in stale {
            fresh.insert(uri, Vec::new());
        }
        let touched = self.touched.take();
        if let Some(uri) = &touched {
            fresh.entry(uri.clone()).or_default();
        }
        for (uri, list) in fresh {
            if self.published.get(&uri) == Some(&list) && touched.as_ref() != Some(&uri) {
                continue;
            }
            let version = self.open.get(&uri).map(|d| d.version);
            self.notify::<lsp::notification::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics: list.clone(),
                version,
            });
            if list.is_empty() {
                self.published.remove(&uri);
            } else {
                self.published.insert(uri, list);
            }
        }
    }

    // ----- requests: read-only -----

    fn request(&self, req: Request) -> Response {
        use lsp::request::*;
        let id = req.id.clone();
        let result = match req.method.as_str() {
            Completion::METHOD => self.handle::<Completion>(req, |s, p| s.completion(p)),
            HoverRequest::METHOD => self.handle::<HoverRequest>(req, |s, p| s.hover(p)),
            GotoDefinition::METHOD => self.handle::<GotoDefinition>(req, |s, p| s.definition(p)),
            DocumentSymbolRequest::METHOD => {
                self.handle::<DocumentSymbolRequest>(req, |s, p| s.symbols(p))
            }
            Formatting::METHOD => self.handle::<Formatting>(req, |s, p| s.formatting(p)),
            CodeActionRequest::METHOD => {
                self.handle::<CodeActionRequest>(req, |s, p| s.code_actions(p))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("amap does not handle {}", req.method),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn handle<R: lsp::request::Request>(
        &self,
        req: Request,
        f: impl FnOnce(&Self, R::Params) -> Result<R::Result, String>,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let params: R::Params = serde_json::from_value(req.params)
            .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))?;
        let result = f(self, params).map_err(|m| (ErrorCode::RequestFailed, m))?;
        serde_json::to_value(result).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    /// The database, file and current text of an open document.
    fn document(&self, uri: &lsp::Uri) -> Option<(&Database, Source, &str)> {
        let text = self.open.get(uri)?.text.as_str();
        match self.home(uri)? {
            Home::Project(i, source) => Some((&self.projects[i].db, source, text)),
            Home::Loose(source) => Some((&self.loose.db, source, text)),
        }
    }

    /// Where a file id of a document's database is: its URI and text.
    fn locate(&self, uri: &lsp::Uri, file: FileId) -> Option<(lsp::Uri, String)> {
        match self.home(uri)? {
            Home::Project(i, _) => {
                let p = &self.projects[i];
                Some((path_to_uri(&p.path(file)?)?, p.text(file)?.to_string()))
            }
            Home::Loose(source) => (source.id(&self.loose.db) == file)
                .then(|| (uri.clone(), source.text(&self.loose.db).clone())),
        }
    }

    fn completion(
        &self,
        p: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>, String> {
        let uri = p.text_document_position.text_document.uri;
        let Some((db, _, text)) = self.document(&uri) else {
            return Ok(None);
        };
        let t = Text::new(text);
        let offset = t.offset(p.text_document_position.position, self.encoding);
        let items = complete::complete(db, text, offset)
            .iter()
            .map(|c| convert::completion(c, &t, self.encoding))
            .collect();
        Ok(Some(lsp::CompletionResponse::Array(items)))
    }

    fn hover(&self, p: lsp::HoverParams) -> Result<Option<lsp::Hover>, String> {
        let uri = p.text_document_position_params.text_document.uri;
        let Some((db, source, text)) = self.document(&uri) else {
            return Ok(None);
        };
        let t = Text::new(text);
        let offset = t.offset(p.text_document_position_params.position, self.encoding);
        Ok(hover::hover(db, source, offset).map(|h| lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: h.markdown,
            }),
            range: Some(t.range(h.span, self.encoding)),
        }))
    }

    fn definition(
        &self,
        p: lsp::GotoDefinitionParams,
    ) -> Result<Option<lsp::GotoDefinitionResponse>, String> {
        let uri = p.text_document_position_params.text_document.uri;
        let Some((db, source, text)) = self.document(&uri) else {
            return Ok(None);
        };
        let offset =
            Text::new(text).offset(p.text_document_position_params.position, self.encoding);
        let Some(target) = navigate::definition(db, source, offset) else {
            return Ok(None);
        };
        let Some((target_uri, target_text)) = self.locate(&uri, target.file) else {
            return Ok(None);
        };
        let range = Text::new(&target_text).range(target.span, self.encoding);
        Ok(Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location {
            uri: target_uri,
            range,
        })))
    }

    fn symbols(
        &self,
        p: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>, String> {
        let Some((db, source, text)) = self.document(&p.text_document.uri) else {
            return Ok(None);
        };
        let t = Text::new(text);
        let symbols = navigate::symbols(db, source)
            .iter()
            .map(|s| convert::symbol(s, &t, self.encoding))
            .collect();
        Ok(Some(lsp::DocumentSymbolResponse::Nested(symbols)))
    }

    fn formatting(
        &self,
        p: lsp::DocumentFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>, String> {
        let Some(doc) = self.open.get(&p.text_document.uri) else {
            return Ok(None);
        };
        match format(&doc.text) {
            Ok(out) if out == doc.text => Ok(Some(Vec::new())),
            Ok(out) => {
                let t = Text::new(&doc.text);
                Ok(Some(vec![lsp::TextEdit {
                    range: t.range(Span::new(0, doc.text.len() as u32), self.encoding),
                    new_text: out,
                }]))
            }
            // The syntax errors are already shown as diagnostics.
            Err(FormatError::Syntax(_)) => Ok(None),
            Err(e @ FormatError::Unstable(_)) => Err(e.to_string()),
        }
    }

    fn code_actions(
        &self,
        p: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>, String> {
        let uri = p.text_document.uri;
        let Some(Home::Project(i, source)) = self.home(&uri) else {
            return Ok(None);
        };
        let project = &self.projects[i];
        let Some(doc) = self.open.get(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding;
        let t = Text::new(&doc.text);
        let wanted = t.span(p.range, enc);
        let file = source.id(&project.db);
        let locate = |id: FileId| -> Option<(lsp::Uri, Text<'_>)> {
            Some((
                path_to_uri(&project.path(id)?)?,
                Text::new(project.text(id)?),
            ))
        };
        let mut actions = Vec::new();
        for d in project.diagnostics() {
            let span = d.primary.span;
            let overlaps = span.start <= wanted.end && wanted.start <= span.end;
            if d.primary.file != file || !overlaps {
                continue;
            }
            let shown = convert::diagnostic(d, &t, enc, &self.docs_url, &locate);
            for fix in &d.fixes {
                let Some((fix_uri, fix_text)) = locate(fix.location.file) else {
                    continue;
                };
                let tree = project
                    .inputs
                    .file(&project.db, fix.location.file)
                    .map(|f| &db::parse(&project.db, f).tree);
                let edits = fixes::edits(fix, tree)
                    .into_iter()
                    .map(|e| lsp::TextEdit {
                        range: fix_text.range(e.location.span, enc),
                        new_text: e.replacement,
                    })
                    .collect();
                #[allow(clippy::mutable_key_type)] // `Uri` hashes its text only.
                let changes = HashMap::from([(fix_uri, edits)]);
                actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                    title: fix.title.clone(),
                    kind: Some(lsp::CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![shown.clone()]),
                    edit: Some(lsp::WorkspaceEdit {
                        changes: Some(changes),
                        ..Default::default()
                    }),
                    is_preferred: Some(d.fixes.len() == 1),
                    ..Default::default()
                }));
            }
        }
        Ok(Some(actions))
    }
}
