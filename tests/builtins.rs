//! The built-in functions of `stdlib/prelude.flow` and value formatting: every built-in with
//! its success cases and documented failures, and float formatting checked against CPython.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use flytec::interp::builtins::{self, call, is_builtin, Context};
use flytec::interp::format::{display, float_repr};
use flytec::value::Value;
use indexmap::IndexMap;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn ctx() -> (tempfile::TempDir, Context) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ctx = Context {
        scratch_dir: dir.path().join("scratch"),
    };
    (dir, ctx)
}

/// Calls a built-in that writes no files (the tests of `write_text` make their own context).
fn run(name: &str, args: &[Value]) -> Result<Value, String> {
    let ctx = Context {
        scratch_dir: std::env::temp_dir().join("flytec-builtins-test-never-written"),
    };
    assert!(
        !(name == "write_text" && matches!(args, [Value::Str(_)])),
        "use a temporary context for write_text"
    );
    call(name, args, &ctx)
}

fn ok(name: &str, args: &[Value]) -> Value {
    run(name, args).unwrap_or_else(|e| panic!("{name}({args:?}) failed: {e}"))
}

fn err(name: &str, args: &[Value]) -> String {
    match run(name, args) {
        Ok(v) => panic!("{name}({args:?}) should fail but gave {v:?}"),
        Err(e) => e,
    }
}

fn i(n: i64) -> Value {
    Value::Int(n)
}

fn f(x: f64) -> Value {
    Value::Float(x)
}

fn s(t: &str) -> Value {
    Value::str(t)
}

fn b(x: bool) -> Value {
    Value::Bool(x)
}

fn l(items: Vec<Value>) -> Value {
    Value::list(items)
}

fn t(items: Vec<Value>) -> Value {
    Value::Tuple(Arc::new(items))
}

fn d(entries: &[(&str, Value)]) -> Value {
    let map: IndexMap<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Value::Dict(Arc::new(map))
}

fn ints(xs: &[i64]) -> Value {
    l(xs.iter().map(|&n| i(n)).collect())
}

fn floats(xs: &[f64]) -> Value {
    l(xs.iter().map(|&x| f(x)).collect())
}

fn strs(xs: &[&str]) -> Value {
    l(xs.iter().map(|x| s(x)).collect())
}

fn shown(v: &Value) -> String {
    display(v)
}

/// Runs `python3 -c script` with `input` on stdin and returns its stdout lines.
fn python(script: &str, input: &str) -> Vec<String> {
    let mut child = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "this test compares float formatting with CPython and needs `python3` on PATH: {e}"
        ),
    };
    // Write from another thread: python3 may fill its stdout before reading all of stdin.
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("running python3");
    writer
        .join()
        .expect("writer thread")
        .expect("writing to python3");
    assert!(out.status.success(), "python3 failed: {:?}", out.status);
    String::from_utf8(out.stdout)
        .expect("python3 output is UTF-8")
        .lines()
        .map(str::to_string)
        .collect()
}

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Floats that exercise formatting: special values, boundaries, round decimals, random bits.
fn sample_floats() -> Vec<f64> {
    let mut xs = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        6.0,
        0.1,
        0.2,
        0.3,
        0.1 + 0.2,
        1.5,
        2.5,
        2.675,
        1e20,
        1e-5,
        1.5e-7,
        1e-4,
        0.0001234,
        0.00001234,
        123456789012345.0,
        1234567890123456.0,
        9999999999999998.0,
        1e15,
        1e16,
        1e17,
        1.5e16,
        1e22,
        1e23,
        1e100,
        1e308,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MIN_POSITIVE - 5e-324,
        f64::EPSILON,
        std::f64::consts::PI,
        std::f64::consts::E,
        1.0 / 3.0,
        2.0 / 3.0,
        9007199254740992.0,
        9007199254740993.0,
        9.223_372_036_854_776e18,
        100.0,
        12345.678,
        0.5,
        0.25,
        0.125,
        1234.5,
        -1234.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    for k in -30..=30 {
        xs.push(10f64.powi(k));
        xs.push(1.5 * 10f64.powi(k));
        xs.push(-9.87654321 * 10f64.powi(k));
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        xs.push(f64::from_bits(rng.next()));
    }
    for _ in 0..1000 {
        let n = (rng.next() % 2_000_000) as f64 - 1_000_000.0;
        let scale = 10f64.powi((rng.next() % 8) as i32);
        xs.push(n / scale);
    }
    for _ in 0..500 {
        xs.push((rng.next() % 10_000) as f64 / 8.0 - 600.0);
    }
    xs
}

fn bits_lines(xs: &[f64]) -> String {
    xs.iter().map(|x| format!("{}\n", x.to_bits())).collect()
}

const PY_FLOAT: &str =
    "import struct\ndef fl(line): return struct.unpack('<d', struct.pack('<Q', int(line)))[0]\n";

// ---------------------------------------------------------------------------------------------
// The list of built-ins
// ---------------------------------------------------------------------------------------------

#[test]
fn every_prelude_function_is_a_builtin_and_back() {
    let prelude =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/prelude.flow"))
            .expect("reading stdlib/prelude.flow");
    let declared: Vec<&str> = prelude
        .lines()
        .filter_map(|line| line.strip_prefix("fn "))
        .filter_map(|rest| rest.split(['(', '[']).next())
        .collect();
    assert!(!declared.is_empty());
    for name in &declared {
        assert!(
            is_builtin(name),
            "prelude declares `{name}`, builtins lack it"
        );
    }
    for name in builtins::NAMES {
        assert!(
            declared.contains(name),
            "builtin `{name}` is not in the prelude"
        );
    }
    assert!(!is_builtin("fail"));
    assert!(!is_builtin("print"));
}

#[test]
fn unknown_names_and_wrong_arguments_are_errors_not_panics() {
    assert_eq!(err("nope", &[]), "`nope` is not a built-in function");
    assert_eq!(err("len", &[i(1)]), "len does not take (int)");
    assert_eq!(err("len", &[]), "len does not take ()");
    assert_eq!(
        err("split", &[s("a"), i(1)]),
        "split does not take (str, int)"
    );
    for name in builtins::NAMES {
        // Odd arguments never panic.
        let _ = run(name, &[Value::None, Value::None, Value::None, Value::None]);
        let _ = run(name, &[l(vec![Value::None])]);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and optionals
// ---------------------------------------------------------------------------------------------

#[test]
fn unwrap_gives_the_value_or_fails_on_none() {
    assert_eq!(ok("unwrap", &[i(3)]), i(3));
    assert_eq!(ok("unwrap", &[s("")]), s(""));
    assert_eq!(err("unwrap", &[Value::None]), "unwrapped none");
}

// ---------------------------------------------------------------------------------------------
// Sizes and ranges
// ---------------------------------------------------------------------------------------------

#[test]
fn len_of_lists_dicts_and_strings() {
    assert_eq!(ok("len", &[ints(&[1, 2, 3])]), i(3));
    assert_eq!(ok("len", &[l(vec![])]), i(0));
    assert_eq!(ok("len", &[d(&[("a", i(1)), ("b", i(2))])]), i(2));
    assert_eq!(ok("len", &[d(&[])]), i(0));
    assert_eq!(ok("len", &[s("")]), i(0));
    assert_eq!(ok("len", &[s("héllo")]), i(5), "code points, not bytes");
    assert_eq!(ok("len", &[s("日本語🎉")]), i(4));
}

#[test]
fn range_with_one_and_two_arguments() {
    assert_eq!(ok("range", &[i(4)]), ints(&[0, 1, 2, 3]));
    assert_eq!(ok("range", &[i(0)]), ints(&[]));
    assert_eq!(ok("range", &[i(-5)]), ints(&[]));
    assert_eq!(ok("range", &[i(2), i(5)]), ints(&[2, 3, 4]));
    assert_eq!(ok("range", &[i(-2), i(1)]), ints(&[-2, -1, 0]));
    assert_eq!(ok("range", &[i(5), i(5)]), ints(&[]));
    assert_eq!(ok("range", &[i(5), i(2)]), ints(&[]));
    assert_eq!(ok("range", &[i(i64::MAX), i(i64::MIN)]), ints(&[]));
    assert_eq!(
        ok("range", &[i(i64::MAX - 2), i(i64::MAX)]),
        ints(&[i64::MAX - 2, i64::MAX - 1])
    );
    assert!(err("range", &[i(i64::MIN), i(i64::MAX)]).contains("too long"));
    assert!(err("range", &[i(i64::MAX)]).contains("too long"));
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

#[test]
fn str_writes_values_as_interpolation_does() {
    assert_eq!(ok("str", &[i(-42)]), s("-42"));
    assert_eq!(ok("str", &[f(6.0)]), s("6.0"));
    assert_eq!(ok("str", &[f(0.1)]), s("0.1"));
    assert_eq!(ok("str", &[f(1e20)]), s("1e+20"));
    assert_eq!(ok("str", &[b(true)]), s("true"));
    assert_eq!(ok("str", &[Value::None]), s("none"));
    assert_eq!(ok("str", &[s("as is")]), s("as is"));
}

#[test]
fn int_of_int_float_str_and_bool() {
    assert_eq!(ok("int", &[i(7)]), i(7));
    assert_eq!(ok("int", &[f(2.9)]), i(2));
    assert_eq!(ok("int", &[f(-2.9)]), i(-2));
    assert_eq!(ok("int", &[f(-0.5)]), i(0));
    assert_eq!(ok("int", &[f(i64::MIN as f64)]), i(i64::MIN));
    assert_eq!(ok("int", &[s("42")]), i(42));
    assert_eq!(ok("int", &[s("  -17\n")]), i(-17));
    assert_eq!(ok("int", &[s("+5")]), i(5));
    assert_eq!(ok("int", &[s("007")]), i(7));
    assert_eq!(ok("int", &[s("9223372036854775807")]), i(i64::MAX));
    assert_eq!(ok("int", &[s("-9223372036854775808")]), i(i64::MIN));
    assert_eq!(ok("int", &[b(true)]), i(1));
    assert_eq!(ok("int", &[b(false)]), i(0));

    assert_eq!(
        err("int", &[f(f64::NAN)]),
        "int(nan): NaN has no integer value"
    );
    assert_eq!(
        err("int", &[f(f64::INFINITY)]),
        "int(inf): infinity has no integer value"
    );
    assert_eq!(
        err("int", &[f(f64::NEG_INFINITY)]),
        "int(-inf): infinity has no integer value"
    );
    assert_eq!(
        err("int", &[f(9.3e18)]),
        "int(9.3e+18): outside the 64-bit integer range"
    );
    assert_eq!(err("int", &[s("x1")]), "int(\"x1\"): not an integer");
    assert_eq!(err("int", &[s("4.5")]), "int(\"4.5\"): not an integer");
    assert_eq!(err("int", &[s("")]), "int(\"\"): not an integer");
    assert_eq!(err("int", &[s("  ")]), "int(\"  \"): not an integer");
    assert_eq!(err("int", &[s("-")]), "int(\"-\"): not an integer");
    assert_eq!(err("int", &[s("1 2")]), "int(\"1 2\"): not an integer");
    assert_eq!(err("int", &[s("+-1")]), "int(\"+-1\"): not an integer");
    assert_eq!(err("int", &[s("1_000")]), "int(\"1_000\"): not an integer");
    assert_eq!(
        err("int", &[s("9223372036854775808")]),
        "int(\"9223372036854775808\"): outside the 64-bit integer range"
    );
}

#[test]
fn float_of_int_float_and_str() {
    assert_eq!(ok("float", &[i(3)]), f(3.0));
    assert_eq!(ok("float", &[i(9007199254740993)]), f(9007199254740992.0));
    assert_eq!(ok("float", &[f(2.5)]), f(2.5));
    assert_eq!(ok("float", &[s("3.5")]), f(3.5));
    assert_eq!(ok("float", &[s("-2")]), f(-2.0));
    assert_eq!(ok("float", &[s("1e-3")]), f(0.001));
    assert_eq!(ok("float", &[s(" 1E5 ")]), f(100000.0));
    assert_eq!(ok("float", &[s(".5")]), f(0.5));
    assert_eq!(ok("float", &[s("inf")]), f(f64::INFINITY));
    assert_eq!(ok("float", &[s("-Infinity")]), f(f64::NEG_INFINITY));
    assert!(matches!(ok("float", &[s("nan")]), Value::Float(x) if x.is_nan()));
    assert_eq!(ok("float", &[s("1e400")]), f(f64::INFINITY));

    assert_eq!(err("float", &[s("abc")]), "float(\"abc\"): not a number");
    assert_eq!(err("float", &[s("")]), "float(\"\"): not a number");
    assert_eq!(
        err("float", &[s("1.2.3")]),
        "float(\"1.2.3\"): not a number"
    );
    assert_eq!(err("float", &[s("0x10")]), "float(\"0x10\"): not a number");
}

#[test]
fn parse_int_and_parse_float_never_fail() {
    assert_eq!(ok("parse_int", &[s(" 12 ")]), i(12));
    assert_eq!(ok("parse_int", &[s("-3")]), i(-3));
    assert_eq!(ok("parse_int", &[s("x")]), Value::None);
    assert_eq!(ok("parse_int", &[s("4.5")]), Value::None);
    assert_eq!(ok("parse_int", &[s("")]), Value::None);
    assert_eq!(ok("parse_int", &[s("99999999999999999999")]), Value::None);
    assert_eq!(ok("parse_float", &[s("2.5")]), f(2.5));
    assert_eq!(ok("parse_float", &[s("7")]), f(7.0));
    assert_eq!(ok("parse_float", &[s("-inf")]), f(f64::NEG_INFINITY));
    assert_eq!(ok("parse_float", &[s("x")]), Value::None);
    assert_eq!(ok("parse_float", &[s("")]), Value::None);
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

#[test]
fn sum_of_ints_and_floats() {
    assert_eq!(ok("sum", &[ints(&[1, 2, 3])]), i(6));
    assert_eq!(ok("sum", &[ints(&[])]), i(0));
    assert_eq!(ok("sum", &[ints(&[i64::MAX, -1, 1])]), i(i64::MAX));
    assert_eq!(ok("sum", &[floats(&[0.5, 0.25])]), f(0.75));
    assert_eq!(ok("sum", &[floats(&[0.1, 0.2, 0.3])]), f(0.1 + 0.2 + 0.3));
    assert_eq!(
        ok("sum", &[floats(&[1e100, 1.0, -1e100])]),
        f(0.0),
        "left to right"
    );
    // A list[float] may hold widened ints.
    assert_eq!(ok("sum", &[l(vec![i(1), f(2.5), i(3)])]), f(6.5));
    assert_eq!(err("sum", &[ints(&[i64::MAX, 1])]), "integer overflow");
    assert_eq!(err("sum", &[ints(&[i64::MIN, -1])]), "integer overflow");
}

#[test]
fn min_and_max_of_ints_floats_and_strings() {
    assert_eq!(ok("min", &[ints(&[3, 1, 2])]), i(1));
    assert_eq!(ok("max", &[ints(&[3, 1, 2])]), i(3));
    assert_eq!(ok("min", &[floats(&[2.5, -1.5])]), f(-1.5));
    assert_eq!(ok("max", &[floats(&[2.5, -1.5])]), f(2.5));
    assert_eq!(ok("min", &[l(vec![i(2), f(1.5), i(1)])]), i(1));
    assert_eq!(ok("max", &[l(vec![i(2), f(2.5)])]), f(2.5));
    assert_eq!(
        ok("min", &[l(vec![i(1), f(1.0)])]),
        i(1),
        "the first of equals"
    );
    assert_eq!(ok("min", &[strs(&["b", "a", "c"])]), s("a"));
    assert_eq!(ok("max", &[strs(&["b", "a", "c"])]), s("c"));
    assert_eq!(ok("max", &[strs(&["z", "é"])]), s("é"), "code-point order");
    assert_eq!(ok("min", &[strs(&["ab", "a"])]), s("a"));
    assert_eq!(ok("max", &[ints(&[5])]), i(5));

    assert_eq!(err("min", &[ints(&[])]), "min of an empty list");
    assert_eq!(err("max", &[l(vec![])]), "max of an empty list");
}

#[test]
fn abs_of_ints_and_floats() {
    assert_eq!(ok("abs", &[i(-4)]), i(4));
    assert_eq!(ok("abs", &[i(4)]), i(4));
    assert_eq!(ok("abs", &[i(i64::MAX)]), i(i64::MAX));
    assert_eq!(ok("abs", &[f(-2.5)]), f(2.5));
    assert_eq!(ok("abs", &[f(f64::NEG_INFINITY)]), f(f64::INFINITY));
    assert_eq!(err("abs", &[i(i64::MIN)]), "integer overflow");
}

#[test]
fn sqrt_of_non_negative_numbers() {
    assert_eq!(ok("sqrt", &[f(16.0)]), f(4.0));
    assert_eq!(ok("sqrt", &[f(2.0)]), f(std::f64::consts::SQRT_2));
    assert_eq!(ok("sqrt", &[i(9)]), f(3.0), "an int widens");
    assert_eq!(ok("sqrt", &[f(0.0)]), f(0.0));
    assert_eq!(err("sqrt", &[f(-4.0)]), "sqrt of a negative number (-4.0)");
    assert_eq!(err("sqrt", &[i(-1)]), "sqrt of a negative number (-1.0)");
}

#[test]
fn round_halves_to_even() {
    assert_eq!(ok("round", &[f(2.5)]), i(2));
    assert_eq!(ok("round", &[f(3.5)]), i(4));
    assert_eq!(ok("round", &[f(-2.5)]), i(-2));
    assert_eq!(ok("round", &[f(2.6)]), i(3));
    assert_eq!(ok("round", &[f(-0.4)]), i(0));
    assert_eq!(ok("round", &[i(7)]), i(7));
    assert_eq!(
        err("round", &[f(f64::NAN)]),
        "round(nan): NaN has no integer value"
    );
    assert_eq!(
        err("round", &[f(f64::INFINITY)]),
        "round(inf): infinity has no integer value"
    );
    assert_eq!(
        err("round", &[f(1e19)]),
        "round(1e+19): outside the 64-bit integer range"
    );

    assert_eq!(ok("round", &[f(1234.0), i(-2)]), f(1200.0));
    assert_eq!(ok("round", &[f(1250.0), i(-2)]), f(1200.0));
    assert_eq!(ok("round", &[f(1350.0), i(-2)]), f(1400.0));
    assert_eq!(ok("round", &[f(2.675), i(2)]), f(2.67));
    assert_eq!(ok("round", &[f(0.125), i(2)]), f(0.12));
    assert_eq!(ok("round", &[f(0.375), i(2)]), f(0.38));
    assert_eq!(ok("round", &[f(2.5), i(0)]), f(2.0));
    assert_eq!(ok("round", &[i(15), i(-1)]), f(20.0));
    assert_eq!(ok("round", &[f(1.0), i(400)]), f(1.0));
    assert_eq!(shown(&ok("round", &[f(-7.0), i(-400)])), "-0.0");
    assert_eq!(shown(&ok("round", &[f(-0.4), i(0)])), "-0.0");
    assert_eq!(ok("round", &[f(f64::INFINITY), i(2)]), f(f64::INFINITY));
    assert_eq!(
        err("round", &[f(1.5e308), i(-308)]),
        "round(1.5e+308, -308): the rounded value is too large to represent"
    );
}

#[test]
fn floor_and_ceil() {
    assert_eq!(ok("floor", &[f(-1.5)]), i(-2));
    assert_eq!(ok("floor", &[f(1.5)]), i(1));
    assert_eq!(ok("floor", &[f(2.0)]), i(2));
    assert_eq!(ok("ceil", &[f(1.2)]), i(2));
    assert_eq!(ok("ceil", &[f(-1.2)]), i(-1));
    assert_eq!(ok("ceil", &[f(-0.5)]), i(0));
    assert_eq!(ok("floor", &[i(3)]), i(3));
    assert_eq!(ok("ceil", &[i(-3)]), i(-3));
    assert_eq!(
        err("floor", &[f(f64::NAN)]),
        "floor(nan): NaN has no integer value"
    );
    assert_eq!(
        err("ceil", &[f(f64::NEG_INFINITY)]),
        "ceil(-inf): infinity has no integer value"
    );
    assert_eq!(
        err("ceil", &[f(9.3e18)]),
        "ceil(9.3e+18): outside the 64-bit integer range"
    );
    assert_eq!(
        err("floor", &[f(-9.3e18)]),
        "floor(-9.3e+18): outside the 64-bit integer range"
    );
}

// ---------------------------------------------------------------------------------------------
// Lists and dicts
// ---------------------------------------------------------------------------------------------

#[test]
fn sorted_orders_numbers_strings_bools_tuples_and_lists() {
    assert_eq!(ok("sorted", &[ints(&[3, 1, 2])]), ints(&[1, 2, 3]));
    assert_eq!(ok("sorted", &[ints(&[])]), ints(&[]));
    assert_eq!(
        ok("sorted", &[l(vec![f(2.5), i(1), f(-0.5), i(3)])]),
        l(vec![f(-0.5), i(1), f(2.5), i(3)])
    );
    assert_eq!(
        ok("sorted", &[l(vec![f(1.0), i(1), f(0.0)])]),
        l(vec![f(0.0), f(1.0), i(1)]),
        "equal items keep their order"
    );
    assert_eq!(
        ok(
            "sorted",
            &[l(vec![i(9007199254740993), f(9007199254740992.0)])]
        ),
        l(vec![f(9007199254740992.0), i(9007199254740993)]),
        "ints and floats compare exactly"
    );
    assert_eq!(
        shown(&ok("sorted", &[floats(&[2.0, f64::NAN, 1.0])])),
        "[1.0, 2.0, nan]",
        "NaN sorts last"
    );
    assert_eq!(
        ok("sorted", &[strs(&["b", "B", "a", "é", ""])]),
        strs(&["", "B", "a", "b", "é"])
    );
    assert_eq!(
        ok("sorted", &[l(vec![b(true), b(false), b(true)])]),
        l(vec![b(false), b(true), b(true)])
    );
    assert_eq!(
        ok(
            "sorted",
            &[l(vec![
                t(vec![i(2), s("a")]),
                t(vec![i(1), s("b")]),
                t(vec![i(1), s("a")])
            ])]
        ),
        l(vec![
            t(vec![i(1), s("a")]),
            t(vec![i(1), s("b")]),
            t(vec![i(2), s("a")])
        ])
    );
    assert_eq!(
        ok(
            "sorted",
            &[l(vec![ints(&[1, 2]), ints(&[1]), ints(&[0, 9])])]
        ),
        l(vec![ints(&[0, 9]), ints(&[1]), ints(&[1, 2])])
    );
    assert_eq!(
        ok(
            "sorted",
            &[l(vec![Value::Duration(5), Value::Duration(-1)])]
        ),
        l(vec![Value::Duration(-1), Value::Duration(5)])
    );
}

#[test]
fn sorted_fails_on_items_without_order() {
    let p = Value::record("Point", vec![("x", f(1.0))]);
    assert_eq!(
        err("sorted", &[l(vec![p.clone(), p])]),
        "sorted: Point values have no order"
    );
    assert_eq!(
        err("sorted", &[l(vec![d(&[]), d(&[])])]),
        "sorted: dict values have no order"
    );
    assert_eq!(
        err("sorted", &[l(vec![i(1), Value::None])]),
        "sorted: none values have no order"
    );
    assert_eq!(
        err("sorted", &[l(vec![t(vec![i(1), Value::None])])]),
        "sorted: none values have no order"
    );
    assert_eq!(
        err("sorted", &[l(vec![i(1), s("a")])]),
        "sorted: cannot order str and int"
    );
    assert_eq!(
        err("min", &[l(vec![Value::None])]),
        "min: none values have no order"
    );
    assert_eq!(
        err("max", &[l(vec![i(1), s("a")])]),
        "max: cannot order str and int"
    );
}

#[test]
fn reversed_enumerate_and_zip() {
    assert_eq!(ok("reversed", &[ints(&[1, 2, 3])]), ints(&[3, 2, 1]));
    assert_eq!(ok("reversed", &[ints(&[])]), ints(&[]));
    assert_eq!(
        ok("enumerate", &[strs(&["a", "b"])]),
        l(vec![t(vec![i(0), s("a")]), t(vec![i(1), s("b")])])
    );
    assert_eq!(ok("enumerate", &[ints(&[])]), ints(&[]));
    assert_eq!(
        ok("zip", &[ints(&[1, 2, 3]), strs(&["a", "b"])]),
        l(vec![t(vec![i(1), s("a")]), t(vec![i(2), s("b")])])
    );
    assert_eq!(ok("zip", &[ints(&[]), strs(&["a"])]), ints(&[]));
}

#[test]
fn keys_and_values_in_insertion_order() {
    let m = d(&[("b", i(1)), ("a", i(2)), ("c", i(3))]);
    assert_eq!(ok("keys", std::slice::from_ref(&m)), strs(&["b", "a", "c"]));
    assert_eq!(ok("values", &[m]), ints(&[1, 2, 3]));
    assert_eq!(ok("keys", &[d(&[])]), strs(&[]));
    assert_eq!(ok("values", &[d(&[])]), strs(&[]));
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

#[test]
fn upper_lower_and_strip() {
    assert_eq!(ok("upper", &[s("abc Éé ß")]), s("ABC ÉÉ SS"));
    assert_eq!(ok("lower", &[s("ABC Éé")]), s("abc éé"));
    assert_eq!(ok("strip", &[s(" \t a b \n")]), s("a b"));
    assert_eq!(
        ok("strip", &[s("\u{3000}x\u{a0}")]),
        s("x"),
        "Unicode spaces"
    );
    assert_eq!(ok("strip", &[s("   ")]), s(""));
}

#[test]
fn split_and_join() {
    assert_eq!(ok("split", &[s("a,,b"), s(",")]), strs(&["a", "", "b"]));
    assert_eq!(ok("split", &[s(""), s(",")]), strs(&[""]));
    assert_eq!(ok("split", &[s("a--b--"), s("--")]), strs(&["a", "b", ""]));
    assert_eq!(ok("split", &[s("abc"), s("x")]), strs(&["abc"]));
    assert_eq!(
        err("split", &[s("abc"), s("")]),
        "split: the separator is empty"
    );

    assert_eq!(ok("join", &[strs(&["a", "b", "c"]), s(", ")]), s("a, b, c"));
    assert_eq!(ok("join", &[strs(&[]), s(",")]), s(""));
    assert_eq!(ok("join", &[strs(&["x"]), s(",")]), s("x"));
}

#[test]
fn replace_left_to_right_without_overlaps() {
    assert_eq!(ok("replace", &[s("aaa"), s("aa"), s("b")]), s("ba"));
    assert_eq!(ok("replace", &[s("a.b.c"), s("."), s("")]), s("abc"));
    assert_eq!(ok("replace", &[s("abc"), s("x"), s("y")]), s("abc"));
    assert_eq!(ok("replace", &[s("héé"), s("é"), s("e")]), s("hee"));
    assert_eq!(
        err("replace", &[s("abc"), s(""), s("x")]),
        "replace: the text to replace is empty"
    );
}

#[test]
fn chars_are_code_points() {
    assert_eq!(ok("chars", &[s("héy🎉")]), strs(&["h", "é", "y", "🎉"]));
    assert_eq!(ok("chars", &[s("")]), strs(&[]));
    let text = s("añb");
    let parts = ok("chars", std::slice::from_ref(&text));
    assert_eq!(ok("join", &[parts, s("")]), text);
}

#[test]
fn contains_on_strings_lists_and_dicts() {
    assert_eq!(ok("contains", &[s("hello"), s("ell")]), b(true));
    assert_eq!(ok("contains", &[s("hello"), s("")]), b(true));
    assert_eq!(ok("contains", &[s(""), s("")]), b(true));
    assert_eq!(ok("contains", &[s("hello"), s("z")]), b(false));
    assert_eq!(ok("contains", &[ints(&[1, 2]), i(2)]), b(true));
    assert_eq!(ok("contains", &[ints(&[1, 2]), i(3)]), b(false));
    assert_eq!(
        ok("contains", &[floats(&[1.0, 2.0]), i(2)]),
        b(true),
        "2 == 2.0"
    );
    assert_eq!(
        ok("contains", &[floats(&[f64::NAN]), f(f64::NAN)]),
        b(false)
    );
    assert_eq!(
        ok("contains", &[l(vec![Value::None, i(1)]), Value::None]),
        b(true)
    );
    assert_eq!(
        ok(
            "contains",
            &[l(vec![t(vec![i(1), s("a")])]), t(vec![f(1.0), s("a")])]
        ),
        b(true)
    );
    assert_eq!(
        ok(
            "contains",
            &[
                l(vec![d(&[("a", i(1)), ("b", i(2))])]),
                d(&[("b", i(2)), ("a", i(1))])
            ]
        ),
        b(true),
        "dicts are equal regardless of order"
    );
    let p = Value::record("P", vec![("x", i(1))]);
    let q = Value::record("Q", vec![("x", i(1))]);
    assert_eq!(ok("contains", &[l(vec![p.clone()]), p]), b(true));
    assert_eq!(
        ok(
            "contains",
            &[l(vec![q]), Value::record("P", vec![("x", i(1))])]
        ),
        b(false)
    );
    let m = d(&[("k", i(1))]);
    assert_eq!(ok("contains", &[m.clone(), s("k")]), b(true));
    assert_eq!(ok("contains", &[m, s("z")]), b(false));
}

#[test]
fn starts_with_and_ends_with() {
    assert_eq!(ok("starts_with", &[s("hello"), s("he")]), b(true));
    assert_eq!(ok("starts_with", &[s("hello"), s("lo")]), b(false));
    assert_eq!(ok("starts_with", &[s("hello"), s("")]), b(true));
    assert_eq!(ok("ends_with", &[s("hello"), s("lo")]), b(true));
    assert_eq!(ok("ends_with", &[s("hello"), s("he")]), b(false));
    assert_eq!(ok("ends_with", &[s(""), s("")]), b(true));
}

#[test]
fn format_writes_fixed_decimals() {
    assert_eq!(ok("format", &[f(2.5), i(2)]), s("2.50"));
    assert_eq!(ok("format", &[f(2.0), i(0)]), s("2"));
    assert_eq!(ok("format", &[f(2.5), i(0)]), s("2"));
    assert_eq!(ok("format", &[f(3.5), i(0)]), s("4"));
    assert_eq!(ok("format", &[f(2.675), i(2)]), s("2.67"));
    assert_eq!(ok("format", &[f(0.125), i(2)]), s("0.12"));
    assert_eq!(ok("format", &[f(9.999), i(2)]), s("10.00"));
    assert_eq!(ok("format", &[f(-0.001), i(2)]), s("-0.00"));
    assert_eq!(ok("format", &[f(1e20), i(1)]), s("100000000000000000000.0"));
    assert_eq!(ok("format", &[i(3), i(2)]), s("3.00"), "an int widens");
    assert_eq!(ok("format", &[f(f64::NAN), i(2)]), s("nan"));
    assert_eq!(ok("format", &[f(f64::NEG_INFINITY), i(2)]), s("-inf"));
    assert_eq!(
        err("format", &[f(1.0), i(-1)]),
        "format: digits is negative (-1)"
    );
    assert!(err("format", &[f(1.0), i(i64::MAX)]).contains("too many"));
}

// ---------------------------------------------------------------------------------------------
// Time and files
// ---------------------------------------------------------------------------------------------

#[test]
fn now_is_a_utc_datetime_after_2024() {
    let Value::Datetime(us) = ok("now", &[]) else {
        panic!("now() is not a datetime")
    };
    assert!(us > 1_704_067_200_000_000, "now() = {us}");
    assert!(display(&Value::Datetime(us)).ends_with('Z'));
}

#[test]
fn write_text_then_read_text() {
    let (_dir, ctx) = ctx();
    let a = call("write_text", &[s("héllo\nworld")], &ctx).expect("write_text");
    let b2 = call("write_text", &[s("héllo\nworld")], &ctx).expect("write_text");
    let (Value::Path(pa), Value::Path(pb)) = (&a, &b2) else {
        panic!("write_text gives a file: {a:?}")
    };
    assert_ne!(pa, pb, "each call writes a new file");
    assert!(std::path::Path::new(&**pa).starts_with(&ctx.scratch_dir));
    assert_eq!(
        call("read_text", std::slice::from_ref(&a), &ctx),
        Ok(s("héllo\nworld"))
    );
    assert_eq!(
        call(
            "read_text",
            &[Value::Path(format!("file://{pa}").into())],
            &ctx
        ),
        Ok(s("héllo\nworld"))
    );
    assert_eq!(
        call("write_text", &[s("")], &ctx).and_then(|p| call("read_text", &[p], &ctx)),
        Ok(s(""))
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&ctx.scratch_dir)
        .expect("scratch dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn read_text_fails_on_missing_and_non_utf8_files() {
    let (dir, ctx) = ctx();
    let missing = dir.path().join("missing.txt");
    let missing = missing.to_str().expect("utf-8 temp path");
    let e = call("read_text", &[Value::Path(missing.into())], &ctx).expect_err("missing");
    assert!(e.starts_with("read_text: \""), "{e}");
    assert!(e.contains("missing.txt"), "{e}");

    let bad = dir.path().join("bad.bin");
    std::fs::write(&bad, [0x66, 0xff, 0xfe]).expect("write");
    let bad = bad.to_str().expect("utf-8 temp path");
    let e = call("read_text", &[Value::Path(bad.into())], &ctx).expect_err("not UTF-8");
    assert!(e.ends_with("is not valid UTF-8"), "{e}");

    let e = call(
        "read_text",
        &[Value::Path("s3://bucket/x.txt".into())],
        &ctx,
    )
    .expect_err("remote");
    assert!(e.contains("only local files"), "{e}");
}

#[test]
fn write_text_fails_when_the_scratch_dir_cannot_be_made() {
    let (dir, _) = ctx();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").expect("write");
    let ctx = Context {
        scratch_dir: blocker.join("sub"),
    };
    let e = call("write_text", &[s("x")], &ctx).expect_err("cannot create");
    assert!(e.starts_with("write_text: cannot create"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------------

#[test]
fn display_of_scalars_and_containers() {
    assert_eq!(shown(&i(-3)), "-3");
    assert_eq!(shown(&f(6.0)), "6.0");
    assert_eq!(shown(&b(false)), "false");
    assert_eq!(shown(&Value::None), "none");
    assert_eq!(shown(&s("a \"b\"")), "a \"b\"");
    assert_eq!(shown(&ints(&[1, 2])), "[1, 2]");
    assert_eq!(shown(&l(vec![])), "[]");
    assert_eq!(
        shown(&l(vec![s("a, b"), s("q\"{x}\"\n\\"), Value::None])),
        r#"["a, b", "q\"\{x\}\"\n\\", none]"#
    );
    assert_eq!(
        shown(&d(&[("a", i(1)), ("b", s("x"))])),
        r#"{"a": 1, "b": "x"}"#
    );
    assert_eq!(shown(&d(&[])), "{}");
    assert_eq!(shown(&t(vec![i(1), s("a")])), r#"(1, "a")"#);
    assert_eq!(shown(&t(vec![i(1)])), "(1,)");
    assert_eq!(
        shown(&Value::record("Point", vec![("x", f(6.0)), ("y", f(8.0))])),
        "Point(x=6.0, y=8.0)"
    );
    assert_eq!(
        shown(&Value::record(
            "P",
            vec![("name", s("Ann")), ("tags", strs(&["a"]))]
        )),
        r#"P(name="Ann", tags=["a"])"#
    );
    let red = Value::Enum("Color".into(), "Red".into());
    assert_eq!(shown(&red), "Red");
    assert_eq!(shown(&l(vec![red])), "[Red]");
    assert_eq!(shown(&Value::Path("/tmp/a.txt".into())), "/tmp/a.txt");
    assert_eq!(
        shown(&l(vec![Value::Path("/tmp/a.txt".into())])),
        r#"["/tmp/a.txt"]"#
    );
    assert_eq!(shown(&Value::opaque(vec![1, 2, 3])), "<extern 3 bytes>");
    assert_eq!(
        shown(&l(vec![floats(&[0.1, 1e20]), l(vec![])])),
        "[[0.1, 1e+20], []]"
    );
}

#[test]
fn display_of_datetimes_in_rfc3339() {
    let dt = |us: i64| shown(&Value::Datetime(us));
    assert_eq!(dt(0), "1970-01-01T00:00:00Z");
    assert_eq!(dt(1_714_564_800_000_000), "2024-05-01T12:00:00Z");
    assert_eq!(dt(1_714_564_800_123_000), "2024-05-01T12:00:00.123Z");
    assert_eq!(dt(1_714_564_800_000_001), "2024-05-01T12:00:00.000001Z");
    assert_eq!(dt(951_782_400_000_000), "2000-02-29T00:00:00Z");
    assert_eq!(dt(-1), "1969-12-31T23:59:59.999999Z");
    assert_eq!(dt(-62_135_596_800_000_000), "0001-01-01T00:00:00Z");
    assert_eq!(dt(253_402_300_799_000_000), "9999-12-31T23:59:59Z");
    assert_eq!(dt(253_402_300_800_000_000), "+10000-01-01T00:00:00Z");
    // The extremes do not panic.
    assert!(dt(i64::MIN).starts_with('-'));
    assert!(dt(i64::MAX).starts_with('+'));
}

#[test]
fn display_of_durations() {
    let du = |us: i64| shown(&Value::Duration(us));
    assert_eq!(du(0), "0s");
    assert_eq!(du(250), "250us");
    assert_eq!(du(1_500), "1.5ms");
    assert_eq!(du(250_000), "250ms");
    assert_eq!(du(1_500_000), "1.5s");
    assert_eq!(du(30_000_000), "30s");
    assert_eq!(du(150_000_000), "2m30s");
    assert_eq!(du(300_000_000), "5m");
    assert_eq!(du(7_200_000_000), "2h");
    assert_eq!(du(3_600_250_000), "1h0.25s");
    assert_eq!(du(86_400_000_000), "1d");
    assert_eq!(du(93_600_000_000), "1d2h");
    assert_eq!(du(-30_000_000), "-30s");
    assert_eq!(du(-1_500), "-1.5ms");
    assert!(du(i64::MIN).starts_with('-'));
    assert!(!du(i64::MAX).is_empty());
}

#[test]
fn float_repr_examples() {
    for (x, want) in [
        (6.0, "6.0"),
        (0.1, "0.1"),
        (1e20, "1e+20"),
        (1e-5, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (123456789012345.0, "123456789012345.0"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"),
        (-0.0, "-0.0"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
    ] {
        assert_eq!(float_repr(x), want, "repr of {x:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Against CPython
// ---------------------------------------------------------------------------------------------

#[test]
fn float_display_matches_python_repr() {
    let xs = sample_floats();
    let script = format!("{PY_FLOAT}import sys\nfor line in sys.stdin: print(repr(fl(line)))");
    let want = python(&script, &bits_lines(&xs));
    assert_eq!(want.len(), xs.len(), "python3 printed a line per float");
    let mut mismatches = Vec::new();
    for (x, want) in xs.iter().zip(&want) {
        let got = display(&Value::Float(*x));
        if &got != want {
            mismatches.push(format!("{x:?}: flytec {got}, python {want}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn format_and_round_match_python() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut cases: Vec<(f64, i64)> = Vec::new();
    for x in sample_floats() {
        let digits = (rng.next() % 25) as i64 - 8;
        cases.push((x, digits));
    }
    for x in [
        0.5, 1.5, 2.5, 0.25, 0.125, 2.675, 1.005, 1250.0, 1350.0, 5e307, 1.5e308,
    ] {
        for digits in [-308, -3, -2, -1, 0, 1, 2, 3, 17, 30, 400] {
            cases.push((x, digits));
            cases.push((-x, digits));
        }
    }
    let input: String = cases
        .iter()
        .map(|(x, dg)| format!("{} {dg}\n", x.to_bits()))
        .collect();
    let script = format!(
        "{PY_FLOAT}import sys\n\
         for line in sys.stdin:\n\
         \tb, d = line.split()\n\
         \tx, d = fl(b), int(d)\n\
         \tfx = format(x, '.%df' % d) if d >= 0 else '-'\n\
         \ttry: r = repr(round(x, d))\n\
         \texcept OverflowError: r = 'overflow'\n\
         \ttry: r0 = str(round(x))\n\
         \texcept (OverflowError, ValueError): r0 = 'error'\n\
         \tif r0 != 'error' and not -2**63 <= int(r0) < 2**63: r0 = 'error'\n\
         \tprint(fx, r, r0)"
    );
    let want = python(&script, &input);
    assert_eq!(want.len(), cases.len(), "python3 printed a line per case");
    let mut mismatches = Vec::new();
    for ((x, digits), want) in cases.iter().zip(&want) {
        let fx = if *digits >= 0 {
            match run("format", &[f(*x), i(*digits)]) {
                Ok(Value::Str(t)) => t.to_string(),
                other => format!("{other:?}"),
            }
        } else {
            assert!(run("format", &[f(*x), i(*digits)]).is_err());
            "-".to_string()
        };
        let r = match run("round", &[f(*x), i(*digits)]) {
            Ok(v) => display(&v),
            Err(e) if e.contains("too large") => "overflow".into(),
            Err(e) => e,
        };
        let r0 = match run("round", &[f(*x)]) {
            Ok(v) => display(&v),
            Err(_) => "error".into(),
        };
        let got = format!("{fx} {r} {r0}");
        if &got != want {
            mismatches.push(format!(
                "({x:?}, {digits}): flytec `{got}`, python `{want}`"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn int_and_float_parsing_match_python() {
    let texts = [
        "42",
        " -17 ",
        "+5",
        "007",
        "4.5",
        "",
        "x1",
        "1e3",
        "-0",
        "3.",
        ".5",
        "-.5",
        "1e-3",
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "nan",
        "NaN",
        "-nan",
        "1.5e308",
        "1e400",
        "abc",
        "1.2.3",
        "e5",
        "--1",
        "9223372036854775807",
        "-9223372036854775808",
        "\t12\n",
    ];
    let input: String = texts.iter().map(|t| format!("{t:?}\n")).collect();
    let script = "import sys, json\n\
        for line in sys.stdin:\n\
        \tt = json.loads(line)\n\
        \ttry: a = str(int(t))\n\
        \texcept ValueError: a = 'error'\n\
        \ttry: b = repr(float(t))\n\
        \texcept ValueError: b = 'error'\n\
        \tprint(a, b)";
    let want = python(script, &input);
    assert_eq!(want.len(), texts.len());
    for (text, want) in texts.iter().zip(&want) {
        let a = run("int", &[s(text)]).map_or("error".into(), |v| display(&v));
        let b2 = run("float", &[s(text)]).map_or("error".into(), |v| display(&v));
        assert_eq!(&format!("{a} {b2}"), want, "int/float of {text:?}");
    }
}
