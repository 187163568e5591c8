//! The evaluator of task and fn bodies over the IR: statements, expressions, operators, calls,
//! with a recursion limit and a deadline checked as it runs, so `@timeout` ends even
//! `while true {}` and no program can overflow the stack.
//!
//! Consumes an IR [`Program`] and argument values; produces a value or a [`RuntimeError`].

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use super::builtins::MAX_TEXT_BYTES;
use super::coerce::{coerce, has_float};
use super::{builtins, format, RuntimeError};
use crate::check::types::{DeclId, DeclKind, Outputs, Signature, Type};
use crate::ir::*;
use crate::source::Span;
use crate::syntax::ast::{BinOp, UnaryOp};
use crate::value::{Record, Value};

/// How deeply `fn` calls may nest.
pub const MAX_DEPTH: usize = 1000;

/// Why evaluation stopped early. A `return`'s value waits in [`Evaluator::returned`], so that
/// this stays two words and `Result<(), Unwind>` comes back in registers.
enum Unwind {
    Break,
    Continue,
    Return,
    Error(Box<RuntimeError>),
}

impl From<RuntimeError> for Unwind {
    fn from(e: RuntimeError) -> Self {
        Unwind::Error(Box::new(e))
    }
}

type Eval<T = Value> = Result<T, Unwind>;

/// A struct's or class's name and its field names, in declaration order.
type RecordNames = (Arc<str>, Arc<[Arc<str>]>);

/// Evaluates bodies of one program.
pub struct Evaluator<'p> {
    program: &'p Program,
    deadline: Option<Instant>,
    depth: usize,
    ticks: u32,
    ctx: builtins::Context,
    /// The type name and field names of each struct or class built so far, by declaration:
    /// allocated once and shared by all its values.
    record_names: Vec<Option<RecordNames>>,
    /// Frames of calls that returned, emptied, for the next calls: a call allocates nothing.
    spare: Vec<Vec<Value>>,
    /// The value of the `return` being unwound.
    returned: Value,
    /// Per function, once called: its signature, and whether some parameter or output may need
    /// ints widened.
    callees: Vec<Option<(&'p Signature, bool)>>,
}

impl<'p> Evaluator<'p> {
    /// An evaluator that gives up at `deadline`, writing files (`write_text`) under `ctx`.
    pub fn new(program: &'p Program, deadline: Option<Instant>, ctx: builtins::Context) -> Self {
        Evaluator {
            program,
            deadline,
            depth: 0,
            ticks: 0,
            ctx,
            record_names: Vec::new(),
            spare: Vec::new(),
            returned: Value::None,
            callees: vec![None; program.functions.len()],
        }
    }

    /// Calls function `f` with its arguments in parameter order.
    pub fn call(&mut self, f: FnId, args: Vec<Value>) -> Result<Value, RuntimeError> {
        let mut out = Value::None;
        match self.enter(f, args, self.program.functions[f as usize].span, &mut out) {
            Ok(()) => Ok(out),
            Err(Unwind::Error(e)) => Err(*e),
            Err(_) => Ok(Value::None),
        }
    }

    /// Evaluates a parameter default (an expression that reads no locals).
    pub fn eval_default(&mut self, e: &Expr) -> Result<Value, RuntimeError> {
        match self.expr(e, &mut []) {
            Ok(v) => Ok(v),
            Err(Unwind::Error(e)) => Err(*e),
            Err(_) => Ok(Value::None),
        }
    }

    /// Calls `f` with `args` evaluated in the caller's `frame`, straight into a spare frame.
    #[inline(never)]
    fn call_fn(
        &mut self,
        f: FnId,
        args: &[Expr],
        frame: &mut [Value],
        at: Span,
        out: &mut Value,
    ) -> Eval<()> {
        let mut callee = self.spare.pop().unwrap_or_default();
        for a in args {
            let error = match int_value(a, frame) {
                IntValue::Int(n) => {
                    callee.push(Value::Int(n));
                    continue;
                }
                IntValue::Overflow(span) => overflow(span),
                IntValue::Other => match self.expr(a, frame) {
                    Ok(v) => {
                        callee.push(v);
                        continue;
                    }
                    Err(e) => e,
                },
            };
            callee.clear();
            self.spare.push(callee);
            return Err(error);
        }
        self.enter(f, callee, at, out)
    }

    /// Runs `f`'s body in `frame`, which holds the arguments, into `out`; the frame is kept for
    /// reuse. (Inlined into [`Self::call_fn`]: a call of a `fn` is one Rust call.)
    #[inline(always)]
    fn enter(&mut self, f: FnId, mut frame: Vec<Value>, at: Span, out: &mut Value) -> Eval<()> {
        if self.depth >= MAX_DEPTH {
            return Err(RuntimeError::at(
                at,
                format!("recursion depth exceeded ({MAX_DEPTH} nested calls)"),
            )
            .into());
        }
        let program = self.program;
        let function = &program.functions[f as usize];
        let (sig, widens) = match self.callees[f as usize] {
            Some(callee) => callee,
            None => {
                let DeclKind::Callable(sig) = &program.decls.get(function.decl).kind else {
                    return Err(RuntimeError::at(at, "not a function").into());
                };
                let widens = sig.params.iter().any(|p| has_float(&p.ty))
                    || sig.outputs.fields().iter().any(|o| has_float(&o.ty));
                *self.callees[f as usize].insert((sig, widens))
            }
        };
        if widens {
            for (arg, param) in frame.iter_mut().zip(&sig.params) {
                *arg = coerce(std::mem::replace(arg, Value::None), &param.ty);
            }
        }
        if frame.len() < function.slots as usize {
            frame.resize(function.slots as usize, Value::None);
        }
        self.depth += 1;
        let result = self.block(&function.body, &mut frame, out);
        self.depth -= 1;
        while let Some(v) = frame.pop() {
            discard(v);
        }
        self.spare.push(frame);
        match result {
            Ok(()) => {}
            Err(Unwind::Return) => *out = std::mem::replace(&mut self.returned, Value::None),
            Err(Unwind::Break | Unwind::Continue) => *out = Value::None,
            Err(e) => return Err(e),
        }
        if widens {
            let ty = match &sig.outputs {
                Outputs::Single(output) => Cow::Borrowed(&output.ty),
                outputs => Cow::Owned(outputs.value_type()),
            };
            *out = coerce(std::mem::replace(out, Value::None), &ty);
        }
        Ok(())
    }

    /// Counts a step (a call or a loop iteration); every 1,024 steps, checks the deadline.
    #[inline(always)]
    fn tick(&mut self, span: Span) -> Eval<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(1024) {
            return self.check_deadline(span);
        }
        Ok(())
    }

    #[cold]
    fn check_deadline(&self, span: Span) -> Eval<()> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                Err(RuntimeError::at(span, "timed out").timeout().into())
            }
            _ => Ok(()),
        }
    }

    /// Runs a block into `out`: its last statement's value when that is an expression. A block
    /// of one expression (a typical `fn` body or `if` arm) costs no call of its own.
    #[inline(always)]
    fn block(&mut self, block: &Block, frame: &mut [Value], out: &mut Value) -> Eval<()> {
        match block.stmts.as_slice() {
            [Stmt::Expr(e)] => self.eval(e, frame, out),
            _ => self.statements(block, frame, out),
        }
    }

    /// [`Self::block`] in general.
    fn statements(&mut self, block: &Block, frame: &mut [Value], out: &mut Value) -> Eval<()> {
        let Some((last, init)) = block.stmts.split_last() else {
            *out = Value::None;
            return Ok(());
        };
        for stmt in init {
            self.stmt(stmt, frame)?;
        }
        match last {
            Stmt::Expr(e) => self.eval(e, frame, out),
            _ => {
                self.stmt(last, frame)?;
                *out = Value::None;
                Ok(())
            }
        }
    }

    /// Runs a block for its effect.
    fn run_block(&mut self, block: &Block, frame: &mut [Value]) -> Eval<()> {
        let mut discarded = Value::None;
        self.block(block, frame, &mut discarded)
    }

    fn stmt(&mut self, stmt: &Stmt, frame: &mut [Value]) -> Eval<()> {
        match stmt {
            Stmt::Let(pattern, ty, e) => {
                let v = self.expr(e, frame)?;
                let v = match ty {
                    Some(t) => coerce(v, t),
                    None => v,
                };
                bind(pattern, v, frame, e.span)?;
            }
            Stmt::Assign(slot, indices, e) => {
                let v = self.expr(e, frame)?;
                let keys = indices
                    .iter()
                    .map(|i| Ok((self.expr(i, frame)?, i.span)))
                    .collect::<Eval<Vec<_>>>()?;
                assign(&mut frame[*slot as usize], &keys, v)?;
            }
            Stmt::For(pattern, iter, body) => {
                let items = match self.expr(iter, frame)? {
                    Value::List(items) => items,
                    other => {
                        return Err(RuntimeError::at(
                            iter.span,
                            format!("cannot iterate over {}", kind_of(&other)),
                        )
                        .into())
                    }
                };
                for item in items.iter() {
                    self.tick(iter.span)?;
                    bind(pattern, item.clone(), frame, iter.span)?;
                    match self.run_block(body, frame) {
                        Ok(()) | Err(Unwind::Continue) => {}
                        Err(Unwind::Break) => break,
                        Err(e) => return Err(e),
                    }
                }
            }
            Stmt::While(cond, body) => loop {
                self.tick(cond.span)?;
                if !self.test(cond, frame)? {
                    break;
                }
                match self.run_block(body, frame) {
                    Ok(()) | Err(Unwind::Continue) => {}
                    Err(Unwind::Break) => break,
                    Err(e) => return Err(e),
                }
            },
            Stmt::Break => return Err(Unwind::Break),
            Stmt::Continue => return Err(Unwind::Continue),
            Stmt::Return(e, _) => {
                self.returned = match e {
                    Some(e) => self.expr(e, frame)?,
                    None => Value::None,
                };
                return Err(Unwind::Return);
            }
            Stmt::Expr(e) => {
                self.expr(e, frame)?;
            }
        }
        Ok(())
    }

    fn exprs(&mut self, es: &[Expr], frame: &mut [Value]) -> Eval<Vec<Value>> {
        es.iter().map(|e| self.expr(e, frame)).collect()
    }

    /// The value of `e`.
    fn expr(&mut self, e: &Expr, frame: &mut [Value]) -> Eval {
        let mut out = Value::None;
        self.eval(e, frame, &mut out)?;
        Ok(out)
    }

    /// Evaluates `e` into `out`. The expressions of hot paths (constants, locals, operators,
    /// calls, `if`, blocks) write their value in place: no copy of it on the way up through
    /// nested calls. Constants and locals are read where they are needed, without a call.
    #[inline(always)]
    fn eval(&mut self, e: &Expr, frame: &mut [Value], out: &mut Value) -> Eval<()> {
        match &e.kind {
            ExprKind::Const(c) => put(out, const_value(c)),
            ExprKind::Local(slot) => match &frame[*slot as usize] {
                Value::Int(n) => put(out, Value::Int(*n)),
                v => put(out, v.clone()),
            },
            ExprKind::Binary(..) => return self.binary(e, frame, out),
            ExprKind::CallFn(f, args) => {
                self.tick(e.span)?;
                return self.call_fn(*f, args, frame, e.span, out);
            }
            _ => return self.node(e, frame, out),
        }
        Ok(())
    }

    /// [`Self::eval`] of `if`, blocks and the rest.
    fn node(&mut self, e: &Expr, frame: &mut [Value], out: &mut Value) -> Eval<()> {
        match &e.kind {
            ExprKind::If(c, then, otherwise) => {
                if self.test(c, frame)? {
                    return self.block(then, frame, out);
                }
                match otherwise.as_deref() {
                    Some(Expr {
                        kind: ExprKind::Block(b),
                        ..
                    }) => return self.block(b, frame, out),
                    Some(o) => return self.eval(o, frame, out),
                    None => put(out, Value::None),
                }
            }
            ExprKind::Block(b) => return self.block(b, frame, out),
            _ => put(out, self.other(e, frame)?),
        }
        Ok(())
    }

    /// Evaluates the expressions [`Self::eval`] has no fast path for (kept out of line, so
    /// that `eval`'s own stack frame stays small).
    #[inline(never)]
    fn other(&mut self, e: &Expr, frame: &mut [Value]) -> Eval {
        Ok(match &e.kind {
            ExprKind::Str(parts) => {
                let guess = parts.iter().map(|p| match p {
                    Part::Text(t) => t.len(),
                    Part::Expr(_) => 16,
                });
                let mut text = String::with_capacity(guess.sum());
                let too_long = || -> Unwind {
                    let m = format!("the text would be longer than {MAX_TEXT_BYTES} bytes");
                    RuntimeError::at(e.span, m).into()
                };
                for p in parts {
                    match p {
                        Part::Text(t) => text.push_str(t),
                        Part::Expr(x) => {
                            let part = self.expr(x, frame)?;
                            // A string is measured before it is copied; other values after.
                            if matches!(&part, Value::Str(s) if text.len() + s.len() > MAX_TEXT_BYTES)
                            {
                                return Err(too_long());
                            }
                            format::write_display(&mut text, &part);
                        }
                    }
                    if text.len() > MAX_TEXT_BYTES {
                        return Err(too_long());
                    }
                }
                Value::str(text)
            }
            ExprKind::List(items) => Value::list(self.exprs(items, frame)?),
            ExprKind::Dict(entries) => {
                let mut map = IndexMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = string_key(self.expr(k, frame)?, k.span)?;
                    map.insert(key, self.expr(v, frame)?);
                }
                Value::Dict(Arc::new(map))
            }
            ExprKind::Tuple(items) => Value::Tuple(Arc::new(self.exprs(items, frame)?)),
            ExprKind::NamedTuple(names, items) => {
                let values = self.exprs(items, frame)?;
                let fields = names
                    .iter()
                    .map(|n| Arc::from(n.as_str()))
                    .zip(values)
                    .collect();
                Value::Record(Arc::new(Record {
                    type_name: "".into(),
                    fields,
                }))
            }
            ExprKind::Unary(op, x) => unary(*op, self.expr(x, frame)?, e.span)?,
            ExprKind::CallBuiltin(name, args) => {
                let args = self.exprs(args, frame)?;
                builtins::call(name, &args, &self.ctx).map_err(|m| RuntimeError::at(e.span, m))?
            }
            ExprKind::Construct(decl, args) => {
                let sigs = self.program.decls.fields(&Type::Decl(*decl)).unwrap_or(&[]);
                let (type_name, names) = self.record_names(*decl);
                let mut fields = Vec::with_capacity(args.len().min(sigs.len()));
                for ((arg, f), name) in args.iter().zip(sigs).zip(names.iter()) {
                    fields.push((name.clone(), coerce(self.expr(arg, frame)?, &f.ty)));
                }
                Value::Record(Arc::new(Record { type_name, fields }))
            }
            ExprKind::EnumValue(decl, variant) => Value::Enum(
                self.program.decls.get(*decl).name.as_str().into(),
                variant.as_str().into(),
            ),
            ExprKind::Field(x, name) => {
                let v = self.expr(x, frame)?;
                v.field(name).cloned().ok_or_else(|| {
                    RuntimeError::at(e.span, format!("{} has no field `{name}`", kind_of(&v)))
                })?
            }
            ExprKind::Item(x, n) => {
                let v = self.expr(x, frame)?;
                let item = match &v {
                    Value::Tuple(items) => items.get(*n as usize).cloned(),
                    Value::Record(r) => r.fields.get(*n as usize).map(|(_, v)| v.clone()),
                    _ => None,
                };
                item.ok_or_else(|| {
                    RuntimeError::at(e.span, format!("{} has no item {n}", kind_of(&v)))
                })?
            }
            ExprKind::Index(x, i) => {
                let v = self.expr(x, frame)?;
                let key = self.expr(i, frame)?;
                index(&v, &key, e.span)?
            }
            ExprKind::ListComp(comp, elem) => {
                let mut out = Vec::new();
                self.comprehension(comp, frame, &mut |ev, frame| {
                    out.push(ev.expr(elem, frame)?);
                    Ok(())
                })?;
                Value::list(out)
            }
            ExprKind::DictComp(comp, k, v) => {
                let mut out = IndexMap::new();
                self.comprehension(comp, frame, &mut |ev, frame| {
                    let key = string_key(ev.expr(k, frame)?, k.span)?;
                    let value = ev.expr(v, frame)?;
                    out.insert(key, value);
                    Ok(())
                })?;
                Value::Dict(Arc::new(out))
            }
            ExprKind::Fail(msg) => {
                let text = format::display(&self.expr(msg, frame)?);
                return Err(RuntimeError::at(e.span, text).failed().into());
            }
            ExprKind::Const(_)
            | ExprKind::Local(_)
            | ExprKind::Binary(..)
            | ExprKind::CallFn(..)
            | ExprKind::If(..)
            | ExprKind::Block(_) => {
                let mut out = Value::None;
                self.eval(e, frame, &mut out)?;
                out
            }
        })
    }

    /// The shared type name and field names of the struct or class `decl`.
    fn record_names(&mut self, decl: DeclId) -> RecordNames {
        let i = decl.0 as usize;
        if self.record_names.len() <= i {
            self.record_names.resize(i + 1, None);
        }
        let decls = &self.program.decls;
        let (name, fields) = self.record_names[i].get_or_insert_with(|| {
            let fields = decls.fields(&Type::Decl(decl)).unwrap_or(&[]);
            (
                Arc::from(decls.get(decl).name.as_str()),
                fields.iter().map(|f| Arc::from(f.name.as_str())).collect(),
            )
        });
        (name.clone(), fields.clone())
    }

    fn comprehension(
        &mut self,
        comp: &Comprehension,
        frame: &mut [Value],
        each: &mut dyn FnMut(&mut Self, &mut [Value]) -> Eval<()>,
    ) -> Eval<()> {
        let items = match self.expr(&comp.iter, frame)? {
            Value::List(items) => items,
            other => {
                return Err(RuntimeError::at(
                    comp.iter.span,
                    format!("cannot iterate over {}", kind_of(&other)),
                )
                .into())
            }
        };
        for item in items.iter() {
            self.tick(comp.iter.span)?;
            bind(&comp.pattern, item.clone(), frame, comp.iter.span)?;
            if let Some(cond) = &comp.cond {
                if !self.test(cond, frame)? {
                    continue;
                }
            }
            each(self, frame)?;
        }
        Ok(())
    }

    /// A condition's truth: a comparison of ints is decided without making a `Value`.
    #[inline(always)]
    fn test(&mut self, c: &Expr, frame: &mut [Value]) -> Eval<bool> {
        if let ExprKind::Binary(op, l, r) = &c.kind {
            if is_comparison(*op) {
                match (int_value(l, frame), int_value(r, frame)) {
                    (IntValue::Int(x), IntValue::Int(y)) => {
                        if let Some(b) = compare_ints(*op, x, y) {
                            return Ok(b);
                        }
                    }
                    (IntValue::Overflow(span), _) | (_, IntValue::Overflow(span)) => {
                        return Err(overflow(span))
                    }
                    _ => {}
                }
            }
        }
        self.truth(c, frame)
    }

    /// [`Self::test`] in general.
    fn truth(&mut self, c: &Expr, frame: &mut [Value]) -> Eval<bool> {
        truthy(&self.expr(c, frame)?, c.span)
    }

    /// `l op r` into `out`; `e` is the binary expression.
    fn binary(&mut self, e: &Expr, frame: &mut [Value], out: &mut Value) -> Eval<()> {
        let ExprKind::Binary(op, l, r) = &e.kind else {
            return self.node(e, frame, out);
        };
        let (op, span) = (*op, e.span);
        if let (Some(x), Some(y)) = (int_of(l, frame), int_of(r, frame)) {
            if int_binary(op, x, y, span, out)? {
                return Ok(());
            }
        }
        match op {
            BinOp::And => {
                let a = truthy(&self.expr(l, frame)?, l.span)?;
                *out = Value::Bool(a && truthy(&self.expr(r, frame)?, r.span)?);
                return Ok(());
            }
            BinOp::Or => {
                let a = truthy(&self.expr(l, frame)?, l.span)?;
                *out = Value::Bool(a || truthy(&self.expr(r, frame)?, r.span)?);
                return Ok(());
            }
            BinOp::Coalesce => {
                match &l.kind {
                    ExprKind::Index(x, i) => {
                        let v = self.expr(x, frame)?;
                        let key = self.expr(i, frame)?;
                        *out = index(&v, &key, l.span).unwrap_or(Value::None);
                    }
                    _ => self.eval(l, frame, out)?,
                }
                if let Value::None = out {
                    return self.eval(r, frame, out);
                }
                return Ok(());
            }
            _ => {}
        }
        let mut a = Value::None;
        self.eval(l, frame, &mut a)?;
        let mut b = Value::None;
        self.eval(r, frame, &mut b)?;
        if let (Value::Int(x), Value::Int(y)) = (&a, &b) {
            let (x, y) = (*x, *y);
            discard(a);
            discard(b);
            if int_binary(op, x, y, span, out)? {
                return Ok(());
            }
            return generic_binary(op, Value::Int(x), Value::Int(y), span, out);
        }
        generic_binary(op, a, b, span, out)
    }
}

/// `a op b` into `out` for values of any kind, by [`super::ops::binary`].
fn generic_binary(op: BinOp, a: Value, b: Value, span: Span, out: &mut Value) -> Eval<()> {
    put(
        out,
        super::ops::binary(op, &a, &b).map_err(|m| RuntimeError::at(span, m))?,
    );
    Ok(())
}

/// The int an operand holds when it is an int constant or a local holding an int: read without
/// evaluating, for the fast paths of int arithmetic and comparison.
#[inline]
fn int_of(e: &Expr, frame: &[Value]) -> Option<i64> {
    match &e.kind {
        ExprKind::Local(slot) => match frame[*slot as usize] {
            Value::Int(n) => Some(n),
            _ => None,
        },
        ExprKind::Const(Const::Int(n)) => Some(*n),
        _ => None,
    }
}

/// What [`int_value`] found: small, so that it comes back in registers.
enum IntValue {
    /// The value.
    Int(i64),
    /// The arithmetic at this span overflowed.
    Overflow(Span),
    /// `e` is not an int constant, local, or arithmetic of those.
    Other,
}

/// The int value of `e` when it is an int constant, a local holding an int, or `+`, `-` or `*`
/// of two of those: computed without evaluating (and without a `Value`).
#[inline(always)]
fn int_value(e: &Expr, frame: &[Value]) -> IntValue {
    let (op, l, r) = match &e.kind {
        ExprKind::Binary(op, l, r) => (*op, l, r),
        _ => return int_of(e, frame).map_or(IntValue::Other, IntValue::Int),
    };
    match (int_of(l, frame), int_of(r, frame)) {
        (Some(x), Some(y)) => match arithmetic(op, x, y) {
            Some(Some(n)) => IntValue::Int(n),
            Some(None) => IntValue::Overflow(e.span),
            None => IntValue::Other,
        },
        _ => IntValue::Other,
    }
}

/// The error of int arithmetic that overflowed at `span`.
#[cold]
fn overflow(span: Span) -> Unwind {
    RuntimeError::at(span, "integer overflow").into()
}

/// `x op y` for `+`, `-` and `*` on ints: `None` for other operators, `Some(None)` on overflow.
#[inline(always)]
fn arithmetic(op: BinOp, x: i64, y: i64) -> Option<Option<i64>> {
    Some(match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        _ => return None,
    })
}

/// Writes `x op y` on ints into `out` for arithmetic and comparison operators; `false` for the
/// others, which [`super::ops::binary`] handles. Overflow is the same error.
#[inline(always)]
fn int_binary(op: BinOp, x: i64, y: i64, span: Span, out: &mut Value) -> Eval<bool> {
    if let Some(n) = arithmetic(op, x, y) {
        put(out, Value::Int(n.ok_or_else(|| overflow(span))?));
    } else if let Some(b) = compare_ints(op, x, y) {
        put(out, Value::Bool(b));
    } else {
        return Ok(false);
    }
    Ok(true)
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

/// `*out = v`, without the call that drops the old value when it owns nothing (it is usually a
/// placeholder `none` or a number).
#[inline(always)]
fn put(out: &mut Value, v: Value) {
    if owns_nothing(out) {
        std::mem::forget(std::mem::replace(out, v));
    } else {
        *out = v;
    }
}

/// Drops `v`, calling no destructor when it owns nothing.
#[inline(always)]
fn discard(v: Value) {
    if owns_nothing(&v) {
        std::mem::forget(v);
    }
}

/// Whether `v` holds no shared data, so that dropping it is a no-op.
#[inline(always)]
fn owns_nothing(v: &Value) -> bool {
    matches!(
        v,
        Value::None
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Datetime(_)
            | Value::Duration(_)
    )
}

/// `x op y` for the comparison operators on ints.
#[inline(always)]
fn compare_ints(op: BinOp, x: i64, y: i64) -> Option<bool> {
    Some(match op {
        BinOp::Eq => x == y,
        BinOp::Ne => x != y,
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        BinOp::Ge => x >= y,
        _ => return None,
    })
}

/// The value of a constant.
pub fn const_value(c: &Const) -> Value {
    match c {
        Const::None => Value::None,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(n) => Value::Int(*n),
        Const::Float(x) => Value::Float(*x),
        Const::Str(s) => Value::str(s.as_str()),
        Const::Duration(us) => Value::Duration(*us),
    }
}

fn unary(op: UnaryOp, v: Value, span: Span) -> Eval {
    Ok(match (op, v) {
        (UnaryOp::Neg, Value::Int(n)) => Value::Int(
            n.checked_neg()
                .ok_or_else(|| RuntimeError::at(span, "integer overflow"))?,
        ),
        (UnaryOp::Neg, Value::Float(x)) => Value::Float(-x),
        (UnaryOp::Neg, Value::Duration(d)) => Value::Duration(
            d.checked_neg()
                .ok_or_else(|| RuntimeError::at(span, "integer overflow"))?,
        ),
        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (_, other) => {
            return Err(RuntimeError::at(
                span,
                format!("cannot apply this operator to {}", kind_of(&other)),
            )
            .into())
        }
    })
}

fn truthy(v: &Value, span: Span) -> Eval<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => {
            Err(RuntimeError::at(span, format!("expected a bool, found {}", kind_of(other))).into())
        }
    }
}

fn string_key(v: Value, span: Span) -> Eval<String> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(RuntimeError::at(
            span,
            format!("dict keys are strings, not {}", kind_of(&other)),
        )
        .into()),
    }
}

/// `v[key]`: list and str by (possibly negative) position, dict by key.
fn index(v: &Value, key: &Value, span: Span) -> Eval {
    let position = |len: usize, i: i64| -> Eval<usize> {
        let j = if i < 0 { i + len as i64 } else { i };
        usize::try_from(j).ok().filter(|&j| j < len).ok_or_else(|| {
            RuntimeError::at(span, format!("index {i} out of range for length {len}")).into()
        })
    };
    match (v, key) {
        (Value::List(items), Value::Int(i)) => Ok(items[position(items.len(), *i)?].clone()),
        (Value::Str(s), Value::Int(i)) => {
            let chars: Vec<char> = s.chars().collect();
            Ok(Value::str(chars[position(chars.len(), *i)?].to_string()))
        }
        (Value::Dict(map), Value::Str(k)) => map
            .get(&**k)
            .cloned()
            .ok_or_else(|| RuntimeError::at(span, format!("key \"{k}\" not found")).into()),
        _ => Err(RuntimeError::at(
            span,
            format!("cannot index {} with {}", kind_of(v), kind_of(key)),
        )
        .into()),
    }
}

/// `x[k1][k2]… = value`, copying shared collections on write.
fn assign(target: &mut Value, keys: &[(Value, Span)], value: Value) -> Eval<()> {
    let Some(((key, span), rest)) = keys.split_first() else {
        *target = value;
        return Ok(());
    };
    match (target, key) {
        (Value::List(items), Value::Int(i)) => {
            let len = items.len();
            let j = if *i < 0 { *i + len as i64 } else { *i };
            let j = usize::try_from(j)
                .ok()
                .filter(|&j| j < len)
                .ok_or_else(|| {
                    RuntimeError::at(*span, format!("index {i} out of range for length {len}"))
                })?;
            assign(&mut Arc::make_mut(items)[j], rest, value)
        }
        (Value::Dict(map), Value::Str(k)) => {
            let map = Arc::make_mut(map);
            if rest.is_empty() {
                map.insert(k.to_string(), value);
                return Ok(());
            }
            let slot = map
                .get_mut(&**k)
                .ok_or_else(|| RuntimeError::at(*span, format!("key \"{k}\" not found")))?;
            assign(slot, rest, value)
        }
        (target, key) => Err(RuntimeError::at(
            *span,
            format!("cannot index {} with {}", kind_of(target), kind_of(key)),
        )
        .into()),
    }
}

fn bind(pattern: &Pattern, value: Value, frame: &mut [Value], span: Span) -> Eval<()> {
    match pattern {
        Pattern::Discard => Ok(()),
        Pattern::Slot(slot) => {
            frame[*slot as usize] = value;
            Ok(())
        }
        Pattern::Tuple(items) => {
            let values: Vec<Value> = match &value {
                Value::Tuple(vs) | Value::List(vs) => vs.to_vec(),
                Value::Record(r) => r.fields.iter().map(|(_, v)| v.clone()).collect(),
                other => {
                    return Err(RuntimeError::at(
                        span,
                        format!("cannot destructure {}", kind_of(other)),
                    )
                    .into())
                }
            };
            if values.len() != items.len() {
                return Err(RuntimeError::at(
                    span,
                    format!("expected {} values, found {}", items.len(), values.len()),
                )
                .into());
            }
            for (p, v) in items.iter().zip(values) {
                bind(p, v, frame, span)?;
            }
            Ok(())
        }
    }
}

/// A value's kind, for messages: `an int`, `a list`.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::None => "none",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::Str(_) => "a str",
        Value::Datetime(_) => "a datetime",
        Value::Duration(_) => "a duration",
        Value::List(_) => "a list",
        Value::Dict(_) => "a dict",
        Value::Tuple(_) => "a tuple",
        Value::Record(_) => "a record",
        Value::Enum(..) => "an enum value",
        Value::Path(_) => "a file",
        Value::Opaque(_) => "an extern value",
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
