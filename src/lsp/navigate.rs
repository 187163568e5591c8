//! Go to definition and find references.
//!
//! Consumes analyses and a position; produces locations. A declaration is identified across
//! analyses (each open document has its own) by a [`DefKey`]: the identity of its file and the
//! byte range of its name, so references are found in every open document's program — the
//! document's own file, the files it imports, and the files of other open documents that
//! import the same declaration, and — for names other than locals — the closed `.flow` files
//! of the workspace folders that mention the name (see [`super::workspace`]). In a file that is
//! open, only its own analysis (made from the editor's text) counts.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use lsp_types::{GotoDefinitionResponse, Location, Position, Url};

use super::analysis::Analysis;
use super::convert;
use super::index::{Def, Occurrence};
use super::server::Document;
use super::workspace;

/// A declaration's identity across analyses: file key and the byte range of its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DefKey {
    /// The file's identity (see [`convert::uri_key`]).
    pub file: String,
    /// First byte of the name.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
}

/// The occurrence under the cursor in the document's own file.
pub fn occurrence_at(a: &Analysis, position: Position) -> Option<&Occurrence> {
    let offset = convert::offset(a.root_file(), position);
    a.index().at(Analysis::ROOT, offset)
}

/// The identity of `def` in analysis `a`.
pub fn def_key(a: &Analysis, def: &Def) -> Option<DefKey> {
    let span = a.index().def_span(&a.checked, def)?;
    Some(DefKey {
        file: a.files.get(span.file.0 as usize)?.key.clone(),
        start: span.start,
        end: span.end,
    })
}

/// What `key` stands for in analysis `a`, if its program holds that declaration.
pub fn find_def(a: &Analysis, key: &DefKey) -> Option<Def> {
    let file = a.file_by_key(&key.file)?;
    let m = a.module_of(file)?;
    let found = a
        .index()
        .occurrences
        .get(m)?
        .iter()
        .find(|o| o.is_def && o.span.start == key.start && o.span.end == key.end);
    if let Some(o) = found {
        return Some(o.def.clone());
    }
    a.checked
        .decls
        .iter()
        .find(|(_, d)| d.file == file && d.span.start == key.start && d.span.end == key.end)
        .map(|(id, _)| Def::Decl(id))
}

/// The location of the declaration under the cursor.
pub fn definition(a: &Analysis, position: Position) -> Option<GotoDefinitionResponse> {
    let occurrence = occurrence_at(a, position)?;
    let span = a.index().def_span(&a.checked, &occurrence.def)?;
    a.location(span).map(GotoDefinitionResponse::Scalar)
}

/// Every place of `key` in the programs of the open documents and of `closed` (analyses of
/// workspace files that are not open): each occurrence with the analysis it was found in. The
/// document analysis `first` is searched first.
pub fn occurrences_everywhere<'d>(
    docs: &'d BTreeMap<Url, super::server::Document>,
    closed: &'d [Analysis],
    first: &'d Analysis,
    key: &DefKey,
) -> Vec<(&'d Analysis, &'d Occurrence)> {
    let open: HashSet<&str> = docs.values().map(|d| d.key.as_str()).collect();
    let analyses = std::iter::once(first)
        .chain(
            docs.values()
                .filter_map(|d: &Document| d.analysis.as_ref().ok())
                .filter(|a| !std::ptr::eq(*a, first)),
        )
        .chain(closed);
    let mut found = Vec::new();
    let mut seen: HashSet<(String, u32, u32)> = HashSet::new();
    for a in analyses {
        let Some(def) = find_def(a, key) else {
            continue;
        };
        for (m, list) in a.index().occurrences.iter().enumerate() {
            let file = a.checked.modules[m].file;
            let info = &a.files[file.0 as usize];
            if file != a.root && open.contains(info.key.as_str()) {
                continue;
            }
            for o in list.iter().filter(|o| o.def == def) {
                if seen.insert((info.key.clone(), o.span.start, o.span.end)) {
                    found.push((a, o));
                }
            }
        }
    }
    found
}

/// Analyses of the closed workspace files that may use `def` (none for locals, which stay in
/// their file).
pub fn closed_users(
    docs: &BTreeMap<Url, Document>,
    roots: &[PathBuf],
    a: &Analysis,
    def: &Def,
) -> Vec<Analysis> {
    if matches!(def, Def::Local(_) | Def::BuiltinType(_) | Def::Module(_)) || roots.is_empty() {
        return Vec::new();
    }
    let Some(span) = a.index().def_span(&a.checked, def) else {
        return Vec::new();
    };
    let name = a.checked.sources.slice(span).to_string();
    workspace::closed_files_mentioning(roots, docs, &name)
}

/// Every reference to the declaration under the cursor.
pub fn references(
    docs: &BTreeMap<Url, Document>,
    roots: &[PathBuf],
    a: &Analysis,
    position: Position,
    include_declaration: bool,
) -> Option<Vec<Location>> {
    let occurrence = occurrence_at(a, position)?;
    if let Def::BuiltinType(_) = occurrence.def {
        return None;
    }
    let key = def_key(a, &occurrence.def)?;
    let closed = closed_users(docs, roots, a, &occurrence.def);
    let mut locations: Vec<Location> = occurrences_everywhere(docs, &closed, a, &key)
        .into_iter()
        .filter(|(_, o)| include_declaration || !o.is_def)
        .filter_map(|(a, o)| a.location(o.span))
        .collect();
    if include_declaration && !locations.iter().any(is_std_location) {
        if let Some(span) = a.index().def_span(&a.checked, &occurrence.def) {
            if a.files[span.file.0 as usize].is_std {
                locations.extend(a.location(span));
            }
        }
    }
    locations.sort_by(|x, y| {
        (x.uri.as_str(), x.range.start.line, x.range.start.character).cmp(&(
            y.uri.as_str(),
            y.range.start.line,
            y.range.start.character,
        ))
    });
    Some(locations)
}

fn is_std_location(l: &Location) -> bool {
    convert::uri_path(&l.uri).is_some_and(|p| super::stdlib::is_stdlib_path(&p))
}
