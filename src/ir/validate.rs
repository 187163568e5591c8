//! Checks an IR read from a file before anything runs. The interpreter trusts the IR the way it
//! trusts [`super::lower`]'s output: indices into the program's tables, local slots, node
//! references and spans are used without bounds checks. An IR file can be edited or damaged,
//! so [`validate`] checks every one of them, and that the graph cannot wait on itself (a node
//! reading a later node or its own branch, a workflow calling itself, an alias naming itself),
//! and names the first thing that is wrong.
//!
//! It checks structure, not types: a well-formed IR whose values do not fit their types fails
//! at run time with an error, as any bad value does.

use std::collections::HashSet;

use crate::check::types::{DeclId, DeclKind, FieldSig, Signature, Type};
use crate::source::Span;
use crate::syntax::ast::CallableKind;

use super::{
    Binding, Block, Comprehension, Cond, Expr, ExprKind, NodeId, NodeKind, Part, Pattern, Program,
    Stmt, Target, Workflow,
};

/// `Ok` when `program` is safe to run; else what is wrong, naming where.
pub fn validate(program: &Program) -> Result<(), String> {
    let v = Validator {
        program,
        decl_count: program.decls.iter().count(),
    };
    v.decls()?;
    for f in &program.functions {
        v.function(f)
            .map_err(|e| format!("{} `{}`: {e}", f.kind.keyword(), f.name))?;
    }
    for w in &program.workflows {
        v.workflow(w)
            .map_err(|e| format!("workflow `{}`: {e}", w.name))?;
    }
    v.workflow_calls()?;
    for e in &program.entries {
        v.target(e.target)
            .map_err(|m| format!("entry `{}`: {m}", e.name))?;
    }
    for (decl, defaults) in &program.record_defaults {
        let fields = v
            .record_fields(*decl)
            .map_err(|m| format!("field defaults: {m}"))?;
        if defaults.len() > fields.len() {
            return Err(format!(
                "field defaults of `{}`: {} defaults for {} fields",
                program.decls.get(*decl).name,
                defaults.len(),
                fields.len()
            ));
        }
        for d in defaults.iter().flatten() {
            v.expr(d, 0).map_err(|m| {
                format!("field defaults of `{}`: {m}", program.decls.get(*decl).name)
            })?;
        }
    }
    Ok(())
}

struct Validator<'p> {
    program: &'p Program,
    decl_count: usize,
}

impl<'p> Validator<'p> {
    fn decl(&self, id: DeclId) -> Result<&'p DeclKind, String> {
        if (id.0 as usize) < self.decl_count {
            Ok(&self.program.decls.get(id).kind)
        } else {
            Err(format!(
                "declaration {} does not exist (there are {})",
                id.0, self.decl_count
            ))
        }
    }

    fn signature(&self, id: DeclId) -> Result<&'p Signature, String> {
        match self.decl(id)? {
            DeclKind::Callable(sig) => Ok(sig),
            _ => Err(format!("declaration {} is not a signature", id.0)),
        }
    }

    fn record_fields(&self, id: DeclId) -> Result<&'p [FieldSig], String> {
        match self.decl(id)? {
            DeclKind::Struct(fs) | DeclKind::Class(fs) => Ok(fs),
            _ => Err(format!("declaration {} is not a struct or class", id.0)),
        }
    }

    fn span(&self, span: Span) -> Result<(), String> {
        let Some(file) = self.program.files.get(span.file.0 as usize) else {
            return Err(format!(
                "a span points at file {} (there are {})",
                span.file.0,
                self.program.files.len()
            ));
        };
        let text = &file.text;
        let (start, end) = (span.start as usize, span.end as usize);
        if start > end
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            return Err(format!(
                "the span {start}..{end} does not fit `{}` ({} bytes)",
                file.name,
                text.len()
            ));
        }
        Ok(())
    }

    fn ty(&self, ty: &Type) -> Result<(), String> {
        match ty {
            Type::List(t) => self.ty(t),
            Type::Dict(k, v) => {
                self.ty(k)?;
                self.ty(v)
            }
            Type::Union(ts) | Type::Tuple(ts) => ts.iter().try_for_each(|t| self.ty(t)),
            Type::NamedTuple(fs) => fs.iter().try_for_each(|(_, t)| self.ty(t)),
            Type::Decl(id) => self.decl(*id).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn field(&self, f: &FieldSig) -> Result<(), String> {
        self.ty(&f.ty).map_err(|e| format!("`{}`: {e}", f.name))
    }

    /// Every type in the declaration table names a declaration that exists, and no alias
    /// expands to itself.
    fn decls(&self) -> Result<(), String> {
        for (id, d) in self.program.decls.iter() {
            let checked = match &d.kind {
                DeclKind::Struct(fs) | DeclKind::Class(fs) => {
                    fs.iter().try_for_each(|f| self.field(f))
                }
                DeclKind::Alias(t) => self.ty(t).and_then(|()| self.alias_cycle(id, t)),
                DeclKind::Callable(sig) => sig
                    .params
                    .iter()
                    .chain(sig.outputs.fields())
                    .try_for_each(|f| self.field(f)),
                DeclKind::Enum(_) | DeclKind::Extern => Ok(()),
            };
            checked.map_err(|e| format!("declaration `{}`: {e}", d.name))?;
        }
        Ok(())
    }

    fn alias_cycle(&self, alias: DeclId, ty: &Type) -> Result<(), String> {
        let mut seen = HashSet::new();
        let mut todo = vec![ty];
        while let Some(t) = todo.pop() {
            match t {
                Type::List(t) => todo.push(t),
                Type::Dict(k, v) => todo.extend([&**k, &**v]),
                Type::Union(ts) | Type::Tuple(ts) => todo.extend(ts),
                Type::NamedTuple(fs) => todo.extend(fs.iter().map(|(_, t)| t)),
                Type::Decl(id) if *id == alias => {
                    return Err("the alias refers to itself".into());
                }
                Type::Decl(id) if seen.insert(*id) => {
                    if let DeclKind::Alias(t) = self.decl(*id)? {
                        todo.push(t);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn target(&self, target: Target) -> Result<(), String> {
        match target {
            Target::Task(f) if (f as usize) < self.program.functions.len() => Ok(()),
            Target::Workflow(w) if (w as usize) < self.program.workflows.len() => Ok(()),
            Target::Task(f) => Err(format!(
                "task {f} does not exist (there are {} functions)",
                self.program.functions.len()
            )),
            Target::Workflow(w) => Err(format!(
                "workflow {w} does not exist (there are {})",
                self.program.workflows.len()
            )),
        }
    }

    fn target_signature(&self, target: Target) -> Result<&'p Signature, String> {
        self.target(target)?;
        match target {
            Target::Task(f) => self.signature(self.program.functions[f as usize].decl),
            Target::Workflow(w) => self.signature(self.program.workflows[w as usize].decl),
        }
    }

    fn function(&self, f: &super::Function) -> Result<(), String> {
        self.span(f.span)?;
        let sig = self.signature(f.decl)?;
        if f.kind == CallableKind::Workflow || sig.kind != f.kind {
            return Err("its declaration is of another kind".into());
        }
        if sig.params.len() > f.slots as usize {
            return Err(format!(
                "{} parameters but {} local slots",
                sig.params.len(),
                f.slots
            ));
        }
        if f.defaults.len() > sig.params.len() {
            return Err(format!(
                "{} defaults for {} parameters",
                f.defaults.len(),
                sig.params.len()
            ));
        }
        // Defaults are evaluated without a frame: they read no locals.
        for d in f.defaults.iter().flatten() {
            self.expr(d, 0)?;
        }
        if let Some(python) = &f.python {
            self.span(python.span)?;
        }
        self.block(&f.body, f.slots)
    }

    fn block(&self, b: &Block, slots: u32) -> Result<(), String> {
        b.stmts.iter().try_for_each(|s| self.stmt(s, slots))
    }

    fn slot(&self, slot: u32, slots: u32) -> Result<(), String> {
        if slot < slots {
            Ok(())
        } else {
            Err(format!("local slot {slot} out of range (it has {slots})"))
        }
    }

    fn pattern(&self, p: &Pattern, slots: u32) -> Result<(), String> {
        match p {
            Pattern::Discard => Ok(()),
            Pattern::Slot(s) => self.slot(*s, slots),
            Pattern::Tuple(ps) => ps.iter().try_for_each(|p| self.pattern(p, slots)),
        }
    }

    fn stmt(&self, s: &Stmt, slots: u32) -> Result<(), String> {
        match s {
            Stmt::Let(p, ty, e) => {
                self.pattern(p, slots)?;
                if let Some(ty) = ty {
                    self.ty(ty)?;
                }
                self.expr(e, slots)
            }
            Stmt::Assign(slot, keys, e) => {
                self.slot(*slot, slots)?;
                keys.iter().try_for_each(|k| self.expr(k, slots))?;
                self.expr(e, slots)
            }
            Stmt::For(p, e, body) => {
                self.pattern(p, slots)?;
                self.expr(e, slots)?;
                self.block(body, slots)
            }
            Stmt::While(c, body) => {
                self.expr(c, slots)?;
                self.block(body, slots)
            }
            Stmt::Return(e, span) => {
                self.span(*span)?;
                e.iter().try_for_each(|e| self.expr(e, slots))
            }
            Stmt::Expr(e) => self.expr(e, slots),
            Stmt::Break | Stmt::Continue => Ok(()),
        }
    }

    fn comprehension(&self, c: &Comprehension, slots: u32) -> Result<(), String> {
        self.pattern(&c.pattern, slots)?;
        self.expr(&c.iter, slots)?;
        c.cond.iter().try_for_each(|e| self.expr(e, slots))
    }

    fn exprs(&self, es: &[Expr], slots: u32) -> Result<(), String> {
        es.iter().try_for_each(|e| self.expr(e, slots))
    }

    /// An expression of a body with `slots` local slots. Left operands are walked in a loop, so
    /// a long chain such as `x + x + … + x` (a deep left-nested tree) does not deepen the
    /// stack.
    fn expr(&self, e: &Expr, slots: u32) -> Result<(), String> {
        let mut e = e;
        loop {
            self.span(e.span)?;
            match &e.kind {
                ExprKind::Binary(_, a, b) => {
                    self.expr(b, slots)?;
                    e = a;
                    continue;
                }
                ExprKind::Const(_) => {}
                ExprKind::Local(s) => self.slot(*s, slots)?,
                ExprKind::Str(parts) => {
                    for p in parts {
                        if let Part::Expr(x) = p {
                            self.expr(x, slots)?;
                        }
                    }
                }
                ExprKind::List(es) | ExprKind::Tuple(es) | ExprKind::CallBuiltin(_, es) => {
                    self.exprs(es, slots)?
                }
                ExprKind::NamedTuple(names, es) => {
                    if names.len() != es.len() {
                        return Err(format!("{} names for {} values", names.len(), es.len()));
                    }
                    self.exprs(es, slots)?
                }
                ExprKind::Dict(entries) => {
                    for (k, v) in entries {
                        self.expr(k, slots)?;
                        self.expr(v, slots)?;
                    }
                }
                ExprKind::Unary(_, x)
                | ExprKind::Field(x, _)
                | ExprKind::Item(x, _)
                | ExprKind::Fail(x) => self.expr(x, slots)?,
                ExprKind::Index(x, i) => {
                    self.expr(x, slots)?;
                    self.expr(i, slots)?
                }
                ExprKind::CallFn(f, args) => {
                    let callee = self
                        .program
                        .functions
                        .get(*f as usize)
                        .ok_or_else(|| format!("function {f} does not exist"))?;
                    if callee.python.is_some() || callee.kind != CallableKind::Fn {
                        return Err(format!(
                            "`{}` is called as a fn but is not one",
                            callee.name
                        ));
                    }
                    self.exprs(args, slots)?
                }
                ExprKind::Construct(decl, args) => {
                    self.record_fields(*decl)?;
                    self.exprs(args, slots)?
                }
                ExprKind::EnumValue(decl, _) => {
                    self.decl(*decl)?;
                }
                ExprKind::If(c, then, otherwise) => {
                    self.expr(c, slots)?;
                    self.block(then, slots)?;
                    if let Some(o) = otherwise {
                        self.expr(o, slots)?;
                    }
                }
                ExprKind::Block(b) => self.block(b, slots)?,
                ExprKind::ListComp(c, x) => {
                    self.comprehension(c, slots)?;
                    self.expr(x, slots)?
                }
                ExprKind::DictComp(c, k, v) => {
                    self.comprehension(c, slots)?;
                    self.expr(k, slots)?;
                    self.expr(v, slots)?
                }
            }
            return Ok(());
        }
    }

    fn workflow(&self, w: &Workflow) -> Result<(), String> {
        self.span(w.span)?;
        let sig = self.signature(w.decl)?;
        if sig.kind != CallableKind::Workflow {
            return Err("its declaration is of another kind".into());
        }
        let inputs = sig.params.len();
        if w.defaults.len() > inputs {
            return Err(format!("{} defaults for {inputs} inputs", w.defaults.len()));
        }
        let graph = Graph { v: self, w, inputs };
        for d in w.defaults.iter().flatten() {
            graph.binding(d, None, None, false)?;
        }
        for (n, node) in w.nodes.iter().enumerate() {
            graph
                .node(n as NodeId, node)
                .map_err(|e| format!("node {n}: {e}"))?;
        }
        if w.outputs.len() != sig.outputs.fields().len() {
            return Err(format!(
                "{} output bindings for {} outputs",
                w.outputs.len(),
                sig.outputs.fields().len()
            ));
        }
        for b in &w.outputs {
            graph
                .binding(b, None, None, false)
                .map_err(|e| format!("outputs: {e}"))?;
        }
        Ok(())
    }

    /// No workflow calls itself, directly or through others (the run would never end).
    fn workflow_calls(&self) -> Result<(), String> {
        let workflows = &self.program.workflows;
        let calls = |w: usize| {
            workflows[w].nodes.iter().filter_map(|n| match n.kind {
                NodeKind::Call(Target::Workflow(c), _) => Some(c as usize),
                _ => None,
            })
        };
        // 0: not seen, 1: on the current path, 2: done.
        let mut state = vec![0u8; workflows.len()];
        for root in 0..workflows.len() {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, calls(root).collect::<Vec<_>>())];
            state[root] = 1;
            while let Some((w, pending)) = stack.last_mut() {
                match pending.pop() {
                    Some(c) if state[c] == 1 => {
                        return Err(format!(
                            "workflow `{}` calls itself through `{}`",
                            workflows[c].name, workflows[*w].name
                        ));
                    }
                    Some(c) if state[c] == 0 => {
                        state[c] = 1;
                        stack.push((c, calls(c).collect()));
                    }
                    Some(_) => {}
                    None => {
                        state[*w] = 2;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// One workflow's nodes and bindings.
struct Graph<'v, 'p> {
    v: &'v Validator<'p>,
    w: &'p Workflow,
    inputs: usize,
}

impl Graph<'_, '_> {
    /// Whether `branch` encloses node `n`, through the branch cases `n` lies in.
    fn encloses(&self, branch: NodeId, n: NodeId) -> bool {
        let mut at = self.w.nodes[n as usize].within;
        while let Some((b, _)) = at {
            if b == branch {
                return true;
            }
            at = self.w.nodes[b as usize].within;
        }
        false
    }

    fn node(&self, n: NodeId, node: &super::Node) -> Result<(), String> {
        self.v.span(node.span)?;
        if let Some((b, case)) = node.within {
            // Earlier nodes were checked already, so the chain of `within` ends.
            let cases = match self.w.nodes.get(b as usize) {
                Some(super::Node {
                    kind: NodeKind::Branch(cases),
                    ..
                }) if b < n => cases.len(),
                _ => return Err(format!("it lies within node {b}, not an earlier branch")),
            };
            if case as usize >= cases {
                return Err(format!("it lies within case {case} of a branch of {cases}"));
            }
        }
        let reader = Some(n);
        match &node.kind {
            NodeKind::Call(target, args) => {
                let sig = self.v.target_signature(*target)?;
                if args.len() > sig.params.len() {
                    return Err(format!(
                        "{} arguments for {} parameters",
                        args.len(),
                        sig.params.len()
                    ));
                }
                for a in args.iter().flatten() {
                    self.binding(a, reader, None, false)?;
                }
            }
            NodeKind::Map(f, over, args) => {
                let sig = self.v.target_signature(Target::Task(*f))?;
                if args.len() > sig.params.len() {
                    return Err(format!(
                        "{} arguments for {} parameters",
                        args.len(),
                        sig.params.len()
                    ));
                }
                self.binding(over, reader, None, false)?;
                for a in args.iter().flatten() {
                    self.binding(a, reader, None, true)?;
                }
            }
            NodeKind::Branch(cases) => {
                for (i, case) in cases.iter().enumerate() {
                    if let Some(cond) = &case.cond {
                        self.cond(cond, n)?;
                    }
                    self.binding(&case.value, Some(n), Some(i as u32), false)?;
                }
            }
        }
        Ok(())
    }

    fn cond(&self, cond: &Cond, n: NodeId) -> Result<(), String> {
        match cond {
            Cond::Compare(_, a, b) => {
                self.binding(a, Some(n), None, false)?;
                self.binding(b, Some(n), None, false)
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.cond(a, n)?;
                self.cond(b, n)
            }
            Cond::Not(a) => self.cond(a, n),
        }
    }

    /// A binding read by node `reader` (`None`: the workflow's outputs or defaults): it reads
    /// earlier nodes that do not enclose the reader, or, as the value of `case` of the branch
    /// `reader`, the nodes inside that case; it uses the map item only when `item` holds.
    fn binding(
        &self,
        b: &Binding,
        reader: Option<NodeId>,
        case: Option<u32>,
        item: bool,
    ) -> Result<(), String> {
        match b {
            Binding::Input(i, _) if (*i as usize) >= self.inputs => Err(format!(
                "input {i} does not exist (there are {})",
                self.inputs
            )),
            Binding::Output(m, _, _) => {
                let node_count = self.w.nodes.len();
                let ok = match (reader, case) {
                    (Some(n), Some(c)) if (*m as usize) < node_count => {
                        self.w.nodes[*m as usize].within == Some((n, c))
                            || (*m < n && !self.encloses(*m, n))
                    }
                    (Some(n), _) => *m < n && !self.encloses(*m, n),
                    (None, _) => (*m as usize) < node_count,
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("it reads node {m}, which does not run before it"))
                }
            }
            Binding::Item(_) if !item => Err("the item of a map outside a map".into()),
            Binding::List(bs) | Binding::NamedTuple(_, bs) | Binding::Tuple(bs) => bs
                .iter()
                .try_for_each(|b| self.binding(b, reader, case, item)),
            Binding::Dict(entries) => entries
                .iter()
                .try_for_each(|(_, b)| self.binding(b, reader, case, item)),
            Binding::Record(decl, bs) => {
                self.v.record_fields(*decl)?;
                bs.iter()
                    .try_for_each(|b| self.binding(b, reader, case, item))
            }
            Binding::Enum(decl, _) => self.v.decl(*decl).map(|_| ()),
            Binding::Fail(_, span) => self.v.span(*span),
            Binding::Input(..) | Binding::Item(_) | Binding::Const(_) => Ok(()),
        }
    }
}
