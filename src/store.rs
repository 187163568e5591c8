//! The run directory (LANGUAGE.md section 9): per node, its input and output literal maps and
//! its pickle files; the run record; and the task cache. Every file is written atomically — a
//! temporary file, then a rename — so an interrupted run never leaves a half-written literal.
//! Only this module touches the disk for a run.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::literal::BlobStore;
use crate::parallel::par_map;

/// A run's directory and the cache beside it.
pub struct Store {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Where cached task outputs live.
    pub cache_dir: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. The directory
/// is created when it is missing (and only then: a write costs no `mkdir` or `stat` otherwise).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static PID: OnceLock<u32> = OnceLock::new();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("file");
    let pid = PID.get_or_init(std::process::id);
    let temp = path.with_file_name(format!(".{name}.{pid}.{n}.tmp"));
    match std::fs::write(&temp, bytes) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&temp, bytes)?;
        }
        written => written?,
    }
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Seconds since the Unix epoch, for the run record.
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A new run id: the time and a counter, sortable.
fn run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{:06}-{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id()
    )
}

impl Store {
    /// Creates the run directory: `run_dir`, or `.flytec/runs/RUN_ID`. The cache is
    /// `cache_dir`, or `.flytec/cache` (beside `runs/`) for the default run directory, or `cache`
    /// beside a chosen one. Both are made absolute, so the pickle URIs written are too.
    pub fn create(run_dir: Option<PathBuf>, cache_dir: Option<PathBuf>) -> io::Result<Store> {
        let default_cache = match &run_dir {
            Some(dir) => dir.parent().unwrap_or(Path::new(".")).join("cache"),
            None => Path::new(".flytec").join("cache"),
        };
        let run_dir = run_dir.unwrap_or_else(|| Path::new(".flytec").join("runs").join(run_id()));
        std::fs::create_dir_all(&run_dir)?;
        let run_dir = std::fs::canonicalize(&run_dir)?;
        let cache_dir = std::path::absolute(cache_dir.unwrap_or(default_cache))?;
        Ok(Store { run_dir, cache_dir })
    }

    /// The files of node `id` (ids are paths such as `entry/n2`, or `entry/n4/7` for map items).
    pub fn node(&self, id: &str) -> NodeFiles {
        let dir = self.run_dir.join("nodes").join(id);
        let beside = |suffix: &str| {
            let mut name = dir.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            dir.with_file_name(name)
        };
        NodeFiles {
            inputs: beside(".inputs.json"),
            outputs: beside(".outputs.json"),
            dir,
        }
    }

    /// Writes a JSON document atomically.
    pub fn write_json(&self, path: &Path, value: &impl Serialize) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        atomic_write(path, &text)
    }

    /// Reads a JSON document.
    pub fn read_json(&self, path: &Path) -> io::Result<serde_json::Value> {
        let text = read_file(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// The blob store of one node: pickle files under the node's directory.
    pub fn blobs(&self, dir: PathBuf) -> DirBlobs {
        DirBlobs {
            dir,
            counter: AtomicU64::new(0),
        }
    }

    /// The cache entry directory for `key`.
    pub fn cache_entry(&self, key: &str) -> PathBuf {
        self.cache_dir.join(key)
    }
}

/// Where one node's files go: its input and output literal maps, `ID.inputs.json` and
/// `ID.outputs.json`, beside the directory `ID/` of its pickle files, scratch files and inner
/// nodes. The directory is made only when something goes in it, so a node of plain values
/// costs no `mkdir`.
#[derive(Clone, Debug)]
pub struct NodeFiles {
    /// The input literal map.
    pub inputs: PathBuf,
    /// The output literal map.
    pub outputs: PathBuf,
    /// The node's directory.
    pub dir: PathBuf,
}

/// The cache key of a task call: its name, cache version, interface and inputs.
pub fn cache_key(
    task: &str,
    version: &str,
    interface: &serde_json::Value,
    inputs: &serde_json::Value,
) -> String {
    let mut hash = Sha256::new();
    for part in [task, version, &interface.to_string(), &inputs.to_string()] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Pickle files in one directory, named in write order.
pub struct DirBlobs {
    dir: PathBuf,
    counter: AtomicU64,
}

impl DirBlobs {
    /// Writes file number `n`.
    fn write_numbered(&self, n: u64, bytes: &[u8]) -> Result<String, String> {
        let path = self.dir.join(format!("{n:05}.pkl"));
        atomic_write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(format!("file://{}", path.display()))
    }
}

impl BlobStore for DirBlobs {
    fn write(&self, bytes: &[u8]) -> Result<String, String> {
        self.write_numbered(self.counter.fetch_add(1, Ordering::Relaxed), bytes)
    }

    /// The files are written in parallel, their numbers taken in order first.
    fn write_all(&self, files: &[Vec<u8>]) -> Result<Vec<String>, String> {
        let first = self
            .counter
            .fetch_add(files.len() as u64, Ordering::Relaxed);
        let numbered: Vec<(u64, &Vec<u8>)> = (first..).zip(files).collect();
        par_map(&numbered, |(n, bytes)| self.write_numbered(*n, bytes))
    }

    fn read(&self, uri: &str) -> Result<Vec<u8>, String> {
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        read_file(Path::new(path)).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

/// The bytes of the regular file at `path`. Anything else is refused: a directory, or a device
/// such as `/dev/zero` put in a damaged store, which would be read forever.
fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// What happened to one node, for the run record.
#[derive(Clone, Debug, Serialize)]
pub struct NodeRecord {
    /// The node's id (`n0`, `n3/2` for item 2 of map node 3).
    pub id: String,
    /// The task or workflow it ran.
    pub name: String,
    /// `task`, `workflow`, `map`, `branch`.
    pub kind: String,
    /// `succeeded`, `failed`, `skipped`.
    pub status: String,
    /// How many attempts ran.
    pub attempts: u32,
    /// When it started, seconds since the epoch.
    pub started: f64,
    /// When it ended.
    pub ended: f64,
    /// `hit`, `miss`, or absent for uncached tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// The input literal map file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<PathBuf>,
    /// The output literal map file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<PathBuf>,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl NodeRecord {
    /// The status of a node that ran once: `succeeded` or `failed`.
    pub fn status_of(ok: bool) -> String {
        if ok { "succeeded" } else { "failed" }.into()
    }
}

/// The run record, `run.json` in the run directory.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// The entry that ran.
    pub entry: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// When the run started.
    pub started: f64,
    /// When it ended.
    pub ended: f64,
    /// Every node.
    pub nodes: Vec<NodeRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_named_in_their_order() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let blobs = DirBlobs {
            dir: dir.path().to_path_buf(),
            counter: AtomicU64::new(0),
        };
        let first = blobs.write(b"before").expect("written");
        let files: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 3]).collect();
        let uris = blobs.write_all(&files).expect("written");
        assert!(first.ends_with("/00000.pkl"), "{first}");
        for (k, (uri, bytes)) in uris.iter().zip(&files).enumerate() {
            assert!(uri.ends_with(&format!("/{:05}.pkl", k + 1)), "{uri}");
            assert_eq!(&blobs.read(uri).expect("read back"), bytes);
        }
    }
}
