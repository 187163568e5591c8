//! Grammar tests: every construct of LANGUAGE.md sections 2–7 parses into the AST it means,
//! and syntax errors are reported in human words, one per broken declaration or statement.

use flytec::diagnostics::Diagnostic;
use flytec::source::FileId;
use flytec::syntax::ast::*;
use flytec::syntax::parse;

fn parse_ok(text: &str) -> Module {
    let mut errors = Vec::new();
    let module = parse(FileId(0), text, &mut errors);
    assert!(
        errors.is_empty(),
        "unexpected syntax errors in\n{text}\n{errors:#?}"
    );
    module
}

fn parse_err(text: &str) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    parse(FileId(0), text, &mut errors);
    errors
}

/// The body of the first callable of a module.
fn body(module: &Module) -> &Block {
    match &module.items[0].kind {
        ItemKind::Callable(c) => c.body.as_ref().expect("a body"),
        other => panic!("not a callable: {other:?}"),
    }
}

/// An expression in a compact prefix form, for readable assertions.
fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(x) => format!("{x:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::None => "none".into(),
        ExprKind::Duration(ms) => format!("{ms}ms"),
        ExprKind::Name(i) => i.name.to_string(),
        ExprKind::Str(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => format!("{t:?}"),
                    StrPart::Interp(e) => format!("{{{}}}", sexp(e)),
                })
                .collect();
            format!("(str {})", parts.join(" "))
        }
        ExprKind::List(xs) => format!("[{}]", xs.iter().map(sexp).collect::<Vec<_>>().join(" ")),
        ExprKind::Dict(kv) => format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{}:{}", sexp(k), sexp(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        ExprKind::Tuple(xs) => format!(
            "(tuple {})",
            xs.iter().map(sexp).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::NamedTuple(xs) => {
            format!(
                "(named {})",
                xs.iter()
                    .map(|(n, e)| format!("{}={}", n.name, sexp(e)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        ExprKind::Unary(UnaryOp::Neg, x) => format!("(neg {})", sexp(x)),
        ExprKind::Unary(UnaryOp::Not, x) => format!("(not {})", sexp(x)),
        ExprKind::Binary(op, l, r) => format!("({} {} {})", op.symbol(), sexp(l), sexp(r)),
        ExprKind::Call(f, args) => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, sexp(&a.value)),
                    None => sexp(&a.value),
                })
                .collect();
            format!("(call {} {})", sexp(f), args.join(" "))
        }
        ExprKind::Field(x, f) => format!("(. {} {})", sexp(x), f.name),
        ExprKind::TupleIndex(x, n, _) => format!("(. {} {n})", sexp(x)),
        ExprKind::Index(x, i) => format!("(index {} {})", sexp(x), sexp(i)),
        ExprKind::If(c, t, e) => format!(
            "(if {} {}{})",
            sexp(c),
            block_sexp(t),
            e.as_ref()
                .map(|e| format!(" {}", sexp(e)))
                .unwrap_or_default()
        ),
        ExprKind::Block(b) => block_sexp(b),
        ExprKind::ListComp(x, c) => format!("(list-comp {} {})", sexp(x), comp_sexp(c)),
        ExprKind::DictComp(k, v, c) => {
            format!("(dict-comp {} {} {})", sexp(k), sexp(v), comp_sexp(c))
        }
        ExprKind::Fail(m) => format!("(fail {})", sexp(m)),
        ExprKind::Error => "ERROR".into(),
    }
}

fn pattern_sexp(p: &Pattern) -> String {
    match p {
        Pattern::Name(i) => i.name.to_string(),
        Pattern::Tuple(ps, _) => format!(
            "({})",
            ps.iter().map(pattern_sexp).collect::<Vec<_>>().join(" ")
        ),
    }
}

fn comp_sexp(c: &Comprehension) -> String {
    let cond = c
        .cond
        .as_ref()
        .map(|x| format!(" if {}", sexp(x)))
        .unwrap_or_default();
    format!(
        "for {} in {}{cond}",
        pattern_sexp(&c.pattern),
        sexp(&c.iter)
    )
}

fn stmt_sexp(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::Let {
            mutable,
            pattern,
            ty,
            value,
        } => format!(
            "({} {}{} {})",
            if *mutable { "var" } else { "let" },
            pattern_sexp(pattern),
            if ty.is_some() { ":T" } else { "" },
            sexp(value)
        ),
        StmtKind::Assign {
            target,
            indices,
            value,
        } => {
            let idx: String = indices.iter().map(|i| format!("[{}]", sexp(i))).collect();
            format!("(set {}{idx} {})", target.name, sexp(value))
        }
        StmtKind::For {
            pattern,
            iter,
            body,
        } => format!(
            "(for {} {} {})",
            pattern_sexp(pattern),
            sexp(iter),
            block_sexp(body)
        ),
        StmtKind::While { cond, body } => format!("(while {} {})", sexp(cond), block_sexp(body)),
        StmtKind::Break => "break".into(),
        StmtKind::Continue => "continue".into(),
        StmtKind::Return(e) => format!(
            "(return{})",
            e.as_ref()
                .map(|e| format!(" {}", sexp(e)))
                .unwrap_or_default()
        ),
        StmtKind::Expr(e) => sexp(e),
        StmtKind::Error => "ERROR".into(),
    }
}

fn block_sexp(b: &Block) -> String {
    format!(
        "{{{}}}",
        b.stmts.iter().map(stmt_sexp).collect::<Vec<_>>().join("; ")
    )
}

/// The statements of `fn f() { BODY }` in prefix form.
fn stmts(body_text: &str) -> String {
    let module = parse_ok(&format!("fn f() {{\n{body_text}\n}}\n"));
    body(&module)
        .stmts
        .iter()
        .map(stmt_sexp)
        .collect::<Vec<_>>()
        .join("; ")
}

fn expr(text: &str) -> String {
    stmts(text)
}

#[test]
fn operator_precedence_follows_the_reference() {
    assert_eq!(expr("a or b and c"), "(or a (and b c))");
    assert_eq!(expr("not a == b"), "(not (== a b))");
    assert_eq!(expr("a ?? b ?? c"), "(?? a (?? b c))");
    assert_eq!(expr("x ?? 0 + 1"), "(?? x (+ 0 1))");
    assert_eq!(expr("a + b * c - d"), "(- (+ a (* b c)) d)");
    assert_eq!(expr("-x ** 2"), "(neg (** x 2))");
    assert_eq!(expr("2 ** 3 ** 2"), "(** 2 (** 3 2))");
    assert_eq!(expr("a // b % c / d"), "(/ (% (// a b) c) d)");
    assert_eq!(expr("x in xs and y <= 3"), "(and (in x xs) (<= y 3))");
    assert_eq!(expr("-f(x).y[0]"), "(neg (index (. (call f x) y) 0))");
    assert_eq!(expr("(a + b) * c"), "(* (+ a b) c)");
}

#[test]
fn literals() {
    assert_eq!(expr("42"), "42");
    assert_eq!(expr("1_000"), "1000");
    assert_eq!(expr("-7"), "(neg 7)");
    assert_eq!(expr("3.5"), "3.5");
    assert_eq!(expr("1e-3"), "0.001");
    assert_eq!(expr("2.0e10"), "20000000000.0");
    assert_eq!(expr("true"), "true");
    assert_eq!(expr("none"), "none");
    assert_eq!(expr("250ms"), "250ms");
    assert_eq!(expr("30s"), "30000ms");
    assert_eq!(expr("5m"), "300000ms");
    assert_eq!(expr("2h"), "7200000ms");
    assert_eq!(expr("1d"), "86400000ms");
}

#[test]
fn strings_escape_and_interpolate() {
    assert_eq!(
        expr(r#""a\n\"b\" {x + 1}""#),
        r#"(str "a\n\"b\" " {(+ x 1)})"#
    );
    assert_eq!(expr(r#""\{literal\} \\ \t""#), r#"(str "{literal} \\ \t")"#);
    assert_eq!(expr(r#""{d["k"]}!""#), r#"(str {(index d (str "k"))} "!")"#);
    assert_eq!(
        expr("\"\"\"line one\nline {n}\"\"\""),
        r#"(str "line one\nline " {n})"#
    );
    assert_eq!(expr(r#""""#), "(str )");
}

#[test]
fn collections_tuples_and_comprehensions() {
    assert_eq!(expr("[1, 2, 3,]"), "[1 2 3]");
    assert_eq!(expr("[\n  1,\n  2\n]"), "[1 2]");
    assert_eq!(expr("{}"), "{}");
    assert_eq!(expr(r#"{"a": 1, "b": 2}"#), r#"{(str "a"):1 (str "b"):2}"#);
    assert_eq!(expr("(1, \"a\")"), r#"(tuple 1 (str "a"))"#);
    assert_eq!(expr("(x,)"), "(tuple x)");
    assert_eq!(expr("(total=t, mean=m)"), "(named total=t mean=m)");
    assert_eq!(expr("t.0.1"), "(. (. t 0) 1)");
    assert_eq!(
        expr("[x * 2 for x in xs if x > 1]"),
        "(list-comp (* x 2) for x in xs if (> x 1))"
    );
    assert_eq!(
        expr("[p.0 for (i, p) in enumerate(xs)]"),
        "(list-comp (. p 0) for (i p) in (call enumerate xs))"
    );
    assert_eq!(
        expr("{str(i): 2.0 ** i for i in range(n)}"),
        "(dict-comp (call str i) (** 2.0 i) for i in (call range n))"
    );
    assert_eq!(
        expr("[\n  x\n  for x in xs\n  if x\n]"),
        "(list-comp x for x in xs if x)"
    );
}

#[test]
fn calls_take_positional_then_named_arguments_across_lines() {
    assert_eq!(expr("f(1, b=2)"), "(call f 1 b=2)");
    assert_eq!(expr("f(\n  a=1,\n  b=[1,\n 2],\n)"), "(call f a=1 b=[1 2])");
    assert_eq!(expr("Point(x=1.0, y=2.0)"), "(call Point x=1.0 y=2.0)");
    assert_eq!(expr("Color.Red"), "(. Color Red)");
    assert_eq!(expr("fail(\"bad {n}\")"), "(fail (str \"bad \" {n}))");
}

#[test]
fn statements() {
    assert_eq!(
        stmts("let x = 1\nvar y: int = 2\ny = y + x"),
        "(let x 1); (var y:T 2); (set y (+ y x))"
    );
    assert_eq!(
        stmts("counts[w] = (counts[w] ?? 0) + 1"),
        "(set counts[w] (+ (?? (index counts w) 0) 1))"
    );
    assert_eq!(stmts("let (a, b) = t\n_ = a"), "(let (a b) t); (set _ a)");
    assert_eq!(
        stmts("for (i, x) in enumerate(xs) {\n  if i == 0 { continue }\n  break\n}"),
        "(for (i x) (call enumerate xs) {(if (== i 0) {continue}); break})"
    );
    assert_eq!(
        stmts("while x != 1 { x = x // 2 }"),
        "(while (!= x 1) {(set x (// x 2))})"
    );
    assert_eq!(stmts("return\nreturn x + 1"), "(return); (return (+ x 1))");
    assert_eq!(
        stmts("let q = if v < 0.0 {\n  1\n} else if v > 1.0 {\n  2\n}\nelse { 3 }"),
        "(let q (if (< v 0.0) {1} (if (> v 1.0) {2} {3})))"
    );
    assert_eq!(stmts("a\n-b"), "a; (neg b)");
    assert_eq!(stmts("a +\n  b"), "(+ a b)");
    assert_eq!(stmts("a\n  and b"), "(and a b)");
    assert_eq!(stmts("x = 1; y = 2"), "(set x 1); (set y 2)");
}

#[test]
fn python_tasks() {
    let module = parse_ok(
        "task fit(xs: list[float]) -> Model python \"pkg.models:fit\"\n\
         task describe(m: Model) -> (n: int, s: str)\n    python \"\"\"\n    return {\"a\": 1}, \"{x}\\n\"\n\"\"\"\n\
         task python(python: int) -> int { python }\n",
    );
    let code = |i: usize| match &module.items[i].kind {
        ItemKind::Callable(c) => (c.body.is_some(), c.python.as_ref().map(|p| p.code.clone())),
        other => panic!("not a callable: {other:?}"),
    };
    assert_eq!(
        code(0),
        (
            false,
            Some(PythonCode::Function {
                module: "pkg.models".into(),
                function: "fit".into()
            })
        )
    );
    // Inline code is raw: no escapes, no interpolation.
    assert_eq!(
        code(1),
        (
            false,
            Some(PythonCode::Inline(
                "\n    return {\"a\": 1}, \"{x}\\n\"\n".into()
            ))
        )
    );
    // `python` is a keyword only after a task's signature.
    assert_eq!(code(2), (true, None));
    let errors = parse_err("task f() -> int python \"models\"\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        "`models` does not name a Python function"
    );
}

#[test]
fn declarations_of_every_kind() {
    let module = parse_ok(
        r#"import "common.flow"
import std.math

## A point.
struct Point { x: float, y: float = 0.0 }
class People {
    ## The name.
    name: str
    tags: list[str] = []
}
enum Color { Red, Green, Blue, }
@allow(pickle)
extern type Tensor
type Names = list[str]
fn shout(s: str) -> str { upper(s) + "!" }
fn len[T](xs: list[T]) -> int
@retries(2)
@cache(version="1")
@timeout(30s)
@resources(cpu=2, mem="1Gi")
task normalize(
    p: Point,
    scale: float = 1.0,
) -> (total: int, mean: float?) {
    (total=1, mean=none)
}
task pair() -> (int, str) { (1, "a") }
task nothing(x: int) { x }
workflow main(names: list[str] = ["f"]) -> list[People] @batch(2) { greet_all(names=names) }
"#,
    );
    assert_eq!(
        module.imports[0].target,
        ImportTarget::File("common.flow".into())
    );
    assert_eq!(module.imports[1].target, ImportTarget::Std("math".into()));
    let names: Vec<&str> = module
        .items
        .iter()
        .map(|i| i.name().name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Point",
            "People",
            "Color",
            "Tensor",
            "Names",
            "shout",
            "len",
            "normalize",
            "pair",
            "nothing",
            "main"
        ]
    );
    assert_eq!(module.items[0].doc.as_deref(), Some("A point."));
    let ItemKind::Class(people) = &module.items[1].kind else {
        panic!()
    };
    assert_eq!(people.fields[0].doc.as_deref(), Some("The name."));
    assert!(people.fields[1].default.is_some());
    let ItemKind::Enum(color) = &module.items[2].kind else {
        panic!()
    };
    assert_eq!(color.variants.len(), 3);
    assert_eq!(module.items[3].annotations[0].name.name, "allow");
    let ItemKind::Callable(len) = &module.items[6].kind else {
        panic!()
    };
    assert!(len.body.is_none());
    assert_eq!(len.generics[0].name, "T");
    let ItemKind::Callable(normalize) = &module.items[7].kind else {
        panic!()
    };
    assert_eq!(module.items[7].annotations.len(), 4);
    assert_eq!(normalize.params.len(), 2);
    let Output::Named(outputs, _) = &normalize.output else {
        panic!()
    };
    assert_eq!(
        outputs
            .iter()
            .map(|(n, _)| n.name.as_str())
            .collect::<Vec<_>>(),
        ["total", "mean"]
    );
    assert!(matches!(outputs[1].1.kind, TypeExprKind::Optional(_)));
    let ItemKind::Callable(pair) = &module.items[8].kind else {
        panic!()
    };
    assert!(
        matches!(&pair.output, Output::Type(TypeExpr { kind: TypeExprKind::Tuple(items), .. }) if items.len() == 2)
    );
    let ItemKind::Callable(nothing) = &module.items[9].kind else {
        panic!()
    };
    assert_eq!(nothing.output, Output::Nothing);
    let ItemKind::Callable(main) = &module.items[10].kind else {
        panic!()
    };
    let Output::Type(ty) = &main.output else {
        panic!()
    };
    assert_eq!(ty.annotations[0].name.name, "batch");
    assert_eq!(main.kind, CallableKind::Workflow);
}

#[test]
fn types_of_every_shape() {
    let module = parse_ok("type T = int | str? | none | (int, list[dict[str, float]])\n");
    let ItemKind::Alias { ty, .. } = &module.items[0].kind else {
        panic!()
    };
    let TypeExprKind::Union(members) = &ty.kind else {
        panic!("{ty:?}")
    };
    assert_eq!(members.len(), 4);
    assert!(matches!(members[1].kind, TypeExprKind::Optional(_)));
    assert!(matches!(members[2].kind, TypeExprKind::None));
    assert!(matches!(members[3].kind, TypeExprKind::Tuple(_)));
}

#[test]
fn comments_and_blank_lines_are_free() {
    parse_ok(
        "# header\n\n\n## doc\ntask t() -> int { # trailing\n    # inside\n    1 # after\n}\n# end",
    );
    parse_ok("");
    parse_ok("\n\n# only a comment\n");
}

fn messages(text: &str) -> Vec<String> {
    parse_err(text).into_iter().map(|d| d.message).collect()
}

#[test]
fn errors_say_what_was_expected_in_words() {
    assert_eq!(
        messages("task a(x: int y: int) -> int { x }\n"),
        ["expected `)`, `,` or `=`, found `y`"]
    );
    assert_eq!(
        messages("task a() -> int {\n  1 2\n}\n"),
        ["expected the end of the line, found `2`"]
    );
    assert_eq!(
        messages("task a() -> str {\n  \"abc\n}\n"),
        ["unterminated string"]
    );
    assert_eq!(messages("let x = 1\n")[0], "expected a declaration (`task`, `workflow`, `fn`, `struct`, `class`, `enum`, `type`, `import`), found `let`");
    assert_eq!(
        messages("task a() -> int { 1 }\ntask b( -> int { 2 }\n"),
        ["expected `)` or a parameter, found `->`"]
    );
    assert_eq!(
        messages("fn f() -> int { 99999999999999999999 }"),
        ["integer literal out of range"]
    );
    assert_eq!(
        messages("fn f() -> str { \"\\q\" }"),
        ["unknown escape `\\q`"]
    );
    for text in [
        "task",
        "struct S {",
        "fn f(",
        "workflow w() -> int {\n let x =\n}",
        "\"\"\"never closed",
    ] {
        assert!(!parse_err(text).is_empty(), "no error for {text:?}");
    }
}

#[test]
fn one_error_per_broken_declaration_and_statement() {
    let text = "task a(x: int y: int) -> int { x }\n\nstruct Ok { x: int }\n\ntask b() -> int {\n    let y = 1 +\n    let z = (1, 2\n    y\n}\n";
    let errors = parse_err(text);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let lines: Vec<usize> = errors
        .iter()
        .map(|d| text[..d.span().start as usize].lines().count())
        .collect();
    assert_eq!(lines, [1, 6, 7]);
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    let deep = format!(
        "fn f() -> int {{ {}1{} }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(messages(&deep), ["brackets nest more than 200 levels deep"]);
    let ok = format!(
        "fn f() -> int {{ {}1{} }}",
        "(".repeat(150),
        ")".repeat(150)
    );
    parse_ok(&ok);
}

/// Long chains of operators and postfixes parse, and their trees drop, one link at a time: on a
/// 1 MB stack, where recursing once per link would overflow.
#[test]
fn long_chains_parse_and_drop_without_deep_recursion() {
    let links = 100_000;
    let chains = [
        vec!["x"; links].join(" + "),
        format!("x{}", ".y".repeat(links)),
        format!("f{}", "()".repeat(links)),
        format!("x{}", "[0]".repeat(links)),
    ];
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            for chain in chains {
                let module = parse_ok(&format!("fn f(x: int) -> int {{\n    {chain}\n}}\n"));
                let Some(Stmt {
                    kind: StmtKind::Expr(e),
                    ..
                }) = body(&module).stmts.first()
                else {
                    panic!("one expression statement");
                };
                assert!(matches!(
                    e.kind,
                    ExprKind::Binary(..)
                        | ExprKind::Field(..)
                        | ExprKind::Call(..)
                        | ExprKind::Index(..)
                ));
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
