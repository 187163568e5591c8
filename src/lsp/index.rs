//! Name resolution for the editor: walks every user module of a [`Checked`] program and records
//! each name it meets — declarations, uses, parameters, `let` locals, fields, enum variants and
//! named arguments — together with what the name stands for ([`Def`]).
//!
//! Consumes the checked program (its syntax trees, scopes and declarations); produces an
//! [`Index`] that hover, definition, references, rename and completion query by position.
//! Scopes follow LANGUAGE.md: a local is visible from the end of its `let` to the end of its
//! block, a loop variable in the loop body, a comprehension variable in the comprehension, and
//! a parameter in the whole body; locals shadow top-level names.
//!
//! Types are the checker's own, from the [`crate::check::facts::Facts`] it recorded: a local's
//! (see [`Local::ty`]), and the receiver's type that decides which field a `.name` reads.

use std::collections::HashMap;

use crate::check::load::ModuleIdx;
use crate::check::types::{DeclId, DeclKind, Type};
use crate::check::Checked;
use crate::source::Span;
use crate::syntax::ast::{Item, ItemKind, TypeExpr};

pub use super::walk::{field_of, named_arg};

/// The built-in type names, as written in types.
pub const BUILTIN_TYPES: &[&str] = &[
    "int", "float", "str", "bool", "datetime", "duration", "file", "dir", "list", "dict", "none",
];

/// What a name stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Def {
    /// A top-level declaration (for overloaded built-ins, the first overload).
    Decl(DeclId),
    /// Parameter `index` of callable `owner`.
    Param {
        /// The callable.
        owner: DeclId,
        /// The parameter's position.
        index: usize,
    },
    /// Field `index` of struct or class `owner`.
    Field {
        /// The record type.
        owner: DeclId,
        /// The field's position.
        index: usize,
    },
    /// Variant `index` of enum `owner`.
    Variant {
        /// The enum.
        owner: DeclId,
        /// The variant's position.
        index: usize,
    },
    /// A local variable: an index into [`Index::locals`].
    Local(usize),
    /// A built-in type such as `int` or `list`.
    BuiltinType(String),
    /// The module an `import` line loads.
    Module(ModuleIdx),
}

/// One name written in a file.
#[derive(Clone, Debug)]
pub struct Occurrence {
    /// Where the name is written.
    pub span: Span,
    /// What it stands for.
    pub def: Def,
    /// Whether this is the place that declares it.
    pub is_def: bool,
}

/// How a local variable is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalKind {
    /// `let`.
    Let,
    /// `var`.
    Var,
    /// A `for` loop variable.
    Loop,
    /// A comprehension variable.
    Comprehension,
}

/// A local variable.
#[derive(Clone, Debug)]
pub struct Local {
    /// Its name.
    pub name: String,
    /// The name where it is bound.
    pub span: Span,
    /// How it is bound.
    pub kind: LocalKind,
    /// Its type as written (`let x: T = …`).
    pub written: Option<TypeExpr>,
    /// Its type as the checker found it (none when its value has errors, or when the program
    /// was checked without recording facts).
    pub ty: Option<Type>,
    /// Byte range (in the same file) where the name is in scope.
    pub visible: (u32, u32),
    /// The module it is in.
    pub module: ModuleIdx,
}

/// A callable's body, for finding which parameters are in scope at a position.
#[derive(Clone, Debug)]
pub struct Body {
    /// The module.
    pub module: ModuleIdx,
    /// The callable.
    pub owner: DeclId,
    /// From `{` to `}`.
    pub span: Span,
}

/// Every name of every user module of one program.
#[derive(Debug, Default)]
pub struct Index {
    /// Per module (standard library modules stay empty), in source order.
    pub occurrences: Vec<Vec<Occurrence>>,
    /// Every local variable.
    pub locals: Vec<Local>,
    /// Callable bodies.
    pub bodies: Vec<Body>,
    /// The item declaring each declaration: module and item position.
    pub item_of: HashMap<DeclId, (ModuleIdx, usize)>,
}

impl Index {
    /// Indexes every module of `checked` that is not part of the standard library.
    pub fn build(checked: &Checked) -> Index {
        let mut index = Index::default();
        for (m, ids) in checked.item_decls.iter().enumerate() {
            for (i, &id) in ids.iter().enumerate() {
                index.item_of.insert(id, (m, i));
            }
        }
        for (m, module) in checked.modules.iter().enumerate() {
            if module.is_std {
                index.occurrences.push(Vec::new());
                continue;
            }
            let occurrences = super::walk::index_module(checked, m, &mut index);
            index.occurrences.push(occurrences);
        }
        index
    }

    /// The occurrence at byte `offset` of module `m` (a position just after a name counts).
    pub fn at(&self, m: ModuleIdx, offset: usize) -> Option<&Occurrence> {
        let offset = offset as u32;
        let list = self.occurrences.get(m)?;
        list.iter()
            .filter(|o| o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| (o.span.end - o.span.start, u32::from(o.span.end == offset)))
    }

    /// Every occurrence of `def` in the program, declarations included.
    pub fn references<'s>(&'s self, def: &'s Def) -> impl Iterator<Item = &'s Occurrence> + 's {
        self.occurrences
            .iter()
            .flatten()
            .filter(move |o| o.def == *def)
    }

    /// The body enclosing byte `offset` of module `m`.
    pub fn body_at(&self, m: ModuleIdx, offset: usize) -> Option<&Body> {
        let offset = offset as u32;
        self.bodies
            .iter()
            .filter(|b| b.module == m && b.span.start < offset && offset <= b.span.end)
            .min_by_key(|b| b.span.end - b.span.start)
    }

    /// The locals of module `m` in scope at byte `offset`, innermost (latest bound) last.
    pub fn locals_at(&self, m: ModuleIdx, offset: usize) -> Vec<usize> {
        let offset = offset as u32;
        let mut found: Vec<usize> = (0..self.locals.len())
            .filter(|&l| {
                let local = &self.locals[l];
                local.module == m && local.visible.0 <= offset && offset <= local.visible.1
            })
            .collect();
        found.sort_by_key(|&l| self.locals[l].span.start);
        found
    }

    /// What `name` stands for at byte `offset` of module `m`: a local, a parameter of the
    /// enclosing callable, or a top-level name.
    pub fn resolve_at(
        &self,
        checked: &Checked,
        m: ModuleIdx,
        offset: usize,
        name: &str,
    ) -> Option<Def> {
        if let Some(&l) = self
            .locals_at(m, offset)
            .iter()
            .rev()
            .find(|&&l| self.locals[l].name == name)
        {
            return Some(Def::Local(l));
        }
        if let Some(body) = self.body_at(m, offset) {
            if let Some((mm, i)) = self.item_of.get(&body.owner) {
                if let ItemKind::Callable(c) = &checked.modules[*mm].ast.items[*i].kind {
                    if let Some(index) = c.params.iter().position(|p| p.name.name == name) {
                        return Some(Def::Param {
                            owner: body.owner,
                            index,
                        });
                    }
                }
            }
        }
        checked
            .scopes
            .get(m)?
            .get(name)
            .map(|ids| Def::Decl(ids[0]))
    }

    /// The item declaring `id`.
    pub fn item<'c>(&self, checked: &'c Checked, id: DeclId) -> Option<&'c Item> {
        let &(m, i) = self.item_of.get(&id)?;
        checked.modules.get(m)?.ast.items.get(i)
    }

    /// Where `def` is declared (`None` for built-in types).
    pub fn def_span(&self, checked: &Checked, def: &Def) -> Option<Span> {
        match def {
            Def::Decl(id) => Some(checked.decls.get(*id).span),
            Def::Param { owner, index } => match &self.item(checked, *owner)?.kind {
                ItemKind::Callable(c) => c.params.get(*index).map(|p| p.name.span),
                _ => None,
            },
            Def::Field { owner, index } => match &self.item(checked, *owner)?.kind {
                ItemKind::Struct(r) | ItemKind::Class(r) => {
                    r.fields.get(*index).map(|p| p.name.span)
                }
                _ => None,
            },
            Def::Variant { owner, index } => match &self.item(checked, *owner)?.kind {
                ItemKind::Enum(e) => e.variants.get(*index).map(|(_, v)| v.span),
                _ => None,
            },
            Def::Local(l) => self.locals.get(*l).map(|l| l.span),
            Def::BuiltinType(_) => None,
            Def::Module(m) => {
                let file = checked.modules.get(*m)?.file;
                Some(Span {
                    file,
                    start: 0,
                    end: 0,
                })
            }
        }
    }

    /// The type of a parameter, field or local when known.
    pub fn type_of_def(&self, checked: &Checked, def: &Def) -> Option<Type> {
        match def {
            Def::Param { owner, index } => match &checked.decls.get(*owner).kind {
                DeclKind::Callable(sig) => sig.params.get(*index).map(|p| p.ty.clone()),
                _ => None,
            },
            Def::Field { owner, index } => checked
                .decls
                .fields(&Type::Decl(*owner))
                .and_then(|fs| fs.get(*index))
                .map(|f| f.ty.clone()),
            Def::Variant { owner, .. } => Some(Type::Decl(*owner)),
            Def::Local(l) => self.locals.get(*l).and_then(|l| l.ty.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_text_with, load::Disk, Options};

    const SOURCE: &str = "\
struct P { x: float }
enum C { Red, Blue }
task t(p: P, n: int) -> float {
    let a = p.x
    let n = n + 1
    var total = 0.0
    for q in [p] {
        total = total + q.x + a
    }
    let c = C.Red
    [r.x for r in [P(x=1.0)]][0] + total
}
";

    fn check(text: &str) -> Checked {
        let options = Options {
            files: &Disk,
            facts: true,
        };
        check_text_with("index_test.flow", text, &options)
    }

    fn at<'i>(checked: &Checked, index: &'i Index, needle: &str, nth: usize) -> &'i Def {
        let text = &checked.sources.get(checked.modules[1].file).text;
        let offset = text.match_indices(needle).nth(nth).expect("needle").0;
        &index.at(1, offset).expect("an occurrence").def
    }

    #[test]
    fn names_resolve_to_parameters_locals_fields_and_variants() {
        let checked = check(SOURCE);
        let index = Index::build(&checked);
        assert!(matches!(
            at(&checked, &index, "p.x", 0),
            Def::Param { index: 0, .. }
        ));
        assert!(matches!(
            at(&checked, &index, "x\n", 0),
            Def::Field { index: 0, .. }
        ));
        // `let n = n + 1`: the value's `n` is the parameter, later uses are the local.
        assert!(matches!(
            at(&checked, &index, "n + 1", 0),
            Def::Param { index: 1, .. }
        ));
        assert!(matches!(at(&checked, &index, "n = n", 0), Def::Local(_)));
        let total = at(&checked, &index, "total", 0).clone();
        assert_eq!(index.references(&total).count(), 4);
        assert!(matches!(
            at(&checked, &index, "Red", 0),
            Def::Variant { index: 0, .. }
        ));
        // Loop and comprehension variables get their item type, so `.x` resolves.
        assert!(matches!(
            at(&checked, &index, "x + a", 0),
            Def::Field { .. }
        ));
        assert!(matches!(at(&checked, &index, "r.x", 0), Def::Local(_)));
        assert!(matches!(
            at(&checked, &index, "x for", 0),
            Def::Field { .. }
        ));
        let Def::Local(c) = at(&checked, &index, "c = C", 0) else {
            panic!("a local")
        };
        assert!(matches!(index.locals[*c].ty, Some(Type::Decl(_))));
    }

    #[test]
    fn locals_and_receivers_have_the_checkers_types() {
        let source = "\
struct P { x: float }
task t(ps: list[P]) -> float {
    let m = max([1.5, 2.0])
    let (i, last) = enumerate(reversed(ps))[0]
    let z = unwrap([P(x=m)][i]).x
    last.x + z
}
";
        let checked = check(source);
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let index = Index::build(&checked);
        let type_of = |needle: &str| {
            let Def::Local(l) = at(&checked, &index, needle, 0) else {
                panic!("`{needle}` is a local")
            };
            checked
                .decls
                .show(index.locals[*l].ty.as_ref().expect("a type"))
        };
        // Overloaded and generic calls: the instantiated types, not guesses.
        assert_eq!(type_of("m = "), "float");
        assert_eq!(type_of("i, "), "int");
        assert_eq!(type_of("last)"), "P");
        assert_eq!(type_of("z = "), "float");
        // A field read from any expression resolves through the receiver's checked type.
        assert!(matches!(
            at(&checked, &index, "x\n", 0),
            Def::Field { index: 0, .. }
        ));
        assert!(matches!(
            at(&checked, &index, "x + z", 0),
            Def::Field { index: 0, .. }
        ));
    }

    #[test]
    fn scopes_end_with_their_blocks() {
        let checked = check(SOURCE);
        let index = Index::build(&checked);
        let text = &checked.sources.get(checked.modules[1].file).text;
        let inside = text.find("total = total").unwrap();
        let after = text.find("let c").unwrap();
        let name_at = |offset| index.resolve_at(&checked, 1, offset, "q");
        assert!(matches!(name_at(inside), Some(Def::Local(_))));
        assert_eq!(name_at(after), None);
        assert!(matches!(
            index.resolve_at(&checked, 1, after, "a"),
            Some(Def::Local(_))
        ));
        assert!(matches!(
            index.resolve_at(&checked, 1, after, "len"),
            Some(Def::Decl(_))
        ));
    }
}
