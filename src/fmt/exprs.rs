//! Expressions: precedence and parentheses, literals copied from the source, lists, calls,
//! comprehensions and `if` chains.

use super::doc::{concat, group, indent, text, Doc};
use super::{lex, ListStyle, Printer, Seq};
use crate::syntax::ast::*;

/// Binding strength, LANGUAGE.md section 7: `or` 1 … `**` 9, postfix and atoms 10.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => binary_precedence(*op),
        ExprKind::Unary(UnaryOp::Not, _) => 3,
        ExprKind::Unary(UnaryOp::Neg, _) => 8,
        _ => 10,
    }
}

fn binary_precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Coalesce => 4,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In => 5,
        BinOp::Add | BinOp::Sub => 6,
        BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod => 7,
        BinOp::Pow => 9,
    }
}

fn right_associative(op: BinOp) -> bool {
    matches!(op, BinOp::Pow | BinOp::Coalesce)
}

fn start(e: &Expr) -> usize {
    e.span.start as usize
}

fn end(e: &Expr) -> usize {
    e.span.end as usize
}

impl Printer<'_> {
    /// An expression, inside the parentheses the user wrapped it in, if any.
    pub(super) fn expr(&mut self, e: &Expr) -> Doc {
        let inner = self.bare(e);
        if self.wrapped(e) {
            concat(vec![text("("), inner, text(")")])
        } else {
            inner
        }
    }

    /// An operand: parenthesized when `needed` (by precedence) or written so.
    fn operand(&mut self, e: &Expr, needed: bool) -> Doc {
        if needed && !self.wrapped(e) {
            let inner = self.bare(e);
            concat(vec![text("("), inner, text(")")])
        } else {
            self.expr(e)
        }
    }

    /// The operand of a postfix operator (a call, `.field`, `.0`, `[i]`).
    fn postfix_operand(&mut self, e: &Expr) -> Doc {
        self.operand(e, precedence(e) < 10)
    }

    /// Whether the user wrapped `e` in grouping parentheses: the parser then widens its span
    /// to them.
    fn wrapped(&self, e: &Expr) -> bool {
        let s = start(e);
        match &e.kind {
            ExprKind::Binary(_, lhs, _) => s < start(lhs),
            ExprKind::Call(f, _)
            | ExprKind::Field(f, _)
            | ExprKind::TupleIndex(f, ..)
            | ExprKind::Index(f, _) => s < start(f),
            ExprKind::Tuple(items) => {
                let first = items.first().map_or(end(e), start);
                lex::count_opening_parens(self.bytes, s, first) > 1
            }
            ExprKind::NamedTuple(items) => {
                let first = items.first().map_or(end(e), |(n, _)| n.span.start as usize);
                lex::count_opening_parens(self.bytes, s, first) > 1
            }
            ExprKind::Block(_) => false,
            _ => self.bytes.get(s) == Some(&b'('),
        }
    }

    /// A literal token as written: the span, or inside the user's parentheses the token alone.
    fn token(&self, e: &Expr, token_end: fn(&[u8], usize) -> usize) -> Doc {
        if self.wrapped(e) {
            let s = lex::skip_opening_parens(self.bytes, start(e));
            text(self.slice(s, token_end(self.bytes, s)))
        } else {
            text(self.slice(start(e), end(e)))
        }
    }

    /// An expression without the parentheses around it.
    fn bare(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) => {
                self.token(e, lex::number_end)
            }
            ExprKind::Str(_) => self.token(e, lex::string_end),
            ExprKind::Bool(b) => text(if *b { "true" } else { "false" }),
            ExprKind::None => text("none"),
            ExprKind::Name(n) => text(n.name.clone()),
            ExprKind::List(items) => {
                self.list(ListStyle::of("[", "]"), items, expr_range, |p, x| p.expr(x))
            }
            ExprKind::Dict(entries) => self.list(
                ListStyle::of("{", "}"),
                entries,
                |(k, v)| (start(k), end(v)),
                |p, (k, v)| {
                    let k = p.expr(k);
                    let v = p.expr(v);
                    concat(vec![k, text(": "), v])
                },
            ),
            ExprKind::Tuple(items) => {
                let style = ListStyle {
                    comma_after_last: items.len() == 1,
                    ..ListStyle::of("(", ")")
                };
                self.list(style, items, expr_range, |p, x| p.expr(x))
            }
            ExprKind::NamedTuple(items) => self.list(
                ListStyle::of("(", ")"),
                items,
                |(n, v)| (n.span.start as usize, end(v)),
                |p, (n, v)| concat(vec![text(format!("{}=", n.name)), p.expr(v)]),
            ),
            ExprKind::Unary(op, x) => {
                let (symbol, own) = match op {
                    UnaryOp::Neg => ("-", 8),
                    UnaryOp::Not => ("not ", 3),
                };
                let x = self.operand(x, precedence(x) < own);
                concat(vec![text(symbol), x])
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let own = binary_precedence(*op);
                let (l, r) = (precedence(lhs), precedence(rhs));
                let left_needs = l < own || (l == own && right_associative(*op));
                // A `-x` on the right never needs them: only `**` and postfix operators bind
                // tighter, and neither can follow it without parentheses of its own.
                let right_needs = !matches!(rhs.kind, ExprKind::Unary(UnaryOp::Neg, _))
                    && (r < own || (r == own && !right_associative(*op)));
                let lhs = self.operand(lhs, left_needs);
                let rhs = self.operand(rhs, right_needs);
                concat(vec![lhs, text(format!(" {} ", op.symbol())), rhs])
            }
            ExprKind::Call(f, args) => {
                let f = self.postfix_operand(f);
                concat(vec![f, self.args(args)])
            }
            ExprKind::Field(x, name) => {
                let x = self.postfix_operand(x);
                concat(vec![x, text(format!(".{}", name.name))])
            }
            ExprKind::TupleIndex(x, _, digits) => {
                // `1 .0` must not become the float `1.0`.
                let needs = precedence(x) < 10 || matches!(x.kind, ExprKind::Int(_));
                let x = self.operand(x, needs);
                let digits = self.slice(digits.start as usize, digits.end as usize);
                concat(vec![x, text(format!(".{digits}"))])
            }
            ExprKind::Index(x, i) => {
                let x = self.postfix_operand(x);
                concat(vec![x, self.index(i)])
            }
            ExprKind::If(..) => self.if_chain(e),
            ExprKind::Block(b) => group(self.block(b, true)),
            ExprKind::ListComp(elem, comp) => self.comprehension("[", "]", elem, None, comp),
            ExprKind::DictComp(k, v, comp) => self.comprehension("{", "}", k, Some(v), comp),
            ExprKind::Fail(msg) => {
                let arg = self.list(
                    ListStyle::of("(", ")"),
                    std::slice::from_ref(msg.as_ref()),
                    expr_range,
                    |p, x| p.expr(x),
                );
                concat(vec![text("fail"), arg])
            }
            ExprKind::Error => text(self.slice(start(e), end(e)).to_string()),
        }
    }

    /// `[i]`.
    pub(super) fn index(&mut self, i: &Expr) -> Doc {
        concat(vec![text("["), self.expr(i), text("]")])
    }

    /// `if c { … } else if d { … } else { … }`: one group, so its blocks are all on one line
    /// or all broken.
    fn if_chain(&mut self, e: &Expr) -> Doc {
        let mut out = Vec::new();
        let mut current = e;
        while let ExprKind::If(cond, then, otherwise) = &current.kind {
            out.push(text("if "));
            out.push(self.expr(cond));
            out.push(text(" "));
            out.push(self.block(then, true));
            let Some(otherwise) = otherwise else { break };
            out.push(text(" else "));
            match &otherwise.kind {
                ExprKind::If(..) => current = otherwise,
                ExprKind::Block(b) => {
                    out.push(self.block(b, true));
                    break;
                }
                _ => {
                    out.push(self.expr(otherwise));
                    break;
                }
            }
        }
        group(concat(out))
    }

    /// `[e for p in xs if c]` or `{k: v for p in xs if c}`: on one line, or the element and each
    /// clause on a line of its own.
    fn comprehension(
        &mut self,
        open: &'static str,
        close: &'static str,
        elem: &Expr,
        value: Option<&Expr>,
        comp: &Comprehension,
    ) -> Doc {
        let mut inner = Vec::new();
        let mut seq = Seq::new(false, true, false);
        self.lead(&mut inner, start(elem), &mut seq, Doc::SoftLine);
        inner.push(self.expr(elem));
        if let Some(v) = value {
            inner.push(text(": "));
            inner.push(self.expr(v));
        }
        let pattern = comp.pattern.span().start as usize;
        self.lead(&mut inner, pattern, &mut seq, Doc::Line);
        inner.push(text("for "));
        inner.push(self.pattern(&comp.pattern));
        inner.push(text(" in "));
        inner.push(self.expr(&comp.iter));
        let mut last = end(&comp.iter);
        if let Some(c) = &comp.cond {
            self.lead(&mut inner, start(c), &mut seq, Doc::Line);
            inner.push(text("if "));
            inner.push(self.expr(c));
            last = end(c);
        }
        seq.prev_end = last;
        let close_at = lex::skip_trivia_and_commas(self.bytes, last);
        self.comments_before(&mut inner, close_at, &mut seq);
        group(concat(vec![
            text(open),
            indent(concat(inner)),
            Doc::SoftLine,
            text(close),
        ]))
    }
}

fn expr_range(e: &Expr) -> (usize, usize) {
    (start(e), end(e))
}
