//! The workspace folders the editor names at `initialize`, searched for files that are not open
//! when finding references or renaming: a top-level declaration may be used by a file that
//! imports it without being open in the editor.
//!
//! Consumes the folders and a name; produces analyses of the closed `.flow` files that mention
//! the name (a cheap textual filter comes first, so only likely users are checked).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use lsp_types::Url;
use serde_json::Value;

use super::analysis::{self, Analysis, MAX_DOCUMENT_BYTES};
use super::convert;
use super::server::{self, Document};

/// At most this many `.flow` files are looked at in the workspace.
pub const MAX_FILES: usize = 2000;

/// How deep directories are walked.
const MAX_DEPTH: usize = 16;

/// The workspace folders in `initialize` parameters: `workspaceFolders`, else `rootUri`, else
/// `rootPath`.
pub fn roots(params: &Value) -> Vec<PathBuf> {
    let folders: Vec<PathBuf> = params
        .get("workspaceFolders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("uri")?.as_str())
        .filter_map(|u| convert::uri_path(&Url::parse(u).ok()?))
        .collect();
    if !folders.is_empty() {
        return folders;
    }
    if let Some(path) = params
        .get("rootUri")
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
        .and_then(|u| convert::uri_path(&u))
    {
        return vec![path];
    }
    params
        .get("rootPath")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

/// Analyses of the `.flow` files under `roots` that are not open and mention `word`.
pub fn closed_files_mentioning(
    roots: &[PathBuf],
    docs: &BTreeMap<Url, Document>,
    word: &str,
) -> Vec<Analysis> {
    let open: HashSet<&str> = docs.values().map(|d| d.key.as_str()).collect();
    let uri_of = |key: &str| docs.values().find(|d| d.key == key).map(|d| d.uri.clone());
    let mut files = Vec::new();
    for root in roots {
        collect_flow_files(root, 0, &mut files);
    }
    files.sort();
    files.dedup();
    let mut analyses = Vec::new();
    for path in files {
        let key = convert::path_key(&path);
        if open.contains(key.as_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.len() > MAX_DOCUMENT_BYTES || !mentions(&text, word) {
            continue;
        }
        let Ok(uri) = Url::from_file_path(&key) else {
            continue;
        };
        let open = server::open_files(docs, None);
        if let Ok(a) = analysis::analyse(&uri, &text, 0, open, &uri_of) {
            analyses.push(a);
        }
    }
    analyses
}

/// Whether `word` occurs in `text` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn collect_flow_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FILES {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if out.len() >= MAX_FILES {
            return;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            collect_flow_files(&path, depth + 1, out);
        } else if kind.is_file() && name.ends_with(".flow") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_identifiers_only() {
        assert!(mentions("let x = Point(x=1)", "Point"));
        assert!(!mentions("let x = Points(x=1)", "Point"));
        assert!(!mentions("let x = MyPoint", "Point"));
    }

    #[test]
    fn roots_come_from_folders_or_root_uri() {
        let params = serde_json::json!({"workspaceFolders": [{"uri": "file:///a", "name": "a"}], "rootUri": "file:///b"});
        assert_eq!(roots(&params), vec![PathBuf::from("/a")]);
        let params = serde_json::json!({"workspaceFolders": null, "rootUri": "file:///b"});
        assert_eq!(roots(&params), vec![PathBuf::from("/b")]);
        assert!(roots(&serde_json::json!({})).is_empty());
    }
}
