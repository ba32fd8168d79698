//! Where a project's files come from: the disk (with unsaved editor buffers laid over it) or
//! memory. Names are relative to the project root, with `/` separators.

use super::WorkspaceError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How template patterns match: `*` stays within a folder, `**` crosses folders, and
/// hidden files and folders (`.git`, editor backups) match only when the pattern names the
/// dot, as in a shell.
const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// The file access a workspace load needs.
pub(crate) trait Files {
    /// The bytes of the file `name`.
    fn read(&self, name: &str) -> Result<Vec<u8>, std::io::Error>;
    /// The names of the files matching `pattern`, sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, WorkspaceError>;
    /// Where `name` is, for messages.
    fn path(&self, name: &str) -> PathBuf;
}

/// `name` as shown to users: `/` separators, no leading `./`.
pub(crate) fn normalize(name: &str) -> String {
    let mut s = name.replace('\\', "/");
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_string();
    }
    while s.contains("//") {
        s = s.replace("//", "/");
    }
    s
}

/// The project folder on disk; `overlay` holds texts that replace (or add to) files on disk,
/// keyed by name.
pub(crate) struct Disk {
    pub root: PathBuf,
    pub overlay: BTreeMap<String, String>,
}

impl Disk {
    fn name_of(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                parts.join("/")
            }
            Err(_) => normalize(&path.to_string_lossy()),
        }
    }
}

impl Files for Disk {
    fn read(&self, name: &str) -> Result<Vec<u8>, std::io::Error> {
        if let Some(text) = self.overlay.get(name) {
            return Ok(text.clone().into_bytes());
        }
        std::fs::read(self.path(name))
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, WorkspaceError> {
        let full = if Path::new(pattern).is_absolute() {
            pattern.to_string()
        } else {
            let root = glob::Pattern::escape(&self.root.to_string_lossy());
            format!("{}/{pattern}", root.trim_end_matches(['/', '\\']))
        };
        let paths = glob::glob_with(&full, MATCH).map_err(|e| WorkspaceError::Pattern {
            pattern: pattern.to_string(),
            reason: e.msg.to_string(),
        })?;
        let mut names = Vec::new();
        for entry in paths {
            let path = entry.map_err(|e| WorkspaceError::Read {
                path: e.path().to_path_buf(),
                source: std::io::Error::new(e.error().kind(), e.error().to_string()),
            })?;
            if path.is_file() {
                names.push(self.name_of(&path));
            }
        }
        if let Ok(p) = glob::Pattern::new(&normalize(pattern)) {
            for name in self.overlay.keys() {
                if p.matches_with(name, MATCH) && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// A project held in memory (tests, an editor without a folder).
pub(crate) struct Memory {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Files for Memory {
    fn read(&self, name: &str) -> Result<Vec<u8>, std::io::Error> {
        self.files.get(name).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file in the project")
        })
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, WorkspaceError> {
        let p = glob::Pattern::new(&normalize(pattern)).map_err(|e| WorkspaceError::Pattern {
            pattern: pattern.to_string(),
            reason: e.msg.to_string(),
        })?;
        Ok(self
            .files
            .keys()
            .filter(|name| p.matches_with(name, MATCH))
            .cloned()
            .collect())
    }

    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize("./schema//aurora.toml"), "schema/aurora.toml");
        assert_eq!(normalize("templates\\a.amap"), "templates/a.amap");
    }

    #[test]
    fn memory_globs_keep_stars_within_a_folder() {
        let files = Memory {
            files: [
                ("a.amap", ""),
                ("t/b.amap", ""),
                ("t/deep/c.amap", ""),
                ("t/notes.txt", ""),
                (".git/x.amap", ""),
                ("t/.backup.amap", ""),
            ]
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
            .collect(),
        };
        let names = |p: &str| files.glob(p).unwrap_or_default();
        assert_eq!(names("*.amap"), ["a.amap"]);
        assert_eq!(names("t/*.amap"), ["t/b.amap"]);
        assert_eq!(names("t/**/*.amap"), ["t/b.amap", "t/deep/c.amap"]);
        assert_eq!(names("./t/*.txt"), ["t/notes.txt"]);
        assert_eq!(names("**/*.amap"), ["a.amap", "t/b.amap", "t/deep/c.amap"]);
        assert_eq!(names("t/.*.amap"), ["t/.backup.amap"]);
    }
}
