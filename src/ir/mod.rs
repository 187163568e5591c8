//! The IR: the contract between compiling and running. Names are resolved to indices (local
//! slots, functions, workflows, declarations), every interface type is kept with its
//! declaration table (and so its Flyte literal type), task and fn bodies are trees ready to
//! evaluate, and workflows are flat lists of nodes with bindings. It is serializable, versioned
//! JSON (`flytec compile`), so a program can be compiled once and run later.
//!
//! Produced by [`lower`] from a checked program; read by the interpreter.

pub mod lower;
pub mod validate;

use serde::{Deserialize, Serialize};

use crate::check::types::{DeclId, Decls, Type};
use crate::source::Span;
use crate::syntax::ast::{BinOp, CallableKind, PythonCode, UnaryOp};

/// The IR format's version; a program of another version is refused.
pub const IR_VERSION: u32 = 2;

/// Index of a function (fn or task) in [`Program::functions`].
pub type FnId = u32;
/// Index of a workflow in [`Program::workflows`].
pub type WfId = u32;
/// Index of a node in [`Workflow::nodes`].
pub type NodeId = u32;

/// A compiled program.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program {
    /// [`IR_VERSION`].
    pub version: u32,
    /// The source files, for pointing runtime errors at the failing expression.
    pub files: Vec<SourceText>,
    /// Every declaration: types, signatures.
    pub decls: Decls,
    /// Every `fn` and `task` with a body.
    pub functions: Vec<Function>,
    /// Every workflow.
    pub workflows: Vec<Workflow>,
    /// The tasks and workflows of the root file, runnable by name.
    pub entries: Vec<Entry>,
    /// Default values of struct and class fields, for inputs given as JSON.
    pub record_defaults: Vec<(DeclId, Vec<Option<Expr>>)>,
}

/// A source file's name and text.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceText {
    /// The name as given.
    pub name: String,
    /// The text.
    pub text: String,
}

/// A runnable task or workflow of the root file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// What it is.
    pub target: Target,
}

/// A task or workflow, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A task.
    Task(FnId),
    /// A workflow.
    Workflow(WfId),
}

/// How a task runs: `@retries`, `@cache`, `@timeout`, `@resources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskConfig {
    /// Extra attempts after a failure.
    pub retries: u32,
    /// The cache version, when the task is cached.
    pub cache_version: Option<String>,
    /// The longest an attempt may run, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Requested resources, recorded and reported.
    pub resources: Vec<(String, String)>,
}

/// A `fn` or `task`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// fn or task.
    pub kind: CallableKind,
    /// Its declaration (signature with parameter and output types).
    pub decl: DeclId,
    /// Default values of parameters, in parameter order.
    pub defaults: Vec<Option<Expr>>,
    /// How many local slots a call needs (parameters first).
    pub slots: u32,
    /// The body (empty for a Python task).
    pub body: Block,
    /// The Python code a Python task calls instead of a body.
    pub python: Option<PythonTask>,
    /// Task settings (default for fns).
    pub config: TaskConfig,
    /// The name's span.
    pub span: Span,
}

/// A task implemented in Python.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PythonTask {
    /// The function to call, or an inline body.
    pub code: PythonCode,
    /// The directory of the `.flow` file that declares the task, absolute when it could be
    /// resolved: modules are looked up there first, then on `PYTHONPATH`.
    pub dir: String,
    /// The code's span (`"models:fit"` or the inline body), for errors.
    pub span: Span,
}

/// A constant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Const {
    /// `none`.
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A duration in microseconds.
    Duration(i64),
}

/// An expression with the span it came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// A piece of an interpolated string.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Part {
    /// Text.
    Text(String),
    /// `{e}`.
    Expr(Expr),
}

/// The expressions of task and fn bodies.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ExprKind {
    /// A constant.
    Const(Const),
    /// A local slot.
    Local(u32),
    /// An interpolated string.
    Str(Vec<Part>),
    /// A list literal.
    List(Vec<Expr>),
    /// A dict literal.
    Dict(Vec<(Expr, Expr)>),
    /// A tuple.
    Tuple(Vec<Expr>),
    /// A named tuple (a record without a type name).
    NamedTuple(Vec<String>, Vec<Expr>),
    /// `-e`, `not e`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b` (`and`, `or` and `??` short-circuit).
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A call of a user `fn`, arguments in parameter order, defaults filled in.
    CallFn(FnId, Vec<Expr>),
    /// A call of a built-in, arguments in parameter order.
    CallBuiltin(String, Vec<Expr>),
    /// `S(…)`: a struct or class value, fields in declaration order.
    Construct(DeclId, Vec<Expr>),
    /// `E.V`.
    EnumValue(DeclId, String),
    /// `e.name`: a record field or named tuple item.
    Field(Box<Expr>, String),
    /// `e.0`.
    Item(Box<Expr>, u32),
    /// `e[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `if c { … } else …`.
    If(Box<Expr>, Block, Option<Box<Expr>>),
    /// A block.
    Block(Block),
    /// `[e for p in xs if c]`.
    ListComp(Box<Comprehension>, Box<Expr>),
    /// `{k: v for p in xs if c}`.
    DictComp(Box<Comprehension>, Box<Expr>, Box<Expr>),
    /// `fail(message)`.
    Fail(Box<Expr>),
}

/// The `for … in … if …` of a comprehension.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comprehension {
    /// Where each item goes.
    pub pattern: Pattern,
    /// The list.
    pub iter: Expr,
    /// The filter.
    pub cond: Option<Expr>,
}

/// Where a bound value goes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Pattern {
    /// Nowhere (`_`).
    Discard,
    /// A local slot.
    Slot(u32),
    /// Item by item.
    Tuple(Vec<Pattern>),
}

/// A statement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Stmt {
    /// `let`/`var`, with the declared type the value widens to.
    Let(Pattern, Option<Type>, Expr),
    /// `x = e` or `x[i][j] = e`.
    Assign(u32, Vec<Expr>, Expr),
    /// `for p in xs { … }`.
    For(Pattern, Expr, Block),
    /// `while c { … }`.
    While(Expr, Block),
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `return` or `return e`.
    Return(Option<Expr>, Span),
    /// An expression evaluated for its effect (or, last in a block, its value).
    Expr(Expr),
}

/// Statements; the block's value is its last statement's when that is an expression.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Block {
    /// The statements.
    pub stmts: Vec<Stmt>,
}

/// A workflow: nodes, and bindings for its outputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workflow {
    /// Its name.
    pub name: String,
    /// Its declaration (inputs and outputs).
    pub decl: DeclId,
    /// Default values of inputs, in input order.
    pub defaults: Vec<Option<Binding>>,
    /// Every node, in source order; nodes inside a branch name the case they belong to.
    pub nodes: Vec<Node>,
    /// One binding per declared output.
    pub outputs: Vec<Binding>,
    /// The name's span.
    pub span: Span,
}

/// A node of a workflow graph.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// What it runs.
    pub kind: NodeKind,
    /// The branch case it belongs to: (branch node, case index); `None` at the top level.
    pub within: Option<(NodeId, u32)>,
    /// The call's span.
    pub span: Span,
}

/// The kinds of node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum NodeKind {
    /// A task or sub-workflow call; one binding per parameter (`None`: its default).
    Call(Target, Vec<Option<Binding>>),
    /// One task run per item of a list; `Binding::Item` stands for the item in the arguments.
    Map(FnId, Binding, Vec<Option<Binding>>),
    /// A branch: the first case whose condition holds runs; its value is the node's output.
    Branch(Vec<Case>),
}

/// One case of a branch (`cond: None` for `else`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    /// The condition.
    pub cond: Option<Cond>,
    /// The case's value (or a failure).
    pub value: Binding,
}

/// A branch condition.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Cond {
    /// `a op b`.
    Compare(BinOp, Binding, Binding),
    /// `a and b`.
    And(Box<Cond>, Box<Cond>),
    /// `a or b`.
    Or(Box<Cond>, Box<Cond>),
    /// `not a`.
    Not(Box<Cond>),
}

/// One step of attribute access on a promise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Access {
    /// `.name`.
    Field(String),
    /// `.0` or `[0]`.
    Index(i64),
    /// `["key"]`.
    Key(String),
}

/// Where a node's input comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Binding {
    /// A workflow input, with attribute access.
    Input(u32, Vec<Access>),
    /// Output `output` of node `node`, with attribute access.
    Output(NodeId, u32, Vec<Access>),
    /// The current item of a map node, with attribute access.
    Item(Vec<Access>),
    /// A constant.
    Const(Const),
    /// A list of bindings.
    List(Vec<Binding>),
    /// A dict of bindings.
    Dict(Vec<(String, Binding)>),
    /// A struct or class built of bindings, fields in order.
    Record(DeclId, Vec<Binding>),
    /// Named outputs built of bindings.
    NamedTuple(Vec<String>, Vec<Binding>),
    /// A tuple of bindings (unnamed outputs).
    Tuple(Vec<Binding>),
    /// An enum value.
    Enum(DeclId, String),
    /// `fail("message")`: the run fails when this is needed.
    Fail(String, Span),
}
