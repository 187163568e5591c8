//! The workflow executor: runs a task or a workflow graph, each node once its inputs are ready,
//! independent nodes and map items in parallel (up to `jobs` at once). Every value that crosses
//! a node boundary goes through the store as a Flyte literal map — written by the producer,
//! read back by the consumer — with pickle files and batches where the types say so. A node
//! input bound to a whole output of another node, declared with the same type and `@batch`,
//! is passed on as the producer's literal: the input map points at the producer's Pickle files
//! (as a Flyte input literal points at the blobs its producer wrote) instead of decoding and
//! writing them again; the receiving node still reads its values back from the store.
//! `@retries`, `@timeout` and `@cache` apply to every task node.
//!
//! Consumes the IR, an entry and its input values; produces the outputs and a run record.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::coerce::coerce;
use super::eval::{const_value, Evaluator};
use super::graph::Graph;
use super::{builtins, ErrorKind, RuntimeError};
use crate::check::lower::typed_interface;
use crate::check::types::{DeclKind, FieldSig, Signature, Type};
use crate::ir::*;
use crate::literal;
use crate::python;
use crate::store::{cache_key, now_seconds, NodeFiles, NodeRecord, RunRecord, Store};
use crate::syntax::ast::CallableKind;
use crate::value::{Record, Value};

/// How to run.
pub struct Options<'o> {
    /// How many nodes (and map items) run at once.
    pub jobs: usize,
    /// Told about every node that ends (progress reporting).
    pub on_node: Option<&'o (dyn Fn(&NodeRecord) + Send + Sync + 'o)>,
    /// The Python that Python tasks run on.
    pub python: python::Interpreter,
}

/// Why a run failed: the node, its task, the attempt, and the error.
#[derive(Clone, Debug)]
pub struct RunFailure {
    /// The failing node's id.
    pub node: String,
    /// The task (or workflow) it ran.
    pub task: String,
    /// Task or workflow.
    pub kind: CallableKind,
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

pub(super) type NodeResult = Result<(), RunFailure>;

/// A value crossing into a node's literal map.
#[derive(Clone)]
pub(super) enum Input {
    /// A value, converted to a literal when the map is written.
    Value(Value),
    /// A literal its producer already stored, of the same type and `@batch` layout as the
    /// variable it is written for: copied as it is, Pickle files shared.
    Stored(serde_json::Value),
}

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
    let entry = store.node("entry");
    let inputs = inputs.into_iter().map(Input::Value).collect();
    let result = runner.run_target(target, "entry", inputs).and_then(|()| {
        let literals = store
            .read_json(&entry.outputs)
            .map_err(|e| failure(name, "entry", 1, e.to_string()))?;
        Ok((runner.read_outputs(&entry, sig)?, literals))
    });
    let mut nodes = runner.records.into_inner().unwrap_or_default();
    nodes.sort_by(|a, b| a.started.total_cmp(&b.started));
    let status = NodeRecord::status_of(result.is_ok());
    let record = RunRecord {
        entry: name.to_string(),
        status,
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

pub(super) fn failure(
    task: &str,
    node: &str,
    attempt: u32,
    message: impl Into<String>,
) -> RunFailure {
    RunFailure {
        node: node.to_string(),
        task: task.to_string(),
        kind: CallableKind::Task,
        attempt,
        error: RuntimeError::plain(message),
    }
}

pub(super) struct Runner<'a> {
    pub(super) program: &'a Program,
    pub(super) store: &'a Store,
    pub(super) options: &'a Options<'a>,
    records: Mutex<Vec<NodeRecord>>,
}

impl<'a> Runner<'a> {
    pub(super) fn sig(&self, decl: crate::check::types::DeclId) -> &'a Signature {
        match &self.program.decls.get(decl).kind {
            DeclKind::Callable(sig) => sig,
            _ => unreachable!("functions and workflows have signatures"),
        }
    }

    pub(super) fn target_sig(&self, target: Target) -> (&'a str, &'a Signature) {
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

    pub(super) fn record(&self, record: NodeRecord) {
        if let Some(on_node) = self.options.on_node {
            on_node(&record);
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    /// Runs a task or workflow as node `id`: writes its inputs, runs, writes its outputs.
    pub(super) fn run_target(&self, target: Target, id: &str, inputs: Vec<Input>) -> NodeResult {
        let (name, sig) = self.target_sig(target);
        let node = self.store.node(id);
        let entries: Vec<(&str, Input, &Type, Option<u32>)> = sig
            .params
            .iter()
            .zip(inputs)
            .map(|(p, input)| {
                let input = match input {
                    Input::Value(v) => Input::Value(coerce(v, &p.ty)),
                    stored => stored,
                };
                (p.name.as_str(), input, &p.ty, p.batch)
            })
            .collect();
        self.write_map(&node.inputs, &node.dir, &entries)
            .map_err(|e| failure(name, id, 1, e))?;
        let values = self
            .read_map(&node.inputs, &node.dir, &sig.params)
            .map_err(|e| failure(name, id, 1, e))?;
        match target {
            Target::Task(f) => self.run_task(f, id, &node, values),
            Target::Workflow(w) => {
                let started = now_seconds();
                let result = self.run_workflow(w, id, values);
                self.record(NodeRecord {
                    id: id.to_string(),
                    name: name.to_string(),
                    kind: "workflow".into(),
                    status: NodeRecord::status_of(result.is_ok()),
                    attempts: 1,
                    started,
                    ended: now_seconds(),
                    cache: None,
                    inputs: Some(node.inputs.clone()),
                    outputs: result.as_ref().ok().map(|_| node.outputs.clone()),
                    error: result.as_ref().err().map(|f| f.error.message.clone()),
                });
                let outputs = result?;
                let entries: Vec<(&str, Input, &Type, Option<u32>)> = sig
                    .outputs
                    .fields()
                    .iter()
                    .zip(outputs)
                    .map(|(o, input)| (o.name.as_str(), input, &o.ty, o.batch))
                    .collect();
                self.write_map(&node.outputs, &node.dir, &entries)
                    .map_err(|e| failure(name, id, 1, e))
            }
        }
    }

    /// Runs task `f` (inputs already read back from the store), with cache, retries and timeout.
    pub(super) fn run_task(
        &self,
        f: FnId,
        id: &str,
        node: &NodeFiles,
        inputs: Vec<Value>,
    ) -> NodeResult {
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
            inputs: Some(node.inputs.clone()),
            outputs: Some(node.outputs.clone()),
            error: None,
        };
        let key = function.config.cache_version.as_ref().map(|version| {
            let interface = typed_interface(&self.program.decls, sig);
            let values =
                serde_json::Value::Array(inputs.iter().map(literal::value_fingerprint).collect());
            cache_key(&function.name, version, &interface, &values)
        });
        if let Some(key) = &key {
            let entry = self.store.cache_entry(key);
            let cached = entry.join("outputs.json");
            // An entry counts only when it reads back whole; a damaged one is a miss.
            let whole = self.read_map(&cached, &entry, sig.outputs.fields()).is_ok();
            if let (true, Ok(literals)) = (whole, self.store.read_json(&cached)) {
                let written = self.store.write_json(&node.outputs, &literals);
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
            match self.attempt(f, &node.dir, attempt, deadline, &inputs) {
                Ok(v) => {
                    result = Some(v);
                    break;
                }
                Err(mut e) => {
                    if let (ErrorKind::Timeout, Some(ms)) = (e.kind, function.config.timeout_ms) {
                        e.message = format!("timed out after {ms}ms (`@timeout`)");
                    }
                    last_error = Some(e);
                }
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
                error,
                attempt,
                ..failure(&function.name, id, attempt, "")
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
        let entries: Vec<(&str, Input, &Type, Option<u32>)> = sig
            .outputs
            .fields()
            .iter()
            .zip(outputs)
            .map(|(o, v)| {
                (
                    o.name.as_str(),
                    Input::Value(coerce(v, &o.ty)),
                    &o.ty,
                    o.batch,
                )
            })
            .collect();
        let written = self.write_map(&node.outputs, &node.dir, &entries);
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

    /// One attempt of task `f`: its body evaluated, or its Python code run.
    fn attempt(
        &self,
        f: FnId,
        dir: &Path,
        attempt: u32,
        deadline: Option<Instant>,
        inputs: &[Value],
    ) -> Result<Value, RuntimeError> {
        let function = &self.program.functions[f as usize];
        let Some(code) = &function.python else {
            let ctx = builtins::Context {
                scratch_dir: dir.join("files"),
            };
            return Evaluator::new(self.program, deadline, ctx).call(f, inputs.to_vec());
        };
        let file = &self.program.files[code.span.file.0 as usize];
        let call = python::Call {
            task: &function.name,
            python: code,
            sig: self.sig(function.decl),
            decls: &self.program.decls,
            source: file,
            dir: dir.join(format!("python-{attempt}")),
            deadline,
        };
        let outcome = python::call(&self.options.python, &call, inputs)?;
        for warning in outcome.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(outcome.value)
    }

    /// Writes a literal map of `entries` to `file`, new pickles under `dir`.
    pub(super) fn write_map(
        &self,
        file: &Path,
        dir: &Path,
        entries: &[(&str, Input, &Type, Option<u32>)],
    ) -> Result<(), String> {
        let blobs = self.store.blobs(dir.join("blobs"));
        let mut literals = serde_json::Map::new();
        for (name, input, ty, batch) in entries {
            let lit = match input {
                Input::Value(value) => {
                    literal::to_literal(value, ty, *batch, &self.program.decls, &blobs)
                        .map_err(|e| format!("output `{name}`: {e}"))?
                }
                Input::Stored(lit) => lit.clone(),
            };
            literals.insert(name.to_string(), lit);
        }
        self.store
            .write_json(file, &serde_json::json!({ "literals": literals }))
            .map_err(|e| e.to_string())
    }

    /// Reads the values of `fields` back from a literal map file.
    pub(super) fn read_map(
        &self,
        file: &Path,
        dir: &Path,
        fields: &[FieldSig],
    ) -> Result<Vec<Value>, String> {
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

    pub(super) fn read_outputs(
        &self,
        node: &NodeFiles,
        sig: &Signature,
    ) -> Result<Vec<(String, Value)>, RunFailure> {
        let fields = sig.outputs.fields();
        let values = self
            .read_map(&node.outputs, &node.dir, fields)
            .map_err(|e| failure("entry", "entry", 1, e))?;
        Ok(fields.iter().map(|f| f.name.clone()).zip(values).collect())
    }

    /// Runs workflow `w` with its inputs; returns its outputs.
    pub(super) fn run_workflow(
        &self,
        w: WfId,
        prefix: &str,
        inputs: Vec<Value>,
    ) -> Result<Vec<Input>, RunFailure> {
        let workflow = &self.program.workflows[w as usize];
        let mut graph = Graph::new(self, workflow, prefix, inputs);
        graph.run()?;
        let outputs = self.sig(workflow.decl).outputs.fields();
        workflow
            .outputs
            .iter()
            .zip(outputs)
            .map(|(b, o)| graph.input(b, o, None))
            .collect()
    }

    /// The declared outputs of a node (map nodes: one list).
    pub(super) fn node_outputs(&self, kind: &NodeKind) -> Vec<FieldSig> {
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
