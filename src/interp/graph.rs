//! One run of a workflow graph: decides which nodes are ready (their inputs done, their branch
//! case taken), runs up to `jobs` of them at once on a pool of worker threads (a node that is
//! the only one ready runs on the scheduler's own thread), decides branches, and resolves
//! bindings — reading every node output back from the store, or passing a whole output on as its
//! stored literal when the receiving variable declares the same type and `@batch`.
//!
//! A node is looked at again only when something it waits for changes (a node it reads ends, or
//! the branch it lies in is decided), so scheduling costs time in proportion to the graph's
//! edges, not its nodes squared.
//!
//! Consumes a workflow of the IR and its input values; produces its outputs through the store.

use std::collections::{BTreeSet, HashMap};
use std::sync::{mpsc, Arc, Mutex};

use super::coerce::coerce;
use super::eval::const_value;
use super::executor::{default_input, failure, Input, NodeResult, RunFailure, Runner};
use super::{ops, RuntimeError};
use crate::check::types::FieldSig;
use crate::ir::*;
use crate::store::{now_seconds, NodeRecord};
use crate::syntax::ast::CallableKind;
use crate::value::{Record, Value};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Pending,
    Running,
    Done,
    Skipped,
}

/// One run of a workflow's graph.
pub(super) struct Graph<'r, 'a> {
    runner: &'r Runner<'a>,
    workflow: &'a Workflow,
    prefix: String,
    inputs: Vec<Value>,
    states: Vec<State>,
    chosen: HashMap<NodeId, u32>,
    /// Per node, the nodes to look at again when it ends (or, a branch, is decided): those that
    /// read its outputs, and those inside its cases.
    waiters: Vec<Vec<NodeId>>,
}

impl<'r, 'a> Graph<'r, 'a> {
    pub(super) fn new(
        runner: &'r Runner<'a>,
        workflow: &'a Workflow,
        prefix: &str,
        inputs: Vec<Value>,
    ) -> Self {
        let states = vec![State::Pending; workflow.nodes.len()];
        let mut waiters = vec![Vec::new(); workflow.nodes.len()];
        for (n, node) in workflow.nodes.iter().enumerate() {
            let mut deps = Vec::new();
            match &node.kind {
                NodeKind::Call(_, args) => args
                    .iter()
                    .flatten()
                    .for_each(|b| collect_deps(b, &mut deps)),
                NodeKind::Map(_, over, args) => {
                    collect_deps(over, &mut deps);
                    args.iter()
                        .flatten()
                        .for_each(|b| collect_deps(b, &mut deps));
                }
                NodeKind::Branch(cases) => {
                    for case in cases {
                        if let Some(cond) = &case.cond {
                            collect_cond_deps(cond, &mut deps);
                        }
                        collect_deps(&case.value, &mut deps);
                    }
                }
            }
            if let Some((b, _)) = node.within {
                deps.push(b);
            }
            deps.sort_unstable();
            deps.dedup();
            for d in deps {
                waiters[d as usize].push(n as NodeId);
            }
        }
        Graph {
            runner,
            workflow,
            prefix: prefix.to_string(),
            inputs,
            states,
            chosen: HashMap::new(),
            waiters,
        }
    }

    /// A failure of this workflow itself (a branch, a binding, a `fail` arm).
    fn failure(&self, message: impl Into<String>) -> RunFailure {
        RunFailure {
            kind: CallableKind::Workflow,
            ..failure(&self.workflow.name, &self.prefix, 1, message)
        }
    }

    fn node_id(&self, n: NodeId) -> String {
        format!("{}/n{n}", self.prefix)
    }

    /// Whether node `n` lies in a branch case that was not taken (or not yet decided).
    fn gate(&self, n: NodeId) -> Option<bool> {
        match self.workflow.nodes[n as usize].within {
            None => Some(true),
            Some((b, case)) => match (self.states[b as usize], self.chosen.get(&b)) {
                (State::Skipped, _) => Some(false),
                (_, Some(&c)) => Some(c == case && self.gate(b)?),
                _ => None,
            },
        }
    }

    /// Whether every node `binding` reads has ended.
    fn deps_done(&self, binding: &Binding) -> bool {
        match binding {
            Binding::Output(n, _, _) => self.states[*n as usize] == State::Done,
            Binding::List(items)
            | Binding::Record(_, items)
            | Binding::NamedTuple(_, items)
            | Binding::Tuple(items) => items.iter().all(|b| self.deps_done(b)),
            Binding::Dict(entries) => entries.iter().all(|(_, b)| self.deps_done(b)),
            _ => true,
        }
    }

    fn ready(&self, n: NodeId) -> bool {
        match &self.workflow.nodes[n as usize].kind {
            NodeKind::Call(_, args) => args.iter().flatten().all(|b| self.deps_done(b)),
            NodeKind::Map(_, over, args) => {
                self.deps_done(over) && args.iter().flatten().all(|b| self.deps_done(b))
            }
            NodeKind::Branch(cases) => match self.chosen.get(&n) {
                Some(&c) => self.deps_done(&cases[c as usize].value),
                None => cases
                    .iter()
                    .filter_map(|c| c.cond.as_ref())
                    .all(|c| self.cond_deps_done(c)),
            },
        }
    }

    fn cond_deps_done(&self, cond: &Cond) -> bool {
        match cond {
            Cond::Compare(_, a, b) => self.deps_done(a) && self.deps_done(b),
            Cond::And(a, b) | Cond::Or(a, b) => self.cond_deps_done(a) && self.cond_deps_done(b),
            Cond::Not(a) => self.cond_deps_done(a),
        }
    }

    /// Runs every node, `jobs` at a time, until all are done or one fails.
    pub(super) fn run(&mut self) -> Result<(), RunFailure> {
        let jobs = self.runner.options.jobs.max(1);
        let runner = self.runner;
        std::thread::scope(|scope| {
            let mut pool = Pool::new(scope, runner);
            // Nodes to look at; every node at first, then those whose waits may be over.
            let mut candidates: BTreeSet<NodeId> = (0..self.states.len() as NodeId).collect();
            // Task, map and sub-workflow nodes that can start now.
            let mut ready: BTreeSet<NodeId> = BTreeSet::new();
            let mut running = 0usize;
            let mut failed: Option<RunFailure> = None;
            loop {
                while let Some(n) = candidates.pop_first() {
                    self.look_at(n, &mut candidates, &mut ready, &mut failed);
                }
                let mut ran_here = false;
                while failed.is_none() && running < jobs {
                    let Some(n) = ready.pop_first() else { break };
                    let work = match self.prepare(n) {
                        Ok(work) => work,
                        Err(mut f) => {
                            // A binding that fails (`xs[5]` on a short list) points at its call.
                            f.error
                                .span
                                .get_or_insert(self.workflow.nodes[n as usize].span);
                            failed = Some(f);
                            break;
                        }
                    };
                    if running == 0 && (ready.is_empty() || jobs == 1) {
                        // Nothing could run beside it (a chain): run it here, without a thread.
                        let result = work.run(runner);
                        self.ended(n, result, &mut candidates, &mut failed);
                        ran_here = true;
                        break;
                    }
                    self.states[n as usize] = State::Running;
                    running += 1;
                    pool.start(n, work, running);
                }
                if ran_here {
                    continue;
                }
                if running == 0 {
                    break;
                }
                let Some((n, result)) = pool.next() else {
                    break;
                };
                running -= 1;
                self.ended(n, result, &mut candidates, &mut failed);
            }
            match failed {
                Some(f) => Err(f),
                None if self
                    .states
                    .iter()
                    .all(|s| matches!(s, State::Done | State::Skipped)) =>
                {
                    Ok(())
                }
                None => Err(self.failure("the workflow graph could not make progress")),
            }
        })
    }

    /// Looks at pending node `n`: skips it when its branch case was not taken, decides or
    /// completes a branch, or adds a node whose inputs are ready to `ready`.
    fn look_at(
        &mut self,
        n: NodeId,
        candidates: &mut BTreeSet<NodeId>,
        ready: &mut BTreeSet<NodeId>,
        failed: &mut Option<RunFailure>,
    ) {
        if self.states[n as usize] != State::Pending {
            return;
        }
        match self.gate(n) {
            Some(false) => {
                self.states[n as usize] = State::Skipped;
                candidates.extend(&self.waiters[n as usize]);
                return;
            }
            None => return,
            Some(true) => {}
        }
        if failed.is_some() || !self.ready(n) {
            return;
        }
        if let NodeKind::Branch(cases) = &self.workflow.nodes[n as usize].kind {
            match self.step_branch(n, cases) {
                Ok(()) => candidates.extend(&self.waiters[n as usize]),
                Err(f) => {
                    failed.get_or_insert(f);
                }
            }
            return;
        }
        ready.insert(n);
    }

    /// Records the end of node `n`; the nodes waiting for it are looked at again.
    fn ended(
        &mut self,
        n: NodeId,
        result: NodeResult,
        candidates: &mut BTreeSet<NodeId>,
        failed: &mut Option<RunFailure>,
    ) {
        match result {
            Ok(()) => {
                self.states[n as usize] = State::Done;
                candidates.extend(&self.waiters[n as usize]);
            }
            Err(f) => {
                failed.get_or_insert(f);
            }
        }
    }

    /// Decides a branch, or completes it once the chosen case's value is ready.
    fn step_branch(&mut self, n: NodeId, cases: &[Case]) -> Result<(), RunFailure> {
        if self.chosen.contains_key(&n) {
            self.states[n as usize] = State::Done;
            return Ok(());
        }
        for (i, case) in cases.iter().enumerate() {
            let holds = match &case.cond {
                None => true,
                Some(cond) => self.eval_cond(cond)?,
            };
            if holds {
                self.chosen.insert(n, i as u32);
                if self.deps_done(&case.value) {
                    self.states[n as usize] = State::Done;
                }
                return Ok(());
            }
        }
        Err(self.failure("no branch condition held and there is no else"))
    }

    fn eval_cond(&self, cond: &Cond) -> Result<bool, RunFailure> {
        Ok(match cond {
            Cond::Compare(op, a, b) => {
                let (a, b) = (self.resolve(a, None)?, self.resolve(b, None)?);
                match ops::binary(*op, &a, &b) {
                    Ok(Value::Bool(x)) => x,
                    Ok(_) => false,
                    Err(e) => return Err(self.failure(e)),
                }
            }
            Cond::And(a, b) => self.eval_cond(a)? && self.eval_cond(b)?,
            Cond::Or(a, b) => self.eval_cond(a)? || self.eval_cond(b)?,
            Cond::Not(a) => !self.eval_cond(a)?,
        })
    }

    /// Resolves the inputs of node `n` into work a thread can do.
    fn prepare(&self, n: NodeId) -> Result<Work, RunFailure> {
        let id = self.node_id(n);
        let args = |bindings: &[Option<Binding>], target: Target, item: Option<&Value>| {
            let params = &self.runner.target_sig(target).1.params;
            bindings
                .iter()
                .zip(params)
                .enumerate()
                .map(|(i, (b, p))| match b {
                    Some(b) => self.input(b, p, item),
                    None => {
                        let default = self.default_of(target, i).unwrap_or(Value::None);
                        Ok(Input::Value(coerce(default, &p.ty)))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        match &self.workflow.nodes[n as usize].kind {
            NodeKind::Call(target, bindings) => Ok(Work::Call {
                target: *target,
                id,
                inputs: args(bindings, *target, None)?,
            }),
            NodeKind::Map(f, over, bindings) => {
                let items = match self.resolve(over, None)? {
                    Value::List(items) => items,
                    _ => Arc::new(Vec::new()),
                };
                let calls = items
                    .iter()
                    .map(|item| args(bindings, Target::Task(*f), Some(item)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Work::Map {
                    f: *f,
                    id,
                    calls,
                    output: self
                        .runner
                        .node_outputs(&self.workflow.nodes[n as usize].kind),
                })
            }
            NodeKind::Branch(_) => unreachable!("branches are decided in place"),
        }
    }

    /// The default value of parameter `i` of a call target.
    fn default_of(&self, target: Target, i: usize) -> Option<Value> {
        default_input(self.runner.program, target, i)
    }

    /// What to write for a variable declared `want` bound to `binding`: the literal its producer
    /// stored when the binding is a whole node output declared with the same type and `@batch`
    /// (nothing is decoded or written again), else the binding's value.
    pub(super) fn input(
        &self,
        binding: &Binding,
        want: &FieldSig,
        item: Option<&Value>,
    ) -> Result<Input, RunFailure> {
        match self.stored(binding, want)? {
            Some(lit) => Ok(Input::Stored(lit)),
            None => Ok(Input::Value(coerce(self.resolve(binding, item)?, &want.ty))),
        }
    }

    /// The stored literal of the node output `binding` when it is one, whole, declared like
    /// `want`.
    fn stored(
        &self,
        binding: &Binding,
        want: &FieldSig,
    ) -> Result<Option<serde_json::Value>, RunFailure> {
        let Binding::Output(n, k, path) = binding else {
            return Ok(None);
        };
        if !path.is_empty() {
            return Ok(None);
        }
        let node = &self.workflow.nodes[*n as usize];
        if let NodeKind::Branch(cases) = &node.kind {
            let chosen = self.chosen.get(n).copied().unwrap_or(0);
            return self.stored(&cases[chosen as usize].value, want);
        }
        let outputs = self.runner.node_outputs(&node.kind);
        let Some(field) = outputs.get(*k as usize) else {
            return Ok(None);
        };
        if field.ty != want.ty || field.batch != want.batch {
            return Ok(None);
        }
        let file = self.runner.store.node(&self.node_id(*n)).outputs;
        let mut map = self
            .runner
            .store
            .read_json(&file)
            .map_err(|e| self.failure(e.to_string()))?;
        match map["literals"].get_mut(&field.name) {
            Some(lit) => Ok(Some(lit.take())),
            None => Err(self.failure(format!(
                "{} has no literal `{}`",
                file.display(),
                field.name
            ))),
        }
    }

    /// The value of a binding, reading node outputs back from the store.
    pub(super) fn resolve(
        &self,
        binding: &Binding,
        item: Option<&Value>,
    ) -> Result<Value, RunFailure> {
        let fail = |m: String| self.failure(m);
        Ok(match binding {
            Binding::Input(i, path) => walk(
                self.inputs.get(*i as usize).cloned().unwrap_or(Value::None),
                path,
            )
            .map_err(fail)?,
            Binding::Item(path) => {
                walk(item.cloned().unwrap_or(Value::None), path).map_err(fail)?
            }
            Binding::Output(n, k, path) => {
                let node = &self.workflow.nodes[*n as usize];
                if let NodeKind::Branch(cases) = &node.kind {
                    let chosen = self.chosen.get(n).copied().unwrap_or(0);
                    let value = self.resolve(&cases[chosen as usize].value, item)?;
                    return walk(value, path).map_err(fail);
                }
                let outputs = self.runner.node_outputs(&node.kind);
                let files = self.runner.store.node(&self.node_id(*n));
                let field = outputs
                    .get(*k as usize)
                    .ok_or_else(|| fail(format!("node n{n} has no output {k}")))?;
                let values = self
                    .runner
                    .read_map(&files.outputs, &files.dir, std::slice::from_ref(field))
                    .map_err(fail)?;
                walk(values.into_iter().next().unwrap_or(Value::None), path).map_err(fail)?
            }
            Binding::Const(c) => const_value(c),
            Binding::List(items) => Value::list(
                items
                    .iter()
                    .map(|b| self.resolve(b, item))
                    .collect::<Result<_, _>>()?,
            ),
            Binding::Dict(entries) => Value::Dict(Arc::new(
                entries
                    .iter()
                    .map(|(k, b)| Ok((k.clone(), self.resolve(b, item)?)))
                    .collect::<Result<_, RunFailure>>()?,
            )),
            Binding::Record(decl, fields) => {
                let decls = &self.runner.program.decls;
                let sigs = decls
                    .fields(&crate::check::types::Type::Decl(*decl))
                    .unwrap_or(&[]);
                let values = fields
                    .iter()
                    .map(|b| self.resolve(b, item))
                    .collect::<Result<Vec<_>, _>>()?;
                let fields = sigs
                    .iter()
                    .zip(values)
                    .map(|(f, v)| (Arc::from(f.name.as_str()), coerce(v, &f.ty)))
                    .collect();
                Value::Record(Arc::new(Record {
                    type_name: decls.get(*decl).name.as_str().into(),
                    fields,
                }))
            }
            Binding::NamedTuple(names, items) => {
                let values = items
                    .iter()
                    .map(|b| self.resolve(b, item))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Record(Arc::new(Record {
                    type_name: "".into(),
                    fields: names
                        .iter()
                        .map(|n| Arc::from(n.as_str()))
                        .zip(values)
                        .collect(),
                }))
            }
            Binding::Tuple(items) => Value::Tuple(Arc::new(
                items
                    .iter()
                    .map(|b| self.resolve(b, item))
                    .collect::<Result<_, _>>()?,
            )),
            Binding::Enum(decl, variant) => Value::Enum(
                self.runner.program.decls.get(*decl).name.as_str().into(),
                variant.as_str().into(),
            ),
            Binding::Fail(message, span) => {
                let mut f = self.failure(message.clone());
                f.error = RuntimeError::at(*span, message.clone()).failed();
                return Err(f);
            }
        })
    }
}

/// Work for one node, done on a worker thread.
enum Work {
    Call {
        target: Target,
        id: String,
        inputs: Vec<Input>,
    },
    Map {
        f: FnId,
        id: String,
        calls: Vec<Vec<Input>>,
        output: Vec<FieldSig>,
    },
}

impl Work {
    fn run(self, runner: &Runner<'_>) -> NodeResult {
        match self {
            Work::Call { target, id, inputs } => runner.run_target(target, &id, inputs),
            Work::Map {
                f,
                id,
                calls,
                output,
            } => {
                let started = now_seconds();
                let name = runner.program.functions[f as usize].name.clone();
                let jobs = runner.options.jobs.max(1);
                let next = Mutex::new(0usize);
                let error: Mutex<Option<RunFailure>> = Mutex::new(None);
                std::thread::scope(|scope| {
                    for _ in 0..jobs.min(calls.len()) {
                        spawn_node(scope, || loop {
                            let i = {
                                let Ok(mut next) = next.lock() else { return };
                                let i = *next;
                                *next += 1;
                                i
                            };
                            if i >= calls.len() || error.lock().map_or(true, |e| e.is_some()) {
                                return;
                            }
                            if let Err(f) = runner.run_target(
                                Target::Task(f),
                                &format!("{id}/{i}"),
                                calls[i].clone(),
                            ) {
                                if let Ok(mut e) = error.lock() {
                                    e.get_or_insert(f);
                                }
                            }
                        });
                    }
                });
                if let Some(f) = error.into_inner().ok().flatten() {
                    return Err(f);
                }
                let sig_out = runner
                    .sig(runner.program.functions[f as usize].decl)
                    .outputs
                    .fields()
                    .to_vec();
                let mut values = Vec::with_capacity(calls.len());
                for i in 0..calls.len() {
                    let files = runner.store.node(&format!("{id}/{i}"));
                    let item = runner
                        .read_map(&files.outputs, &files.dir, &sig_out[..sig_out.len().min(1)])
                        .map_err(|e| failure(&name, &id, 1, e))?;
                    values.push(item.into_iter().next().unwrap_or(Value::None));
                }
                let files = runner.store.node(&id);
                let list = Value::list(values);
                let entries = [(
                    output[0].name.as_str(),
                    Input::Value(list),
                    &output[0].ty,
                    None,
                )];
                let written = runner
                    .write_map(&files.outputs, &files.dir, &entries)
                    .map_err(|e| failure(&name, &id, 1, e));
                runner.record(NodeRecord {
                    id: id.clone(),
                    name,
                    kind: "map".into(),
                    status: NodeRecord::status_of(written.is_ok()),
                    attempts: 1,
                    started,
                    ended: now_seconds(),
                    cache: None,
                    inputs: None,
                    outputs: Some(files.outputs),
                    error: None,
                });
                written
            }
        }
    }
}

/// The node ids a branch condition reads.
fn collect_cond_deps(cond: &Cond, out: &mut Vec<NodeId>) {
    match cond {
        Cond::Compare(_, a, b) => {
            collect_deps(a, out);
            collect_deps(b, out);
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_cond_deps(a, out);
            collect_cond_deps(b, out);
        }
        Cond::Not(a) => collect_cond_deps(a, out),
    }
}

/// The node ids a binding reads.
fn collect_deps(binding: &Binding, out: &mut Vec<NodeId>) {
    match binding {
        Binding::Output(n, _, _) => out.push(*n),
        Binding::List(items)
        | Binding::Record(_, items)
        | Binding::NamedTuple(_, items)
        | Binding::Tuple(items) => items.iter().for_each(|b| collect_deps(b, out)),
        Binding::Dict(entries) => entries.iter().for_each(|(_, b)| collect_deps(b, out)),
        _ => {}
    }
}

/// Applies attribute access to a value.
fn walk(mut value: Value, path: &[Access]) -> Result<Value, String> {
    for step in path {
        value = match (step, &value) {
            (Access::Field(f), Value::Record(_)) => value
                .field(f)
                .cloned()
                .ok_or_else(|| format!("no field `{f}`"))?,
            (Access::Index(i), Value::List(items) | Value::Tuple(items)) => {
                let j = if *i < 0 { *i + items.len() as i64 } else { *i };
                usize::try_from(j)
                    .ok()
                    .and_then(|j| items.get(j).cloned())
                    .ok_or_else(|| format!("index {i} out of range for length {}", items.len()))?
            }
            (Access::Index(i), Value::Record(r)) => usize::try_from(*i)
                .ok()
                .and_then(|j| r.fields.get(j))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("no item {i}"))?,
            (Access::Key(k), Value::Dict(map)) => map
                .get(k)
                .cloned()
                .ok_or_else(|| format!("key \"{k}\" not found"))?,
            (step, v) => {
                return Err(format!(
                    "cannot apply {step:?} to {}",
                    super::eval::kind_of(v)
                ))
            }
        };
    }
    Ok(value)
}

/// The stack of a node's thread: deep enough for [`super::eval::MAX_DEPTH`] nested calls.
const NODE_STACK: usize = 256 << 20;

/// The worker threads of one graph run, started as needed (never more than the nodes running
/// at once, so at most `jobs`): each takes node work from a queue and sends back its result.
/// They end when the pool is dropped.
struct Pool<'s, 'e, 'r, 'a> {
    scope: &'s std::thread::Scope<'s, 'e>,
    runner: &'r Runner<'a>,
    workers: usize,
    work: mpsc::Sender<(NodeId, Work)>,
    queue: Arc<Mutex<mpsc::Receiver<(NodeId, Work)>>>,
    done: mpsc::Sender<(NodeId, NodeResult)>,
    results: mpsc::Receiver<(NodeId, NodeResult)>,
}

impl<'s, 'e, 'r, 'a> Pool<'s, 'e, 'r, 'a>
where
    'r: 's,
    'a: 's,
{
    fn new(scope: &'s std::thread::Scope<'s, 'e>, runner: &'r Runner<'a>) -> Self {
        let (work, queue) = mpsc::channel();
        let (done, results) = mpsc::channel();
        Pool {
            scope,
            runner,
            workers: 0,
            work,
            queue: Arc::new(Mutex::new(queue)),
            done,
            results,
        }
    }

    /// Starts node `n`'s work, `running` nodes (this one included) being in progress: a worker
    /// is added when every one is busy.
    fn start(&mut self, n: NodeId, work: Work, running: usize) {
        if self.workers < running {
            self.workers += 1;
            let (queue, done, runner) = (Arc::clone(&self.queue), self.done.clone(), self.runner);
            spawn_node(self.scope, move || loop {
                let next = match queue.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok((n, work)) = next else { return };
                let _ = done.send((n, work.run(runner)));
            });
        }
        // The workers outlive the pool's sender, so the queue is open.
        let _ = self.work.send((n, work));
    }

    /// Waits for the next node to end: its id and result.
    fn next(&self) -> Option<(NodeId, NodeResult)> {
        self.results.recv().ok()
    }
}

/// Starts a node's work on a scoped thread with a stack for deep recursion.
fn spawn_node<'s, 'e, F>(scope: &'s std::thread::Scope<'s, 'e>, f: F)
where
    F: FnOnce() + Send + 's,
{
    std::thread::Builder::new()
        .stack_size(NODE_STACK)
        .spawn_scoped(scope, f)
        .expect("the system can start a node thread");
}
