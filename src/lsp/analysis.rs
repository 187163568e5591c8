//! One analysis of one open document: the checked program rooted at it, its [`Index`], and
//! where each of the program's files lives (URI and identity key).
//!
//! Consumes a document's name and text, and the text of the other open documents; produces an
//! [`Analysis`], computed by [`crate::check::check_text_with`] on a worker thread with a large
//! stack and a time limit, so that no document — however deep, large or broken — can take the
//! server down with it. Imports are read from the editor's text when the imported file is open
//! (unsaved edits included), else from disk; the checker records the types it finds
//! ([`crate::check::facts::Facts`]) for hover and completion. A worker that runs out of time is
//! abandoned (it finishes on its own) and a new one takes its place.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use lsp_types::{Location, Url};

use super::convert;
use super::index::Index;
use super::stdlib;
use crate::check::load::{self, Disk, Files};
use crate::check::{self, Checked, Options};
use crate::source::{FileId, SourceFile, Span};
use crate::syntax::ast::ImportTarget;

/// Documents larger than this are not analysed (a diagnostic says so).
pub const MAX_DOCUMENT_BYTES: usize = 8 << 20;

/// How long one analysis may run before the server gives up on it.
pub const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(10);

/// The stack of the server's threads that walk syntax trees: deep (but accepted) nesting, such
/// as a chain of 20000 `+`, must not overflow it.
pub const LARGE_STACK: usize = 256 << 20;

/// Where one file of an analysed program lives.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// The URI locations in it are reported at.
    pub uri: Url,
    /// The file's identity across analyses (see [`convert::uri_key`]).
    pub key: String,
    /// Whether it belongs to the standard library.
    pub is_std: bool,
}

/// The analysed program of one open document.
pub struct Analysis {
    /// The checker's result.
    pub checked: Checked,
    /// Every name, resolved: built on first use, since diagnostics do not need it.
    index: OnceCell<Index>,
    /// Per [`FileId`], where the file lives.
    pub files: Vec<FileInfo>,
    /// The document's own file.
    pub root: FileId,
    /// The document version analysed.
    pub version: i32,
}

impl Analysis {
    /// The module index of the document itself.
    pub const ROOT: usize = load::ROOT;

    /// Every name of the program, resolved (built on a thread with a large stack the first
    /// time it is asked for).
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let checked = &self.checked;
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .name("flytec-index".into())
                    .stack_size(LARGE_STACK)
                    .spawn_scoped(scope, || Index::build(checked))
                    .ok()
                    .and_then(|handle| handle.join().ok())
                    .unwrap_or_default()
            })
        })
    }

    /// The document's source file.
    pub fn root_file(&self) -> &SourceFile {
        self.checked.sources.get(self.root)
    }

    /// A source file of the program.
    pub fn file(&self, id: FileId) -> &SourceFile {
        self.checked.sources.get(id)
    }

    /// The LSP location of a span (standard library files are written to disk on first use).
    pub fn location(&self, span: Span) -> Option<Location> {
        let info = self.files.get(span.file.0 as usize)?;
        let file = self.file(span.file);
        let uri = if info.is_std {
            stdlib::materialize(&file.name, &file.text)?
        } else {
            info.uri.clone()
        };
        Some(Location {
            uri,
            range: convert::range(file, span),
        })
    }

    /// The file with identity `key`, if the program reads it.
    pub fn file_by_key(&self, key: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.key == key)
            .map(|i| FileId(i as u32))
    }

    /// Whether the program reads the file with identity `key`, or would, if it could: an import
    /// that was not found names it (so the program is checked again when that file opens).
    pub fn depends_on(&self, key: &str) -> bool {
        self.file_by_key(key).is_some()
            || self.checked.modules.iter().any(|m| {
                let dir = Path::new(&self.file(m.file).name).parent();
                m.ast
                    .imports
                    .iter()
                    .zip(&m.imports)
                    .any(|(import, loaded)| match (&import.target, loaded, dir) {
                        (ImportTarget::File(rel), None, Some(dir)) => {
                            convert::path_key(&dir.join(rel)) == key
                        }
                        _ => false,
                    })
            })
    }

    /// The module whose file is `file`.
    pub fn module_of(&self, file: FileId) -> Option<usize> {
        self.checked.modules.iter().position(|m| m.file == file)
    }
}

/// The text of open documents by identity key (see [`convert::uri_key`]): what imports read
/// before the disk, so a program sees the editor's unsaved edits of the files it imports.
#[derive(Clone, Debug, Default)]
pub struct OpenFiles(pub HashMap<String, String>);

impl Files for OpenFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        match self.0.get(&convert::path_key(path)) {
            Some(text) => Ok(text.as_bytes().to_vec()),
            None => Disk.read(path),
        }
    }
}

/// Why a document has no analysis.
#[derive(Clone, Debug)]
pub struct Failure(pub String);

/// Analyses `text` as the root of a program whose imports read `open` first; `uri_of` names
/// the URI of an already-open file by its key (so locations in open documents use the editor's
/// own URIs).
pub fn analyse(
    uri: &Url,
    text: &str,
    version: i32,
    open: OpenFiles,
    uri_of: &dyn Fn(&str) -> Option<Url>,
) -> Result<Analysis, Failure> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(Failure(format!(
            "this document is {} bytes long; the language server analyses documents up to {} bytes",
            text.len(),
            MAX_DOCUMENT_BYTES
        )));
    }
    let checked = run_checker(Job {
        name: convert::document_name(uri),
        text: text.to_string(),
        open,
    })?;
    let root = checked.modules[load::ROOT].file;
    let root_key = convert::uri_key(uri);
    let mut files: Vec<FileInfo> = checked
        .sources
        .iter()
        .map(|(id, file)| {
            let is_std = checked.modules.iter().any(|m| m.file == id && m.is_std);
            if id == root {
                return FileInfo {
                    uri: uri.clone(),
                    key: root_key.clone(),
                    is_std,
                };
            }
            if is_std {
                return FileInfo {
                    uri: stdlib::virtual_uri(&file.name),
                    key: format!("std:{}", file.name),
                    is_std,
                };
            }
            let key = convert::path_key(std::path::Path::new(&file.name));
            let uri = uri_of(&key)
                .or_else(|| Url::from_file_path(&key).ok())
                .unwrap_or_else(|| stdlib::virtual_uri(&file.name));
            FileInfo { uri, key, is_std }
        })
        .collect();
    files.shrink_to_fit();
    Ok(Analysis {
        checked,
        index: OnceCell::new(),
        files,
        root,
        version,
    })
}

/// One document to check: its name, its text, and the open documents its imports may read.
struct Job {
    name: String,
    text: String,
    open: OpenFiles,
}

/// The thread that runs the checker, kept between analyses.
struct Worker {
    jobs: mpsc::Sender<Job>,
    results: mpsc::Receiver<std::thread::Result<Checked>>,
}

/// The current worker; replaced when one is abandoned after a time-out.
static WORKER: Mutex<Option<Worker>> = Mutex::new(None);

impl Worker {
    fn start() -> std::io::Result<Worker> {
        let (jobs, job_receiver) = mpsc::channel::<Job>();
        let (result_sender, results) = mpsc::channel();
        std::thread::Builder::new()
            .name("flytec-analysis".into())
            .stack_size(LARGE_STACK)
            .spawn(move || {
                for job in job_receiver {
                    let result = std::panic::catch_unwind(|| {
                        let options = Options {
                            files: &job.open,
                            facts: true,
                        };
                        check::check_text_with(&job.name, &job.text, &options)
                    });
                    if result_sender.send(result).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Worker { jobs, results })
    }
}

/// Checks `job` on the worker thread, within [`ANALYSIS_TIMEOUT`].
fn run_checker(job: Job) -> Result<Checked, Failure> {
    let mut guard = WORKER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.is_none() {
        let worker = Worker::start()
            .map_err(|e| Failure(format!("cannot start the analysis thread: {e}")))?;
        *guard = Some(worker);
    }
    let worker = guard.as_ref().expect("a worker was just started");
    if worker.jobs.send(job).is_err() {
        *guard = None;
        return Err(Failure(
            "the analysis thread stopped; retrying on the next change".into(),
        ));
    }
    match worker.results.recv_timeout(ANALYSIS_TIMEOUT) {
        Ok(Ok(checked)) => Ok(checked),
        Ok(Err(_)) => Err(Failure(
            "the checker failed on this document (an internal error; please report it)".into(),
        )),
        Err(_) => {
            // The worker is stuck on this document: leave it to finish alone, use a new one.
            *guard = None;
            Err(Failure(format!(
                "analysing this document took longer than {} s and was abandoned",
                ANALYSIS_TIMEOUT.as_secs()
            )))
        }
    }
}
