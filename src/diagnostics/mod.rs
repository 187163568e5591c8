//! Diagnostics as data: a code, a severity, a message, labelled spans (the primary first),
//! notes, help and an optional machine-applicable fix. Passes push them into a [`Diagnostics`]
//! sink; rendering (human, JSON, LSP) happens at the edge, in [`render`].

pub mod codes;
pub mod explain;
pub mod render;

use crate::source::Span;

pub use codes::Code;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program is wrong; `check` exits 1.
    Error,
    /// Worth a look; exit 1 only with `--deny warnings`.
    Warning,
}

/// A span with a message; a diagnostic's first label is its primary one.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is wrong (or relevant) there.
    pub message: String,
}

/// A replacement that fixes the problem, offered to editors as a code action.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    /// What the fix does, e.g. "replace with `name`".
    pub message: String,
    /// The text to replace.
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// One problem found in a program.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The stable code, e.g. `E0200`.
    pub code: Code,
    /// One line saying what is wrong.
    pub message: String,
    /// Labelled places; the first is primary.
    pub labels: Vec<Label>,
    /// Extra facts (`= note: …`).
    pub notes: Vec<String>,
    /// A likely fix in words (`= help: …`).
    pub help: Option<String>,
    /// A machine-applicable fix.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with `code` and `message`, primary label `label` at `span`.
    pub fn new(
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                message: label.into(),
            }],
            notes: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// The severity, given by the code.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// The primary label's span.
    pub fn span(&self) -> Span {
        self.labels[0].span
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets a machine-applicable fix.
    pub fn with_fix(
        mut self,
        message: impl Into<String>,
        span: Span,
        replacement: impl Into<String>,
    ) -> Self {
        self.fix = Some(Fix {
            message: message.into(),
            span,
            replacement: replacement.into(),
        });
        self
    }
}

/// The sink every pass reports into.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty sink.
    pub fn new() -> Self {
        Diagnostics::default()
    }

    /// Records a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Whether any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity() == Severity::Error)
    }

    /// The diagnostics in a total order: file, position, code, message; duplicates dropped.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            let (sa, sb) = (a.span(), b.span());
            (sa.file, sa.start, sa.end, a.code, &a.message)
                .cmp(&(sb.file, sb.start, sb.end, b.code, &b.message))
        });
        self.items.dedup();
        self.items
    }
}
