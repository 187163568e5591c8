//! The server's state and main loop: the lifecycle (initialize, shutdown, exit), open documents
//! (full text sync), debounced analysis and diagnostics publishing, and dispatch of requests to
//! the feature modules.
//!
//! Consumes [`Incoming`] items from the transport's reader thread; produces messages on the
//! output. Analysis runs when a document is opened, and after a change: at once when the
//! document had been quiet for the debounce interval, otherwise when typing pauses for that long
//! (only the latest text is analysed). A request about a document with a pending change
//! analyses it first, so answers always match the text the editor sent.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{PublishDiagnosticsParams, Url};
use serde_json::Value;

use super::analysis::{self, Analysis};
use super::transport::{self, Incoming};
use super::{convert, documents, handlers, stdlib, workspace};

/// How long typing must pause before a changed document is analysed again.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// An error answered to a request.
#[derive(Debug)]
pub struct RequestError {
    /// The JSON-RPC error code.
    pub code: i32,
    /// What went wrong, for the user.
    pub message: String,
}

impl RequestError {
    /// A request that cannot be carried out as asked (`RequestFailed`).
    pub fn failed(message: impl Into<String>) -> RequestError {
        RequestError {
            code: ErrorCode::RequestFailed as i32,
            message: message.into(),
        }
    }

    /// Parameters that do not fit the method (`InvalidParams`).
    pub fn invalid_params(message: impl Into<String>) -> RequestError {
        RequestError {
            code: ErrorCode::InvalidParams as i32,
            message: message.into(),
        }
    }
}

/// One open document.
pub struct Document {
    /// The editor's URI for it.
    pub uri: Url,
    /// Its identity (see [`convert::uri_key`]).
    pub key: String,
    /// The current text.
    pub text: String,
    /// The editor's version of it.
    pub version: i32,
    /// The latest analysis, or why there is none.
    pub analysis: Result<Analysis, analysis::Failure>,
    /// When the pending change is due for analysis.
    pub due: Option<Instant>,
    /// When the text last changed.
    pub changed: Option<Instant>,
}

/// The language server.
pub struct Server<W: Write> {
    out: W,
    /// Open documents by URI (ordered, so the output is deterministic).
    pub docs: BTreeMap<Url, Document>,
    published: HashMap<Url, Vec<lsp_types::Diagnostic>>,
    initialized: bool,
    shutdown: bool,
    broken: bool,
    debounce: Duration,
    roots: Vec<PathBuf>,
    retired: Vec<Result<Analysis, analysis::Failure>>,
}

/// Runs the server over `incoming` until `exit` (0 after `shutdown`, else 1) or the end of the
/// input.
pub fn run<W: Write>(incoming: Receiver<Incoming>, out: W) -> i32 {
    let mut server = Server::new(out);
    loop {
        let item = match server.next_due() {
            Some(due) => incoming.recv_timeout(due.saturating_duration_since(Instant::now())),
            None => incoming.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match item {
            Ok(item) => {
                if let Some(code) = server.handle(item) {
                    return code;
                }
                while let Ok(item) = incoming.try_recv() {
                    if let Some(code) = server.handle(item) {
                        return code;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                log("the input ended");
                return if server.shutdown { 0 } else { 1 };
            }
        }
        server.analyse_due();
        if server.broken {
            log("the output is closed");
            return 1;
        }
    }
}

/// The text of the open documents but `except`, for the imports of an analysis to read.
pub fn open_files(docs: &BTreeMap<Url, Document>, except: Option<&Url>) -> analysis::OpenFiles {
    analysis::OpenFiles(
        docs.values()
            .filter(|d| Some(&d.uri) != except)
            .map(|d| (d.key.clone(), d.text.clone()))
            .collect(),
    )
}

/// Writes a line to the log (stderr), which editors show in their output panel.
pub fn log(message: &str) {
    eprintln!("[flytec lsp] {message}");
}

impl<W: Write> Server<W> {
    /// A server writing to `out`.
    pub fn new(out: W) -> Self {
        let debounce = std::env::var("FLYTEC_LSP_DEBOUNCE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DEBOUNCE, Duration::from_millis);
        Server {
            out,
            docs: BTreeMap::new(),
            published: HashMap::new(),
            initialized: false,
            shutdown: false,
            broken: false,
            debounce,
            roots: Vec::new(),
            retired: Vec::new(),
        }
    }

    fn send(&mut self, message: Message) {
        if transport::write_message(&mut self.out, &message).is_err() {
            self.broken = true;
        }
    }

    fn respond(&mut self, id: RequestId, result: Result<Value, RequestError>) {
        let response = match result {
            Ok(value) => Response {
                id,
                result: Some(value),
                error: None,
            },
            Err(e) => Response::new_err(id, e.code, e.message),
        };
        self.send(Message::Response(response));
    }

    /// Handles one item; `Some(code)` when the server must exit.
    fn handle(&mut self, item: Incoming) -> Option<i32> {
        match item {
            Incoming::Skipped(note) => log(&note),
            Incoming::Invalid { id, code, message } => {
                log(&message);
                match id {
                    Some(id) => self.respond(id, Err(RequestError { code, message })),
                    None => {
                        if transport::write_null_id_error(&mut self.out, code, &message).is_err() {
                            self.broken = true;
                        }
                    }
                }
            }
            Incoming::Message(Message::Request(request)) => self.request(request),
            Incoming::Message(Message::Notification(n)) => return self.notification(n),
            Incoming::Message(Message::Response(_)) => {}
        }
        None
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params } = request;
        if method == "initialize" {
            let result = if self.initialized {
                Err(RequestError {
                    code: ErrorCode::InvalidRequest as i32,
                    message: "the server is already initialized".into(),
                })
            } else {
                self.initialized = true;
                self.roots = workspace::roots(&params);
                Ok(handlers::initialize_result())
            };
            return self.respond(id, result);
        }
        if !self.initialized {
            let error = RequestError {
                code: ErrorCode::ServerNotInitialized as i32,
                message: format!("`{method}` before `initialize`"),
            };
            return self.respond(id, Err(error));
        }
        if self.shutdown {
            let error = RequestError {
                code: ErrorCode::InvalidRequest as i32,
                message: format!("`{method}` after `shutdown`"),
            };
            return self.respond(id, Err(error));
        }
        if method == "shutdown" {
            self.shutdown = true;
            return self.respond(id, Ok(Value::Null));
        }
        if let Some(uri) = params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .and_then(|u| Url::parse(u).ok())
        {
            self.analyse_now(&uri);
        }
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            handlers::request(&self.docs, &self.roots, &method, params)
        }))
        .unwrap_or_else(|_| {
            Err(RequestError {
                code: ErrorCode::InternalError as i32,
                message: format!("internal error while answering `{method}`"),
            })
        });
        self.respond(id, result);
    }

    fn notification(&mut self, n: Notification) -> Option<i32> {
        if n.method == "exit" {
            return Some(if self.shutdown { 0 } else { 1 });
        }
        if !self.initialized {
            return None;
        }
        let method = n.method.clone();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            documents::notification(self, &n.method, n.params)
        }));
        match outcome {
            Ok(Err(message)) => log(&format!("`{method}`: {message}")),
            Err(_) => log(&format!("internal error while handling `{method}`")),
            Ok(Ok(())) => {}
        }
        None
    }

    /// Schedules `uri` for analysis: at once after a quiet period, else after the debounce.
    pub fn schedule(&mut self, uri: &Url, now: Instant) {
        let debounce = self.debounce;
        if let Some(doc) = self.docs.get_mut(uri) {
            let quiet = doc
                .changed
                .is_none_or(|t| now.duration_since(t) >= debounce);
            let due = if quiet { now } else { now + debounce };
            doc.due = Some(doc.due.map_or(due, |d| d.max(due)));
            doc.changed = Some(now);
        }
    }

    /// Schedules every open document whose program reads the file `key`, or fails to import it
    /// (other than itself).
    pub fn schedule_dependents(&mut self, key: &str, now: Instant) {
        let due = now + self.debounce.min(Duration::from_millis(50));
        for doc in self.docs.values_mut() {
            let reads = matches!(&doc.analysis, Ok(a) if a.depends_on(key));
            if doc.key != key && reads {
                doc.due = Some(doc.due.map_or(due, |d| d.min(due)));
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.docs.values().filter_map(|d| d.due).min()
    }

    /// Analyses every document whose change is due, then publishes diagnostics.
    fn analyse_due(&mut self) {
        let now = Instant::now();
        let due: Vec<Url> = self
            .docs
            .values()
            .filter(|d| d.due.is_some_and(|t| t <= now))
            .map(|d| d.uri.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        for uri in &due {
            self.analyse(uri);
        }
        self.publish(&due);
        self.retired.clear();
    }

    /// Analyses `uri` now if it has a pending change (before answering a request about it).
    fn analyse_now(&mut self, uri: &Url) {
        if self.docs.get(uri).is_some_and(|d| d.due.is_some()) {
            self.analyse(uri);
            self.publish(std::slice::from_ref(uri));
            self.retired.clear();
        }
    }

    /// Analyses one open document (whatever is pending).
    pub fn analyse(&mut self, uri: &Url) {
        let keys: HashMap<String, Url> = self
            .docs
            .values()
            .map(|d| (d.key.clone(), d.uri.clone()))
            .collect();
        let open = open_files(&self.docs, Some(uri));
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        doc.due = None;
        let is_std = convert::uri_path(uri).is_some_and(|p| stdlib::is_stdlib_path(&p));
        let new = if is_std {
            Err(analysis::Failure(
                "a standard library file: shown for reference, not analysed".into(),
            ))
        } else {
            analysis::analyse(uri, &doc.text, doc.version, open, &|key| {
                keys.get(key).cloned()
            })
        };
        // The old analysis is dropped after publishing, off the latency path.
        let old = std::mem::replace(&mut doc.analysis, new);
        self.retired.push(old);
    }

    /// Publishes the diagnostics of `uris` (open documents just analysed) and of every file that
    /// open documents import but that is not open itself.
    pub fn publish(&mut self, uris: &[Url]) {
        let mut batches: Vec<(Url, Option<i32>, Vec<lsp_types::Diagnostic>)> = Vec::new();
        for uri in uris {
            let Some(doc) = self.docs.get(uri) else {
                continue;
            };
            let diagnostics = match &doc.analysis {
                Ok(a) => documents::diagnostics_in(a, a.root),
                Err(failure) if failure.0.starts_with("a standard library file") => Vec::new(),
                Err(failure) => vec![documents::failure_diagnostic(&failure.0)],
            };
            batches.push((uri.clone(), Some(doc.version), diagnostics));
        }
        let mut external: BTreeMap<Url, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for doc in self.docs.values() {
            let Ok(a) = &doc.analysis else { continue };
            for (i, info) in a.files.iter().enumerate() {
                let open = self.docs.values().any(|d| d.key == info.key);
                if info.is_std || open || external.contains_key(&info.uri) {
                    continue;
                }
                let file = crate::source::FileId(i as u32);
                external.insert(info.uri.clone(), documents::diagnostics_in(a, file));
            }
        }
        let stale: Vec<Url> = self
            .published
            .keys()
            .filter(|u| !self.docs.contains_key(*u) && !external.contains_key(*u))
            .cloned()
            .collect();
        for uri in stale {
            batches.push((uri, None, Vec::new()));
        }
        for (uri, diagnostics) in external {
            batches.push((uri, None, diagnostics));
        }
        for (uri, version, diagnostics) in batches {
            let is_open = self.docs.contains_key(&uri);
            if !is_open && self.published.get(&uri) == Some(&diagnostics) {
                continue;
            }
            if diagnostics.is_empty() && !is_open {
                self.published.remove(&uri);
            } else {
                self.published.insert(uri.clone(), diagnostics.clone());
            }
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            };
            self.send(Message::Notification(Notification::new(
                "textDocument/publishDiagnostics".into(),
                params,
            )));
        }
    }

    /// Forgets a closed document and clears its diagnostics.
    pub fn close(&mut self, uri: &Url) {
        if self.docs.remove(uri).is_some() {
            self.published.remove(uri);
            self.send(Message::Notification(Notification::new(
                "textDocument/publishDiagnostics".into(),
                PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics: Vec::new(),
                    version: None,
                },
            )));
            self.publish(&[]);
        }
    }
}
