//! A loaded project in a database: the bridge between [`crate::workspace`] (which reads the
//! files) and [`super::db`] (which checks them incrementally). The command line, watch mode and
//! the language server hold one of these per project and feed it new texts.

use super::db::{self, Database, ProjectInputs, SchemaSource, Source};
use crate::check::Checked;
use crate::diagnostics::{Diagnostic, FileId, SourceMap};
use crate::workspace::{self, Workspace, WorkspaceError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A project's inputs in a salsa database, with the names and texts the database does not
/// hold (`amap.toml`, files that are not text) for rendering.
pub struct ProjectDb {
    pub db: Database,
    pub inputs: ProjectInputs,
    /// The folder holding `amap.toml`.
    pub root: PathBuf,
    /// The texts as loaded; template and schema texts are superseded by the database's.
    loaded: SourceMap,
    templates: BTreeMap<String, Source>,
    aurora: SchemaSource,
    connect: SchemaSource,
    /// Whether `amap.toml` could be read (else the schemas are empty stand-ins).
    usable: bool,
}

impl ProjectDb {
    /// Loads the project around `dir` from disk, with `overlay` (absolute paths and texts, such
    /// as an editor's unsaved buffers) laid over it.
    pub fn load(dir: &Path, overlay: &[(PathBuf, String)]) -> Result<ProjectDb, WorkspaceError> {
        let ws = workspace::load_with_overlay(dir, overlay)?;
        Ok(ProjectDb::from_workspace(&ws, Database::default()))
    }

    /// Puts a loaded workspace into `db` (a fresh database, possibly one watching events).
    pub fn from_workspace(ws: &Workspace, mut db: Database) -> ProjectDb {
        // Without a usable `amap.toml` there are no schemas to read (their ids are the
        // project file's): the database gets empty ones.
        let usable = ws.project.is_some();
        let schema_text = |id: FileId| if usable { ws.text(id) } else { "" };
        let mut inputs = ProjectInputs::with_ids(
            &mut db,
            (
                ws.aurora_file,
                ws.name(ws.aurora_file),
                schema_text(ws.aurora_file),
            ),
            (
                ws.connect_file,
                ws.name(ws.connect_file),
                schema_text(ws.connect_file),
            ),
            ws.sources.len() as u32,
        );
        let added = inputs.add_files(
            &mut db,
            ws.templates
                .iter()
                .map(|(id, _)| (*id, ws.name(*id).to_string(), ws.text(*id).to_string())),
        );
        let templates = added
            .iter()
            .map(|s| (s.name(&db).clone(), *s))
            .collect::<BTreeMap<_, _>>();
        let project = inputs.project;
        let aurora = project.aurora(&db);
        let connect = project.connect(&db);

        // The workspace's diagnostics that the database does not recompute: those of
        // `amap.toml` and of files that could not be read as text.
        let mut recomputed: Vec<Diagnostic> = Vec::new();
        db::check_in_parallel(&db, &added);
        for s in &added {
            recomputed.extend(db::parse(&db, *s).diagnostics.iter().cloned());
        }
        recomputed.extend(db::aurora_schema(&db, aurora).diagnostics.iter().cloned());
        recomputed.extend(db::connect_schema(&db, connect).diagnostics.iter().cloned());
        let mut setup = Vec::new();
        for d in &ws.diagnostics {
            if let Some(i) = recomputed.iter().position(|r| r == d) {
                recomputed.swap_remove(i);
            } else {
                setup.push(d.clone());
            }
        }
        inputs.set_setup_diagnostics(&mut db, setup);

        ProjectDb {
            db,
            inputs,
            root: ws.root.clone(),
            loaded: ws.sources.clone(),
            templates,
            aurora,
            connect,
            usable,
        }
    }

    /// Whether `amap.toml` could be read: without it there are no template patterns and no
    /// schemas, and the project's only diagnostics are those of `amap.toml`.
    pub fn usable(&self) -> bool {
        self.usable
    }

    /// The template file called `name` (relative to the root, `/` separators).
    pub fn template(&self, name: &str) -> Option<Source> {
        self.templates.get(name).copied()
    }

    /// The template files, by name.
    pub fn templates(&self) -> impl Iterator<Item = (&str, Source)> {
        self.templates.iter().map(|(n, s)| (n.as_str(), *s))
    }

    /// The name of `path` relative to the root, if it is inside the project folder.
    pub fn name_of_path(&self, path: &Path) -> Option<String> {
        let abs = std::path::absolute(path).ok()?;
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// Sets a template's text; `false` when no template has this name.
    pub fn set_template_text(&mut self, name: &str, text: &str) -> bool {
        match self.templates.get(name) {
            Some(source) => {
                self.inputs.set_text(&mut self.db, *source, text);
                true
            }
            None => false,
        }
    }

    /// Sets a schema's text; `false` when neither schema has this name.
    pub fn set_schema_text(&mut self, name: &str, text: &str) -> bool {
        if !self.usable {
            return false;
        }
        for schema in [self.aurora, self.connect] {
            if schema.name(&self.db) == name {
                self.inputs.set_schema_text(&mut self.db, schema, text);
                return true;
            }
        }
        false
    }

    /// The name of a file of the project (template, schema or `amap.toml`).
    pub fn name(&self, file: FileId) -> Option<&str> {
        (file.0 < self.loaded.len() as u32).then(|| self.loaded.get(file).name.as_str())
    }

    /// Where a file of the project is on disk.
    pub fn path(&self, file: FileId) -> Option<PathBuf> {
        self.name(file).map(|n| self.root.join(n))
    }

    /// The current text of a file of the project.
    pub fn text(&self, file: FileId) -> Option<&str> {
        for schema in [self.aurora, self.connect] {
            if self.usable && schema.id(&self.db) == file {
                return Some(schema.text(&self.db));
            }
        }
        if let Some(source) = self.inputs.file(&self.db, file) {
            return Some(source.text(&self.db));
        }
        self.name(file).map(|_| self.loaded.get(file).text.as_str())
    }

    /// Every diagnostic of the project, sorted.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        db::project_diagnostics(&self.db)
    }

    /// The project's texts as they are now, under the ids the diagnostics use.
    pub fn source_map(&self) -> SourceMap {
        let mut map = SourceMap::new();
        for (id, f) in self.loaded.files() {
            let text = self.text(id).unwrap_or(&f.text);
            map.add(f.name.clone(), text.to_string());
        }
        map
    }

    /// The checked project, with every diagnostic (as [`Workspace::check`] gives it).
    pub fn checked(&self) -> Checked {
        let mut checked = db::checked(&self.db);
        checked.diagnostics = self.diagnostics().to_vec();
        checked
    }

    /// The number of template files and of templates in them.
    pub fn counts(&self) -> (usize, usize) {
        let files = self.inputs.project.files(&self.db);
        let templates = files
            .iter()
            .map(|f| db::check_file(&self.db, *f).outputs.len())
            .sum();
        (files.len(), templates)
    }
}

/// Checks a loaded workspace through the database: the same result as [`Workspace::check`].
pub fn check_workspace(ws: &Workspace) -> Checked {
    ProjectDb::from_workspace(ws, Database::default()).checked()
}
