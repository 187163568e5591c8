//! Tests of the evaluator: int fast paths, overflow, widening, control flow, the recursion
//! limit, deadlines.

use super::*;
use crate::check::check_text;
use crate::diagnostics::Severity;
use crate::interp::ErrorKind;

/// The IR of `source`, which must check without errors.
fn compile(source: &str) -> Program {
    let checked = check_text("eval_test.flow", source);
    let errors: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    crate::ir::lower::lower(&checked)
}

/// Runs `f` on a thread with a node's stack.
fn on_node_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, f)
            .expect("a thread")
            .join()
            .expect("the evaluator does not panic")
    })
}

fn evaluator(program: &Program, deadline: Option<Instant>) -> Evaluator<'_> {
    let ctx = builtins::Context {
        scratch_dir: std::env::temp_dir(),
    };
    Evaluator::new(program, deadline, ctx)
}

fn fn_id(program: &Program, name: &str) -> FnId {
    program
        .functions
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fn `{name}`")) as FnId
}

/// Calls `name` with `args` on a node's stack, giving up at `deadline`.
fn call_until(
    program: &Program,
    name: &str,
    args: Vec<Value>,
    deadline: Option<Instant>,
) -> Result<Value, RuntimeError> {
    let f = fn_id(program, name);
    on_node_stack(|| evaluator(program, deadline).call(f, args))
}

fn call(program: &Program, name: &str, args: Vec<Value>) -> Result<Value, RuntimeError> {
    call_until(program, name, args, None)
}

/// The error of a call that fails, and the source text it points at.
fn error(program: &Program, name: &str, args: Vec<Value>) -> (RuntimeError, String) {
    let e = call(program, name, args).expect_err("the call fails");
    let span = e.span.expect("the error points somewhere");
    let text = &program.files[span.file.0 as usize].text;
    let at = text[span.start as usize..span.end as usize].to_string();
    (e, at)
}

#[test]
fn recursion_and_int_arithmetic() {
    let p = compile(
        "fn fib(n: int) -> int {\n    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }\n}\n\
         fn poly(x: int, y: int) -> int { x * x - 3 * y + (x - y) * 2 }\n",
    );
    assert_eq!(call(&p, "fib", vec![Value::Int(20)]), Ok(Value::Int(6765)));
    assert_eq!(
        call(&p, "poly", vec![Value::Int(7), Value::Int(-2)]),
        Ok(Value::Int(49 + 6 + 18))
    );
}

#[test]
fn int_overflow_is_an_error_at_the_failing_expression() {
    let p = compile(
        "fn add(x: int) -> int { x + 1 }\n\
         fn id(x: int) -> int { x }\n\
         fn arg(x: int) -> int { id(x * 2) }\n\
         fn cond(x: int) -> bool { if x * 2 > 0 { true } else { false } }\n\
         fn negate(x: int) -> int { 0 - x }\n\
         fn nested(x: int) -> int { (x + 0) * 2 }\n\
         fn called(x: int) -> int { id(x) + id(x) }\n",
    );
    let max = || vec![Value::Int(i64::MAX)];
    for (name, args, at) in [
        ("add", max(), "x + 1"),
        ("arg", max(), "x * 2"),
        ("cond", max(), "x * 2"),
        ("negate", vec![Value::Int(i64::MIN)], "0 - x"),
        ("nested", max(), "(x + 0) * 2"),
        ("called", max(), "id(x) + id(x)"),
    ] {
        let (e, text) = error(&p, name, args);
        assert_eq!(e.message, "integer overflow", "{name}");
        assert_eq!(e.kind, ErrorKind::Error, "{name}");
        assert_eq!(text, at, "{name}");
    }
    assert_eq!(call(&p, "add", vec![Value::Int(41)]), Ok(Value::Int(42)));
}

#[test]
fn ints_widen_to_floats_and_compare_with_them() {
    let p = compile(
        "fn widen(x: float) -> float { x }\n\
         fn one() -> float { 1 }\n\
         fn pair(x: int) -> (float, int) { (x, x) }\n\
         fn half(x: int) -> float { x / 2 }\n\
         fn below(a: int, b: float) -> bool { a < b }\n\
         fn same(a: int) -> bool { a == 2.0 }\n",
    );
    assert_eq!(
        call(&p, "widen", vec![Value::Int(3)]),
        Ok(Value::Float(3.0))
    );
    assert_eq!(call(&p, "one", vec![]), Ok(Value::Float(1.0)));
    assert_eq!(
        call(&p, "pair", vec![Value::Int(2)]),
        Ok(Value::Tuple(Arc::new(vec![
            Value::Float(2.0),
            Value::Int(2)
        ])))
    );
    assert_eq!(call(&p, "half", vec![Value::Int(3)]), Ok(Value::Float(1.5)));
    let below = |a, b| call(&p, "below", vec![Value::Int(a), Value::Float(b)]);
    assert_eq!(below(1, 1.5), Ok(Value::Bool(true)));
    assert_eq!(below(2, 1.5), Ok(Value::Bool(false)));
    assert_eq!(call(&p, "same", vec![Value::Int(2)]), Ok(Value::Bool(true)));
}

#[test]
fn return_break_and_continue_end_the_right_construct() {
    let p = compile(
        "fn first_over(xs: list[int], limit: int) -> int {\n\
         \x20   for x in xs {\n\
         \x20       if x > limit { return x }\n\
         \x20   }\n\
         \x20   -1\n\
         }\n\
         fn odd_sum(n: int, stop: int) -> int {\n\
         \x20   var total = 0\n\
         \x20   var i = 0\n\
         \x20   while true {\n\
         \x20       i = i + 1\n\
         \x20       if i > n { break }\n\
         \x20       if i == stop { return total * 100 }\n\
         \x20       if i % 2 == 0 { continue }\n\
         \x20       total = total + i\n\
         \x20   }\n\
         \x20   total\n\
         }\n\
         fn caller(n: int) -> int { first_over([1, n, 3], 1) + 1 }\n",
    );
    let ints = |xs: &[i64]| Value::list(xs.iter().map(|&x| Value::Int(x)).collect());
    let first_over = |xs: &[i64], limit| call(&p, "first_over", vec![ints(xs), Value::Int(limit)]);
    assert_eq!(first_over(&[1, 5, 9], 4), Ok(Value::Int(5)));
    assert_eq!(first_over(&[1, 2], 4), Ok(Value::Int(-1)));
    let odd_sum = |n, stop| call(&p, "odd_sum", vec![Value::Int(n), Value::Int(stop)]);
    assert_eq!(odd_sum(5, 0), Ok(Value::Int(1 + 3 + 5)));
    assert_eq!(odd_sum(5, 4), Ok(Value::Int(400)));
    assert_eq!(call(&p, "caller", vec![Value::Int(7)]), Ok(Value::Int(8)));
}

#[test]
fn deep_recursion_is_an_error_not_a_stack_overflow() {
    let p = compile("fn depth(n: int) -> int { if n == 0 { 0 } else { 1 + depth(n - 1) } }\n");
    let depth = |n| call(&p, "depth", vec![Value::Int(n)]);
    assert_eq!(depth(999), Ok(Value::Int(999)));
    let (e, at) = error(&p, "depth", vec![Value::Int(1000)]);
    assert!(e.message.contains("recursion depth exceeded"), "{e:?}");
    assert_eq!(at, "depth(n - 1)");
    // After the error the same evaluator's depth is back to zero: 999 nested calls still fit.
    let f = fn_id(&p, "depth");
    let (deep, again) = on_node_stack(|| {
        let mut ev = evaluator(&p, None);
        let deep = ev.call(f, vec![Value::Int(100_000)]);
        (deep, ev.call(f, vec![Value::Int(999)]))
    });
    assert!(deep.is_err());
    assert_eq!(again, Ok(Value::Int(999)));
}

#[test]
fn a_deadline_ends_an_endless_loop() {
    let p = compile(
        "fn spin() -> int {\n    var n = 0\n    while true {\n        n = n + 1\n    }\n    n\n}\n\
         fn compare() -> int {\n    while 1 > 0 {}\n    0\n}\n",
    );
    for name in ["spin", "compare"] {
        let e = call_until(&p, name, vec![], Some(Instant::now())).expect_err("the loop is ended");
        assert_eq!(e.kind, ErrorKind::Timeout, "{name}: {e:?}");
    }
}

#[test]
fn coalesce_falls_back_on_none_and_on_a_missing_item() {
    let p = compile(
        "fn get(xs: list[int], i: int) -> int { xs[i] ?? 7 }\n\
         fn opt(x: int?) -> int { x ?? 3 }\n",
    );
    let xs = Value::list(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(
        call(&p, "get", vec![xs.clone(), Value::Int(5)]),
        Ok(Value::Int(7))
    );
    assert_eq!(call(&p, "get", vec![xs, Value::Int(1)]), Ok(Value::Int(2)));
    assert_eq!(call(&p, "opt", vec![Value::None]), Ok(Value::Int(3)));
    assert_eq!(call(&p, "opt", vec![Value::Int(4)]), Ok(Value::Int(4)));
}

#[test]
fn text_grown_past_the_limit_is_a_runtime_error_not_an_abort() {
    let program = compile(
        "fn twice(s: str) -> str { s + s }\n\
         fn twice_interpolated(s: str) -> str { \"{s}{s}\" }\n",
    );
    // One string just over half the limit: doubling it would pass the limit.
    let half = Value::str("a".repeat(builtins::MAX_TEXT_BYTES / 2 + 1));
    for name in ["twice", "twice_interpolated"] {
        let (e, _) = error(&program, name, vec![half.clone()]);
        assert!(
            e.message
                .contains("the text would be longer than 1073741824 bytes"),
            "{name}: {}",
            e.message
        );
    }
    assert_eq!(
        call(&program, "twice", vec![Value::str("ab")]).unwrap(),
        Value::str("abab")
    );
}
