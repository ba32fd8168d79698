//! A project as the tools see it: `amap.toml` found and read, the template patterns
//! expanded, the schemas loaded and the templates parsed, every text kept in one
//! [`SourceMap`] so that diagnostics can be rendered and hashes computed.
//!
//! This is the IO edge shared by the command line, the service and the language server.
//! What means "could not run" (no `amap.toml`, a schema that cannot be read) is a
//! [`WorkspaceError`]; every mistake inside the files is a diagnostic.

mod files;

use crate::check::{self, Checked, Env, ProjectFile};
use crate::diagnostics::{self, Code, Diagnostic, FileId, SourceMap, Span};
use crate::plan::{self, Bundle, CompileInput, SchemaHashes};
use crate::schema::{
    AuroraSchema, ConnectSchema, ProjectConfig, load_aurora, load_connect, parse_project,
};
use crate::syntax::{self, ast};
use files::{Disk, Files, Memory, normalize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the project file.
pub const PROJECT_FILE: &str = "amap.toml";

/// Why a project could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("no {PROJECT_FILE} in {} or any folder above it", dir.display())]
    NoProject { dir: PathBuf },
    #[error("could not read the {which} schema {}: {source}", path.display())]
    Schema {
        which: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid template pattern `{pattern}`: {reason}")]
    Pattern { pattern: String, reason: String },
}

/// A loaded project.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The folder holding `amap.toml` (empty for a project held in memory).
    pub root: PathBuf,
    /// Every text read: `amap.toml`, the schemas, the templates (named relative to `root`).
    pub sources: SourceMap,
    pub project_file: FileId,
    /// `amap.toml` read; `None` when it is unusable (its diagnostics say why), in which case
    /// the schemas are empty, there are no templates, and `aurora_file` and `connect_file`
    /// are `project_file`.
    pub project: Option<ProjectConfig>,
    pub aurora_file: FileId,
    pub connect_file: FileId,
    /// The template files that could be read as text, parsed, in load order: the patterns
    /// in the order `amap.toml` lists them, the files of each pattern sorted by name.
    pub templates: Vec<(FileId, ast::File)>,
    pub aurora: AuroraSchema,
    pub connect: ConnectSchema,
    /// The diagnostics of loading: `amap.toml`, the schemas, files that are not text, and
    /// the templates' syntax errors. Sorted.
    pub diagnostics: Vec<Diagnostic>,
}

/// The SHA-256 of a schema (or any) text, as lowercase hex.
pub fn schema_hash(text: &str) -> String {
    crate::plan::content_hash(text)
}

/// The `amap.toml` governing `dir`: in it or in the nearest folder above it. `dir` may also
/// name an `amap.toml` itself.
pub fn find_project(dir: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(dir).ok()?;
    if start.is_file() {
        return (start.file_name()? == PROJECT_FILE).then_some(start);
    }
    start
        .ancestors()
        .map(|d| d.join(PROJECT_FILE))
        .find(|p| p.is_file())
}

/// Loads the project governing `dir` from disk.
pub fn load(dir: &Path) -> Result<Workspace, WorkspaceError> {
    load_with_overlay(dir, &[])
}

/// Loads the project governing `dir`, taking the texts of `overlay` (absolute paths, such as
/// an editor's unsaved buffers) instead of what is on disk. An overlay file inside the
/// project that matches a template pattern is included even when it is not on disk yet.
pub fn load_with_overlay(
    dir: &Path,
    overlay: &[(PathBuf, String)],
) -> Result<Workspace, WorkspaceError> {
    if let Err(source) = std::fs::metadata(dir) {
        return Err(WorkspaceError::Read {
            path: dir.to_path_buf(),
            source,
        });
    }
    let project = find_project(dir).ok_or_else(|| WorkspaceError::NoProject {
        dir: dir.to_path_buf(),
    })?;
    let root = project.parent().map(Path::to_path_buf).unwrap_or_default();
    let overlay = overlay
        .iter()
        .filter_map(|(path, text)| {
            let abs = std::path::absolute(path).ok()?;
            let rel = abs.strip_prefix(&root).ok()?;
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some((parts.join("/"), text.clone()))
        })
        .collect();
    let disk = Disk {
        root: root.clone(),
        overlay,
    };
    build(root, &disk)
}

/// Loads a project held in memory: `(name, content)` pairs, names relative to the project
/// root with `/` separators, one of them `amap.toml`.
pub fn load_from_memory<N, T>(
    files: impl IntoIterator<Item = (N, T)>,
) -> Result<Workspace, WorkspaceError>
where
    N: AsRef<str>,
    T: AsRef<[u8]>,
{
    let files: BTreeMap<String, Vec<u8>> = files
        .into_iter()
        .map(|(n, t)| (normalize(n.as_ref()), t.as_ref().to_vec()))
        .collect();
    if !files.contains_key(PROJECT_FILE) {
        return Err(WorkspaceError::NoProject {
            dir: PathBuf::from("."),
        });
    }
    build(PathBuf::new(), &Memory { files })
}

impl Workspace {
    pub fn text(&self, file: FileId) -> &str {
        &self.sources.get(file).text
    }

    /// The name of a file, relative to the project root.
    pub fn name(&self, file: FileId) -> &str {
        &self.sources.get(file).name
    }

    /// Where a file is on disk.
    pub fn path(&self, file: FileId) -> PathBuf {
        self.root.join(self.name(file))
    }

    /// The file called `name` (relative to the root, `/` separators).
    pub fn file_named(&self, name: &str) -> Option<FileId> {
        let name = normalize(name);
        self.sources
            .files()
            .find(|(_, f)| f.name == name)
            .map(|(id, _)| id)
    }

    /// The ids of the parsed template files, in load order.
    pub fn template_files(&self) -> Vec<FileId> {
        self.templates.iter().map(|(id, _)| *id).collect()
    }

    /// The hashes of the two schema texts, as plan bundles carry them.
    pub fn schema_hashes(&self) -> SchemaHashes {
        SchemaHashes {
            aurora: schema_hash(self.text(self.aurora_file)),
            connect: schema_hash(self.text(self.connect_file)),
        }
    }

    pub fn env(&self) -> Env<'_> {
        Env {
            aurora: &self.aurora,
            connect: &self.connect,
        }
    }

    pub fn project_files(&self) -> Vec<ProjectFile<'_>> {
        self.templates
            .iter()
            .map(|(file, ast)| ProjectFile { file: *file, ast })
            .collect()
    }

    /// Checks the templates against the schemas. The result's diagnostics include the
    /// workspace's own (project file, schemas, syntax), sorted.
    pub fn check(&self) -> Checked {
        let mut checked = check::check_project(&self.project_files(), &self.env());
        checked.diagnostics.extend(self.diagnostics.iter().cloned());
        diagnostics::sort(&mut checked.diagnostics);
        checked
    }

    /// Compiles checked templates of this workspace into a plan bundle (call it only when
    /// `checked` has no errors).
    pub fn compile(&self, checked: &Checked) -> Bundle {
        plan::compile(&CompileInput {
            checked,
            env: self.env(),
            sources: &self.sources,
            template_files: &self.template_files(),
            schemas: self.schema_hashes(),
        })
    }
}

fn build(root: PathBuf, fs: &dyn Files) -> Result<Workspace, WorkspaceError> {
    let mut sources = SourceMap::new();
    let mut diags: Vec<Diagnostic> = Vec::new();

    let bytes = fs
        .read(PROJECT_FILE)
        .map_err(|source| WorkspaceError::Read {
            path: fs.path(PROJECT_FILE),
            source,
        })?;
    let (project_file, decoded) =
        add_text(&mut sources, &mut diags, PROJECT_FILE, bytes, Code::S0001);
    let project_text = decoded.text();
    let (project, project_diags) = match &project_text {
        Some(text) => parse_project(text, project_file),
        None => (None, Vec::new()),
    };
    diags.extend(project_diags);

    let mut ws = Workspace {
        root,
        sources,
        project_file,
        project: None,
        aurora_file: project_file,
        connect_file: project_file,
        templates: Vec::new(),
        aurora: AuroraSchema::default(),
        connect: ConnectSchema::default(),
        diagnostics: Vec::new(),
    };
    let Some(config) = project else {
        diagnostics::sort(&mut diags);
        ws.diagnostics = diags;
        return Ok(ws);
    };

    let (aurora_file, aurora_text) = read_schema(
        fs,
        &mut ws.sources,
        &mut diags,
        "Aurora",
        &config.aurora_schema.0,
    )?;
    let (connect_file, connect_text) = read_schema(
        fs,
        &mut ws.sources,
        &mut diags,
        "Connect",
        &config.connect_schema.0,
    )?;
    ws.aurora_file = aurora_file;
    ws.connect_file = connect_file;
    if let Some(text) = aurora_text {
        let (schema, d) = load_aurora(&text, aurora_file);
        ws.aurora = schema;
        diags.extend(d);
    }
    if let Some(text) = connect_text {
        let (schema, d) = load_connect(&text, connect_file);
        ws.connect = schema;
        diags.extend(d);
    }

    let mut names: Vec<String> = Vec::new();
    for (pattern, span) in &config.templates {
        let matched = fs.glob(pattern)?;
        if matched.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::S0006,
                    project_file,
                    *span,
                    format!("the template pattern `{pattern}` matches no file"),
                )
                .with_primary_label("matches no file")
                .with_help(format!(
                    "patterns are relative to the folder holding {PROJECT_FILE}"
                )),
            );
        }
        for name in matched {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut texts = Vec::with_capacity(names.len());
    for name in names {
        let bytes = fs.read(&name).map_err(|source| WorkspaceError::Read {
            path: fs.path(&name),
            source,
        })?;
        let (file, decoded) = add_text(&mut ws.sources, &mut diags, &name, bytes, Code::E0001);
        if let Some(text) = decoded.text() {
            texts.push((file, text));
        }
    }
    let parsed = syntax::parse_files(texts.iter().map(|(file, text)| (*file, text.as_str())));
    for ((file, _), (ast, d)) in texts.iter().zip(parsed) {
        diags.extend(d);
        ws.templates.push((*file, ast));
    }

    ws.project = Some(config);
    diagnostics::sort(&mut diags);
    ws.diagnostics = diags;
    Ok(ws)
}

fn read_schema(
    fs: &dyn Files,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    which: &'static str,
    path: &str,
) -> Result<(FileId, Option<String>), WorkspaceError> {
    let name = normalize(path);
    let bytes = fs.read(&name).map_err(|source| WorkspaceError::Schema {
        which,
        path: fs.path(&name),
        source,
    })?;
    let (file, decoded) = add_text(sources, diags, &name, bytes, Code::S0001);
    // A schema with a stray byte is still read (the byte becomes U+FFFD); a binary one is not.
    let text = match decoded {
        Decoded::Text(text) => Some(text),
        Decoded::NotUtf8 => Some(sources.get(file).text.clone()),
        Decoded::Binary => None,
    };
    Ok((file, text))
}

/// What a file's bytes turned out to be.
enum Decoded {
    Text(String),
    /// Not UTF-8: the source holds the text with each bad sequence replaced by U+FFFD.
    NotUtf8,
    /// A NUL byte: the source holds the text before it.
    Binary,
}

impl Decoded {
    fn text(self) -> Option<String> {
        match self {
            Decoded::Text(t) => Some(t),
            Decoded::NotUtf8 | Decoded::Binary => None,
        }
    }
}

/// Adds a file to the sources. When it is not UTF-8 text, reports `code` at the first bad
/// byte (the source then holds what could be decoded, so the diagnostic renders).
fn add_text(
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    name: &str,
    mut bytes: Vec<u8>,
    code: Code,
) -> (FileId, Decoded) {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let prefix = String::from_utf8_lossy(&bytes[..at]).into_owned();
        let offset = prefix.len() as u32;
        let file = sources.add(name, prefix);
        diags.push(
            Diagnostic::new(
                code,
                file,
                Span::new(offset, offset),
                "file is not valid UTF-8 text: it holds a NUL byte, so it looks binary",
            )
            .with_primary_label("binary data starts here"),
        );
        return (file, Decoded::Binary);
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let file = sources.add(name, text.clone());
            (file, Decoded::Text(text))
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to() as u32;
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = sources.add(name, text);
            diags.push(
                Diagnostic::new(
                    code,
                    file,
                    Span::new(at, at),
                    "file is not valid UTF-8 text",
                )
                .with_primary_label("invalid byte here")
                .with_help("save the file as UTF-8"),
            );
            (file, Decoded::NotUtf8)
        }
    }
}
