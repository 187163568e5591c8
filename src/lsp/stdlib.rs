//! Locations in the standard library. Its files are embedded in the binary, so an editor has
//! nothing to open at `std/prelude.flow`: on first use, each is written (read-only, once per
//! content) under the system's temporary directory, and locations point there. Documents opened
//! from that directory are not analysed: they are declarations without bodies, not programs.

use std::io::Write;
use std::path::{Path, PathBuf};

use lsp_types::Url;
use sha2::{Digest, Sha256};

/// The directory holding the written standard library files.
pub fn root() -> PathBuf {
    std::env::temp_dir().join(format!("flytec-stdlib-{}", env!("CARGO_PKG_VERSION")))
}

/// A URI naming a standard library file without writing it (`flytec:///std/prelude.flow`).
pub fn virtual_uri(name: &str) -> Url {
    Url::parse(&format!("flytec:///{}", name.trim_start_matches('/')))
        .unwrap_or_else(|_| Url::parse("flytec:///std").expect("a valid URI"))
}

/// Whether `path` is one of the written standard library files.
pub fn is_stdlib_path(path: &Path) -> bool {
    path.starts_with(root())
}

/// Writes the standard library file `name` holding `text` (when not already there with that
/// content) and returns its `file:` URI; the virtual URI when it cannot be written.
pub fn materialize(name: &str, text: &str) -> Option<Url> {
    let hash = Sha256::digest(text.as_bytes());
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let relative = Path::new(name);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Some(virtual_uri(name));
    }
    let path = root().join(short).join(relative);
    let current = std::fs::read(&path).ok();
    if current.as_deref() != Some(text.as_bytes()) && write_atomically(&path, text).is_err() {
        return Some(virtual_uri(name));
    }
    Url::from_file_path(&path)
        .ok()
        .or_else(|| Some(virtual_uri(name)))
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("std"),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    let mut permissions = std::fs::metadata(&temp)?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&temp, permissions)?;
    std::fs::rename(&temp, path)
}
