//! Builds the [`ast`](super::ast) from pest's parse tree of `grammar/flow.pest`.
//!
//! Consumes the text of one file; produces a [`Module`] and E0001 diagnostics. Regions the
//! grammar could not parse (`bad_item`, `bad_stmt`) are re-parsed alone by [`super::errors`] to
//! say what was expected there, so every broken declaration gets its own error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use super::ast::*;
use super::errors;
use super::name::FxBuildHasher;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// The pest parser generated from the grammar.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/flow.pest"]
pub struct FlowParser;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    use Rule::*;
    PrattParser::new()
        .op(Op::infix(op_or, Assoc::Left))
        .op(Op::infix(op_and, Assoc::Left))
        .op(Op::prefix(op_not))
        .op(Op::infix(op_coalesce, Assoc::Right))
        .op(Op::infix(op_eq, Assoc::Left)
            | Op::infix(op_ne, Assoc::Left)
            | Op::infix(op_lt, Assoc::Left)
            | Op::infix(op_le, Assoc::Left)
            | Op::infix(op_gt, Assoc::Left)
            | Op::infix(op_ge, Assoc::Left)
            | Op::infix(op_in, Assoc::Left))
        .op(Op::infix(op_add, Assoc::Left) | Op::infix(op_sub, Assoc::Left))
        .op(Op::infix(op_mul, Assoc::Left)
            | Op::infix(op_div, Assoc::Left)
            | Op::infix(op_floordiv, Assoc::Left)
            | Op::infix(op_mod, Assoc::Left))
        .op(Op::prefix(op_neg))
        .op(Op::infix(op_pow, Assoc::Right))
        .op(Op::postfix(call_args)
            | Op::postfix(field_access)
            | Op::postfix(tuple_index)
            | Op::postfix(index))
});

/// The name a broken declaration declares: the word after its keyword (`task NAME(…`), past
/// annotations and comments; none when the region does not start like a declaration.
fn declared_name(region: &str) -> Option<String> {
    let line = region
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(['@', '#']))?;
    let mut words = line.split_whitespace();
    let name = match words.next()? {
        "task" | "fn" | "workflow" | "struct" | "class" | "enum" | "type" => words.next()?,
        "extern" => words.nth(1)?,
        _ => return None,
    };
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0).then(|| name[..end].to_string())
}

/// Parses `text` (file `file`) into a module, reporting syntax errors into `errors_out`.
/// `text` must already be known to nest no deeper than the parser's limit.
pub fn parse_module(file: FileId, text: &str, errors_out: &mut Vec<Diagnostic>) -> Module {
    let builder = Builder {
        file,
        text,
        errors: RefCell::new(Vec::new()),
        names: RefCell::default(),
    };
    let module = match FlowParser::parse(Rule::file, text) {
        Ok(mut pairs) => builder.module(pairs.next().expect("the file rule always yields a pair")),
        Err(_) => {
            let error = parse_detailed(Rule::file, text).expect_err("the same text fails again");
            builder.error(errors::from_pest(file, text, 0, &error));
            Module::default()
        }
    };
    errors_out.extend(builder.errors.into_inner());
    module
}

/// Parses with pest's error detail on, which records the tokens expected at the failure: slower,
/// so used only to explain a region already known to be broken.
fn parse_detailed(rule: Rule, text: &str) -> Result<(), pest::error::Error<Rule>> {
    pest::set_error_detail(true);
    let result = FlowParser::parse(rule, text).map(drop);
    pest::set_error_detail(false);
    result
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    errors: RefCell<Vec<Diagnostic>>,
    /// The names met in this file: most recur, and this spares interning them again.
    names: RefCell<HashMap<&'t str, Name, FxBuildHasher>>,
}

/// Collects into a vector of exactly the iterator's length, where `collect` would make room for
/// at least four items: most lists of a syntax tree (arguments, statements of a branch) are
/// shorter.
fn exact<T>(items: impl ExactSizeIterator<Item = T>) -> Vec<T> {
    let mut vec = Vec::with_capacity(items.len());
    vec.extend(items);
    vec
}

/// The children of a pair that are not keywords.
fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_task
            | kw_workflow
            | kw_fn
            | kw_struct
            | kw_class
            | kw_enum
            | kw_extern
            | kw_type
            | kw_import
            | kw_let
            | kw_var
            | kw_if
            | kw_else
            | kw_for
            | kw_in
            | kw_while
            | kw_break
            | kw_continue
            | kw_return
            | kw_fail
            | kw_and
            | kw_or
            | kw_not
            | kw_true
            | kw_false
            | kw_none
    )
}

impl<'t> Builder<'t> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start()..s.end())
    }

    fn error(&self, diagnostic: Diagnostic) {
        self.errors.borrow_mut().push(diagnostic);
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        let span = self.span(&pair);
        let text = &self.text[span.start as usize..span.end as usize];
        let name = self
            .names
            .borrow_mut()
            .entry(text)
            .or_insert_with(|| Name::new(text))
            .clone();
        Ident { name, span }
    }

    fn module(&self, pair: Pair<'_, Rule>) -> Module {
        let mut module = Module::default();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::import => module.imports.push(self.import(p)),
                Rule::item => module.items.push(self.item(p)),
                Rule::bad_item => {
                    self.bad_region(&p, Rule::item_alone);
                    module.broken.extend(declared_name(p.as_str()));
                }
                _ => {}
            }
        }
        module.imports.shrink_to_fit();
        module.items.shrink_to_fit();
        module
    }

    /// Re-parses a region the grammar skipped, to report what was expected in it.
    fn bad_region(&self, pair: &Pair<'_, Rule>, rule: Rule) {
        let start = pair.as_span().start();
        let text = pair.as_str();
        let diagnostic = match parse_detailed(rule, text) {
            Err(error) => errors::from_pest(self.file, self.text, start, &error),
            Ok(_) => Diagnostic::new(
                Code::E0001,
                Span::new(self.file, start..start + text.trim_end().len()),
                "this does not fit here",
                "unexpected here",
            ),
        };
        self.error(diagnostic);
    }

    fn import(&self, pair: Pair<'_, Rule>) -> Import {
        let span = self.span(&pair);
        let target = inner(pair).next().expect("an import names a target");
        let target_span = self.span(&target);
        let target = match target.as_rule() {
            Rule::std_path => ImportTarget::Std(target.as_str()["std.".len()..].to_string()),
            _ => ImportTarget::File(self.string_text(target)),
        };
        Import {
            target,
            span,
            target_span,
        }
    }

    /// The text of a string literal used as a path (interpolation is not allowed there).
    fn string_text(&self, pair: Pair<'_, Rule>) -> String {
        let mut text = String::new();
        for part in self.string_parts(pair) {
            match part {
                StrPart::Text(t) => text.push_str(&t),
                StrPart::Interp(e) => self.error(Diagnostic::new(
                    Code::E0001,
                    e.span,
                    "an import path cannot interpolate",
                    "interpolation not allowed here",
                )),
            }
        }
        text
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Item {
        let span = self.span(&pair);
        let doc = self.doc_above(span.start as usize);
        let mut annotations = Vec::new();
        let mut kind = None;
        let parts = pair.into_inner();
        annotations.reserve_exact(parts.len() - 1);
        for p in parts {
            match p.as_rule() {
                Rule::annotation => annotations.push(self.annotation(p)),
                _ => kind = Some(self.declaration(p)),
            }
        }
        Item {
            doc,
            annotations,
            kind: kind.expect("an item has a declaration"),
            span,
        }
    }

    fn declaration(&self, pair: Pair<'_, Rule>) -> ItemKind {
        let rule = pair.as_rule();
        let mut parts = inner(pair);
        match rule {
            Rule::struct_decl | Rule::class_decl => {
                let name = self.ident(parts.next().unwrap());
                let fields = parts
                    .next()
                    .unwrap()
                    .into_inner()
                    .filter_map(|f| match f.as_rule() {
                        Rule::bad_field => {
                            self.bad_region(&f, Rule::field_alone);
                            None
                        }
                        _ => Some(self.param(f)),
                    })
                    .collect::<Vec<_>>();
                let mut fields = fields;
                fields.shrink_to_fit();
                let record = Record { name, fields };
                if rule == Rule::struct_decl {
                    ItemKind::Struct(record)
                } else {
                    ItemKind::Class(record)
                }
            }
            Rule::enum_decl => {
                let name = self.ident(parts.next().unwrap());
                let mut variants: Vec<_> = parts
                    .map(|v| {
                        let ident = self.ident(v.into_inner().next().unwrap());
                        (self.doc_above(ident.span.start as usize), ident)
                    })
                    .collect();
                variants.shrink_to_fit();
                ItemKind::Enum(EnumDecl { name, variants })
            }
            Rule::extern_decl => ItemKind::Extern(self.ident(parts.next().unwrap())),
            Rule::alias_decl => {
                let name = self.ident(parts.next().unwrap());
                ItemKind::Alias {
                    name,
                    ty: self.type_expr(parts.next().unwrap()),
                }
            }
            _ => ItemKind::Callable(self.callable(rule, parts)),
        }
    }

    fn callable<'a>(
        &self,
        rule: Rule,
        mut parts: impl Iterator<Item = Pair<'a, Rule>>,
    ) -> Callable {
        let kind = match rule {
            Rule::fn_decl => CallableKind::Fn,
            Rule::task_decl => CallableKind::Task,
            _ => CallableKind::Workflow,
        };
        let name = self.ident(parts.next().unwrap());
        let mut callable = Callable {
            kind,
            name,
            generics: Vec::new(),
            params: Vec::new(),
            output: Output::Nothing,
            body: None,
            python: None,
        };
        for p in parts {
            match p.as_rule() {
                Rule::generics => callable.generics = exact(p.into_inner().map(|g| self.ident(g))),
                Rule::params => callable.params = exact(p.into_inner().map(|q| self.param(q))),
                Rule::output => callable.output = self.output(p),
                Rule::block => callable.body = Some(self.block(p)),
                Rule::python_impl => callable.python = self.python_impl(p),
                _ => {}
            }
        }
        callable
    }

    /// A Python task's code. A malformed `"module:function"` is reported, and kept as a module
    /// with no function so the task still declares (the program does not run with errors).
    fn python_impl(&self, pair: Pair<'_, Rule>) -> Option<PythonImpl> {
        let code = inner(pair).find(|p| p.as_rule() != Rule::kw_python)?;
        let span = self.span(&code);
        let text = code.as_str();
        if code.as_rule() == Rule::py_inline {
            let body = &text[3..text.len() - 3];
            return Some(PythonImpl {
                code: PythonCode::Inline(body.to_string()),
                span,
            });
        }
        let reference = &text[1..text.len() - 1];
        let is_name = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        let valid = reference
            .split_once(':')
            .is_some_and(|(module, function)| module.split('.').all(is_name) && is_name(function));
        if !valid {
            self.error(
                Diagnostic::new(
                    Code::E0001,
                    span,
                    format!("`{reference}` does not name a Python function"),
                    "expected `\"module:function\"`",
                )
                .with_help(
                    "write the module (dotted names) and the function, e.g. \
                     `python \"models:fit\"`, or an inline body `python \"\"\"…\"\"\"`",
                ),
            );
        }
        let (module, function) = reference.split_once(':').unwrap_or((reference, ""));
        Some(PythonImpl {
            code: PythonCode::Function {
                module: module.to_string(),
                function: function.to_string(),
            },
            span,
        })
    }

    fn param(&self, pair: Pair<'_, Rule>) -> Param {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let name = self.ident(parts.next().unwrap());
        let ty = self.type_expr(parts.next().unwrap());
        let default = parts.next().map(|e| self.expr(e));
        Param {
            doc: self.doc_above(span.start as usize),
            name,
            ty,
            default,
            span,
        }
    }

    fn output(&self, pair: Pair<'_, Rule>) -> Output {
        let p = pair.into_inner().next().unwrap();
        match p.as_rule() {
            Rule::named_outputs => {
                let span = self.span(&p);
                let fields = exact(p.into_inner().map(|o| {
                    let mut parts = o.into_inner();
                    let name = self.ident(parts.next().unwrap());
                    (name, self.type_expr(parts.next().unwrap()))
                }));
                Output::Named(fields, span)
            }
            _ => Output::Type(self.type_expr(p)),
        }
    }

    fn annotation(&self, pair: Pair<'_, Rule>) -> Annotation {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let name = self.ident(parts.next().unwrap());
        let args = parts
            .next()
            .map(|a| exact(a.into_inner().map(|x| self.arg(x))))
            .unwrap_or_default();
        Annotation { name, args, span }
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let mut parts = pair.into_inner();
        let mut ty = self.type_union(parts.next().unwrap());
        ty.annotations = exact(parts.map(|a| self.annotation(a)));
        ty
    }

    fn type_union(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut members = exact(pair.into_inner().map(|p| self.type_opt(p)));
        if members.len() == 1 {
            return members.pop().unwrap();
        }
        TypeExpr {
            kind: TypeExprKind::Union(members),
            annotations: Vec::new(),
            span,
        }
    }

    fn type_opt(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let mut parts = pair.into_inner();
        let mut ty = self.type_atom(parts.next().unwrap());
        for q in parts {
            let span = ty.span.to(self.span(&q));
            ty = TypeExpr {
                kind: TypeExprKind::Optional(Box::new(ty)),
                annotations: Vec::new(),
                span,
            };
        }
        ty
    }

    fn type_atom(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::none_type => TypeExprKind::None,
            Rule::tuple_type => {
                TypeExprKind::Tuple(exact(pair.into_inner().map(|t| self.type_expr(t))))
            }
            _ => {
                let mut parts = pair.into_inner();
                let name = self.ident(parts.next().unwrap());
                TypeExprKind::Named(name, exact(parts.map(|t| self.type_expr(t))))
            }
        };
        TypeExpr {
            kind,
            annotations: Vec::new(),
            span,
        }
    }

    // ------------------------------------------------------------ statements

    fn block(&self, pair: Pair<'_, Rule>) -> Block {
        let span = self.span(&pair);
        let stmts = exact(pair.into_inner().map(|s| self.stmt(s)));
        Block { stmts, span }
    }

    fn stmt(&self, pair: Pair<'_, Rule>) -> Stmt {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::let_stmt | Rule::var_stmt => {
                let mut parts = inner(pair);
                let pattern = self.pattern(parts.next().unwrap());
                let mut next = parts.next().unwrap();
                let ty = if next.as_rule() == Rule::type_expr {
                    let ty = Box::new(self.type_expr(next));
                    next = parts.next().unwrap();
                    Some(ty)
                } else {
                    None
                };
                StmtKind::Let {
                    mutable: rule == Rule::var_stmt,
                    pattern,
                    ty,
                    value: self.expr(next),
                }
            }
            Rule::for_stmt => {
                let mut parts = inner(pair);
                let pattern = self.pattern(parts.next().unwrap());
                let iter = self.expr(parts.next().unwrap());
                StmtKind::For {
                    pattern,
                    iter,
                    body: Box::new(self.block(parts.next().unwrap())),
                }
            }
            Rule::while_stmt => {
                let mut parts = inner(pair);
                let cond = self.expr(parts.next().unwrap());
                StmtKind::While {
                    cond,
                    body: self.block(parts.next().unwrap()),
                }
            }
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::return_stmt => StmtKind::Return(inner(pair).next().map(|e| self.expr(e))),
            Rule::assign_stmt => {
                let mut parts = pair.into_inner();
                let mut place = parts.next().unwrap().into_inner();
                let target = self.ident(place.next().unwrap());
                let indices = exact(place.map(|i| self.expr(i.into_inner().next().unwrap())));
                StmtKind::Assign {
                    target,
                    indices,
                    value: self.expr(parts.next().unwrap()),
                }
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr(pair.into_inner().next().unwrap())),
            _ => {
                self.bad_region(&pair, Rule::stmt_alone);
                StmtKind::Error
            }
        };
        Stmt { kind, span }
    }

    fn pattern(&self, pair: Pair<'_, Rule>) -> Pattern {
        match pair.as_rule() {
            Rule::tuple_pattern => {
                let span = self.span(&pair);
                Pattern::Tuple(exact(pair.into_inner().map(|p| self.pattern(p))), span)
            }
            _ => Pattern::Name(self.ident(pair)),
        }
    }

    // ------------------------------------------------------------ expressions

    fn expr(&self, pair: Pair<'_, Rule>) -> Expr {
        let mut parts = pair.into_inner();
        // Most expressions are one operand and its postfixes: those need no precedence climbing.
        if !parts.clone().any(|p| is_operator(p.as_rule())) {
            let operand = self.primary(parts.next().expect("an expression has an operand"));
            return parts.fold(operand, |lhs, op| self.postfix(lhs, op));
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let span = self.span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    kind: ExprKind::Unary(op, Box::new(rhs)),
                    span,
                }
            })
            .map_postfix(|lhs, op| self.postfix(lhs, op))
            .map_infix(|lhs, op, rhs| {
                let span = lhs.span.to(rhs.span);
                Expr {
                    kind: ExprKind::Binary(binop(op.as_rule()), Box::new(lhs), Box::new(rhs)),
                    span,
                }
            })
            .parse(parts)
    }

    fn postfix(&self, lhs: Expr, op: Pair<'_, Rule>) -> Expr {
        let span = lhs.span.to(self.span(&op));
        let kind = match op.as_rule() {
            Rule::call_args => {
                ExprKind::Call(Box::new(lhs), exact(op.into_inner().map(|a| self.arg(a))))
            }
            Rule::field_access => {
                ExprKind::Field(Box::new(lhs), self.ident(op.into_inner().next().unwrap()))
            }
            Rule::tuple_index => {
                let digits = op.into_inner().next().unwrap();
                let digits_span = self.span(&digits);
                let n = digits.as_str().parse().unwrap_or_else(|_| {
                    self.error(Diagnostic::new(
                        Code::E0001,
                        digits_span,
                        "tuple index out of range",
                        "too large",
                    ));
                    u32::MAX
                });
                ExprKind::TupleIndex(Box::new(lhs), n, digits_span)
            }
            _ => ExprKind::Index(
                Box::new(lhs),
                Box::new(self.expr(op.into_inner().next().unwrap())),
            ),
        };
        Expr { kind, span }
    }

    fn arg(&self, pair: Pair<'_, Rule>) -> Arg {
        let span = self.span(&pair);
        let (name, value) = self.maybe_named(pair);
        Arg { name, value, span }
    }

    /// `name = value` or `value`, as in arguments and tuple items.
    fn maybe_named(&self, pair: Pair<'_, Rule>) -> (Option<Ident>, Expr) {
        let mut parts = pair.into_inner();
        let first = parts.next().unwrap();
        match parts.next() {
            Some(value) => (Some(self.ident(first)), self.expr(value)),
            None => (None, self.expr(first)),
        }
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::ident => ExprKind::Name(self.ident(pair)),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_none => ExprKind::None,
            Rule::number => self.number(pair.as_str(), span),
            Rule::string | Rule::triple_string => ExprKind::Str(self.string_parts(pair)),
            Rule::list => {
                let parts = pair.into_inner();
                let mut items = Vec::with_capacity(parts.len());
                for p in parts {
                    if p.as_rule() == Rule::comp_clause {
                        let elem = items.pop().expect("a comprehension has an element");
                        return Expr {
                            kind: ExprKind::ListComp(
                                Box::new(elem),
                                Box::new(self.comprehension(p)),
                            ),
                            span,
                        };
                    }
                    items.push(self.expr(p));
                }
                ExprKind::List(items)
            }
            Rule::dict => {
                let parts = pair.into_inner();
                let mut entries = Vec::with_capacity(parts.len());
                for p in parts {
                    if p.as_rule() == Rule::comp_clause {
                        let (key, value) = entries.pop().expect("a comprehension has an entry");
                        let comp = self.comprehension(p);
                        return Expr {
                            kind: ExprKind::DictComp(
                                Box::new(key),
                                Box::new(value),
                                Box::new(comp),
                            ),
                            span,
                        };
                    }
                    let mut kv = p.into_inner();
                    entries.push((self.expr(kv.next().unwrap()), self.expr(kv.next().unwrap())));
                }
                ExprKind::Dict(entries)
            }
            Rule::paren => return self.paren(pair),
            Rule::if_expr => self.if_expr(pair),
            Rule::fail_expr => ExprKind::Fail(Box::new(self.expr(inner(pair).next().unwrap()))),
            other => unreachable!("not a primary: {other:?}"),
        };
        Expr { kind, span }
    }

    fn comprehension(&self, pair: Pair<'_, Rule>) -> Comprehension {
        let mut parts = inner(pair);
        let pattern = self.pattern(parts.next().unwrap());
        let iter = Box::new(self.expr(parts.next().unwrap()));
        let cond = parts.next().map(|c| Box::new(self.expr(c)));
        Comprehension {
            pattern,
            iter,
            cond,
        }
    }

    fn if_expr(&self, pair: Pair<'_, Rule>) -> ExprKind {
        let mut parts = inner(pair);
        let cond = self.expr(parts.next().unwrap());
        let then = self.block(parts.next().unwrap());
        let otherwise = parts.next().map(|p| {
            let span = self.span(&p);
            let kind = match p.as_rule() {
                Rule::if_expr => self.if_expr(p),
                _ => ExprKind::Block(Box::new(self.block(p))),
            };
            Box::new(Expr { kind, span })
        });
        ExprKind::If(Box::new(cond), Box::new(then), otherwise)
    }

    fn paren(&self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let mut trailing_comma = false;
        let parts = pair.into_inner();
        let mut items = Vec::with_capacity(parts.len());
        for p in parts {
            if p.as_rule() == Rule::trailing_comma {
                trailing_comma = true;
                continue;
            }
            items.push(self.maybe_named(p));
        }
        let named = items.iter().filter(|(n, _)| n.is_some()).count();
        let kind = if named == 0 {
            if items.len() == 1 && !trailing_comma {
                let (_, mut inner) = items.pop().unwrap();
                inner.span = span;
                return inner;
            }
            ExprKind::Tuple(items.into_iter().map(|(_, e)| e).collect())
        } else if named == items.len() {
            ExprKind::NamedTuple(items.into_iter().map(|(n, e)| (n.unwrap(), e)).collect())
        } else {
            let first = items.iter().find(|(n, _)| n.is_none()).unwrap();
            self.error(
                Diagnostic::new(
                    Code::E0001,
                    first.1.span,
                    "a tuple mixes named and unnamed items",
                    "this item has no name",
                )
                .with_help("name every item, `(total=t, mean=m)`, or none of them, `(t, m)`"),
            );
            ExprKind::Error
        };
        Expr { kind, span }
    }

    /// An int, float or duration literal, told apart by its last character and its `.`/`e`.
    fn number(&self, text: &str, span: Span) -> ExprKind {
        if text.ends_with(|c: char| c.is_ascii_alphabetic()) {
            self.duration_literal(text, span)
        } else if text.contains(['.', 'e', 'E']) {
            self.float_literal(text, span)
        } else {
            self.int_literal(text, span)
        }
    }

    fn int_literal(&self, text: &str, span: Span) -> ExprKind {
        match text.replace('_', "").parse::<i64>() {
            Ok(n) => ExprKind::Int(n),
            Err(_) => {
                self.error(
                    Diagnostic::new(
                        Code::E0001,
                        span,
                        "integer literal out of range",
                        "does not fit in 64 bits",
                    )
                    .with_note(format!(
                        "an `int` lies between {} and {}",
                        i64::MIN,
                        i64::MAX
                    ))
                    .with_help("use a `float` literal for larger magnitudes, e.g. `1e20`"),
                );
                ExprKind::Error
            }
        }
    }

    fn float_literal(&self, text: &str, span: Span) -> ExprKind {
        match text.replace('_', "").parse::<f64>() {
            Ok(x) if x.is_finite() => ExprKind::Float(x),
            _ => {
                self.error(Diagnostic::new(
                    Code::E0001,
                    span,
                    "float literal out of range",
                    "too large for a 64-bit float",
                ));
                ExprKind::Error
            }
        }
    }

    fn duration_literal(&self, text: &str, span: Span) -> ExprKind {
        let digits_end = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let unit_ms: i64 = match &text[digits_end..] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 86_400_000,
        };
        let ms = text[..digits_end]
            .replace('_', "")
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_ms));
        match ms {
            Some(ms) => ExprKind::Duration(ms),
            None => {
                self.error(Diagnostic::new(
                    Code::E0001,
                    span,
                    "duration literal out of range",
                    "too long",
                ));
                ExprKind::Error
            }
        }
    }

    fn string_parts(&self, pair: Pair<'_, Rule>) -> Vec<StrPart> {
        let pieces = pair.into_inner();
        let mut parts: Vec<StrPart> = Vec::with_capacity(pieces.len());
        let push_text = |parts: &mut Vec<StrPart>, s: &str| match parts.last_mut() {
            Some(StrPart::Text(t)) => t.push_str(s),
            _ => parts.push(StrPart::Text(s.to_string())),
        };
        for p in pieces {
            match p.as_rule() {
                Rule::str_text | Rule::triple_text => push_text(&mut parts, p.as_str()),
                Rule::str_escape => {
                    let c = match &p.as_str()[1..] {
                        "n" => "\n",
                        "t" => "\t",
                        "r" => "\r",
                        "\\" => "\\",
                        "\"" => "\"",
                        "{" => "{",
                        "}" => "}",
                        other => {
                            let shown = if other == "\n" || other == "\r" {
                                "\\ at the end of a line".to_string()
                            } else {
                                format!("`\\{other}`")
                            };
                            self.error(
                                Diagnostic::new(Code::E0001, self.span(&p), format!("unknown escape {shown}"), "unknown escape")
                                    .with_help("the escapes are \\n \\t \\r \\\\ \\\" \\{ \\}; write `\\\\` for a backslash"),
                            );
                            ""
                        }
                    };
                    push_text(&mut parts, c);
                }
                _ => parts.push(StrPart::Interp(self.expr(p.into_inner().next().unwrap()))),
            }
        }
        parts.shrink_to_fit();
        parts
    }

    /// The `##` lines directly above the line holding `offset`, if the declaration starts its line.
    fn doc_above(&self, offset: usize) -> Option<String> {
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        if !self.text[line_start..offset].trim().is_empty() {
            return None;
        }
        let mut lines = Vec::new();
        let mut end = line_start;
        while end > 0 {
            let start = self.text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
            let line = self.text[start..end - 1].trim();
            let Some(doc) = line.strip_prefix("##") else {
                break;
            };
            lines.push(doc.strip_prefix(' ').unwrap_or(doc).to_string());
            end = start;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }
}

/// Whether a child of `expr` is a prefix or infix operator.
fn is_operator(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        op_not
            | op_neg
            | op_or
            | op_and
            | op_coalesce
            | op_eq
            | op_ne
            | op_lt
            | op_le
            | op_gt
            | op_ge
            | op_in
            | op_add
            | op_sub
            | op_mul
            | op_div
            | op_floordiv
            | op_mod
            | op_pow
    )
}

fn binop(rule: Rule) -> BinOp {
    match rule {
        Rule::op_or => BinOp::Or,
        Rule::op_and => BinOp::And,
        Rule::op_coalesce => BinOp::Coalesce,
        Rule::op_eq => BinOp::Eq,
        Rule::op_ne => BinOp::Ne,
        Rule::op_lt => BinOp::Lt,
        Rule::op_le => BinOp::Le,
        Rule::op_gt => BinOp::Gt,
        Rule::op_ge => BinOp::Ge,
        Rule::op_in => BinOp::In,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_div => BinOp::Div,
        Rule::op_floordiv => BinOp::FloorDiv,
        Rule::op_mod => BinOp::Mod,
        _ => BinOp::Pow,
    }
}
