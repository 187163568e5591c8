//! The workflow executor: runs a task or a workflow graph, each node once its inputs are ready,
//! independent nodes and map items in parallel (up to `jobs` at once). Every value that crosses
//! a node boundary goes through the store as a Flyte literal map — written by the producer,
//! read back by the consumer — with pickle files and batches where the types say so.
//! `@retries`, `@timeout` and `@cache` apply to every task node.
//!
//! Consumes the IR, an entry and its input values; produces the outputs and a run record.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::eval::{coerce, const_value, Evaluator};
use super::{builtins, ops, RuntimeError};
use crate::check::lower::typed_interface;
use crate::check::types::{DeclKind, FieldSig, Signature, Type};
use crate::ir::*;
use crate::literal;
use crate::store::{cache_key, now_seconds, NodeRecord, RunRecord, Store};
use crate::value::{Record, Value};

/// How to run.
pub struct Options<'o> {
    /// How many nodes (and map items) run at once.
    pub jobs: usize,
    /// Told about every node that ends (progress reporting).
    pub on_node: Option<&'o (dyn Fn(&NodeRecord) + Send + Sync + 'o)>,
}

/// Why a run failed: the node, its task, the attempt, and the error.
#[derive(Clone, Debug)]
pub struct RunFailure {
    /// The failing node's id.
    pub node: String,
    /// The task (or workflow) it ran.
    pub task: String,
    /// The attempt that failed last (1-based).
    pub attempt: u32,
    /// What went wrong.
    pub error: RuntimeError,
}

/// A finished run.
pub struct RunOutcome {
    /// Output names and values, in declaration order.
    pub outputs: Vec<(String, Value)>,
    /// The output literal map as written to the run directory.
    pub literals: serde_json::Value,
    /// The run record.
    pub record: RunRecord,
}

type NodeResult = Result<(), RunFailure>;

/// Runs `target` with `inputs` (in parameter order, defaults already filled in).
pub fn run(
    program: &Program,
    target: Target,
    inputs: Vec<Value>,
    store: &Store,
    options: &Options,
) -> Result<RunOutcome, Box<RunFailure>> {
    let runner = Runner {
        program,
        store,
        options,
        records: Mutex::new(Vec::new()),
    };
    let started = now_seconds();
    let (name, sig) = runner.target_sig(target);
    let dir = store.node_dir("entry");
    let result = runner.run_target(target, "entry", inputs).and_then(|()| {
        let literals = store
            .read_json(&dir.join("outputs.json"))
            .map_err(|e| failure(name, "entry", 1, e.to_string()))?;
        Ok((runner.read_outputs(&dir, sig)?, literals))
    });
    let mut nodes = runner.records.into_inner().unwrap_or_default();
    nodes.sort_by(|a, b| a.started.total_cmp(&b.started));
    let status = if result.is_ok() {
        "succeeded"
    } else {
        "failed"
    };
    let record = RunRecord {
        entry: name.to_string(),
        status: status.into(),
        started,
        ended: now_seconds(),
        nodes,
    };
    // The record is a report: failing to write it does not change the run's outcome.
    let _ = store.write_json(&store.run_dir.join("run.json"), &record);
    match result {
        Ok((outputs, literals)) => Ok(RunOutcome {
            outputs,
            literals,
            record,
        }),
        Err(f) => Err(Box::new(f)),
    }
}

fn failure(task: &str, node: &str, attempt: u32, message: impl Into<String>) -> RunFailure {
    RunFailure {
        node: node.to_string(),
        task: task.to_string(),
        attempt,
        error: RuntimeError::plain(message),
    }
}

struct Runner<'a> {
    program: &'a Program,
    store: &'a Store,
    options: &'a Options<'a>,
    records: Mutex<Vec<NodeRecord>>,
}

impl<'a> Runner<'a> {
    fn sig(&self, decl: crate::check::types::DeclId) -> &'a Signature {
        match &self.program.decls.get(decl).kind {
            DeclKind::Callable(sig) => sig,
            _ => unreachable!("functions and workflows have signatures"),
        }
    }

    fn target_sig(&self, target: Target) -> (&'a str, &'a Signature) {
        match target {
            Target::Task(f) => {
                let f = &self.program.functions[f as usize];
                (&f.name, self.sig(f.decl))
            }
            Target::Workflow(w) => {
                let w = &self.program.workflows[w as usize];
                (&w.name, self.sig(w.decl))
            }
        }
    }

    fn record(&self, record: NodeRecord) {
        if let Some(on_node) = self.options.on_node {
            on_node(&record);
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    /// Runs a task or workflow as node `id`: writes its inputs, runs, writes its outputs.
    fn run_target(&self, target: Target, id: &str, inputs: Vec<Value>) -> NodeResult {
        let (name, sig) = self.target_sig(target);
        let dir = self.store.node_dir(id);
        let entries: Vec<(&str, Value, &Type, Option<u32>)> = sig
            .params
            .iter()
            .zip(inputs)
            .map(|(p, v)| (p.name.as_str(), coerce(v, &p.ty), &p.ty, p.batch))
            .collect();
        let inputs_file = dir.join("inputs.json");
        self.write_map(&inputs_file, &dir, &entries)
            .map_err(|e| failure(name, id, 1, e))?;
        let values = self
            .read_map(&inputs_file, &dir, &sig.params)
            .map_err(|e| failure(name, id, 1, e))?;
        match target {
            Target::Task(f) => self.run_task(f, id, &dir, values),
            Target::Workflow(w) => {
                let started = now_seconds();
                let result = self.run_workflow(w, id, values);
                self.record(NodeRecord {
                    id: id.to_string(),
                    name: name.to_string(),
                    kind: "workflow".into(),
                    status: if result.is_ok() {
                        "succeeded"
                    } else {
                        "failed"
                    }
                    .into(),
                    attempts: 1,
                    started,
                    ended: now_seconds(),
                    cache: None,
                    inputs: Some(inputs_file),
                    outputs: result.as_ref().ok().map(|_| dir.join("outputs.json")),
                    error: result.as_ref().err().map(|f| f.error.message.clone()),
                });
                let outputs = result?;
                let entries: Vec<(&str, Value, &Type, Option<u32>)> = sig
                    .outputs
                    .fields()
                    .iter()
                    .zip(outputs)
                    .map(|(o, v)| (o.name.as_str(), coerce(v, &o.ty), &o.ty, o.batch))
                    .collect();
                self.write_map(&dir.join("outputs.json"), &dir, &entries)
                    .map_err(|e| failure(name, id, 1, e))
            }
        }
    }

    /// Runs task `f` (inputs already read back from the store), with cache, retries and timeout.
    fn run_task(&self, f: FnId, id: &str, dir: &Path, inputs: Vec<Value>) -> NodeResult {
        let function = &self.program.functions[f as usize];
        let sig = self.sig(function.decl);
        let started = now_seconds();
        let mut record = NodeRecord {
            id: id.to_string(),
            name: function.name.clone(),
            kind: "task".into(),
            status: "succeeded".into(),
            attempts: 0,
            started,
            ended: started,
            cache: None,
            inputs: Some(dir.join("inputs.json")),
            outputs: Some(dir.join("outputs.json")),
            error: None,
        };
        let key = function.config.cache_version.as_ref().map(|version| {
            let interface = typed_interface(&self.program.decls, sig);
            let values =
                serde_json::Value::Array(inputs.iter().map(literal::value_to_json).collect());
            cache_key(&function.name, version, &interface, &values)
        });
        if let Some(key) = &key {
            let cached = self.store.cache_entry(key).join("outputs.json");
            if let Ok(literals) = self.store.read_json(&cached) {
                let written = self.store.write_json(&dir.join("outputs.json"), &literals);
                record.cache = Some("hit".into());
                record.ended = now_seconds();
                self.record(record);
                return written.map_err(|e| failure(&function.name, id, 0, e.to_string()));
            }
            record.cache = Some("miss".into());
        }
        let attempts = function.config.retries + 1;
        let mut last_error = None;
        let mut result = None;
        for attempt in 1..=attempts {
            record.attempts = attempt;
            let deadline = function
                .config
                .timeout_ms
                .map(|ms| Instant::now() + Duration::from_millis(ms));
            let ctx = builtins::Context {
                scratch_dir: dir.join("files"),
            };
            match Evaluator::new(self.program, deadline, ctx).call(f, inputs.clone()) {
                Ok(v) => {
                    result = Some(v);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let Some(value) = result else {
            let error = last_error.unwrap_or_else(|| RuntimeError::plain("the task did not run"));
            record.status = "failed".into();
            record.error = Some(error.message.clone());
            record.outputs = None;
            record.ended = now_seconds();
            let attempt = record.attempts;
            self.record(record);
            return Err(RunFailure {
                node: id.to_string(),
                task: function.name.clone(),
                attempt,
                error,
            });
        };
        let outputs = split_value(
            value,
            &sig.outputs
                .fields()
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
        );
        let entries: Vec<(&str, Value, &Type, Option<u32>)> = sig
            .outputs
            .fields()
            .iter()
            .zip(outputs)
            .map(|(o, v)| (o.name.as_str(), coerce(v, &o.ty), &o.ty, o.batch))
            .collect();
        let written = self.write_map(&dir.join("outputs.json"), dir, &entries);
        if let (Some(key), Ok(())) = (&key, &written) {
            let entry = self.store.cache_entry(key);
            // A cache that cannot be written only costs a later miss.
            let _ = self.write_map(&entry.join("outputs.json"), &entry, &entries);
        }
        record.ended = now_seconds();
        if let Err(e) = &written {
            record.status = "failed".into();
            record.error = Some(e.clone());
        }
        let attempt = record.attempts;
        self.record(record);
        written.map_err(|e| failure(&function.name, id, attempt, e))
    }

    /// Writes a literal map of `entries` to `file`, pickles under `dir`.
    fn write_map(
        &self,
        file: &Path,
        dir: &Path,
        entries: &[(&str, Value, &Type, Option<u32>)],
    ) -> Result<(), String> {
        let blobs = self.store.blobs(dir.join("blobs"));
        let mut literals = serde_json::Map::new();
        for (name, value, ty, batch) in entries {
            let lit = literal::to_literal(value, ty, *batch, &self.program.decls, &blobs)
                .map_err(|e| format!("output `{name}`: {e}"))?;
            literals.insert(name.to_string(), lit);
        }
        self.store
            .write_json(file, &serde_json::json!({ "literals": literals }))
            .map_err(|e| e.to_string())
    }

    /// Reads the values of `fields` back from a literal map file.
    fn read_map(&self, file: &Path, dir: &Path, fields: &[FieldSig]) -> Result<Vec<Value>, String> {
        let map = self.store.read_json(file).map_err(|e| e.to_string())?;
        let blobs = self.store.blobs(dir.join("blobs"));
        fields
            .iter()
            .map(|f| {
                let lit = map["literals"]
                    .get(&f.name)
                    .ok_or_else(|| format!("{} has no literal `{}`", file.display(), f.name))?;
                literal::from_literal(lit, &f.ty, &self.program.decls, &blobs)
                    .map_err(|e| format!("`{}`: {e}", f.name))
            })
            .collect()
    }

    fn read_outputs(
        &self,
        dir: &Path,
        sig: &Signature,
    ) -> Result<Vec<(String, Value)>, RunFailure> {
        let fields = sig.outputs.fields();
        let values = self
            .read_map(&dir.join("outputs.json"), dir, fields)
            .map_err(|e| failure("entry", "entry", 1, e))?;
        Ok(fields.iter().map(|f| f.name.clone()).zip(values).collect())
    }

    /// Runs workflow `w` with its inputs; returns its output values.
    fn run_workflow(
        &self,
        w: WfId,
        prefix: &str,
        inputs: Vec<Value>,
    ) -> Result<Vec<Value>, RunFailure> {
        let workflow = &self.program.workflows[w as usize];
        let mut graph = Graph::new(self, workflow, prefix, inputs);
        graph.run()?;
        workflow
            .outputs
            .iter()
            .map(|b| graph.resolve(b, None))
            .collect()
    }

    /// The declared outputs of a node (map nodes: one list).
    fn node_outputs(&self, kind: &NodeKind) -> Vec<FieldSig> {
        match kind {
            NodeKind::Call(target, _) => self.target_sig(*target).1.outputs.fields().to_vec(),
            NodeKind::Map(f, _, _) => {
                let sig = self.sig(self.program.functions[*f as usize].decl);
                let item = sig
                    .outputs
                    .fields()
                    .first()
                    .map_or(Type::None, |o| o.ty.clone());
                let span = self.program.functions[*f as usize].span;
                vec![FieldSig {
                    name: "o0".into(),
                    ty: Type::List(Box::new(item)),
                    has_default: false,
                    batch: None,
                    span,
                    doc: None,
                }]
            }
            NodeKind::Branch(_) => Vec::new(),
        }
    }
}

/// Splits a callable's value into its outputs: a tuple or named tuple item by item.
fn split_value(value: Value, names: &[&str]) -> Vec<Value> {
    match (names.len(), value) {
        (0, _) => Vec::new(),
        (1, v @ Value::Record(_)) if v.field(names[0]).is_none() || names[0] == "o0" => vec![v],
        (_, Value::Tuple(items)) if names.len() > 1 || items.len() == 1 => items.to_vec(),
        (_, Value::Record(r)) if r.type_name.is_empty() => names
            .iter()
            .map(|n| {
                r.fields
                    .iter()
                    .find(|(f, _)| &**f == *n)
                    .map_or(Value::None, |(_, v)| v.clone())
            })
            .collect(),
        (_, v) => vec![v],
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Pending,
    Running,
    Done,
    Skipped,
}

/// One run of a workflow's graph.
struct Graph<'r, 'a> {
    runner: &'r Runner<'a>,
    workflow: &'a Workflow,
    prefix: String,
    inputs: Vec<Value>,
    states: Vec<State>,
    chosen: HashMap<NodeId, u32>,
}

impl<'r, 'a> Graph<'r, 'a> {
    fn new(
        runner: &'r Runner<'a>,
        workflow: &'a Workflow,
        prefix: &str,
        inputs: Vec<Value>,
    ) -> Self {
        let states = vec![State::Pending; workflow.nodes.len()];
        Graph {
            runner,
            workflow,
            prefix: prefix.to_string(),
            inputs,
            states,
            chosen: HashMap::new(),
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

    fn deps_done(&self, binding: &Binding) -> bool {
        let mut deps = Vec::new();
        collect_deps(binding, &mut deps);
        deps.iter().all(|&d| self.states[d as usize] == State::Done)
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
    fn run(&mut self) -> Result<(), RunFailure> {
        let jobs = self.runner.options.jobs.max(1);
        let runner = self.runner;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<(NodeId, NodeResult)>();
            let mut running = 0usize;
            let mut failed: Option<RunFailure> = None;
            loop {
                let mut progressed = false;
                for n in 0..self.states.len() as NodeId {
                    if self.states[n as usize] != State::Pending {
                        continue;
                    }
                    match self.gate(n) {
                        Some(false) => {
                            self.states[n as usize] = State::Skipped;
                            progressed = true;
                            continue;
                        }
                        None => continue,
                        Some(true) => {}
                    }
                    if failed.is_some() || !self.ready(n) {
                        continue;
                    }
                    if let NodeKind::Branch(cases) = &self.workflow.nodes[n as usize].kind {
                        progressed = true;
                        if let Err(f) = self.step_branch(n, cases) {
                            failed.get_or_insert(f);
                        }
                        continue;
                    }
                    if running >= jobs {
                        continue;
                    }
                    let work = match self.prepare(n) {
                        Ok(work) => work,
                        Err(f) => {
                            failed.get_or_insert(f);
                            continue;
                        }
                    };
                    self.states[n as usize] = State::Running;
                    running += 1;
                    progressed = true;
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let result = work.run(runner);
                        let _ = tx.send((n, result));
                    });
                }
                if running == 0 && (failed.is_some() || !progressed) {
                    break;
                }
                if running > 0 && !progressed {
                    let Ok((n, result)) = rx.recv() else { break };
                    running -= 1;
                    match result {
                        Ok(()) => self.states[n as usize] = State::Done,
                        Err(f) => {
                            failed.get_or_insert(f);
                        }
                    }
                }
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
                None => Err(failure(
                    &self.workflow.name,
                    &self.prefix,
                    1,
                    "the workflow graph could not make progress",
                )),
            }
        })
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
        Err(failure(
            &self.workflow.name,
            &self.node_id(n),
            1,
            "no branch condition held and there is no else",
        ))
    }

    fn eval_cond(&self, cond: &Cond) -> Result<bool, RunFailure> {
        Ok(match cond {
            Cond::Compare(op, a, b) => {
                let (a, b) = (self.resolve(a, None)?, self.resolve(b, None)?);
                match ops::binary(*op, &a, &b) {
                    Ok(Value::Bool(x)) => x,
                    Ok(_) => false,
                    Err(e) => return Err(failure(&self.workflow.name, &self.prefix, 1, e)),
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
        let params = |target: Target| self.runner.target_sig(target).1.params.clone();
        let args = |args: &[Option<Binding>],
                    params: &[FieldSig],
                    defaults: &dyn Fn(usize) -> Option<Value>,
                    item: Option<&Value>| {
            args.iter()
                .enumerate()
                .map(|(i, b)| match b {
                    Some(b) => self.resolve(b, item),
                    None => Ok(defaults(i).unwrap_or(Value::None)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|vs| {
                    vs.into_iter()
                        .zip(params)
                        .map(|(v, p)| coerce(v, &p.ty))
                        .collect::<Vec<_>>()
                })
        };
        match &self.workflow.nodes[n as usize].kind {
            NodeKind::Call(target, bindings) => {
                let defaults = |i: usize| self.default_of(*target, i);
                let values = args(bindings, &params(*target), &defaults, None)?;
                Ok(Work::Call {
                    target: *target,
                    id,
                    inputs: values,
                })
            }
            NodeKind::Map(f, over, bindings) => {
                let items = match self.resolve(over, None)? {
                    Value::List(items) => items,
                    _ => Arc::new(Vec::new()),
                };
                let target = Target::Task(*f);
                let defaults = |i: usize| self.default_of(target, i);
                let params = params(target);
                let calls = items
                    .iter()
                    .map(|item| args(bindings, &params, &defaults, Some(item)))
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

    /// The value of a binding, reading node outputs back from the store.
    fn resolve(&self, binding: &Binding, item: Option<&Value>) -> Result<Value, RunFailure> {
        let fail = |m: String| failure(&self.workflow.name, &self.prefix, 1, m);
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
                let dir = self.runner.store.node_dir(&self.node_id(*n));
                let field = outputs
                    .get(*k as usize)
                    .ok_or_else(|| fail(format!("node n{n} has no output {k}")))?;
                let values = self
                    .runner
                    .read_map(&dir.join("outputs.json"), &dir, std::slice::from_ref(field))
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
                return Err(RunFailure {
                    node: self.prefix.clone(),
                    task: self.workflow.name.clone(),
                    attempt: 1,
                    error: RuntimeError::at(*span, message.clone()).failed(),
                })
            }
        })
    }
}

/// Work for one node, done on a worker thread.
enum Work {
    Call {
        target: Target,
        id: String,
        inputs: Vec<Value>,
    },
    Map {
        f: FnId,
        id: String,
        calls: Vec<Vec<Value>>,
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
                        scope.spawn(|| loop {
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
                    let dir = runner.store.node_dir(&format!("{id}/{i}"));
                    let item = runner
                        .read_map(
                            &dir.join("outputs.json"),
                            &dir,
                            &sig_out[..sig_out.len().min(1)],
                        )
                        .map_err(|e| failure(&name, &id, 1, e))?;
                    values.push(item.into_iter().next().unwrap_or(Value::None));
                }
                let dir = runner.store.node_dir(&id);
                let list = Value::list(values);
                let entries = [(output[0].name.as_str(), list, &output[0].ty, None)];
                let written = runner
                    .write_map(&dir.join("outputs.json"), &dir, &entries)
                    .map_err(|e| failure(&name, &id, 1, e));
                runner.record(NodeRecord {
                    id: id.clone(),
                    name,
                    kind: "map".into(),
                    status: if written.is_ok() {
                        "succeeded"
                    } else {
                        "failed"
                    }
                    .into(),
                    attempts: 1,
                    started,
                    ended: now_seconds(),
                    cache: None,
                    inputs: None,
                    outputs: Some(dir.join("outputs.json")),
                    error: None,
                });
                written
            }
        }
    }
}

/// The default value of input `i` of a task or workflow, if it has one.
pub fn default_input(program: &Program, target: Target, i: usize) -> Option<Value> {
    match target {
        Target::Task(f) => {
            let expr = program.functions[f as usize].defaults.get(i)?.as_ref()?;
            eval_constant(program, expr)
        }
        Target::Workflow(w) => const_binding(
            program,
            program.workflows[w as usize].defaults.get(i)?.as_ref()?,
        ),
    }
}

/// The default value of field `field` of struct or class `decl`, if it has one.
pub fn record_default(
    program: &Program,
    decl: crate::check::types::DeclId,
    field: &str,
) -> Option<Value> {
    let (_, defaults) = program.record_defaults.iter().find(|(d, _)| *d == decl)?;
    let i = program
        .decls
        .fields(&Type::Decl(decl))?
        .iter()
        .position(|f| f.name == field)?;
    eval_constant(program, defaults.get(i)?.as_ref()?)
}

fn eval_constant(program: &Program, expr: &Expr) -> Option<Value> {
    let ctx = builtins::Context {
        scratch_dir: std::env::temp_dir(),
    };
    Evaluator::new(program, None, ctx).eval_default(expr).ok()
}

/// The value of a binding made only of constants (a workflow input's default).
fn const_binding(program: &Program, binding: &Binding) -> Option<Value> {
    let all = |items: &[Binding]| {
        items
            .iter()
            .map(|b| const_binding(program, b))
            .collect::<Option<Vec<_>>>()
    };
    Some(match binding {
        Binding::Const(c) => const_value(c),
        Binding::List(items) => Value::list(all(items)?),
        Binding::Tuple(items) => Value::Tuple(Arc::new(all(items)?)),
        Binding::Dict(entries) => Value::Dict(Arc::new(
            entries
                .iter()
                .map(|(k, b)| Some((k.clone(), const_binding(program, b)?)))
                .collect::<Option<_>>()?,
        )),
        Binding::Record(decl, items) => {
            let fields = program.decls.fields(&Type::Decl(*decl))?;
            let values = all(items)?;
            let fields = fields
                .iter()
                .zip(values)
                .map(|(f, v)| (Arc::from(f.name.as_str()), coerce(v, &f.ty)))
                .collect();
            Value::Record(Arc::new(Record {
                type_name: program.decls.get(*decl).name.as_str().into(),
                fields,
            }))
        }
        Binding::NamedTuple(names, items) => Value::Record(Arc::new(Record {
            type_name: "".into(),
            fields: names
                .iter()
                .map(|n| Arc::from(n.as_str()))
                .zip(all(items)?)
                .collect(),
        })),
        Binding::Enum(decl, variant) => Value::Enum(
            program.decls.get(*decl).name.as_str().into(),
            variant.as_str().into(),
        ),
        Binding::Input(..) | Binding::Output(..) | Binding::Item(_) | Binding::Fail(..) => {
            return None
        }
    })
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
