//! What the checker learns about bodies besides their diagnostics: the type of every local
//! variable, of the expressions it infers, and of the value each `.field` is read from. Kept
//! only when asked for ([`super::Options::facts`]): the language server asks, so hover and
//! completion show the checker's own types; `flytec check` does not, and pays one branch per
//! expression for it.
//!
//! Consumes the checker's observations while it checks; produces tables keyed by span.

use std::collections::HashMap;

use super::body::Checker;
use super::types::Type;
use crate::source::Span;

/// Types the checker found, by the span of what they belong to (an error is [`Type::Error`]).
#[derive(Debug, Default)]
pub struct Facts {
    /// Each local variable, loop or comprehension variable and workflow promise, by the span of
    /// the name that binds it.
    pub bindings: HashMap<Span, Type>,
    /// Each expression the checker inferred without help from its context, by its span (list
    /// and dict literals, `if` expressions and blocks checked against an expected type are not
    /// recorded).
    pub exprs: HashMap<Span, Type>,
    /// For each `.name` read of a field or named output, by the span of `name`: the type of the
    /// value it is read from.
    pub receivers: HashMap<Span, Type>,
}

impl Facts {
    /// Adds the facts found in another module (whose spans are in another file).
    pub fn extend(&mut self, other: Facts) {
        self.bindings.extend(other.bindings);
        self.exprs.extend(other.exprs);
        self.receivers.extend(other.receivers);
    }
}

impl<'a> Checker<'a> {
    /// Records what this checker finds in `facts` (when given).
    pub fn recording(mut self, facts: Option<&'a mut Facts>) -> Self {
        self.facts = facts;
        self
    }

    /// The facts being recorded, if any are.
    pub fn facts(&mut self) -> Option<&mut Facts> {
        self.facts.as_deref_mut()
    }
}
