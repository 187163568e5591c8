//! Loads a program: the root file, every file it imports (relative to the importing file), the
//! `std.*` modules and the prelude embedded in the binary. Reports E0102 for imports that cannot
//! be read and for import cycles, E0001 for files that are not UTF-8.
//!
//! Consumes a path (or text) and a [`Files`] to read imports through; produces the parsed
//! modules, each with its resolved imports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    let mut loader = Loader {
        loaded: Loaded::default(),
        key_of: HashMap::new(),
        files,
    };
    loader.load_std("prelude", None);
    let root = loader.add_file(name, bytes, false);
    loader.key_of.insert(key_for(path.as_deref()), root);
    loader.follow_imports(root, path.as_deref(), &mut vec![root]);
    loader.loaded
}

struct Loader<'f> {
    loaded: Loaded,
    key_of: HashMap<String, ModuleIdx>,
    files: &'f dyn Files,
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
    /// Adds and parses one file; a file that is not UTF-8 gets E0001 at its first bad byte.
    fn add_file(&mut self, name: String, bytes: Vec<u8>, is_std: bool) -> ModuleIdx {
        let (text, bad_byte) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(at))
            }
        };
        let file = self.loaded.sources.add(name, text);
        let ast = match bad_byte {
            Some(at) => {
                self.loaded.diagnostics.push(
                    Diagnostic::new(
                        Code::E0001,
                        Span::new(file, at..at + 1),
                        "this file is not valid UTF-8",
                        "invalid byte here",
                    )
                    .with_help("save the file as UTF-8"),
                );
                ast::Module::default()
            }
            None => syntax::parse(
                file,
                &self.loaded.sources.get(file).text,
                &mut self.loaded.diagnostics,
            ),
        };
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
        let m = self.add_file(format!("std/{name}.flow"), text.as_bytes().to_vec(), true);
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
        match self.files.read(&path) {
            Ok(bytes) => {
                let target = self.add_file(path.display().to_string(), bytes, false);
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
