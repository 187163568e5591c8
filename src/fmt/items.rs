//! Files, declarations, types, statements and blocks.

use super::doc::{concat, group, text, Doc};
use super::{lex, ListStyle, Printer, Seq};
use crate::syntax::ast::*;

/// A top-level line: an import or a declaration.
#[derive(Clone, Copy)]
enum Entry<'m> {
    Import(&'m Import),
    Item(&'m Item),
}

impl Entry<'_> {
    fn start(self) -> usize {
        match self {
            Entry::Import(i) => i.span.start as usize,
            Entry::Item(i) => i.span.start as usize,
        }
    }

    fn end(self) -> usize {
        match self {
            Entry::Import(i) => i.span.end as usize,
            Entry::Item(i) => i.span.end as usize,
        }
    }
}

impl Printer<'_> {
    /// The whole file: imports first, then declarations, each with the comments of its region.
    pub(super) fn module(&mut self, module: &Module) -> Doc {
        let mut entries: Vec<Entry> = module
            .imports
            .iter()
            .map(Entry::Import)
            .chain(module.items.iter().map(Entry::Item))
            .collect();
        entries.sort_by_key(|e| e.start());
        // Entry i owns the comments from the end of entry i-1's last line to the end of its own.
        let mut bounds = vec![0];
        for e in entries.iter().take(entries.len().saturating_sub(1)) {
            let line_end = lex::line_end(self.bytes, e.end());
            bounds.push(self.comments.count_before(line_end));
        }
        bounds.push(self.comments.count_before(usize::MAX));

        let mut out = Vec::new();
        let mut seq = Seq::new(true, false, false);
        // When imports move above a first declaration, the file's header comment (what precedes
        // it up to the last blank line) stays on top.
        let imports_move =
            matches!(entries.first(), Some(Entry::Item(_))) && !module.imports.is_empty();
        if imports_move {
            let first = entries[0].start();
            let (lo, hi) = (bounds[0], self.comments.count_before(first));
            let header_end = (lo..hi)
                .rev()
                .find(|&i| {
                    let next = if i + 1 < hi {
                        self.comments.get(i + 1).start
                    } else {
                        first
                    };
                    lex::blank_line_before(self.bytes, next)
                })
                .map_or(lo, |i| i + 1);
            self.comments.enter(lo..header_end);
            self.comments_before(&mut out, usize::MAX, &mut seq);
            seq.need_blank = header_end > lo;
            bounds[0] = header_end;
        }
        let order = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Entry::Import(_)))
            .chain(
                entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| matches!(e, Entry::Item(_))),
            );
        for (i, &entry) in order {
            self.comments.enter(bounds[i]..bounds[i + 1]);
            seq.prev_end = 0;
            if let Entry::Item(_) = entry {
                seq.need_blank = true;
            }
            self.lead(&mut out, entry.start(), &mut seq, Doc::HardLine);
            out.push(match entry {
                Entry::Import(import) => self.import(import),
                Entry::Item(item) => self.item(item),
            });
            // Own-line comments that flowed out of the entry land on the lines after it. A later
            // run finds them in the next entry's region, which starts with a blank line: put it
            // there now. So do the comments that end the file after an import that moves above
            // the declarations (the last entry owns them): they now come before a declaration.
            seq.prev_end = 0;
            let moved_above_items = matches!(entry, Entry::Import(_)) && !module.items.is_empty();
            seq.need_blank = self
                .comments
                .pending()
                .iter()
                .any(|c| c.own_line && (c.start < entry.end() || moved_above_items));
            self.comments_before(&mut out, usize::MAX, &mut seq);
        }
        if entries.is_empty() {
            self.comments.enter(0..bounds[1]);
            self.comments_before(&mut out, usize::MAX, &mut seq);
        }
        concat(out)
    }

    fn import(&mut self, import: &Import) -> Doc {
        let target = import.target_span;
        text(format!(
            "import {}",
            self.slice(target.start as usize, target.end as usize)
        ))
    }

    fn item(&mut self, item: &Item) -> Doc {
        let mut out = Vec::new();
        let mut seq = Seq::new(false, false, false);
        seq.first = false;
        for (i, a) in item.annotations.iter().enumerate() {
            if i > 0 {
                self.lead(&mut out, a.span.start as usize, &mut seq, Doc::HardLine);
            }
            out.push(self.annotation(a));
        }
        if !item.annotations.is_empty() {
            self.lead(
                &mut out,
                item.name().span.start as usize,
                &mut seq,
                Doc::HardLine,
            );
        }
        out.push(self.declaration(&item.kind));
        concat(out)
    }

    fn declaration(&mut self, kind: &ItemKind) -> Doc {
        match kind {
            ItemKind::Struct(record) => self.record("struct", record),
            ItemKind::Class(record) => self.record("class", record),
            ItemKind::Enum(e) => {
                let style = ListStyle {
                    braces: true,
                    docs: true,
                    ..ListStyle::of("{", "}")
                };
                let variants = self.list(
                    style,
                    &e.variants,
                    |(_, v)| (v.span.start as usize, v.span.end as usize),
                    |_, (_, v)| text(v.name.clone()),
                );
                concat(vec![text(format!("enum {} ", e.name.name)), variants])
            }
            ItemKind::Extern(name) => text(format!("extern type {}", name.name)),
            ItemKind::Alias { name, ty } => {
                concat(vec![text(format!("type {} = ", name.name)), self.ty(ty)])
            }
            ItemKind::Callable(c) => self.callable(c),
        }
    }

    fn record(&mut self, keyword: &str, record: &Record) -> Doc {
        let style = ListStyle {
            braces: true,
            docs: true,
            ..ListStyle::of("{", "}")
        };
        let fields = self.list(style, &record.fields, param_range, |p, f| p.param(f));
        concat(vec![
            text(format!("{keyword} {} ", record.name.name)),
            fields,
        ])
    }

    fn callable(&mut self, c: &Callable) -> Doc {
        let mut head = format!("{} {}", c.kind.keyword(), c.name.name);
        if !c.generics.is_empty() {
            let names: Vec<&str> = c.generics.iter().map(|g| g.name.as_str()).collect();
            head.push_str(&format!("[{}]", names.join(", ")));
        }
        let style = ListStyle {
            docs: true,
            ..ListStyle::of("(", ")")
        };
        let mut out = vec![
            text(head),
            self.list(style, &c.params, param_range, |p, x| p.param(x)),
        ];
        match &c.output {
            Output::Nothing => {}
            Output::Type(t) => {
                out.push(text(" -> "));
                out.push(self.ty(t));
            }
            Output::Named(fields, _) => {
                out.push(text(" -> "));
                out.push(self.list(
                    ListStyle::of("(", ")"),
                    fields,
                    |(n, t)| (n.span.start as usize, type_end(t)),
                    |p, (n, t)| concat(vec![text(format!("{}: ", n.name)), p.ty(t)]),
                ));
            }
        }
        if let Some(body) = &c.body {
            out.push(text(" "));
            out.push(group(self.block(body, true)));
        }
        if let Some(python) = &c.python {
            // Python code is copied as written: its indentation is Python's business.
            out.push(text(" python "));
            out.push(text(&self.text[python.span.range()]));
        }
        concat(out)
    }

    /// `name: T = default`, a parameter or a field.
    fn param(&mut self, p: &Param) -> Doc {
        let mut out = vec![text(format!("{}: ", p.name.name)), self.ty(&p.ty)];
        if let Some(d) = &p.default {
            out.push(text(" = "));
            out.push(self.expr(d));
        }
        concat(out)
    }

    pub(super) fn annotation(&mut self, a: &Annotation) -> Doc {
        let name = text(format!("@{}", a.name.name));
        if a.args.is_empty() {
            return name;
        }
        let args = self.args(&a.args);
        concat(vec![name, args])
    }

    /// `(a, name=b)`.
    pub(super) fn args(&mut self, args: &[Arg]) -> Doc {
        self.list(
            ListStyle::of("(", ")"),
            args,
            |a| (a.span.start as usize, a.span.end as usize),
            |p, a| match &a.name {
                Some(n) => concat(vec![text(format!("{}=", n.name)), p.expr(&a.value)]),
                None => p.expr(&a.value),
            },
        )
    }

    pub(super) fn ty(&mut self, t: &TypeExpr) -> Doc {
        let mut out = vec![match &t.kind {
            TypeExprKind::Named(name, args) if args.is_empty() => text(name.name.clone()),
            TypeExprKind::Named(name, args) => {
                let args = self.types(ListStyle::of("[", "]"), args);
                concat(vec![text(name.name.clone()), args])
            }
            TypeExprKind::None => text("none"),
            TypeExprKind::Optional(inner) => concat(vec![self.ty(inner), text("?")]),
            TypeExprKind::Union(members) => {
                let mut parts = Vec::new();
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        parts.push(text(" | "));
                    }
                    parts.push(self.ty(m));
                }
                concat(parts)
            }
            TypeExprKind::Tuple(items) => self.types(ListStyle::of("(", ")"), items),
        }];
        for a in &t.annotations {
            out.push(text(" "));
            out.push(self.annotation(a));
        }
        concat(out)
    }

    fn types(&mut self, style: ListStyle, items: &[TypeExpr]) -> Doc {
        self.list(
            style,
            items,
            |t| (t.span.start as usize, type_end(t)),
            |p, t| p.ty(t),
        )
    }

    pub(super) fn pattern(&mut self, pattern: &Pattern) -> Doc {
        match pattern {
            Pattern::Name(name) => text(name.name.clone()),
            Pattern::Tuple(items, _) => self.list(
                ListStyle::of("(", ")"),
                items,
                |p| {
                    let s = p.span();
                    (s.start as usize, s.end as usize)
                },
                |p, x| p.pattern(x),
            ),
        }
    }

    // ------------------------------------------------------------ statements

    /// `{ statements }`, not grouped: the caller groups it (alone, or with the other blocks
    /// of an `if` chain). With `may_inline`, a single short statement written on one line may
    /// stay on one line.
    pub(super) fn block(&mut self, block: &Block, may_inline: bool) -> Doc {
        let start = block.span.start as usize;
        let close = (block.span.end as usize).saturating_sub(1);
        let inline = may_inline
            && block.stmts.len() == 1
            && matches!(
                block.stmts[0].kind,
                StmtKind::Expr(_) | StmtKind::Return(_) | StmtKind::Break | StmtKind::Continue
            )
            && !self.slice(start, block.span.end as usize).contains('\n');
        let brk = || if inline { Doc::Line } else { Doc::HardLine };
        let mut inner = Vec::new();
        let mut seq = Seq::new(true, false, false);
        seq.prev_end = start + 1;
        for stmt in &block.stmts {
            self.lead(&mut inner, stmt.span.start as usize, &mut seq, brk());
            inner.push(self.stmt(stmt));
            seq.prev_end = stmt.span.end as usize;
        }
        self.comments_before(&mut inner, close, &mut seq);
        if inner.is_empty() {
            return text("{}");
        }
        concat(vec![
            text("{"),
            super::doc::indent(concat(inner)),
            brk(),
            text("}"),
        ])
    }

    fn stmt(&mut self, stmt: &Stmt) -> Doc {
        match &stmt.kind {
            StmtKind::Let {
                mutable,
                pattern,
                ty,
                value,
            } => {
                let mut out = vec![
                    text(if *mutable { "var " } else { "let " }),
                    self.pattern(pattern),
                ];
                if let Some(t) = ty {
                    out.push(text(": "));
                    out.push(self.ty(t));
                }
                out.push(text(" = "));
                out.push(self.expr(value));
                concat(out)
            }
            StmtKind::Assign {
                target,
                indices,
                value,
            } => {
                let mut out = vec![text(target.name.clone())];
                for i in indices {
                    out.push(self.index(i));
                }
                out.push(text(" = "));
                out.push(self.expr(value));
                concat(out)
            }
            StmtKind::For {
                pattern,
                iter,
                body,
            } => concat(vec![
                text("for "),
                self.pattern(pattern),
                text(" in "),
                self.expr(iter),
                text(" "),
                group(self.block(body, true)),
            ]),
            StmtKind::While { cond, body } => concat(vec![
                text("while "),
                self.expr(cond),
                text(" "),
                group(self.block(body, true)),
            ]),
            StmtKind::Break => text("break"),
            StmtKind::Continue => text("continue"),
            StmtKind::Return(None) => text("return"),
            StmtKind::Return(Some(e)) => concat(vec![text("return "), self.expr(e)]),
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Error => text(
                self.slice(stmt.span.start as usize, stmt.span.end as usize)
                    .to_string(),
            ),
        }
    }
}

fn param_range(p: &Param) -> (usize, usize) {
    (p.span.start as usize, p.span.end as usize)
}

/// Where a type ends, its trailing annotations included.
pub(super) fn type_end(t: &TypeExpr) -> usize {
    t.annotations
        .iter()
        .map(|a| a.span.end)
        .chain([t.span.end])
        .max()
        .unwrap_or(t.span.end) as usize
}
