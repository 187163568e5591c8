//! The checker: loads a program, collects its declarations, checks every body and workflow,
//! and lowers interface types. Pure apart from reading the imported files.
//!
//! Consumes a root file; produces a [`Checked`] program — declarations, scopes, and every
//! diagnostic found, sorted — even when the program has errors, and on request the types it
//! found in bodies ([`facts::Facts`]).

pub mod annotations;
pub mod body;
pub mod calls;
pub mod collect;
pub mod expr;
pub mod facts;
pub mod load;
pub mod lower;
mod parallel;
pub mod suggest;
pub mod types;
pub mod workflow;

use std::collections::HashSet;
use std::path::Path;

use body::Checker;
use collect::{Collected, Scope};
use facts::Facts;
use load::{Files, Loaded, LoadedModule, ReadError};
use types::{DeclId, DeclKind, Decls, Outputs, Signature};

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Callable, CallableKind, ItemKind};

/// A checked program: everything later stages and the language server need.
pub struct Checked {
    /// The text of every file read.
    pub sources: SourceMap,
    /// The parsed modules (0: prelude, 1: the root file).
    pub modules: Vec<LoadedModule>,
    /// Every declaration.
    pub decls: Decls,
    /// Each module's top-level scope.
    pub scopes: Vec<Scope>,
    /// Each module's items' declaration ids.
    pub item_decls: Vec<Vec<DeclId>>,
    /// Every problem found, in a total order.
    pub diagnostics: Vec<Diagnostic>,
    /// The types found in bodies, when [`Options::facts`] asked for them.
    pub facts: Option<Facts>,
}

/// How [`check_text_with`] reads imports, and what it keeps besides diagnostics.
pub struct Options<'f> {
    /// Where imported files are read.
    pub files: &'f dyn Files,
    /// Whether to record the types found in bodies ([`Checked::facts`]).
    pub facts: bool,
}

impl Checked {
    /// The tasks and workflows declared in the root file, in source order.
    pub fn interfaces(&self) -> impl Iterator<Item = (&str, &Signature)> {
        self.item_decls[load::ROOT].iter().filter_map(|&id| {
            let decl = self.decls.get(id);
            match &decl.kind {
                DeclKind::Callable(sig) if sig.kind != CallableKind::Fn => {
                    Some((decl.name.as_str(), sig))
                }
                _ => None,
            }
        })
    }
}

/// Checks the program whose root file is at `path`; `Err` when that file cannot be read.
pub fn check_path(path: &Path) -> Result<Checked, ReadError> {
    load::load_path(path).map(|loaded| check_loaded(loaded, None))
}

/// Checks a program given as text (its imports are read from disk, relative to `name`).
pub fn check_text(name: &str, text: &str) -> Checked {
    check_text_with(
        name,
        text,
        &Options {
            files: &load::Disk,
            facts: false,
        },
    )
}

/// Checks a program given as text, its imports read relative to `name` through
/// `options.files`.
pub fn check_text_with(name: &str, text: &str, options: &Options) -> Checked {
    let facts = options.facts.then(Facts::default);
    check_loaded(load::load_text(name, text, options.files), facts)
}

fn check_loaded(loaded: Loaded, mut facts: Option<Facts>) -> Checked {
    let mut diags = loaded.diagnostics.clone();
    let Collected {
        decls,
        scopes,
        item_decls,
        used_imports: type_uses,
    } = collect::collect(&loaded, &mut diags);
    let jobs = loaded
        .modules
        .iter()
        .map(|module| (loaded.sources.get(module.file).text.len(), module))
        .collect();
    let record = facts.is_some();
    let mut workflow_calls: Vec<(DeclId, DeclId, Span)> = Vec::new();
    for found in parallel::map(jobs, |m, module| {
        let facts = record.then(Facts::default);
        check_module(
            module,
            &decls,
            &scopes[m],
            &item_decls[m],
            &type_uses[m],
            facts,
        )
    }) {
        diags.extend(found.diagnostics);
        workflow_calls.extend(found.workflow_calls);
        if let (Some(all), Some(found)) = (facts.as_mut(), found.facts) {
            all.extend(found);
        }
    }
    report_recursive_workflows(&decls, &workflow_calls, &mut diags);
    let mut sink = Diagnostics::new();
    for d in diags {
        sink.push(d);
    }
    Checked {
        sources: loaded.sources,
        modules: loaded.modules,
        decls,
        scopes,
        item_decls,
        diagnostics: sink.into_sorted(),
        facts,
    }
}

/// What checking one module's declarations finds.
struct Findings {
    diagnostics: Vec<Diagnostic>,
    /// Workflow-to-workflow calls: caller, callee and where.
    workflow_calls: Vec<(DeclId, DeclId, Span)>,
    /// The types found in the module's bodies, when asked for.
    facts: Option<Facts>,
}

/// Checks the declarations of one module: bodies, defaults, annotations and unused imports.
fn check_module(
    module: &LoadedModule,
    decls: &Decls,
    scope: &Scope,
    item_decls: &[DeclId],
    type_uses: &HashSet<usize>,
    mut facts: Option<Facts>,
) -> Findings {
    let mut diags = Vec::new();
    let mut workflow_calls = Vec::new();
    let mut used_imports = type_uses.clone();
    for (item, &id) in module.ast.items.iter().zip(item_decls) {
        let allow_pickle = annotations::check_item(item, &mut diags);
        let decl = decls.get(id);
        match (&item.kind, &decl.kind) {
            (ItemKind::Class(_) | ItemKind::Extern(_), _) if !allow_pickle && !module.is_std => {
                diags.push(pickle_warning(
                    &decl.name,
                    decl.span,
                    item.span,
                    matches!(item.kind, ItemKind::Class(_)),
                ));
            }
            (ItemKind::Callable(callable), DeclKind::Callable(sig)) => {
                let mut calls = Vec::new();
                let mut checker = Checker::new(
                    decls,
                    scope,
                    &mut diags,
                    callable,
                    sig,
                    &mut used_imports,
                    &mut calls,
                    module.is_std,
                )
                .recording(facts.as_mut());
                checker.check_defaults();
                if callable.kind == CallableKind::Workflow {
                    checker.check_workflow();
                } else {
                    checker.check_body();
                }
                workflow_calls.extend(calls.into_iter().map(|(to, span)| (id, to, span)));
            }
            (
                ItemKind::Struct(record) | ItemKind::Class(record),
                DeclKind::Struct(fields) | DeclKind::Class(fields),
            ) => {
                let owner = Callable {
                    kind: CallableKind::Fn,
                    name: record.name.clone(),
                    generics: Vec::new(),
                    params: record.fields.clone(),
                    output: crate::syntax::ast::Output::Nothing,
                    body: None,
                    python: None,
                };
                let sig = Signature {
                    kind: CallableKind::Fn,
                    generics: Vec::new(),
                    params: fields.clone(),
                    outputs: Outputs::Nothing,
                    output_span: decl.span,
                    builtin: false,
                };
                let mut calls = Vec::new();
                Checker::new(
                    decls,
                    scope,
                    &mut diags,
                    &owner,
                    &sig,
                    &mut used_imports,
                    &mut calls,
                    module.is_std,
                )
                .recording(facts.as_mut())
                .check_defaults();
            }
            _ => {}
        }
    }
    for (i, import) in module.ast.imports.iter().enumerate() {
        if module.imports[i].is_some() && !used_imports.contains(&i) {
            diags.push(
                Diagnostic::new(
                    Code::W0200,
                    import.span,
                    "unused import",
                    "nothing from this import is used",
                )
                .with_fix("remove the import", import.span, ""),
            );
        }
    }
    Findings {
        diagnostics: diags,
        workflow_calls,
        facts,
    }
}

fn pickle_warning(name: &str, span: Span, item: Span, is_class: bool) -> Diagnostic {
    let alternative = if is_class {
        format!("declare `{name}` as a `struct` if its fields are known types: structs travel as Flyte literals, faster and readable anywhere")
    } else {
        "an extern type has no Flow fields: keep it pickled, and silence this with `@allow(pickle)` before it".to_string()
    };
    Diagnostic::new(Code::W0100, span, format!("`{name}` is lowered to Pickle"), "the type engine does not know this type")
        .with_note("Pickle ties a stored value to one Python version: files written by one CPython may not load in another")
        .with_help(alternative)
        .with_fix("allow Pickle for this type", Span { end: item.start, ..item }, "@allow(pickle)\n")
}

/// E0302: a workflow that calls itself, directly or through others; one error per cycle.
fn report_recursive_workflows(
    decls: &Decls,
    calls: &[(DeclId, DeclId, Span)],
    diags: &mut Vec<Diagnostic>,
) {
    let mut reported: HashSet<DeclId> = HashSet::new();
    let mut starts: Vec<DeclId> = calls.iter().map(|c| c.0).collect();
    starts.sort();
    starts.dedup();
    for start in starts {
        if reported.contains(&start) {
            continue;
        }
        let mut path: Vec<&(DeclId, DeclId, Span)> = Vec::new();
        let mut visited = HashSet::new();
        if !find_cycle(start, start, calls, &mut visited, &mut path) {
            continue;
        }
        let names: Vec<&str> = path
            .iter()
            .map(|(from, _, _)| decls.get(*from).name.as_str())
            .collect();
        reported.extend(path.iter().map(|(from, _, _)| *from));
        let name = names[0];
        let message = if names.len() == 1 {
            format!("workflow `{name}` calls itself")
        } else {
            format!(
                "workflow `{name}` calls itself through {}",
                names[1..]
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut d = Diagnostic::new(
            Code::E0302,
            path[0].2,
            message,
            format!("`{name}` calls `{}` here", decls.get(path[0].1).name),
        );
        for (from, to, span) in &path[1..] {
            d = d.with_label(
                *span,
                format!(
                    "`{}` calls `{}` here",
                    decls.get(*from).name,
                    decls.get(*to).name
                ),
            );
        }
        diags.push(
            d.with_note(
                "a workflow is compiled into a fixed graph of nodes, so it cannot contain itself",
            )
            .with_help(
                "compute the repetition inside a task, or unroll it into separate workflows",
            ),
        );
    }
}

fn find_cycle<'c>(
    target: DeclId,
    at: DeclId,
    calls: &'c [(DeclId, DeclId, Span)],
    visited: &mut HashSet<DeclId>,
    path: &mut Vec<&'c (DeclId, DeclId, Span)>,
) -> bool {
    for edge in calls.iter().filter(|c| c.0 == at) {
        path.push(edge);
        if edge.1 == target
            || (visited.insert(edge.1) && find_cycle(target, edge.1, calls, visited, path))
        {
            return true;
        }
        path.pop();
    }
    false
}
