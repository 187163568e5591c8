//! Loads a program: the root file, every file it imports (relative to the importing file), the
//! `std.*` modules and the prelude embedded in the binary. Reports E0102 for imports that cannot
//! be read and for import cycles, E0001 for files that are not UTF-8.
//!
//! Consumes a path (or text) and a [`Files`] to read imports through; produces the parsed
//! modules, each with its resolved imports.
//!
//! Files are parsed in parallel. A file's spans carry its [`FileId`], its place in the order the
//! loader meets files (depth first, following imports), which is only certain once every file
//! before it has been parsed. So a cheap scan of the `import` lines first predicts that order,
//! the predicted files are parsed in parallel, and the loader then walks the imports as before,
//! taking each file's parse when it was predicted at its place and parsing it again otherwise.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::parallel;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};

/// The standard library, embedded: module name and text. `prelude` is always in scope.
const STDLIB: &[(&str, &str)] = &[
    ("prelude", include_str!("../../stdlib/prelude.flow")),
    ("math", include_str!("../../stdlib/math.flow")),
    ("text", include_str!("../../stdlib/text.flow")),
];

/// Index of a module in [`Loaded::modules`].
pub type ModuleIdx = usize;

/// One parsed file of the program.
#[derive(Debug)]
pub struct LoadedModule {
    /// Its file in the source map.
    pub file: FileId,
    /// Its syntax tree.
    pub ast: ast::Module,
    /// For each of `ast.imports`, the module it loaded (none when it could not be loaded).
    pub imports: Vec<Option<ModuleIdx>>,
    /// Whether it is part of the standard library.
    pub is_std: bool,
}

/// Everything loaded for one program.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The text of every file.
    pub sources: SourceMap,
    /// Module 0 is the prelude, module 1 the root file.
    pub modules: Vec<LoadedModule>,
    /// Problems found while loading and parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// The module index of the root file.
pub const ROOT: ModuleIdx = 1;

/// Why the root file could not be read (exit 2: not a program error).
#[derive(Debug)]
pub struct ReadError(pub String);

/// Where the loader reads imported files: [`Disk`] for the command line; the language server
/// reads the editor's unsaved text of open files first.
pub trait Files {
    /// The contents of the file at `path`, or why it cannot be read (`` `a.flow` does not
    /// exist ``), shown after "cannot import …:".
    fn read(&self, path: &Path) -> Result<Vec<u8>, String>;
}

/// The file system.
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        let shown = path.display();
        if path.is_dir() {
            return Err(format!("`{shown}` is a directory"));
        }
        std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{shown}` does not exist"),
            _ => format!("cannot read `{shown}`: {e}"),
        })
    }
}

/// Reads `path` and everything it imports.
pub fn load_path(path: &Path) -> Result<Loaded, ReadError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(ReadError(format!(
            "`{shown}` is a directory, not a .flow file"
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| ReadError(format!("cannot read `{shown}`: {e}")))?;
    Ok(load_bytes(shown, bytes, Some(path.to_path_buf()), &Disk))
}

/// Loads a program whose root file is named `name` and holds `text`; imports are looked up
/// relative to `name`'s directory and read through `files`.
pub fn load_text(name: &str, text: &str, files: &dyn Files) -> Loaded {
    load_bytes(
        name.to_string(),
        text.as_bytes().to_vec(),
        Some(PathBuf::from(name)),
        files,
    )
}

fn load_bytes(name: String, bytes: Vec<u8>, path: Option<PathBuf>, files: &dyn Files) -> Loaded {
    let mut plan = Plan {
        files,
        planned: Vec::new(),
        seen: HashSet::new(),
    };
    plan.std("prelude");
    plan.file(name.clone(), bytes, path.as_deref());
    let mut loader = Loader {
        loaded: Loaded::default(),
        key_of: HashMap::new(),
        files,
        prefetched: prefetch(plan.planned),
    };
    loader.load_std("prelude", None);
    let parsed = loader
        .take_prefetched(&name)
        .expect("the standard library's imports are predicted exactly, so the root comes next");
    let root = loader.add_parsed(name, parsed, false);
    loader.key_of.insert(key_for(path.as_deref()), root);
    loader.follow_imports(root, path.as_deref(), &mut vec![root]);
    loader.loaded
}

/// One file parsed: its text, syntax tree and syntax errors.
struct Parsed {
    text: String,
    ast: ast::Module,
    diagnostics: Vec<Diagnostic>,
}

/// Parses `bytes` as file `file`; a file that is not UTF-8 gets E0001 at its first bad byte.
fn parse_file(file: FileId, bytes: Vec<u8>) -> Parsed {
    let mut diagnostics = Vec::new();
    match String::from_utf8(bytes) {
        Ok(text) => {
            let ast = syntax::parse(file, &text, &mut diagnostics);
            Parsed {
                text,
                ast,
                diagnostics,
            }
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            diagnostics.push(
                Diagnostic::new(
                    Code::E0001,
                    Span::new(file, at..at + 1),
                    "this file is not valid UTF-8",
                    "invalid byte here",
                )
                .with_help("save the file as UTF-8"),
            );
            Parsed {
                text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                ast: ast::Module::default(),
                diagnostics,
            }
        }
    }
}

/// The files a program is predicted to load, in the loader's order, from their `import` lines.
struct Plan<'f> {
    /// Where imported files are read.
    files: &'f dyn Files,
    /// Name and content of each file.
    planned: Vec<(String, Vec<u8>)>,
    /// The keys of the files planned, as [`Loader::key_of`] has them.
    seen: HashSet<String>,
}

impl Plan<'_> {
    fn std(&mut self, name: &str) {
        if !self.seen.insert(format!("std:{name}")) {
            return;
        }
        if let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == name) {
            self.file(format!("std/{name}.flow"), text.as_bytes().to_vec(), None);
        }
    }

    /// Plans file `name` (at `path`) and then, depth first, the files it imports.
    fn file(&mut self, name: String, bytes: Vec<u8>, path: Option<&Path>) {
        self.seen.insert(key_for(path));
        let imports = scan_imports(&bytes);
        self.planned.push((name, bytes));
        for import in imports {
            match import {
                ast::ImportTarget::Std(name) => self.std(&name),
                ast::ImportTarget::File(rel) => {
                    let base = path.and_then(Path::parent).unwrap_or(Path::new(""));
                    let target = base.join(rel);
                    if self.seen.contains(&key_for(Some(&target))) {
                        continue;
                    }
                    if let Ok(bytes) = self.files.read(&target) {
                        self.file(target.display().to_string(), bytes, Some(&target));
                    }
                }
            }
        }
    }
}

/// The imports of a file as far as its lines starting with `import` tell: a guess, which the
/// parser confirms. A path with escapes is left out.
fn scan_imports(bytes: &[u8]) -> Vec<ast::ImportTarget> {
    let mut imports = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.trim_ascii_start();
        let Some(rest) = line.strip_prefix(b"import") else {
            continue;
        };
        let target = rest.trim_ascii_start();
        if target.len() == rest.len() {
            continue;
        }
        if let Some(quoted) = target.strip_prefix(b"\"") {
            let Some(end) = quoted.iter().position(|&b| b == b'"') else {
                continue;
            };
            match std::str::from_utf8(&quoted[..end]) {
                Ok(path) if !path.contains('\\') => {
                    imports.push(ast::ImportTarget::File(path.to_string()))
                }
                _ => {}
            }
        } else if let Some(name) = target.strip_prefix(b"std.") {
            let end = name
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
                .unwrap_or(name.len());
            if let Ok(name) = std::str::from_utf8(&name[..end]) {
                imports.push(ast::ImportTarget::Std(name.to_string()));
            }
        }
    }
    imports
}

/// Parses the planned files in parallel, file `i` as `FileId(i)`.
fn prefetch(files: Vec<(String, Vec<u8>)>) -> Vec<Option<Prefetched>> {
    let jobs = files
        .into_iter()
        .map(|(name, bytes)| (bytes.len(), (name, bytes)))
        .collect();
    parallel::map(jobs, |i, (name, bytes)| {
        let parsed = parse_file(FileId(i as u32), bytes);
        Some(Prefetched { name, parsed })
    })
}

/// A file parsed ahead of the loader, at the place the plan predicted for it.
struct Prefetched {
    name: String,
    parsed: Parsed,
}

struct Loader<'f> {
    loaded: Loaded,
    key_of: HashMap<String, ModuleIdx>,
    files: &'f dyn Files,
    /// The files parsed ahead, by predicted file id; each is taken (or left) once.
    prefetched: Vec<Option<Prefetched>>,
}

fn key_for(path: Option<&Path>) -> String {
    match path {
        Some(p) => std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string(),
        None => String::new(),
    }
}

impl Loader<'_> {
    /// The id the next file added gets.
    fn next_file(&self) -> FileId {
        FileId(self.loaded.modules.len() as u32)
    }

    /// The parse of file `name` if it was predicted to come next.
    fn take_prefetched(&mut self, name: &str) -> Option<Parsed> {
        let next = self.next_file().0 as usize;
        let slot = self.prefetched.get_mut(next)?;
        match slot.take() {
            Some(p) if p.name == name => Some(p.parsed),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// Parses and adds one file.
    fn add_file(&mut self, name: String, bytes: Vec<u8>, is_std: bool) -> ModuleIdx {
        let parsed = parse_file(self.next_file(), bytes);
        self.add_parsed(name, parsed, is_std)
    }

    /// Adds a file parsed as the next one.
    fn add_parsed(&mut self, name: String, parsed: Parsed, is_std: bool) -> ModuleIdx {
        let Parsed {
            text,
            ast,
            diagnostics,
        } = parsed;
        let file = self.loaded.sources.add(name, text);
        debug_assert_eq!(file.0 as usize, self.loaded.modules.len());
        self.loaded.diagnostics.extend(diagnostics);
        let imports = vec![None; ast.imports.len()];
        self.loaded.modules.push(LoadedModule {
            file,
            ast,
            imports,
            is_std,
        });
        self.loaded.modules.len() - 1
    }

    fn load_std(&mut self, name: &str, import_span: Option<Span>) -> Option<ModuleIdx> {
        let key = format!("std:{name}");
        if let Some(&m) = self.key_of.get(&key) {
            return Some(m);
        }
        let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == name) else {
            if let Some(span) = import_span {
                let known: Vec<&str> = STDLIB
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| *n != "prelude")
                    .collect();
                self.loaded.diagnostics.push(
                    Diagnostic::new(
                        Code::E0102,
                        span,
                        format!("there is no standard module `std.{name}`"),
                        "not in the standard library",
                    )
                    .with_help(format!(
                        "the standard modules are {}",
                        known
                            .iter()
                            .map(|n| format!("`std.{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
            return None;
        };
        let file_name = format!("std/{name}.flow");
        let m = match self.take_prefetched(&file_name) {
            Some(parsed) => self.add_parsed(file_name, parsed, true),
            None => self.add_file(file_name, text.as_bytes().to_vec(), true),
        };
        self.key_of.insert(key, m);
        let mut stack = vec![m];
        self.follow_imports(m, None, &mut stack);
        Some(m)
    }

    /// Loads the imports of module `m` (file at `path`), depth first; `stack` holds the chain of
    /// modules being loaded, to detect cycles.
    fn follow_imports(&mut self, m: ModuleIdx, path: Option<&Path>, stack: &mut Vec<ModuleIdx>) {
        let imports = self.loaded.modules[m].ast.imports.clone();
        for (i, import) in imports.iter().enumerate() {
            let target = match &import.target {
                ast::ImportTarget::Std(name) => self.load_std(name, Some(import.target_span)),
                ast::ImportTarget::File(rel) => self.load_relative(rel, path, import, stack),
            };
            self.loaded.modules[m].imports[i] = target;
        }
    }

    fn load_relative(
        &mut self,
        rel: &str,
        from: Option<&Path>,
        import: &ast::Import,
        stack: &mut Vec<ModuleIdx>,
    ) -> Option<ModuleIdx> {
        let base = from.and_then(Path::parent).unwrap_or(Path::new(""));
        let path = base.join(rel);
        let key = key_for(Some(&path));
        if let Some(&target) = self.key_of.get(&key) {
            if let Some(pos) = stack.iter().position(|&s| s == target) {
                self.report_cycle(&stack[pos..], target, import.target_span);
            }
            return Some(target);
        }
        let shown = path.display().to_string();
        if let Some(parsed) = self.take_prefetched(&shown) {
            let target = self.add_parsed(shown, parsed, false);
            self.key_of.insert(key, target);
            stack.push(target);
            self.follow_imports(target, Some(&path), stack);
            stack.pop();
            return Some(target);
        }
        match self.files.read(&path) {
            Ok(bytes) => {
                let target = self.add_file(shown, bytes, false);
                self.key_of.insert(key, target);
                stack.push(target);
                self.follow_imports(target, Some(&path), stack);
                stack.pop();
                Some(target)
            }
            Err(why) => {
                self.loaded.diagnostics.push(
                    Diagnostic::new(
                        Code::E0102,
                        import.target_span,
                        format!("cannot import \"{rel}\": {why}"),
                        "imported here",
                    )
                    .with_note("import paths are relative to the importing file"),
                );
                None
            }
        }
    }

    fn report_cycle(&mut self, chain: &[ModuleIdx], target: ModuleIdx, span: Span) {
        let name = |m: ModuleIdx| {
            self.loaded
                .sources
                .get(self.loaded.modules[m].file)
                .name
                .clone()
        };
        let mut path: Vec<String> = chain.iter().map(|&m| name(m)).collect();
        path.push(name(target));
        self.loaded.diagnostics.push(
            Diagnostic::new(
                Code::E0102,
                span,
                format!("import cycle: {}", path.join(" → ")),
                "this import closes the cycle",
            )
            .with_help("move the declarations both files need into a third file that both import"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports_parsed(text: &str) -> Vec<ast::ImportTarget> {
        let module = syntax::parse(FileId(0), text, &mut Vec::new());
        module.imports.into_iter().map(|i| i.target).collect()
    }

    #[test]
    fn the_standard_library_imports_are_predicted_exactly() {
        for (name, text) in STDLIB {
            assert_eq!(
                scan_imports(text.as_bytes()),
                imports_parsed(text),
                "{name}"
            );
        }
    }

    #[test]
    fn the_scan_reads_import_lines() {
        let text =
            "import \"a.flow\"\n  import std.math\nimportx \"b.flow\"\n# import \"c.flow\"\n";
        assert_eq!(scan_imports(text.as_bytes()), imports_parsed(text));
    }

    /// A line that only looks like an import (inside a string) shifts the predicted order; the
    /// files after it are parsed again at their real places.
    #[test]
    fn a_wrong_prediction_loads_the_same_program() {
        let dir = tempfile::tempdir().unwrap();
        let lib = "fn one() -> int { 1 }\n".repeat(4000);
        std::fs::write(
            dir.path().join("a.flow"),
            format!("import \"c.flow\"\n{lib}"),
        )
        .unwrap();
        std::fs::write(dir.path().join("b.flow"), "fn two() -> int { 2 }\n").unwrap();
        std::fs::write(dir.path().join("c.flow"), "fn three() -> int { 3 }\n").unwrap();
        let main = dir.path().join("main.flow");
        std::fs::write(
            &main,
            "fn text() -> str {\n    \"\"\"\nimport \"b.flow\"\n\"\"\"\n}\nimport \"a.flow\"\nimport \"b.flow\"\n",
        )
        .unwrap();
        let loaded = load_path(&main).unwrap();
        let names: Vec<String> = loaded
            .modules
            .iter()
            .map(|m| {
                let name = &loaded.sources.get(m.file).name;
                name.rsplit('/').next().unwrap().to_string()
            })
            .collect();
        assert_eq!(
            names,
            ["prelude.flow", "main.flow", "a.flow", "c.flow", "b.flow"]
        );
        for (i, m) in loaded.modules.iter().enumerate() {
            assert_eq!(m.file.0 as usize, i);
            for item in &m.ast.items {
                assert_eq!(item.span.file, m.file);
            }
        }
    }
}
