//! Lowering of a checked program into the [IR](super): locals become slots, calls point at
//! function indices with arguments in parameter order and defaults filled in, enum values and
//! constructors are resolved, and workflow bodies become flat node lists with bindings.
//!
//! Consumes a [`Checked`] program without errors; produces a [`Program`].

use std::collections::HashMap;

use super::*;
use crate::check::collect::{Scope, TypeResolver};
use crate::check::types::{DeclKind, Outputs, Signature};
use crate::check::Checked;
use crate::syntax::ast::{self, ExprKind as A, ItemKind, StmtKind};

/// Lowers a checked program (which must have no errors) into the IR.
pub fn lower(checked: &Checked) -> Program {
    let mut ids = Ids::default();
    for (m, module) in checked.modules.iter().enumerate() {
        for (item, &decl) in module.ast.items.iter().zip(&checked.item_decls[m]) {
            ids.module_of.insert(decl, m);
            if let ItemKind::Callable(c) = &item.kind {
                match c.kind {
                    CallableKind::Workflow => {
                        ids.workflows.insert(decl, ids.workflows.len() as WfId);
                    }
                    _ if c.body.is_some() || c.python.is_some() => {
                        ids.functions.insert(decl, ids.functions.len() as FnId);
                    }
                    _ => {}
                }
            }
        }
    }
    let lowerer = Lowerer { checked, ids: &ids };
    let mut functions = Vec::new();
    let mut workflows = Vec::new();
    for (m, module) in checked.modules.iter().enumerate() {
        for (item, &decl) in module.ast.items.iter().zip(&checked.item_decls[m]) {
            let ItemKind::Callable(c) = &item.kind else {
                continue;
            };
            match c.kind {
                CallableKind::Workflow => workflows.push(lowerer.workflow(m, decl, c)),
                _ if c.body.is_some() || c.python.is_some() => {
                    functions.push(lowerer.function(m, decl, item, c))
                }
                _ => {}
            }
        }
    }
    let entries = checked
        .interfaces()
        .filter_map(|(name, _)| {
            let &decl = checked.scopes[crate::check::load::ROOT]
                .get(name)?
                .first()?;
            let target = match ids.workflows.get(&decl) {
                Some(&w) => Target::Workflow(w),
                None => Target::Task(*ids.functions.get(&decl)?),
            };
            Some(Entry {
                name: name.to_string(),
                target,
            })
        })
        .collect();
    let record_defaults = checked
        .decls
        .iter()
        .filter(|(_, d)| matches!(d.kind, DeclKind::Struct(_) | DeclKind::Class(_)))
        .map(|(id, _)| (id, BodyLowerer::new(&lowerer, 0).defaults_of(id)))
        .collect();
    let files = checked
        .sources
        .iter()
        .map(|(_, f)| SourceText {
            name: f.name.clone(),
            text: f.text.clone(),
        })
        .collect();
    Program {
        version: IR_VERSION,
        files,
        decls: checked.decls.clone(),
        functions,
        workflows,
        entries,
        record_defaults,
    }
}

#[derive(Default)]
struct Ids {
    functions: HashMap<DeclId, FnId>,
    workflows: HashMap<DeclId, WfId>,
    module_of: HashMap<DeclId, usize>,
}

struct Lowerer<'a> {
    checked: &'a Checked,
    ids: &'a Ids,
}

impl Lowerer<'_> {
    fn signature(&self, decl: DeclId) -> &Signature {
        match &self.checked.decls.get(decl).kind {
            DeclKind::Callable(sig) => sig,
            _ => unreachable!("a callable's declaration is a signature"),
        }
    }

    fn function(&self, m: usize, decl: DeclId, item: &ast::Item, c: &ast::Callable) -> Function {
        let mut body = BodyLowerer::new(self, m);
        body.scopes.push(HashMap::new());
        for p in &c.params {
            body.bind_name(&p.name.name);
        }
        let defaults = c
            .params
            .iter()
            .map(|p| {
                p.default
                    .as_ref()
                    .map(|d| BodyLowerer::new(self, m).expr(d))
            })
            .collect();
        let block = c.body.as_ref().map(|b| body.block(b)).unwrap_or_default();
        let python = c.python.as_ref().map(|p| PythonTask {
            code: p.code.clone(),
            dir: self.module_dir(m),
            span: p.span,
        });
        Function {
            name: c.name.name.to_string(),
            kind: c.kind,
            decl,
            defaults,
            slots: body.next_slot,
            body: block,
            python,
            config: task_config(item),
            span: c.name.span,
        }
    }

    /// The directory of module `m`'s file, absolute when the file can be found.
    fn module_dir(&self, m: usize) -> String {
        let file = self.checked.modules[m].file;
        let path = std::path::Path::new(&self.checked.sources.get(file).name);
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .to_string_lossy()
            .into_owned()
    }

    fn workflow(&self, m: usize, decl: DeclId, c: &ast::Callable) -> Workflow {
        let mut wf = GraphLowerer {
            lowerer: self,
            module: m,
            nodes: Vec::new(),
            env: vec![HashMap::new()],
            within: None,
        };
        for (i, p) in c.params.iter().enumerate() {
            wf.env[0].insert(
                p.name.name.to_string(),
                Binding::Input(i as u32, Vec::new()),
            );
        }
        let defaults = c
            .params
            .iter()
            .map(|p| p.default.as_ref().map(|d| wf.value(d)))
            .collect();
        let value = wf.block(c.body.as_ref().expect("workflows have bodies"));
        let outputs = split_outputs(value, &self.signature(decl).outputs);
        Workflow {
            name: c.name.name.to_string(),
            decl,
            defaults,
            nodes: wf.nodes,
            outputs,
            span: c.name.span,
        }
    }

    /// The declarations a top-level name stands for in module `m`.
    fn global(&self, m: usize, name: &str) -> Option<&[DeclId]> {
        self.checked.scopes[m].get(name)
    }

    fn scope(&self, m: usize) -> &Scope {
        &self.checked.scopes[m]
    }
}

/// The settings of a task from its annotations (already validated by the checker).
fn task_config(item: &ast::Item) -> TaskConfig {
    let mut config = TaskConfig::default();
    for a in &item.annotations {
        let first = a.args.first().map(|x| &x.value.kind);
        match (a.name.name.as_str(), first) {
            ("retries", Some(A::Int(n))) => config.retries = u32::try_from(*n).unwrap_or(0),
            ("cache", Some(A::Str(parts))) => config.cache_version = Some(plain_text(parts)),
            ("timeout", Some(A::Duration(ms))) => config.timeout_ms = u64::try_from(*ms).ok(),
            ("resources", _) => {
                for arg in &a.args {
                    let value = match &arg.value.kind {
                        A::Int(n) => n.to_string(),
                        A::Float(x) => x.to_string(),
                        A::Str(parts) => plain_text(parts),
                        _ => continue,
                    };
                    if let Some(name) = &arg.name {
                        config.resources.push((name.name.to_string(), value));
                    }
                }
            }
            _ => {}
        }
    }
    config
}

fn plain_text(parts: &[ast::StrPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            ast::StrPart::Text(t) => t.as_str(),
            ast::StrPart::Interp(_) => "",
        })
        .collect()
}

/// Orders call arguments by parameter: positional first, then named; `None` where left out.
fn order_args<'e>(
    params: &[crate::check::types::FieldSig],
    args: &'e [ast::Arg],
) -> Vec<Option<&'e ast::Expr>> {
    let mut ordered = vec![None; params.len()];
    let mut position = 0;
    for arg in args {
        let i = match &arg.name {
            Some(n) => params.iter().position(|p| p.name == n.name),
            None => {
                position += 1;
                Some(position - 1)
            }
        };
        if let Some(slot) = i.and_then(|i| ordered.get_mut(i)) {
            *slot = Some(&arg.value);
        }
    }
    ordered
}

/// Lowers one `fn` or `task` body.
struct BodyLowerer<'a, 'c> {
    lowerer: &'a Lowerer<'c>,
    module: usize,
    scopes: Vec<HashMap<String, u32>>,
    next_slot: u32,
}

impl<'a, 'c> BodyLowerer<'a, 'c> {
    fn new(lowerer: &'a Lowerer<'c>, module: usize) -> Self {
        BodyLowerer {
            lowerer,
            module,
            scopes: vec![HashMap::new()],
            next_slot: 0,
        }
    }

    fn bind_name(&mut self, name: &str) -> u32 {
        let slot = self.next_slot;
        self.next_slot += 1;
        if name != "_" {
            self.scopes
                .last_mut()
                .expect("a scope is open")
                .insert(name.to_string(), slot);
        }
        slot
    }

    fn pattern(&mut self, p: &ast::Pattern) -> Pattern {
        match p {
            ast::Pattern::Name(i) if i.name == "_" => Pattern::Discard,
            ast::Pattern::Name(i) => Pattern::Slot(self.bind_name(&i.name)),
            ast::Pattern::Tuple(items, _) => {
                Pattern::Tuple(items.iter().map(|p| self.pattern(p)).collect())
            }
        }
    }

    fn local(&self, name: &str) -> Option<u32> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn block(&mut self, b: &ast::Block) -> Block {
        self.scopes.push(HashMap::new());
        let stmts = b.stmts.iter().filter_map(|s| self.stmt(s)).collect();
        self.scopes.pop();
        Block { stmts }
    }

    fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        Some(match &s.kind {
            StmtKind::Let {
                pattern, ty, value, ..
            } => {
                let value = self.expr(value);
                let ty = ty.as_ref().map(|te| {
                    let mut sink = Vec::new();
                    let scope = self.lowerer.scope(self.module);
                    TypeResolver {
                        decls: &self.lowerer.checked.decls,
                        scope,
                        generics: &[],
                        diags: &mut sink,
                        is_std: false,
                        used_imports: Default::default(),
                    }
                    .resolve(te)
                });
                Stmt::Let(self.pattern(pattern), ty, value)
            }
            StmtKind::Assign {
                target,
                indices,
                value,
            } => {
                let slot = self.local(&target.name)?;
                Stmt::Assign(
                    slot,
                    indices.iter().map(|i| self.expr(i)).collect(),
                    self.expr(value),
                )
            }
            StmtKind::For {
                pattern,
                iter,
                body,
            } => {
                let iter = self.expr(iter);
                self.scopes.push(HashMap::new());
                let pattern = self.pattern(pattern);
                let body = self.block(body);
                self.scopes.pop();
                Stmt::For(pattern, iter, body)
            }
            StmtKind::While { cond, body } => Stmt::While(self.expr(cond), self.block(body)),
            StmtKind::Break => Stmt::Break,
            StmtKind::Continue => Stmt::Continue,
            StmtKind::Return(e) => Stmt::Return(e.as_ref().map(|e| self.expr(e)), s.span),
            StmtKind::Expr(e) => Stmt::Expr(self.expr(e)),
            StmtKind::Error => return None,
        })
    }

    fn exprs(&mut self, es: &[ast::Expr]) -> Vec<Expr> {
        es.iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&mut self, e: &ast::Expr) -> Expr {
        let kind = match &e.kind {
            A::Int(n) => ExprKind::Const(Const::Int(*n)),
            A::Float(x) => ExprKind::Const(Const::Float(*x)),
            A::Bool(b) => ExprKind::Const(Const::Bool(*b)),
            A::None | A::Error => ExprKind::Const(Const::None),
            A::Duration(ms) => ExprKind::Const(Const::Duration(ms.saturating_mul(1000))),
            A::Str(parts) => match parts.as_slice() {
                [] => ExprKind::Const(Const::Str(String::new())),
                [ast::StrPart::Text(t)] => ExprKind::Const(Const::Str(t.clone())),
                _ => ExprKind::Str(
                    parts
                        .iter()
                        .map(|p| match p {
                            ast::StrPart::Text(t) => Part::Text(t.clone()),
                            ast::StrPart::Interp(x) => Part::Expr(self.expr(x)),
                        })
                        .collect(),
                ),
            },
            A::Name(i) => match self.local(&i.name) {
                Some(slot) => ExprKind::Local(slot),
                None => ExprKind::Const(Const::None),
            },
            A::List(items) => ExprKind::List(self.exprs(items)),
            A::Dict(entries) => ExprKind::Dict(
                entries
                    .iter()
                    .map(|(k, v)| (self.expr(k), self.expr(v)))
                    .collect(),
            ),
            A::Tuple(items) => ExprKind::Tuple(self.exprs(items)),
            A::NamedTuple(items) => ExprKind::NamedTuple(
                items.iter().map(|(n, _)| n.name.to_string()).collect(),
                items.iter().map(|(_, x)| self.expr(x)).collect(),
            ),
            A::Unary(op, x) => ExprKind::Unary(*op, Box::new(self.expr(x))),
            A::Binary(op, l, r) => {
                ExprKind::Binary(*op, Box::new(self.expr(l)), Box::new(self.expr(r)))
            }
            A::Call(callee, args) => self.call(callee, args),
            A::Field(obj, name) => match self.enum_of(obj) {
                Some(decl) => ExprKind::EnumValue(decl, name.name.to_string()),
                None => ExprKind::Field(Box::new(self.expr(obj)), name.name.to_string()),
            },
            A::TupleIndex(obj, n, _) => ExprKind::Item(Box::new(self.expr(obj)), *n),
            A::Index(obj, i) => ExprKind::Index(Box::new(self.expr(obj)), Box::new(self.expr(i))),
            A::If(c, then, otherwise) => ExprKind::If(
                Box::new(self.expr(c)),
                self.block(then),
                otherwise.as_ref().map(|o| Box::new(self.expr(o))),
            ),
            A::Block(b) => ExprKind::Block(self.block(b)),
            A::ListComp(elem, comp) => {
                self.scopes.push(HashMap::new());
                let comp = self.comprehension(comp);
                let elem = self.expr(elem);
                self.scopes.pop();
                ExprKind::ListComp(Box::new(comp), Box::new(elem))
            }
            A::DictComp(k, v, comp) => {
                self.scopes.push(HashMap::new());
                let comp = self.comprehension(comp);
                let (k, v) = (self.expr(k), self.expr(v));
                self.scopes.pop();
                ExprKind::DictComp(Box::new(comp), Box::new(k), Box::new(v))
            }
            A::Fail(msg) => ExprKind::Fail(Box::new(self.expr(msg))),
        };
        Expr { kind, span: e.span }
    }

    fn comprehension(&mut self, c: &ast::Comprehension) -> Comprehension {
        let iter = self.expr(&c.iter);
        let pattern = self.pattern(&c.pattern);
        let cond = c.cond.as_ref().map(|x| self.expr(x));
        Comprehension {
            pattern,
            iter,
            cond,
        }
    }

    /// The enum a name stands for, unless a local shadows it.
    fn enum_of(&self, e: &ast::Expr) -> Option<DeclId> {
        let A::Name(i) = &e.kind else { return None };
        if self.local(&i.name).is_some() {
            return None;
        }
        let &decl = self.lowerer.global(self.module, &i.name)?.first()?;
        matches!(self.lowerer.checked.decls.get(decl).kind, DeclKind::Enum(_)).then_some(decl)
    }

    fn call(&mut self, callee: &ast::Expr, args: &[ast::Arg]) -> ExprKind {
        let A::Name(name) = &callee.kind else {
            return ExprKind::Const(Const::None);
        };
        let Some(ids) = self.lowerer.global(self.module, &name.name) else {
            return ExprKind::Const(Const::None);
        };
        let decls = &self.lowerer.checked.decls;
        let decl = ids[0];
        match &decls.get(decl).kind {
            DeclKind::Callable(sig) if sig.builtin => {
                let named: Vec<&str> = args
                    .iter()
                    .filter_map(|a| a.name.as_ref().map(|n| n.name.as_str()))
                    .collect();
                let params = ids
                    .iter()
                    .filter_map(|id| match &decls.get(*id).kind {
                        DeclKind::Callable(s)
                            if named.iter().all(|n| s.params.iter().any(|p| p.name == *n)) =>
                        {
                            Some(&s.params)
                        }
                        _ => None,
                    })
                    .find(|ps| ps.len() >= args.len());
                let ordered: Vec<Expr> = match params {
                    Some(ps) if !named.is_empty() => order_args(ps, args)
                        .into_iter()
                        .flatten()
                        .map(|e| self.expr(e))
                        .collect(),
                    _ => args.iter().map(|a| self.expr(&a.value)).collect(),
                };
                ExprKind::CallBuiltin(name.name.to_string(), ordered)
            }
            DeclKind::Callable(sig) => {
                let Some(&f) = self.lowerer.ids.functions.get(&decl) else {
                    return ExprKind::Const(Const::None);
                };
                let args = self.with_defaults(decl, &sig.params, args);
                ExprKind::CallFn(f, args)
            }
            DeclKind::Struct(fields) | DeclKind::Class(fields) => {
                ExprKind::Construct(decl, self.with_defaults(decl, fields, args))
            }
            _ => ExprKind::Const(Const::None),
        }
    }

    /// Arguments in parameter order, each left-out parameter replaced by its default, lowered
    /// in the scope of the module declaring it.
    fn with_defaults(
        &mut self,
        decl: DeclId,
        params: &[crate::check::types::FieldSig],
        args: &[ast::Arg],
    ) -> Vec<Expr> {
        let ordered = order_args(params, args);
        let defaults = self.defaults_of(decl);
        ordered
            .into_iter()
            .enumerate()
            .map(|(i, arg)| match arg {
                Some(e) => self.expr(e),
                None => defaults.get(i).cloned().flatten().unwrap_or(Expr {
                    kind: ExprKind::Const(Const::None),
                    span: params[i].span,
                }),
            })
            .collect()
    }

    /// The lowered default values of a callable's parameters or a record's fields.
    fn defaults_of(&self, decl: DeclId) -> Vec<Option<Expr>> {
        let lowerer = self.lowerer;
        let Some(&m) = lowerer.ids.module_of.get(&decl) else {
            return Vec::new();
        };
        let module = &lowerer.checked.modules[m];
        let Some(i) = lowerer.checked.item_decls[m]
            .iter()
            .position(|&d| d == decl)
        else {
            return Vec::new();
        };
        let params = match &module.ast.items[i].kind {
            ItemKind::Struct(r) | ItemKind::Class(r) => &r.fields,
            ItemKind::Callable(c) => &c.params,
            _ => return Vec::new(),
        };
        params
            .iter()
            .map(|p| {
                p.default
                    .as_ref()
                    .map(|d| BodyLowerer::new(lowerer, m).expr(d))
            })
            .collect()
    }
}

/// Lowers one workflow body into nodes.
struct GraphLowerer<'a, 'c> {
    lowerer: &'a Lowerer<'c>,
    module: usize,
    nodes: Vec<Node>,
    env: Vec<HashMap<String, Binding>>,
    within: Option<(NodeId, u32)>,
}

impl GraphLowerer<'_, '_> {
    fn push(&mut self, kind: NodeKind, span: Span) -> NodeId {
        self.nodes.push(Node {
            kind,
            within: self.within,
            span,
        });
        self.nodes.len() as NodeId - 1
    }

    fn block(&mut self, b: &ast::Block) -> Binding {
        self.env.push(HashMap::new());
        let mut value = Binding::Const(Const::None);
        for s in &b.stmts {
            match &s.kind {
                StmtKind::Let {
                    pattern, value: v, ..
                } => {
                    let binding = self.value(v);
                    self.bind(pattern, binding);
                }
                StmtKind::Expr(e) | StmtKind::Return(Some(e)) => value = self.value(e),
                _ => {}
            }
        }
        self.env.pop();
        value
    }

    fn bind(&mut self, pattern: &ast::Pattern, binding: Binding) {
        match pattern {
            ast::Pattern::Name(i) => {
                self.env
                    .last_mut()
                    .expect("a scope is open")
                    .insert(i.name.to_string(), binding);
            }
            ast::Pattern::Tuple(items, _) => {
                for (k, p) in items.iter().enumerate() {
                    let item = access(
                        binding.clone(),
                        Access::Index(k as i64),
                        &self.lowerer.checked.decls,
                    );
                    self.bind(p, item);
                }
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        self.env.iter().rev().find_map(|s| s.get(name).cloned())
    }

    fn value(&mut self, e: &ast::Expr) -> Binding {
        let decls = &self.lowerer.checked.decls;
        match &e.kind {
            A::Int(n) => Binding::Const(Const::Int(*n)),
            A::Float(x) => Binding::Const(Const::Float(*x)),
            A::Unary(UnaryOp::Neg, inner) => match inner.kind {
                A::Int(n) => Binding::Const(Const::Int(-n)),
                A::Float(x) => Binding::Const(Const::Float(-x)),
                _ => Binding::Const(Const::None),
            },
            A::Bool(b) => Binding::Const(Const::Bool(*b)),
            A::Duration(ms) => Binding::Const(Const::Duration(ms.saturating_mul(1000))),
            A::Str(parts) => Binding::Const(Const::Str(plain_text(parts))),
            A::Name(i) => self.lookup(&i.name).unwrap_or(Binding::Const(Const::None)),
            A::List(items) => Binding::List(items.iter().map(|x| self.value(x)).collect()),
            A::Dict(entries) => Binding::Dict(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match &k.kind {
                            A::Str(parts) => plain_text(parts),
                            _ => String::new(),
                        };
                        (key, self.value(v))
                    })
                    .collect(),
            ),
            A::Tuple(items) => Binding::Tuple(items.iter().map(|x| self.value(x)).collect()),
            A::NamedTuple(items) => Binding::NamedTuple(
                items.iter().map(|(n, _)| n.name.to_string()).collect(),
                items.iter().map(|(_, x)| self.value(x)).collect(),
            ),
            A::Call(callee, args) => self.call(e, callee, args),
            A::Field(obj, name) => {
                if let A::Name(n) = &obj.kind {
                    if self.lookup(&n.name).is_none() {
                        if let Some(&decl) = self
                            .lowerer
                            .global(self.module, &n.name)
                            .and_then(|ids| ids.first())
                        {
                            if matches!(decls.get(decl).kind, DeclKind::Enum(_)) {
                                return Binding::Enum(decl, name.name.to_string());
                            }
                        }
                    }
                }
                let base = self.value(obj);
                access(base, Access::Field(name.name.to_string()), decls)
            }
            A::TupleIndex(obj, n, _) => {
                let base = self.value(obj);
                access(base, Access::Index(i64::from(*n)), decls)
            }
            A::Index(obj, i) => {
                let base = self.value(obj);
                let step = match &i.kind {
                    A::Int(n) => Access::Index(*n),
                    A::Str(parts) => Access::Key(plain_text(parts)),
                    _ => Access::Index(0),
                };
                access(base, step, decls)
            }
            A::If(..) => self.branch(e),
            A::ListComp(elem, comp) => self.map(e, elem, comp),
            A::Fail(msg) => {
                let text = match &msg.kind {
                    A::Str(parts) => plain_text(parts),
                    _ => "the workflow failed".to_string(),
                };
                Binding::Fail(text, e.span)
            }
            A::Block(b) => self.block(b),
            _ => Binding::Const(Const::None),
        }
    }

    fn call(&mut self, e: &ast::Expr, callee: &ast::Expr, args: &[ast::Arg]) -> Binding {
        let A::Name(name) = &callee.kind else {
            return Binding::Const(Const::None);
        };
        let Some(&decl) = self
            .lowerer
            .global(self.module, &name.name)
            .and_then(|ids| ids.first())
        else {
            return Binding::Const(Const::None);
        };
        let decls = &self.lowerer.checked.decls;
        match &decls.get(decl).kind {
            DeclKind::Callable(sig) => {
                let target = match self.lowerer.ids.workflows.get(&decl) {
                    Some(&w) => Target::Workflow(w),
                    None => match self.lowerer.ids.functions.get(&decl) {
                        Some(&f) => Target::Task(f),
                        None => return Binding::Const(Const::None),
                    },
                };
                let ordered = order_args(&sig.params, args);
                let bindings = ordered
                    .into_iter()
                    .map(|a| a.map(|x| self.value(x)))
                    .collect();
                let node = self.push(NodeKind::Call(target, bindings), e.span);
                outputs_of(node, &sig.outputs)
            }
            DeclKind::Struct(fields) | DeclKind::Class(fields) => {
                let ordered = order_args(fields, args);
                let defaults = BodyDefaults::of(self.lowerer, decl);
                let items = ordered
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| match a {
                        Some(x) => self.value(x),
                        None => defaults.get(i).cloned().flatten().map_or(
                            Binding::Const(Const::None),
                            |d| {
                                let module = self.module;
                                self.module = self
                                    .lowerer
                                    .ids
                                    .module_of
                                    .get(&decl)
                                    .copied()
                                    .unwrap_or(module);
                                let b = self.value(&d);
                                self.module = module;
                                b
                            },
                        ),
                    })
                    .collect();
                Binding::Record(decl, items)
            }
            _ => Binding::Const(Const::None),
        }
    }

    fn branch(&mut self, e: &ast::Expr) -> Binding {
        let id = self.push(NodeKind::Branch(Vec::new()), e.span);
        let mut cases = Vec::new();
        let mut next = Some(e);
        while let Some(x) = next {
            let saved = self.within.replace((id, cases.len() as u32));
            match &x.kind {
                A::If(c, then, otherwise) => {
                    let cond = self.cond(c);
                    let value = self.block(then);
                    cases.push(Case {
                        cond: Some(cond),
                        value,
                    });
                    next = otherwise.as_deref();
                }
                A::Block(b) => {
                    let value = self.block(b);
                    cases.push(Case { cond: None, value });
                    next = None;
                }
                _ => next = None,
            }
            self.within = saved;
        }
        self.nodes[id as usize].kind = NodeKind::Branch(cases);
        Binding::Output(id, 0, Vec::new())
    }

    fn cond(&mut self, e: &ast::Expr) -> Cond {
        match &e.kind {
            A::Binary(ast::BinOp::And, l, r) => {
                Cond::And(Box::new(self.cond(l)), Box::new(self.cond(r)))
            }
            A::Binary(ast::BinOp::Or, l, r) => {
                Cond::Or(Box::new(self.cond(l)), Box::new(self.cond(r)))
            }
            A::Unary(UnaryOp::Not, x) => Cond::Not(Box::new(self.cond(x))),
            A::Binary(op, l, r) => Cond::Compare(*op, self.value(l), self.value(r)),
            _ => Cond::Compare(
                ast::BinOp::Eq,
                self.value(e),
                Binding::Const(Const::Bool(true)),
            ),
        }
    }

    fn map(&mut self, e: &ast::Expr, elem: &ast::Expr, comp: &ast::Comprehension) -> Binding {
        let over = self.value(&comp.iter);
        self.env.push(HashMap::new());
        self.bind(&comp.pattern, Binding::Item(Vec::new()));
        let result = match &elem.kind {
            A::Call(callee, args) => {
                let A::Name(name) = &callee.kind else {
                    return Binding::Const(Const::None);
                };
                let decl = self
                    .lowerer
                    .global(self.module, &name.name)
                    .and_then(|ids| ids.first())
                    .copied();
                match decl.map(|d| (d, self.lowerer.ids.functions.get(&d))) {
                    Some((d, Some(&f))) => {
                        let params = self.lowerer.signature(d).params.clone();
                        let bindings = order_args(&params, args)
                            .into_iter()
                            .map(|a| a.map(|x| self.value(x)))
                            .collect();
                        let node = self.push(NodeKind::Map(f, over, bindings), e.span);
                        Binding::Output(node, 0, Vec::new())
                    }
                    _ => Binding::Const(Const::None),
                }
            }
            _ => Binding::Const(Const::None),
        };
        self.env.pop();
        result
    }
}

/// The lowered-later default expressions of a record's fields.
struct BodyDefaults;

impl BodyDefaults {
    fn of(lowerer: &Lowerer<'_>, decl: DeclId) -> Vec<Option<ast::Expr>> {
        let Some(&m) = lowerer.ids.module_of.get(&decl) else {
            return Vec::new();
        };
        let Some(i) = lowerer.checked.item_decls[m]
            .iter()
            .position(|&d| d == decl)
        else {
            return Vec::new();
        };
        match &lowerer.checked.modules[m].ast.items[i].kind {
            ItemKind::Struct(r) | ItemKind::Class(r) => {
                r.fields.iter().map(|f| f.default.clone()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The value of a call node: its single output, or its outputs as a tuple or named tuple.
fn outputs_of(node: NodeId, outputs: &Outputs) -> Binding {
    let item = |k: usize| Binding::Output(node, k as u32, Vec::new());
    match outputs {
        Outputs::Nothing | Outputs::Single(_) => item(0),
        Outputs::Unnamed(fs) => Binding::Tuple((0..fs.len()).map(item).collect()),
        Outputs::Named(fs) => Binding::NamedTuple(
            fs.iter().map(|f| f.name.clone()).collect(),
            (0..fs.len()).map(item).collect(),
        ),
    }
}

/// One more step of attribute access on a binding; composite bindings are taken apart.
fn access(binding: Binding, step: Access, decls: &Decls) -> Binding {
    match (binding, &step) {
        (Binding::NamedTuple(names, items), Access::Field(f)) => names
            .iter()
            .position(|n| n == f)
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Binding::Const(Const::None)),
        (
            Binding::NamedTuple(_, items) | Binding::Tuple(items) | Binding::List(items),
            Access::Index(i),
        ) => usize::try_from(*i)
            .ok()
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Binding::Const(Const::None)),
        (Binding::Record(decl, items), Access::Field(f)) => decls
            .fields(&Type::Decl(decl))
            .and_then(|fs| fs.iter().position(|x| x.name == *f))
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Binding::Const(Const::None)),
        (Binding::Dict(entries), Access::Key(k)) => entries
            .into_iter()
            .find(|(key, _)| key == k)
            .map_or(Binding::Const(Const::None), |(_, v)| v),
        (Binding::Input(i, mut path), _) => {
            path.push(step);
            Binding::Input(i, path)
        }
        (Binding::Output(n, k, mut path), _) => {
            path.push(step);
            Binding::Output(n, k, path)
        }
        (Binding::Item(mut path), _) => {
            path.push(step);
            Binding::Item(path)
        }
        (other, _) => other,
    }
}

/// The workflow's final value split into one binding per declared output.
fn split_outputs(value: Binding, outputs: &Outputs) -> Vec<Binding> {
    match outputs {
        Outputs::Nothing => Vec::new(),
        Outputs::Single(_) => vec![value],
        Outputs::Unnamed(fs) => (0..fs.len())
            .map(|k| access(value.clone(), Access::Index(k as i64), &Decls::default()))
            .collect(),
        Outputs::Named(fs) => match value {
            Binding::NamedTuple(names, items) => fs
                .iter()
                .map(|f| {
                    names
                        .iter()
                        .position(|n| *n == f.name)
                        .map_or(Binding::Const(Const::None), |i| items[i].clone())
                })
                .collect(),
            other => (0..fs.len())
                .map(|k| access(other.clone(), Access::Index(k as i64), &Decls::default()))
                .collect(),
        },
    }
}
