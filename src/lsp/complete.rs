//! Completion. The context is read from the text before the cursor, so it works while the line
//! being typed does not parse: after `@` the annotations; after `.` the fields of the receiver
//! or an enum's variants — the receiver's type is the checker's when the member name already
//! parses, else read from the text (a parameter or local, typed as the checker found it, a
//! constructor or non-generic call, a field or index chain); after `:` in a parameter, field or `let`, and after `->`, the types in scope; inside
//! the parentheses of a call to a known callable or constructor, its `name=` arguments not yet
//! given; elsewhere every name in scope — locals, parameters, top-level names and the prelude's
//! built-ins (with their signatures).
//!
//! Consumes an analysis and a position; produces completion items.

use std::collections::HashSet;

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, Documentation, MarkupContent,
    MarkupKind, Position,
};

use super::analysis::Analysis;
use super::convert;
use super::describe;
use super::index::{field_of, Def, BUILTIN_TYPES};
use crate::check::body::plural;
use crate::check::types::{DeclId, DeclKind, Type};
use crate::syntax::ast::CallableKind;

/// The annotations, with where each goes.
const ANNOTATIONS: &[(&str, &str)] = &[
    (
        "retries",
        "@retries(n): before a task, retry a failed attempt up to n times",
    ),
    (
        "cache",
        "@cache(version=\"…\"): before a task, reuse outputs for the same inputs",
    ),
    (
        "timeout",
        "@timeout(30s): before a task, end an attempt that runs longer",
    ),
    (
        "resources",
        "@resources(cpu=…, mem=\"…\"): before a task, recorded and reported",
    ),
    (
        "allow",
        "@allow(pickle): before a class or extern type, silences W0100",
    ),
    (
        "batch",
        "@batch(n): after a list type, n items per pickle file",
    ),
];

const KEYWORDS: &[&str] = &[
    "let", "var", "if", "else", "for", "in", "while", "break", "continue", "return", "fail", "and",
    "or", "not", "true", "false", "none",
];

const DECLARATION_KEYWORDS: &[&str] = &[
    "task", "workflow", "fn", "struct", "class", "enum", "extern", "type", "import",
];

/// The completions at `position` of the document.
pub fn completion(a: &Analysis, position: Position) -> Option<CompletionResponse> {
    let text = &a.root_file().text;
    let offset = convert::offset(a.root_file(), position);
    let before = &text[..offset];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let head = &text[..word_start];
    let items = if head.ends_with('@') {
        annotations()
    } else if let Some(dot) = head.strip_suffix('.') {
        members(a, dot, word_start)
    } else if is_type_position(head) {
        types(a)
    } else {
        let mut items = named_arguments(a, head, word_start);
        items.extend(names(a, word_start));
        items
    };
    Some(CompletionResponse::Array(items))
}

fn item(label: String, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label,
        kind: Some(kind),
        detail,
        ..Default::default()
    }
}

fn with_doc(mut item: CompletionItem, doc: Option<String>) -> CompletionItem {
    item.documentation = doc.map(|value| {
        Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        })
    });
    item
}

fn annotations() -> Vec<CompletionItem> {
    ANNOTATIONS
        .iter()
        .map(|(name, detail)| {
            item(
                name.to_string(),
                CompletionItemKind::KEYWORD,
                Some(detail.to_string()),
            )
        })
        .collect()
}

/// Whether the cursor stands where a type is written: after `->`, after `:` in a parameter,
/// field or `let`/`var`, or in the brackets of `list[`/`dict[`.
fn is_type_position(head: &str) -> bool {
    let trimmed = head.trim_end_matches([' ', '\t']);
    if trimmed.ends_with("->") || trimmed.ends_with("list[") || trimmed.ends_with("dict[str,") {
        return true;
    }
    let Some(before_colon) = trimmed.strip_suffix(':') else {
        return false;
    };
    let before_name = before_colon
        .trim_end_matches([' ', '\t'])
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if before_name.len() == before_colon.trim_end_matches([' ', '\t']).len() {
        return false;
    }
    let lead = before_name.trim_end_matches([' ', '\t']);
    if let Some(record) = lead.strip_suffix('{') {
        // `struct S { x: ` declares a field; `{k: ` starts a dict literal.
        let words: Vec<&str> = record.split_whitespace().rev().take(2).collect();
        return matches!(words.as_slice(), [_, "struct" | "class"]);
    }
    lead.is_empty()
        || lead.ends_with('\n')
        || lead.ends_with('(')
        || lead.ends_with(',')
        || lead.ends_with("let")
        || lead.ends_with("var")
}

fn types(a: &Analysis) -> Vec<CompletionItem> {
    let mut items: Vec<CompletionItem> = BUILTIN_TYPES
        .iter()
        .map(|t| {
            item(
                t.to_string(),
                CompletionItemKind::TYPE_PARAMETER,
                Some(describe::builtin_type(t).to_string()),
            )
        })
        .collect();
    for (name, ids) in &a.checked.scopes[Analysis::ROOT].names {
        let d = a.checked.decls.get(ids[0]);
        let kind = match d.kind {
            DeclKind::Struct(_) => CompletionItemKind::STRUCT,
            DeclKind::Class(_) => CompletionItemKind::CLASS,
            DeclKind::Enum(_) => CompletionItemKind::ENUM,
            DeclKind::Extern => CompletionItemKind::INTERFACE,
            DeclKind::Alias(_) => CompletionItemKind::TYPE_PARAMETER,
            DeclKind::Callable(_) => continue,
        };
        items.push(with_doc(
            item(name.clone(), kind, Some(describe::detail(a, ids[0]))),
            describe::doc_markdown(d.doc.as_deref()),
        ));
    }
    items.sort_by(|x, y| x.label.cmp(&y.label));
    items
}

/// One step of a receiver written before a `.`.
#[derive(Debug, PartialEq)]
enum Segment {
    Name(String),
    Call(String),
    Index,
}

/// The receiver chain ending at the end of `head` (`a.b[0].c(…)`), outermost first.
fn receiver_chain(head: &str) -> Option<Vec<Segment>> {
    let bytes = head.as_bytes();
    let mut end = bytes.len();
    let mut chain = Vec::new();
    loop {
        let mut kind_call = false;
        let mut indexed = false;
        if end > 0 && (bytes[end - 1] == b')' || bytes[end - 1] == b']') {
            let close = bytes[end - 1];
            let open = if close == b')' { b'(' } else { b'[' };
            let mut depth = 0usize;
            let mut i = end;
            loop {
                if i == 0 || end - i > 4096 {
                    return None;
                }
                i -= 1;
                if bytes[i] == close {
                    depth += 1;
                } else if bytes[i] == open {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            end = i;
            kind_call = close == b')';
            indexed = close == b']';
        }
        if indexed {
            chain.push(Segment::Index);
            continue;
        }
        let start = name_start(&head[..end]);
        if start == end {
            return None;
        }
        let name = head[start..end].to_string();
        chain.push(if kind_call {
            Segment::Call(name)
        } else {
            Segment::Name(name)
        });
        if start > 0 && bytes[start - 1] == b'.' {
            end = start - 1;
        } else {
            break;
        }
    }
    chain.reverse();
    Some(chain)
}

/// Where the name that ends `text` starts: past the last byte that cannot be in a name. Names
/// are ASCII, so that is a character boundary even when the character before is not.
fn name_start(text: &str) -> usize {
    text.bytes()
        .rposition(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .map_or(0, |i| i + 1)
}

/// What is written before a `.`.
enum Receiver {
    /// An enum's name: its variants follow.
    Enum(String, Vec<String>),
    /// A value of this type.
    Value(Type),
}

/// The receiver of the `.` just before `offset`: the type the checker found when the member
/// name parsed (`p.na|`, `f(x).na|`), else read from the text before the dot (`p.|`, where the
/// line does not parse).
fn receiver(a: &Analysis, head: &str, offset: usize) -> Option<Receiver> {
    let checked = a.checked.facts.as_ref().and_then(|f| {
        f.receivers
            .iter()
            .find(|(span, _)| span.file == a.root && span.start as usize == offset)
    });
    if let Some((_, ty)) = checked {
        return (!ty.has_error()).then(|| Receiver::Value(ty.clone()));
    }
    let chain = receiver_chain(head)?;
    let mut ty: Option<Type> = None;
    for (i, segment) in chain.iter().enumerate() {
        ty = match (segment, &ty) {
            (Segment::Name(n), None) if i == 0 => {
                match a
                    .index()
                    .resolve_at(&a.checked, Analysis::ROOT, offset, n)?
                {
                    Def::Decl(id) => match &a.checked.decls.get(id).kind {
                        DeclKind::Enum(variants) if chain.len() == 1 => {
                            return Some(Receiver::Enum(n.clone(), variants.clone()));
                        }
                        _ => None,
                    },
                    def => a.index().type_of_def(&a.checked, &def),
                }
            }
            (Segment::Call(n), None) if i == 0 => call_type(a, offset, n),
            (Segment::Name(n), Some(t)) => match field_of(&a.checked, t, n) {
                Some(def) => a.index().type_of_def(&a.checked, &def),
                None => match t {
                    Type::NamedTuple(fs) => fs.iter().find(|(f, _)| f == n).map(|(_, t)| t.clone()),
                    _ => None,
                },
            },
            (Segment::Index, Some(Type::List(t))) => Some((**t).clone()),
            (Segment::Index, Some(Type::Dict(_, v))) => Some((**v).clone()),
            _ => None,
        };
        ty.as_ref()?;
    }
    ty.map(Receiver::Value)
}

fn members(a: &Analysis, head: &str, offset: usize) -> Vec<CompletionItem> {
    let ty = match receiver(a, head, offset) {
        None => return Vec::new(),
        Some(Receiver::Enum(name, variants)) => {
            return variants
                .into_iter()
                .map(|v| {
                    let detail = format!("{name}.{v}");
                    item(v, CompletionItemKind::ENUM_MEMBER, Some(detail))
                })
                .collect();
        }
        Some(Receiver::Value(ty)) => ty,
    };
    let ty = ty.strip_none().unwrap_or(ty);
    if let Type::NamedTuple(fs) = &ty {
        return fs
            .iter()
            .map(|(n, t)| {
                item(
                    n.clone(),
                    CompletionItemKind::FIELD,
                    Some(a.checked.decls.show(t)),
                )
            })
            .collect();
    }
    let Some(fields) = a.checked.decls.fields(&ty) else {
        return Vec::new();
    };
    fields
        .iter()
        .map(|f| {
            with_doc(
                item(
                    f.name.clone(),
                    CompletionItemKind::FIELD,
                    Some(a.checked.decls.show(&f.ty)),
                ),
                describe::doc_markdown(f.doc.as_deref()),
            )
        })
        .collect()
}

/// The type of `name(…)`: a constructed record, or a non-generic callable's output.
fn call_type(a: &Analysis, offset: usize, name: &str) -> Option<Type> {
    let Def::Decl(id) = a
        .index()
        .resolve_at(&a.checked, Analysis::ROOT, offset, name)?
    else {
        return None;
    };
    match &a.checked.decls.get(id).kind {
        DeclKind::Struct(_) | DeclKind::Class(_) => Some(Type::Decl(id)),
        DeclKind::Callable(sig) if sig.generics.is_empty() => Some(sig.outputs.value_type()),
        _ => None,
    }
}

/// `name=` for each parameter of the call the cursor is in that is not given yet.
fn named_arguments(a: &Analysis, head: &str, offset: usize) -> Vec<CompletionItem> {
    let Some((open, given)) = open_call(head) else {
        return Vec::new();
    };
    let before = head[..open].trim_end_matches([' ', '\t']);
    let start = name_start(before);
    let callee = &before[start..];
    if callee.is_empty() || before[..start].ends_with('.') {
        return Vec::new();
    }
    let Some(Def::Decl(id)) = a
        .index()
        .resolve_at(&a.checked, Analysis::ROOT, offset, callee)
    else {
        return Vec::new();
    };
    let ids: Vec<DeclId> = a.checked.scopes[Analysis::ROOT]
        .get(callee)
        .map_or_else(|| vec![id], <[DeclId]>::to_vec);
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for id in ids {
        let fields = match &a.checked.decls.get(id).kind {
            DeclKind::Callable(sig) => &sig.params,
            DeclKind::Struct(fs) | DeclKind::Class(fs) => fs,
            _ => continue,
        };
        for f in fields {
            if given.contains(&f.name) || !seen.insert(f.name.clone()) {
                continue;
            }
            let mut it = with_doc(
                item(
                    format!("{}=", f.name),
                    CompletionItemKind::PROPERTY,
                    Some(a.checked.decls.show(&f.ty)),
                ),
                describe::doc_markdown(f.doc.as_deref()),
            );
            it.filter_text = Some(f.name.clone());
            it.insert_text = Some(format!("{}=", f.name));
            it.sort_text = Some(format!("0{}", f.name));
            items.push(it);
        }
    }
    items
}

/// When the cursor is at an argument's start inside a call: the byte offset of the call's `(`
/// and the names already given.
fn open_call(head: &str) -> Option<(usize, HashSet<String>)> {
    let bytes = head.as_bytes();
    let mut depth = 0i32;
    let mut i = bytes.len();
    let limit = bytes.len().saturating_sub(8192);
    let last = head.trim_end_matches([' ', '\t', '\n', '\r']);
    if !(last.ends_with('(') || last.ends_with(',')) {
        return None;
    }
    while i > limit {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' if depth == 0 => return None,
            b'(' | b'[' | b'{' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            let args = &head[i + 1..];
            let given = given_names(args);
            return Some((i, given));
        }
    }
    None
}

/// The `name=` argument names at the top level of `args`.
fn given_names(args: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut depth = 0;
    let mut current = String::new();
    let bytes = args.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => current.clear(),
            b'=' if depth == 0
                && bytes.get(i + 1) != Some(&b'=')
                && !matches!(
                    bytes.get(i.wrapping_sub(1)),
                    Some(b'=' | b'!' | b'<' | b'>')
                ) =>
            {
                let name = current.trim();
                if !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    names.insert(name.to_string());
                }
                current.clear();
            }
            _ if depth == 0 => current.push(b as char),
            _ => {}
        }
    }
    names
}

fn names(a: &Analysis, offset: usize) -> Vec<CompletionItem> {
    let mut items = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for &l in a.index().locals_at(Analysis::ROOT, offset).iter().rev() {
        let local = &a.index().locals[l];
        if seen.insert(local.name.clone()) {
            let detail = local.ty.as_ref().map(|t| a.checked.decls.show(t));
            let mut it = item(local.name.clone(), CompletionItemKind::VARIABLE, detail);
            it.sort_text = Some(format!("1{}", local.name));
            items.push(it);
        }
    }
    let body = a.index().body_at(Analysis::ROOT, offset);
    if let Some(body) = body {
        if let Some(DeclKind::Callable(sig)) = Some(&a.checked.decls.get(body.owner).kind) {
            for p in &sig.params {
                if seen.insert(p.name.clone()) {
                    let mut it = with_doc(
                        item(
                            p.name.clone(),
                            CompletionItemKind::VARIABLE,
                            Some(a.checked.decls.show(&p.ty)),
                        ),
                        describe::doc_markdown(p.doc.as_deref()),
                    );
                    it.sort_text = Some(format!("1{}", p.name));
                    items.push(it);
                }
            }
        }
    }
    let mut top: Vec<(&String, &Vec<DeclId>)> =
        a.checked.scopes[Analysis::ROOT].names.iter().collect();
    top.sort();
    for (name, ids) in top {
        if !seen.insert(name.clone()) {
            continue;
        }
        let d = a.checked.decls.get(ids[0]);
        let is_std = a.files.get(d.file.0 as usize).is_some_and(|f| f.is_std);
        let kind = match &d.kind {
            DeclKind::Callable(sig) => match sig.kind {
                CallableKind::Fn => CompletionItemKind::FUNCTION,
                CallableKind::Task => CompletionItemKind::METHOD,
                CallableKind::Workflow => CompletionItemKind::MODULE,
            },
            DeclKind::Struct(_) => CompletionItemKind::STRUCT,
            DeclKind::Class(_) => CompletionItemKind::CLASS,
            DeclKind::Enum(_) => CompletionItemKind::ENUM,
            DeclKind::Extern => CompletionItemKind::INTERFACE,
            DeclKind::Alias(_) => CompletionItemKind::TYPE_PARAMETER,
        };
        let mut detail = describe::detail(a, ids[0]);
        if ids.len() > 1 {
            let more = ids.len() - 1;
            detail.push_str(&format!("  (+{more} overload{})", plural(more)));
        }
        let mut it = with_doc(
            item(name.clone(), kind, Some(detail)),
            describe::doc_markdown(d.doc.as_deref()),
        );
        it.sort_text = Some(format!("{}{name}", if is_std { 3 } else { 2 }));
        items.push(it);
    }
    let keywords = if body.is_some() {
        KEYWORDS
    } else {
        DECLARATION_KEYWORDS
    };
    for k in keywords {
        let mut it = item(k.to_string(), CompletionItemKind::KEYWORD, None);
        it.sort_text = Some(format!("4{k}"));
        items.push(it);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_chains_read_backwards() {
        assert_eq!(
            receiver_chain("let a = p.inner[0].point").unwrap(),
            vec![
                Segment::Name("p".into()),
                Segment::Name("inner".into()),
                Segment::Index,
                Segment::Name("point".into())
            ]
        );
        assert_eq!(
            receiver_chain("  Point(x=1.0, y=f(2))").unwrap(),
            vec![Segment::Call("Point".into())]
        );
    }

    #[test]
    fn type_positions() {
        assert!(is_type_position("task f(p: "));
        assert!(is_type_position("task f(p: int, q:"));
        assert!(is_type_position("    let x: "));
        assert!(is_type_position("task f() -> "));
        assert!(!is_type_position("    let d = {k: "));
        assert!(is_type_position("struct P { x: "));
        assert!(!is_type_position("    let d = {\"k\": "));
    }

    #[test]
    fn open_calls_and_given_names() {
        let (open, given) = open_call("    let r = scale(x=1, ").unwrap();
        assert_eq!(open, 17);
        assert!(given.contains("x"));
        assert!(open_call("    let r = [1, ").is_none());
        assert!(open_call("    let r = scale(x").is_none());
    }
}
