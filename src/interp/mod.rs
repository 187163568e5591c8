//! The interpreter: evaluates task and fn bodies over the IR ([`eval`]), with the built-ins of
//! the prelude ([`builtins`]), and runs workflows node by node through the store
//! ([`executor`]).

pub mod builtins;
pub mod coerce;
pub mod eval;
pub mod executor;
pub mod format;
pub mod graph;
pub mod ops;

use crate::source::Span;

/// What kind of runtime error ended a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A runtime error in an expression (division by zero, index out of range, …).
    Error,
    /// `fail("…")`.
    Failed,
    /// The attempt ran past its `@timeout`.
    Timeout,
}

/// A runtime error, pointing at the failing expression.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeError {
    /// What went wrong, for people.
    pub message: String,
    /// The failing expression.
    pub span: Option<Span>,
    /// Error, `fail`, or timeout.
    pub kind: ErrorKind,
    /// More to say, shown under the error (a Python traceback); boxed, as it is rare and
    /// errors travel in every `Result` of the evaluator.
    pub detail: Option<Box<String>>,
}

impl RuntimeError {
    /// An error at `span`.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        RuntimeError {
            message: message.into(),
            span: Some(span),
            kind: ErrorKind::Error,
            detail: None,
        }
    }

    /// An error with no source position (store and serialization problems).
    pub fn plain(message: impl Into<String>) -> Self {
        RuntimeError {
            message: message.into(),
            span: None,
            kind: ErrorKind::Error,
            detail: None,
        }
    }

    /// Marks it as raised by `fail`.
    pub fn failed(mut self) -> Self {
        self.kind = ErrorKind::Failed;
        self
    }

    /// Adds more to say under the error.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(Box::new(detail.into()));
        self
    }

    /// Marks it as a timeout.
    pub fn timeout(mut self) -> Self {
        self.kind = ErrorKind::Timeout;
        self
    }
}
