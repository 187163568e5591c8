//! The long explanations behind `flytec explain CODE`.
//!
//! Consumes a [`Code`]; produces Markdown-ish plain text: a title line (`E0200: type mismatch`),
//! what the problem is and why Flow rejects it, an example of the mistake, and the fixed program.
//! The example programs are also available on their own ([`examples`]) so that tests can check
//! that each mistake is reported with its code and each fixed version is accepted.

use super::{Code, Severity};

/// The heading above the program that shows the mistake.
pub const MISTAKE_HEADING: &str = "Example of the mistake:";

/// The heading above the corrected program.
pub const FIXED_HEADING: &str = "Fixed:";

/// The Flow programs of one explanation. Each is a whole single-file program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Examples {
    /// A program that `flytec check` reports with the code.
    pub mistake: &'static str,
    /// Corrected versions of `mistake`, the main one first; `flytec check` accepts each of them
    /// without any diagnostic.
    pub fixed: Vec<&'static str>,
}

/// One code's entry: prose, the mistake, the fix, and optionally another way to fix it.
struct Entry {
    /// What the problem is and why Flow rejects it (paragraphs separated by blank lines).
    why: &'static str,
    mistake: &'static str,
    fixed: &'static str,
    /// A sentence introducing a second fix, and that fix.
    alternative: Option<(&'static str, &'static str)>,
}

/// The long explanation of `code`, ending in a newline.
pub fn explain(code: Code) -> String {
    let entry = entry(code);
    let mut text = format!("{code}: {}\n\n{}\n", code.title(), entry.why.trim());
    if code.severity() == Severity::Warning {
        text.push_str(
            "\nThis is a warning: `flytec check` still succeeds (exit status 0) unless it\n\
             runs with `--deny warnings`.\n",
        );
    }
    text.push_str(&format!(
        "\n{MISTAKE_HEADING}\n\n```flow\n{}```\n",
        entry.mistake
    ));
    text.push_str(&format!(
        "\n{FIXED_HEADING}\n\n```flow\n{}```\n",
        entry.fixed
    ));
    if let Some((intro, program)) = entry.alternative {
        text.push_str(&format!("\n{intro}\n\n```flow\n{program}```\n"));
    }
    text
}

/// The example programs of `code`'s explanation.
pub fn examples(code: Code) -> Examples {
    let entry = entry(code);
    let mut fixed = vec![entry.fixed];
    fixed.extend(entry.alternative.map(|(_, program)| program));
    Examples {
        mistake: entry.mistake,
        fixed,
    }
}

fn entry(code: Code) -> Entry {
    match code {
        Code::E0001 => Entry {
            why: "
The file does not follow Flow's grammar. The message says what the parser expected at the
labelled place, which is where it stopped understanding the text; the real mistake is often
just before it.

Common causes: a missing comma between parameters, arguments or fields; an unclosed `(`, `[`
or `{`; a keyword (`type`, `in`, `fail`, ...) used as a name; two statements on one line
(newlines end statements, except inside brackets). There are no bare blocks: a `{` where an
expression starts opens a dict literal.

`flytec check` skips a declaration it cannot read and goes on with the next one, so one typo
does not hide the rest of the file. Fix the first syntax error first: later ones may follow
from it.",
            mistake: "\
task add(a: int b: int) -> int {
    a + b
}
",
            fixed: "\
task add(a: int, b: int) -> int {
    a + b
}
",
            alternative: None,
        },

        Code::E0100 => Entry {
            why: "
A name is used that nothing in scope declares: a type, task, workflow, `fn`, variable,
`.field`, or enum variant. The message suggests a similar name when there is one (\"did you
mean\").

Top-level names are visible in the whole file, whatever the order of declarations. Local
variables are visible after their `let` or `var`, inside the block that declares them. Names
from other files need an `import` (`import \"common.flow\"`, `import std.text`); the prelude's
built-in functions (`len`, `sum`, `split`, ...) are always in scope.

Flyte would only find a misspelt task when the Python module is imported or the workflow is
registered; Flow finds it before anything runs.",
            mistake: "\
task double(x: int) -> int {
    x * 2
}

workflow main(x: int) -> int {
    doubel(x=x)
}
",
            fixed: "\
task double(x: int) -> int {
    x * 2
}

workflow main(x: int) -> int {
    double(x=x)
}
",
            alternative: None,
        },

        Code::E0101 => Entry {
            why: "
A name is declared twice where it must be unique: two top-level declarations (tasks,
workflows, `fn`s, structs, classes, enums, extern types and aliases share one namespace), two
parameters of one task, two fields of one struct, or two variants of one enum. Both places are
labelled; the later declaration is the primary one.

Task and workflow names identify nodes and interfaces in Flyte, so they cannot be ambiguous.
A parameter or local variable may shadow a top-level name: that is not this error.",
            mistake: "\
task clean(s: str) -> str {
    strip(s)
}

task clean(s: str) -> str {
    lower(strip(s))
}
",
            fixed: "\
task clean(s: str) -> str {
    strip(s)
}

task clean_lower(s: str) -> str {
    lower(strip(s))
}
",
            alternative: None,
        },

        Code::E0102 => Entry {
            why: "
An `import` names a file that cannot be found, or imports form a cycle.

`import \"path.flow\"` is resolved relative to the importing file, not to the directory
`flytec` runs in. `import std.NAME` names a module of the standard library shipped inside the
binary (for example `std.text` or `std.math`).

A cycle (`a.flow` imports `b.flow`, which imports `a.flow`, directly or through other files)
is rejected because neither file can be checked first. Move the declarations both files need
into a third file that both import.",
            mistake: "\
import std.txt

task count(text: str) -> int {
    word_count(text)
}
",
            fixed: "\
import std.text

task count(text: str) -> int {
    word_count(text)
}
",
            alternative: None,
        },

        Code::E0200 => Entry {
            why: "
A value's type is not the type expected where it is used. The message gives the expected and
the found type, and the labels show where each comes from: for a call, the parameter that
expects the type and the argument that has the other one.

Types are compared structurally (aliases expanded), and struct, class, enum and extern types by
name. Only two conversions are implicit: an `int` is accepted where a `float` is expected, and
a `T` (or `none`) where a `T?` or a union containing `T` is expected. Anything else needs an
explicit conversion such as `int(s)` or `str(n)`, inside a task or `fn` body.

Every value crossing a task boundary becomes a Flyte literal of the parameter's literal type
(`{\"simple\": \"INTEGER\"}` for `int`, `{\"simple\": \"STRING\"}` for `str`). In Flyte a mismatch
shows up when the workflow is compiled or run, often naming only a node id; `flytec check`
reports it before anything runs, at the places involved.",
            mistake: "\
task scale(x: float, factor: int) -> float {
    x * factor
}

workflow main(x: float, factor: str) -> float {
    scale(x=x, factor=factor)
}
",
            fixed: "\
task scale(x: float, factor: int) -> float {
    x * factor
}

workflow main(x: float, factor: int) -> float {
    scale(x=x, factor=factor)
}
",
            alternative: None,
        },

        Code::E0201 => Entry {
            why: "
A call leaves out a parameter that has no default value. The same holds for the fields of a
struct or class built with `S(...)`: a field without a default must be given.

A Flyte task input without a default is required; launching the task without it fails at run
time. `flytec check` reports it at the call. Either pass the argument or give the parameter a
default in the declaration (`width: int = 640`).",
            mistake: "\
task resize(path: str, width: int, height: int = 0) -> str {
    \"{path}@{width}x{height}\"
}

workflow main(path: str) -> str {
    resize(path=path)
}
",
            fixed: "\
task resize(path: str, width: int, height: int = 0) -> str {
    \"{path}@{width}x{height}\"
}

workflow main(path: str) -> str {
    resize(path=path, width=640)
}
",
            alternative: None,
        },

        Code::E0202 => Entry {
            why: "
A call passes a named argument that the callee has no parameter for, or a constructor `S(...)`
names a field that the struct or class does not have. The message suggests the closest
existing name.

Flyte binds task inputs by name, so an unknown name cannot be matched to any input; a typo in
the name of a parameter with a default would otherwise silently use the default.",
            mistake: "\
struct Point { x: float, y: float }

task scale(p: Point, factor: float = 1.0) -> Point {
    Point(x=p.x * factor, y=p.y * factor)
}

workflow main(x: float, y: float) -> Point {
    scale(p=Point(x=x, y=y), factr=2.0)
}
",
            fixed: "\
struct Point { x: float, y: float }

task scale(p: Point, factor: float = 1.0) -> Point {
    Point(x=p.x * factor, y=p.y * factor)
}

workflow main(x: float, y: float) -> Point {
    scale(p=Point(x=x, y=y), factor=2.0)
}
",
            alternative: None,
        },

        Code::E0203 => Entry {
            why: "
Arguments are positional first, then named (`name=value`). This error is a positional argument
after a named one, or a parameter given twice (by position and by name, or by name twice).

Positional arguments fill the parameters in order; once an argument is named, the position of
the ones after it would be ambiguous. Flyte binds every input by name: Flow maps positional
arguments to names, so each parameter must receive exactly one value.",
            mistake: "\
task greet(name: str, greeting: str = \"Hello\") -> str {
    \"{greeting}, {name}!\"
}

workflow main(name: str) -> str {
    greet(greeting=\"Hi\", name)
}
",
            fixed: "\
task greet(name: str, greeting: str = \"Hello\") -> str {
    \"{greeting}, {name}!\"
}

workflow main(name: str) -> str {
    greet(name, greeting=\"Hi\")
}
",
            alternative: None,
        },

        Code::E0204 => Entry {
            why: "
The number of values does not fit: a `let (a, b, ...)` destructures a tuple, or the outputs of
a task or workflow, into more or fewer names than there are values, or a body returns a tuple
with a different number of items than the declared outputs.

A task declared `-> (total: float, mean: float)` has two Flyte outputs, `total` and `mean`;
`let (t, m) = stats(xs=xs)` binds one promise to each. To use a single output, read it by name
instead: `stats(xs=xs).mean`.",
            mistake: "\
task stats(xs: list[float]) -> (total: float, mean: float) {
    let t = sum(xs)
    (total=t, mean=t / len(xs))
}

workflow summarize(xs: list[float]) -> (total: float, mean: float) {
    let (total, mean, count) = stats(xs=xs)
    (total=total, mean=mean)
}
",
            fixed: "\
task stats(xs: list[float]) -> (total: float, mean: float) {
    let t = sum(xs)
    (total=t, mean=t / len(xs))
}

workflow summarize(xs: list[float]) -> (total: float, mean: float) {
    let (total, mean) = stats(xs=xs)
    (total=total, mean=mean)
}
",
            alternative: None,
        },

        Code::E0205 => Entry {
            why: "
The outputs a task or workflow declares do not match what its body produces: a result of
another type (`-> int` with a body ending in `sum(xs) / len(xs)`, which is a `float` because
`/` always gives one; `//` is floor division), a named tuple whose names differ from the
declared ones, or a body whose last line is a statement (`let`, `for`, `while`, an `if`
without `else`) and so produces no value although an output is declared. Without a declared
output there is nothing to match: the body's value is discarded.

The declared outputs are the Flyte interface: a single output is named `o0`, a named tuple's
items keep their names, and downstream nodes bind to those names. The body must produce exactly
that interface.",
            mistake: "\
task stats(xs: list[float]) -> (total: float, mean: float) {
    let t = sum(xs)
    (sum=t, mean=t / len(xs))
}
",
            fixed: "\
task stats(xs: list[float]) -> (total: float, mean: float) {
    let t = sum(xs)
    (total=t, mean=t / len(xs))
}
",
            alternative: None,
        },

        Code::E0300 => Entry {
            why: "
A workflow body computes with a promise. A workflow is not executed line by line: it is
compiled into a graph of nodes, and every name bound in it, including the workflow's inputs,
is a promise of a value that does not exist yet. Arithmetic, string interpolation, calling a
`fn`, a comparison outside a branch condition, or a `for` or `while` loop on a promise has
nothing to compute with.

In flytekit the same code fails when the workflow is compiled or, in an f-string, quietly
formats the promise object instead of its value; Flow rejects it. Inside a workflow body you
can call tasks and workflows, pass promises and literals as arguments, read `x.field`, `x.0`,
`x[0]` and `x[\"key\"]` with literal indices, branch with `if` on comparisons, and map a task
over a list with `[t(x=i) for i in xs]`.

Move the computation into a task (which receives real values), and call that task from the
workflow.",
            mistake: "\
task count_words(text: str) -> int {
    len(split(text, \" \"))
}

workflow report(text: str) -> str {
    let n = count_words(text=text)
    \"{n} words, about {n // 250} minutes to read\"
}
",
            fixed: "\
task count_words(text: str) -> int {
    len(split(text, \" \"))
}

task describe(n: int) -> str {
    \"{n} words, about {n // 250} minutes to read\"
}

workflow report(text: str) -> str {
    let n = count_words(text=text)
    describe(n=n)
}
",
            alternative: None,
        },

        Code::E0301 => Entry {
            why: "
An `if` in a workflow body becomes a Flyte branch node, decided when the run reaches it. That
restricts it in three ways, and breaking one is this error:

- the condition compares promises and literals with `== != < <= > >=`, combined with `and`,
  `or` and `not`; anything else (a call, arithmetic) must first be computed by a task, whose
  output is then compared, e.g. `ok == true`;
- an `else` is required, because the node must produce its outputs on every path; a branch
  that should not happen may be `fail(\"message\")`;
- every branch produces the same output type.",
            mistake: "\
task score(text: str) -> int {
    len(text)
}

task accept(text: str) -> str {
    \"accepted: {text}\"
}

workflow review(text: str) -> str {
    let s = score(text=text)
    if s > 10 {
        accept(text=text)
    }
}
",
            fixed: "\
task score(text: str) -> int {
    len(text)
}

task accept(text: str) -> str {
    \"accepted: {text}\"
}

task reject(text: str) -> str {
    \"rejected: {text}\"
}

workflow review(text: str) -> str {
    let s = score(text=text)
    if s > 1000 {
        fail(\"text too long to review\")
    } else if s > 10 {
        accept(text=text)
    } else {
        reject(text=text)
    }
}
",
            alternative: None,
        },

        Code::E0302 => Entry {
            why: "
A workflow calls itself, directly or through other workflows. A workflow is compiled into a
fixed graph of nodes before it runs, and a recursive workflow would need an infinite graph.
(Flyte handles this with dynamic workflows, which Flow does not have.)

Repetition belongs in a task body, where `while` and `for` loops run on real values; a `fn`
may also call itself.",
            mistake: "\
task halve(n: int) -> int {
    n // 2
}

task done(n: int) -> int {
    n
}

workflow shrink(n: int) -> int {
    let h = halve(n=n)
    if h > 1 {
        shrink(n=h)
    } else {
        done(n=h)
    }
}
",
            fixed: "\
task shrink_all(n: int) -> int {
    var x = n // 2
    while x > 1 {
        x = x // 2
    }
    x
}

workflow shrink(n: int) -> int {
    shrink_all(n=n)
}
",
            alternative: None,
        },

        Code::E0303 => Entry {
            why: "
A task or `fn` body calls a task or a workflow. Tasks are the nodes of a workflow: each one
runs on its own, with its inputs and outputs stored as literals, its own retries, cache and
timeout. A call from inside another task would bypass all of that (in flytekit it silently
runs as a plain Python function), so Flow rejects it.

Put logic shared by several tasks into a `fn`, which task bodies may call. To run a task once
per item of a list, in parallel, call it from a workflow with a map comprehension.",
            mistake: "\
task clean(s: str) -> str {
    lower(strip(s))
}

task clean_all(items: list[str]) -> list[str] {
    [clean(s=i) for i in items]
}
",
            fixed: "\
fn clean(s: str) -> str {
    lower(strip(s))
}

task clean_all(items: list[str]) -> list[str] {
    [clean(i) for i in items]
}
",
            alternative: Some((
                "Or keep `clean` a task and make the caller a workflow: it runs one `clean`\n\
                 node per item, in parallel:",
                "\
task clean(s: str) -> str {
    lower(strip(s))
}

workflow clean_all(items: list[str]) -> list[str] {
    [clean(s=i) for i in items]
}
",
            )),
        },

        Code::E0400 => Entry {
            why: "
An annotation is unknown, misplaced, or has arguments of the wrong type or out of range.

- `@batch(n)` goes after a list type whose items are pickled, and `n` must be at least 1.
  (Flyte's `BatchSize(0)` silently drops the data; Flow refuses it.)
- `@retries(n)` needs `n >= 0`, `@timeout(d)` a duration such as `30s`, `@cache(version=\"...\")`
  a string; these and `@resources(...)` stand before a task.
- `@allow(pickle)` stands before a `class` or `extern type`.

The message says which rule is broken.",
            mistake: "\
@allow(pickle)
class People {
    name: str
}

task greet_all(names: list[str]) -> list[People] @batch(0) {
    [People(name=n) for n in names]
}
",
            fixed: "\
@allow(pickle)
class People {
    name: str
}

task greet_all(names: list[str]) -> list[People] @batch(2) {
    [People(name=n) for n in names]
}
",
            alternative: None,
        },

        Code::E0401 => Entry {
            why: "
A task or workflow input or output has a type that has no Flyte literal type.

- A `dict` crossing a task boundary must have `str` keys: Flyte maps are string-keyed. Convert
  the keys with `str(...)`, or use a list of structs that keeps the key's type, e.g.
  `list[LengthCount]` with `struct LengthCount { length: int, count: int }`.
- A tuple such as `(float, float)` exists only inside bodies, and as a task's list of outputs.
  As an input, or inside a list, dict or struct, use a `struct` instead.",
            mistake: "\
task length_histogram(words: list[str]) -> dict[int, int] {
    var counts: dict[int, int] = {}
    for w in words {
        counts[len(w)] = (counts[len(w)] ?? 0) + 1
    }
    counts
}
",
            fixed: "\
task length_histogram(words: list[str]) -> dict[str, int] {
    var counts: dict[str, int] = {}
    for w in words {
        let key = str(len(w))
        counts[key] = (counts[key] ?? 0) + 1
    }
    counts
}
",
            alternative: None,
        },

        Code::W0100 => Entry {
            why: "
A `class` or `extern type` is a type Flyte's type engine does not know, so its values travel
as Pickle (Flyte's FlytePickle): each value is written as a Python pickle file, a blob of
format `PythonPickle`. That is slower than a known type, opaque to Flyte (no schema, nothing to
show in the UI, unreadable outside Python), and ties the stored values to one Python version.

Declare the type as a `struct` when it is plain data: it lowers to a Flyte STRUCT with a
schema, like a dataclass. When Pickle is what you want (or for an `extern type`, which has no
fields to describe), write `@allow(pickle)` before the declaration. The warning is given once
per type, at its declaration.",
            mistake: "\
class People {
    name: str
}

task greet(name: str) -> People {
    People(name=name)
}
",
            fixed: "\
struct People {
    name: str
}

task greet(name: str) -> People {
    People(name=name)
}
",
            alternative: Some((
                "Or keep the class and say that Pickle is intended:",
                "\
@allow(pickle)
class People {
    name: str
}

task greet(name: str) -> People {
    People(name=name)
}
",
            )),
        },

        Code::W0101 => Entry {
            why: "
`@batch(n)` chooses how a list of pickled values is stored: `ceil(len / n)` pickle files of up
to `n` items each, instead of one file holding the whole list (Flyte's `BatchSize`). A list
whose items have a Flyte type (`int` below) is stored as a collection literal, one literal per
item, with no pickle file to split, so `@batch` has no effect on it.

Remove the annotation, or, if the items were meant to be pickled, check their type.",
            mistake: "\
task squares(n: int) -> list[int] @batch(100) {
    [i * i for i in range(n)]
}
",
            fixed: "\
task squares(n: int) -> list[int] {
    [i * i for i in range(n)]
}
",
            alternative: None,
        },

        Code::W0200 => Entry {
            why: "
A local variable is bound but never read, or an import provides nothing the file uses. Often
it is left over from an edit, or the name that should have been used somewhere else.

In a workflow, an unused `let x = t(...)` still runs its node, but nothing reads its output,
which is usually a slip.

Remove it. To keep a binding on purpose, start its name with `_` (`let _n = len(xs)`), or bind
it to `_`: names that begin with `_` are never reported.",
            mistake: "\
import std.text

task total(xs: list[int]) -> int {
    let n = len(xs)
    sum(xs)
}
",
            fixed: "\
task total(xs: list[int]) -> int {
    sum(xs)
}
",
            alternative: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_title_an_example_and_a_fix() {
        for &code in Code::ALL {
            let text = explain(code);
            let title = format!("{code}: {}\n", code.title());
            assert!(text.starts_with(&title), "{code}: {text}");
            let mistake = text
                .find(MISTAKE_HEADING)
                .unwrap_or_else(|| panic!("{code}: no example"));
            let fixed = text
                .find(FIXED_HEADING)
                .unwrap_or_else(|| panic!("{code}: no fix"));
            assert!(mistake < fixed, "{code}: the fix comes after the mistake");
            assert!(
                text[mistake..].matches("```flow\n").count() >= 2,
                "{code}: {text}"
            );
            assert!(text.ends_with("```\n"), "{code}");
        }
    }

    #[test]
    fn examples_are_whole_programs_that_the_fix_changes() {
        for &code in Code::ALL {
            let examples = examples(code);
            assert!(!examples.fixed.is_empty());
            for program in std::iter::once(examples.mistake).chain(examples.fixed.iter().copied()) {
                assert!(program.ends_with("}\n"), "{code}: {program}");
                assert!(!program.contains('\t'), "{code}: indent with spaces");
                assert!(explain(code).contains(program), "{code}");
            }
            assert!(!examples.fixed.contains(&examples.mistake), "{code}");
        }
    }

    #[test]
    fn lines_fit_a_terminal() {
        for &code in Code::ALL {
            for line in explain(code).lines() {
                assert!(line.chars().count() <= 96, "{code}: {line}");
            }
        }
    }

    #[test]
    fn warnings_say_they_are_warnings() {
        for &code in Code::ALL {
            let says = explain(code).contains("This is a warning");
            assert_eq!(says, code.severity() == Severity::Warning, "{code}");
        }
    }
}
