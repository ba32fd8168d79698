//! Loading and checking a project for the commands that report on one (`check`, `compile`).

use super::CliError;
use crate::check::Checked;
use crate::diagnostics::render::Counts;
use crate::diagnostics::{Diagnostic, SourceMap};
use crate::plan::Bundle;
use crate::syntax::ast;
use crate::workspace::{self, PROJECT_FILE, Workspace, WorkspaceError};
use std::path::Path;

/// A loaded and checked project. Its diagnostics are everything known about it: the project
/// file, the schemas, syntax and the checker's, sorted by file and position.
pub struct Project {
    workspace: Workspace,
    checked: Checked,
}

impl Project {
    /// Loads the project governing `dir` (default: the current directory) and checks it.
    pub fn load(dir: Option<&Path>) -> Result<Project, CliError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|source| CliError::Directory {
                path: ".".into(),
                source,
            })?,
        };
        let workspace = workspace::load(&dir).map_err(not_loaded)?;
        let checked = crate::ide::project::check_workspace(&workspace);
        tracing::debug!(
            root = %workspace.root.display(),
            files = workspace.templates.len(),
            diagnostics = checked.diagnostics.len(),
            "checked project"
        );
        Ok(Project { workspace, checked })
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.checked.diagnostics
    }

    pub fn sources(&self) -> &SourceMap {
        &self.workspace.sources
    }

    /// The loaded project: its schemas, files and sources.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The sources named from the current directory instead of the project root, as GitHub
    /// wants paths in annotations and SARIF (relative to the checkout it runs in). Names stay
    /// as they are when the project is not below the current directory.
    pub fn sources_from_current_dir(&self) -> SourceMap {
        let sources = &self.workspace.sources;
        let prefix = std::env::current_dir()
            .ok()
            .and_then(|cwd| {
                self.workspace
                    .root
                    .strip_prefix(cwd)
                    .ok()
                    .map(Path::to_path_buf)
            })
            .filter(|p| !p.as_os_str().is_empty());
        let Some(prefix) = prefix else {
            return sources.clone();
        };
        let prefix: Vec<String> = prefix
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let prefix = prefix.join("/");
        let mut out = SourceMap::new();
        // Files are added in id order, so every id keeps naming the same file.
        for (_, file) in sources.files() {
            out.add(format!("{prefix}/{}", file.name), file.text.clone());
        }
        out
    }

    /// The template files read and the templates in them.
    pub fn counts(&self) -> Counts {
        let templates = self.workspace.templates.iter();
        Counts {
            files: self.workspace.templates.len(),
            templates: templates
                .flat_map(|(_, f)| &f.items)
                .filter(|i| matches!(i, ast::Item::Template(_)))
                .count(),
        }
    }

    /// The plan bundle. Templates with errors are left out, so call it when there are none.
    pub fn compile(&self) -> Bundle {
        let ws = &self.workspace;
        ws.compile(&self.checked)
    }
}

fn not_loaded(error: WorkspaceError) -> CliError {
    let help = match &error {
        WorkspaceError::NoProject { .. } => Some(format!(
            "run amap inside a project, or pass its folder: `amap check DIR` (the folder holding {PROJECT_FILE})"
        )),
        _ => None,
    };
    CliError::Project {
        message: error.to_string(),
        help,
    }
}
