//! The abstract syntax tree of one Flow file. Every node carries the [`Span`] it was parsed from;
//! nothing here is resolved or typed yet.

use crate::source::Span;

pub use super::name::Name;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: Name,
    /// Where it is written.
    pub span: Span,
}

/// One parsed file: its imports and declarations, in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    /// `import` lines.
    pub imports: Vec<Import>,
    /// Top-level declarations.
    pub items: Vec<Item>,
    /// Names of declarations that did not parse: they are reported once, as syntax errors, and
    /// uses of them are not reported again as unknown names.
    pub broken: Vec<String>,
}

/// What an `import` names.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportTarget {
    /// `import "path.flow"`, relative to the importing file.
    File(String),
    /// `import std.NAME`: `stdlib/NAME.flow` inside the binary.
    Std(String),
}

/// An `import` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// What it imports.
    pub target: ImportTarget,
    /// The whole line.
    pub span: Span,
    /// The path or module name alone.
    pub target_span: Span,
}

/// `@name(args)`, before a declaration or after a type.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    /// The annotation's name, without `@`.
    pub name: Ident,
    /// Its arguments, if it has parentheses.
    pub args: Vec<Arg>,
    /// From `@` to the closing parenthesis.
    pub span: Span,
}

/// A top-level declaration with its doc comment and annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The `##` lines just above it, joined with newlines, without the `##`.
    pub doc: Option<String>,
    /// Annotations before it.
    pub annotations: Vec<Annotation>,
    /// What it declares.
    pub kind: ItemKind,
    /// The whole declaration, annotations included.
    pub span: Span,
}

impl Item {
    /// The declared name.
    pub fn name(&self) -> &Ident {
        match &self.kind {
            ItemKind::Struct(s) | ItemKind::Class(s) => &s.name,
            ItemKind::Enum(e) => &e.name,
            ItemKind::Extern(name) => name,
            ItemKind::Alias { name, .. } => name,
            ItemKind::Callable(c) => &c.name,
        }
    }
}

/// The kinds of top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `struct S { … }`: a record the type engine knows.
    Struct(Record),
    /// `class C { … }`: a record lowered to Pickle.
    Class(Record),
    /// `enum E { A, B }`.
    Enum(EnumDecl),
    /// `extern type X`: an opaque type lowered to Pickle.
    Extern(Ident),
    /// `type A = T`.
    Alias {
        /// The alias.
        name: Ident,
        /// The type it stands for.
        ty: TypeExpr,
    },
    /// `fn`, `task` or `workflow`.
    Callable(Callable),
}

/// The fields of a struct or class.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The type's name.
    pub name: Ident,
    /// Its fields in order.
    pub fields: Vec<Param>,
}

/// `enum E { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    /// The enum's name.
    pub name: Ident,
    /// Its variants in order, each with its doc comment.
    pub variants: Vec<(Option<String>, Ident)>,
}

/// A parameter of a callable or a field of a record: `name: T = default`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its doc comment.
    pub doc: Option<String>,
    /// Its name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeExpr,
    /// Its default value.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// Which kind of callable a declaration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CallableKind {
    /// A plain function, callable from task and fn bodies.
    Fn,
    /// A task: a unit of work whose interface crosses serialization.
    Task,
    /// A workflow: a graph of task calls.
    Workflow,
}

impl CallableKind {
    /// The keyword, e.g. `task`.
    pub fn keyword(self) -> &'static str {
        match self {
            CallableKind::Fn => "fn",
            CallableKind::Task => "task",
            CallableKind::Workflow => "workflow",
        }
    }
}

/// A `fn`, `task` or `workflow` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Callable {
    /// fn, task or workflow.
    pub kind: CallableKind,
    /// Its name.
    pub name: Ident,
    /// Type parameters (`fn len[T]`), standard library only.
    pub generics: Vec<Ident>,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The declared output.
    pub output: Output,
    /// The body; built-ins declared in the prelude and Python tasks have none.
    pub body: Option<Block>,
    /// A task implemented in Python (`python "module:function"` or `python """…"""`).
    pub python: Option<PythonImpl>,
}

/// Where a Python task's code is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PythonCode {
    /// `python "module:function"`: a function of a module, found beside the `.flow` file or on
    /// `PYTHONPATH`.
    Function {
        /// The dotted module name, e.g. `models` or `pkg.models`.
        module: String,
        /// The function's name.
        function: String,
    },
    /// `python """…"""`: the body of a function whose parameters are the task's inputs.
    Inline(String),
}

/// A Python task's implementation as written.
#[derive(Clone, Debug, PartialEq)]
pub struct PythonImpl {
    /// The code to call.
    pub code: PythonCode,
    /// The string after `python`.
    pub span: Span,
}

/// What a callable returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// No `->`: no outputs.
    Nothing,
    /// `-> T` (a tuple type `(A, B)` gives outputs `o0`, `o1`).
    Type(TypeExpr),
    /// `-> (name: T, …)`.
    Named(Vec<(Ident, TypeExpr)>, Span),
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// Its shape.
    pub kind: TypeExprKind,
    /// Annotations after it (`@batch(n)`).
    pub annotations: Vec<Annotation>,
    /// Where it is written (without trailing annotations).
    pub span: Span,
}

/// The shapes a written type can have.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// A name with optional arguments: `int`, `list[T]`, `dict[str, T]`, `Point`.
    Named(Ident, Vec<TypeExpr>),
    /// `none`.
    None,
    /// `T?`.
    Optional(Box<TypeExpr>),
    /// `A | B | …`.
    Union(Vec<TypeExpr>),
    /// `(A, B)`.
    Tuple(Vec<TypeExpr>),
}

/// `{ statements }`; its value is its last expression statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A binding pattern: a name (possibly `_`) or a tuple of patterns.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// `x`.
    Name(Ident),
    /// `(a, b)`.
    Tuple(Vec<Pattern>, Span),
}

impl Pattern {
    /// Where the pattern is written.
    pub fn span(&self) -> Span {
        match self {
            Pattern::Name(i) => i.span,
            Pattern::Tuple(_, span) => *span,
        }
    }
}

/// A statement with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What it is.
    pub kind: StmtKind,
    /// Where.
    pub span: Span,
}

/// The statements of task, fn and workflow bodies.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let p: T = e` or `var p: T = e`.
    Let {
        /// `var` rather than `let`.
        mutable: bool,
        /// What it binds.
        pattern: Pattern,
        /// The declared type (boxed, as most `let`s have none: a statement stays small).
        ty: Option<Box<TypeExpr>>,
        /// The value.
        value: Expr,
    },
    /// `x = e` or `x[k] = e`.
    Assign {
        /// The variable assigned to.
        target: Ident,
        /// Index keys, outermost first (`x[a][b]`).
        indices: Vec<Expr>,
        /// The value.
        value: Expr,
    },
    /// `for p in e { … }`.
    For {
        /// The loop variable(s).
        pattern: Pattern,
        /// The list iterated.
        iter: Expr,
        /// The loop body (boxed, to keep every statement small).
        body: Box<Block>,
    },
    /// `while c { … }`.
    While {
        /// The condition.
        cond: Expr,
        /// The loop body.
        body: Block,
    },
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `return` or `return e`.
    Return(Option<Expr>),
    /// An expression; the last one in a block is the block's value.
    Expr(Expr),
    /// A statement that did not parse (its error is already reported).
    Error,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

impl Drop for Expr {
    /// Drops a chain of operators or postfixes (`x + x + …`, `a.b.c…`) one link at a time,
    /// where the derived drop would recurse once per link and overflow the stack on a long one.
    fn drop(&mut self) {
        let mut links = Vec::new();
        take_links(&mut self.kind, &mut links);
        while let Some(mut link) = links.pop() {
            take_links(&mut link.kind, &mut links);
        }
    }
}

/// Moves out of `kind` the sub-expressions that have sub-expressions of their own, leaving
/// [`ExprKind::Error`] in their place.
fn take_links(kind: &mut ExprKind, links: &mut Vec<Expr>) {
    let mut take = |e: &mut Box<Expr>| {
        if e.kind.has_links() {
            let span = e.span;
            links.push(std::mem::replace(
                &mut **e,
                Expr {
                    kind: ExprKind::Error,
                    span,
                },
            ));
        }
    };
    match kind {
        ExprKind::Binary(_, lhs, rhs) | ExprKind::Index(lhs, rhs) => {
            take(lhs);
            take(rhs);
        }
        ExprKind::Unary(_, e)
        | ExprKind::Call(e, _)
        | ExprKind::Field(e, _)
        | ExprKind::TupleIndex(e, _, _)
        | ExprKind::Fail(e) => take(e),
        _ => {}
    }
}

impl ExprKind {
    /// Whether it links to sub-expressions through operators or postfixes.
    fn has_links(&self) -> bool {
        matches!(
            self,
            ExprKind::Binary(..)
                | ExprKind::Index(..)
                | ExprKind::Unary(..)
                | ExprKind::Call(..)
                | ExprKind::Field(..)
                | ExprKind::TupleIndex(..)
                | ExprKind::Fail(..)
        )
    }
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    /// Text, escapes resolved.
    Text(String),
    /// `{expr}`.
    Interp(Expr),
}

/// An argument of a call or an annotation: positional or `name=value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UnaryOp {
    /// `-`.
    Neg,
    /// `not`.
    Not,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BinOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `??`.
    Coalesce,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `in`.
    In,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `//`.
    FloorDiv,
    /// `%`.
    Mod,
    /// `**`.
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Coalesce => "??",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
        }
    }

    /// Whether it compares two values (`==` … `>=`).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// One `for … in … if …` clause of a comprehension.
#[derive(Clone, Debug, PartialEq)]
pub struct Comprehension {
    /// The loop variable(s).
    pub pattern: Pattern,
    /// The list iterated.
    pub iter: Box<Expr>,
    /// The filter.
    pub cond: Option<Box<Expr>>,
}

/// The expressions of Flow.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `42` (in range: out-of-range literals are reported while parsing).
    Int(i64),
    /// `3.5`.
    Float(f64),
    /// `"text {e}"` or `"""…"""`.
    Str(Vec<StrPart>),
    /// `true` or `false`.
    Bool(bool),
    /// `none`.
    None,
    /// `30s`, in milliseconds.
    Duration(i64),
    /// A name.
    Name(Ident),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{k: v, …}`.
    Dict(Vec<(Expr, Expr)>),
    /// `(a, b)`.
    Tuple(Vec<Expr>),
    /// `(total=t, mean=m)`.
    NamedTuple(Vec<(Ident, Expr)>),
    /// `-e` or `not e`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(args)`.
    Call(Box<Expr>, Vec<Arg>),
    /// `e.name`.
    Field(Box<Expr>, Ident),
    /// `e.0`.
    TupleIndex(Box<Expr>, u32, Span),
    /// `e[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `if c { … } else …`.
    If(Box<Expr>, Box<Block>, Option<Box<Expr>>),
    /// A block as the `else` of an `if`.
    Block(Box<Block>),
    /// `[e for p in xs if c]`.
    ListComp(Box<Expr>, Box<Comprehension>),
    /// `{k: v for p in xs if c}`.
    DictComp(Box<Expr>, Box<Expr>, Box<Comprehension>),
    /// `fail("message")`.
    Fail(Box<Expr>),
    /// An expression that did not parse (its error is already reported).
    Error,
}
