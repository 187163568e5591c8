//! Document symbols: the document's declarations, each with its children — a record's fields, a
//! callable's parameters, an enum's variants.
//!
//! Consumes an analysis; produces a nested symbol list in source order.

use lsp_types::{DocumentSymbol, DocumentSymbolResponse, SymbolKind};

use super::analysis::Analysis;
use super::convert;
use super::describe;
use crate::source::{SourceFile, Span};
use crate::syntax::ast::{CallableKind, ItemKind, Param};

/// The symbols of the document.
pub fn document_symbols(a: &Analysis) -> DocumentSymbolResponse {
    let file = a.root_file();
    let module = &a.checked.modules[Analysis::ROOT];
    let mut symbols = Vec::new();
    for item in &module.ast.items {
        let name = item.name();
        let (kind, detail, children) = match &item.kind {
            ItemKind::Callable(c) => (
                match c.kind {
                    CallableKind::Fn => SymbolKind::FUNCTION,
                    CallableKind::Task => SymbolKind::METHOD,
                    CallableKind::Workflow => SymbolKind::MODULE,
                },
                describe::callable_text(file, c),
                params(file, &c.params, SymbolKind::VARIABLE),
            ),
            ItemKind::Struct(r) => (
                SymbolKind::STRUCT,
                "struct".to_string(),
                params(file, &r.fields, SymbolKind::FIELD),
            ),
            ItemKind::Class(r) => (
                SymbolKind::CLASS,
                "class (pickled)".to_string(),
                params(file, &r.fields, SymbolKind::FIELD),
            ),
            ItemKind::Enum(e) => (
                SymbolKind::ENUM,
                "enum".to_string(),
                e.variants
                    .iter()
                    .map(|(_, v)| {
                        symbol(
                            file,
                            &v.name,
                            None,
                            SymbolKind::ENUM_MEMBER,
                            v.span,
                            v.span,
                            None,
                        )
                    })
                    .collect(),
            ),
            ItemKind::Extern(_) => (
                SymbolKind::INTERFACE,
                "extern type (pickled)".to_string(),
                Vec::new(),
            ),
            ItemKind::Alias { ty, .. } => (
                SymbolKind::TYPE_PARAMETER,
                format!("= {}", describe::type_text(file, ty)),
                Vec::new(),
            ),
        };
        let range = item.span.to(name.span);
        symbols.push(symbol(
            file,
            &name.name,
            Some(detail),
            kind,
            range,
            name.span,
            Some(children),
        ));
    }
    DocumentSymbolResponse::Nested(symbols)
}

fn params(file: &SourceFile, params: &[Param], kind: SymbolKind) -> Vec<DocumentSymbol> {
    params
        .iter()
        .map(|p| {
            symbol(
                file,
                &p.name.name,
                Some(describe::type_text(file, &p.ty)),
                kind,
                p.span.to(p.name.span),
                p.name.span,
                None,
            )
        })
        .collect()
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be given.
fn symbol(
    file: &SourceFile,
    name: &str,
    detail: Option<String>,
    kind: SymbolKind,
    range: Span,
    selection: Span,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: convert::range(file, range),
        selection_range: convert::range(file, selection),
        children: children.filter(|c| !c.is_empty()),
    }
}
