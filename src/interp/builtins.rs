//! The built-in functions of Flow, as `stdlib/prelude.flow` declares and documents them.
//!
//! [`call`] runs one by name over arguments already in parameter order (the interpreter
//! resolves named arguments and defaults). Overloads are told apart by the runtime kinds of
//! the arguments. Wherever a float is expected an `Int` is accepted too (a `list[float]` may
//! hold ints widened by the checker). Failures are `Err` with a message for people; the
//! interpreter adds the task name and the source position. Nothing here panics on any input.
//!
//! Choices the prelude leaves open: `sorted` puts NaN after every other number (and fails on
//! items of different kinds); `min`/`max` follow Python (the first item no later item beats, so
//! a NaN wins only when it comes first); `int("…")` takes ASCII digits without `_`; `read_text`
//! reads a plain path (relative to the working directory) or a `file://` URI. Limits keep a
//! typo from exhausting memory: [`MAX_RANGE_LEN`], [`MAX_LIST_LEN`], [`MAX_FORMAT_DIGITS`],
//! [`MAX_TEXT_BYTES`].

use std::cell::RefCell;
use std::cmp::Ordering;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::{display, fixed, float_repr, quote, round_to};
use crate::value::Value;

/// What the built-ins need from the run: where `write_text` puts its files.
#[derive(Clone, Debug)]
pub struct Context {
    /// The directory `write_text` writes new files into (created when missing).
    pub scratch_dir: PathBuf,
}

/// The most items `range` makes, so that a typo cannot exhaust memory.
pub const MAX_RANGE_LEN: i64 = 100_000_000;

/// The most items `+` makes of two lists.
pub const MAX_LIST_LEN: usize = MAX_RANGE_LEN as usize;

/// The most decimals `format` writes.
pub const MAX_FORMAT_DIGITS: i64 = 10_000;

/// The longest text (in bytes) `replace`, `join`, `+` and interpolation produce.
pub const MAX_TEXT_BYTES: usize = 1 << 30;

/// The names of all built-in functions, as declared in `stdlib/prelude.flow`.
pub const NAMES: &[&str] = &[
    "unwrap",
    "len",
    "range",
    "str",
    "int",
    "float",
    "parse_int",
    "parse_float",
    "sum",
    "min",
    "max",
    "abs",
    "sqrt",
    "round",
    "floor",
    "ceil",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "keys",
    "values",
    "upper",
    "lower",
    "strip",
    "split",
    "join",
    "replace",
    "chars",
    "contains",
    "starts_with",
    "ends_with",
    "format",
    "now",
    "read_text",
    "write_text",
];

/// Whether `name` is a built-in function.
pub fn is_builtin(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Runs the built-in `name` on `args` (in parameter order). `Err` is the runtime error message.
pub fn call(name: &str, args: &[Value], ctx: &Context) -> Result<Value, String> {
    use Value as V;
    match (name, args) {
        ("unwrap", [V::None]) => Err("unwrapped none".into()),
        ("unwrap", [x]) => Ok(x.clone()),

        ("len", [V::List(xs)]) => Ok(V::Int(len_i64(xs.len()))),
        ("len", [V::Dict(d)]) => Ok(V::Int(len_i64(d.len()))),
        ("len", [V::Str(s)]) => Ok(V::Int(len_i64(s.chars().count()))),
        ("range", [V::Int(n)]) => range(0, *n),
        ("range", [V::Int(start), V::Int(stop)]) => range(*start, *stop),

        ("str", [x]) => Ok(V::str(display(x))),
        ("int", [V::Int(n)]) => Ok(V::Int(*n)),
        ("int", [V::Float(x)]) => float_to_int("int", *x, x.trunc()),
        ("int", [V::Str(s)]) => parse_int(s).map(V::Int),
        ("int", [V::Bool(b)]) => Ok(V::Int(i64::from(*b))),
        ("float", [V::Int(n)]) => Ok(V::Float(*n as f64)),
        ("float", [V::Float(x)]) => Ok(V::Float(*x)),
        ("float", [V::Str(s)]) => parse_float(s).map(V::Float),
        ("parse_int", [V::Str(s)]) => Ok(parse_int(s).map_or(V::None, V::Int)),
        ("parse_float", [V::Str(s)]) => Ok(parse_float(s).map_or(V::None, V::Float)),

        ("sum", [V::List(xs)]) => sum(xs),
        ("min", [V::List(xs)]) => extreme("min", xs, Ordering::Less),
        ("max", [V::List(xs)]) => extreme("max", xs, Ordering::Greater),
        ("abs", [V::Int(n)]) => n.checked_abs().map(V::Int).ok_or_else(overflow),
        ("abs", [V::Float(x)]) => Ok(V::Float(x.abs())),
        ("sqrt", [x]) if number(x).is_some() => {
            let x = as_f64(x);
            if x < 0.0 {
                Err(format!("sqrt of a negative number ({})", float_repr(x)))
            } else {
                Ok(V::Float(x.sqrt()))
            }
        }
        ("round", [V::Int(n)]) => Ok(V::Int(*n)),
        ("round", [V::Float(x)]) => float_to_int("round", *x, x.round_ties_even()),
        ("round", [x, V::Int(digits)]) if number(x).is_some() => {
            round_to(as_f64(x), *digits).map(V::Float).ok_or_else(|| {
                format!(
                    "round({}, {digits}): the rounded value is too large to represent",
                    display(x)
                )
            })
        }
        ("floor", [V::Int(n)]) | ("ceil", [V::Int(n)]) => Ok(V::Int(*n)),
        ("floor", [V::Float(x)]) => float_to_int("floor", *x, x.floor()),
        ("ceil", [V::Float(x)]) => float_to_int("ceil", *x, x.ceil()),

        ("sorted", [V::List(xs)]) => sorted(xs),
        ("reversed", [V::List(xs)]) => Ok(V::list(xs.iter().rev().cloned().collect())),
        ("enumerate", [V::List(xs)]) => Ok(V::list(
            xs.iter()
                .enumerate()
                .map(|(i, x)| pair(V::Int(len_i64(i)), x.clone()))
                .collect(),
        )),
        ("zip", [V::List(a), V::List(b)]) => Ok(V::list(
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| pair(x.clone(), y.clone()))
                .collect(),
        )),
        ("keys", [V::Dict(d)]) => Ok(V::list(d.keys().map(|k| V::str(k.as_str())).collect())),
        ("values", [V::Dict(d)]) => Ok(V::list(d.values().cloned().collect())),

        ("upper", [V::Str(s)]) => Ok(V::str(s.to_uppercase())),
        ("lower", [V::Str(s)]) => Ok(V::str(s.to_lowercase())),
        ("strip", [V::Str(s)]) => Ok(V::str(s.trim())),
        ("split", [V::Str(_), V::Str(sep)]) if sep.is_empty() => {
            Err("split: the separator is empty".into())
        }
        ("split", [V::Str(s), V::Str(sep)]) => Ok(V::list(s.split(&**sep).map(V::str).collect())),
        ("join", [V::List(xs), V::Str(sep)]) => join(xs, sep),
        ("replace", [V::Str(_), V::Str(old), V::Str(_)]) if old.is_empty() => {
            Err("replace: the text to replace is empty".into())
        }
        ("replace", [V::Str(s), V::Str(old), V::Str(new)]) => replace(s, old, new),
        ("chars", [V::Str(s)]) => Ok(V::list(s.chars().map(|c| V::str(c.to_string())).collect())),
        ("contains", [V::Str(s), V::Str(sub)]) => Ok(V::Bool(s.contains(&**sub))),
        ("contains", [V::List(xs), x]) => Ok(V::Bool(xs.iter().any(|y| values_equal(y, x)))),
        ("contains", [V::Dict(d), V::Str(key)]) => Ok(V::Bool(d.contains_key(&**key))),
        ("starts_with", [V::Str(s), V::Str(p)]) => Ok(V::Bool(s.starts_with(&**p))),
        ("ends_with", [V::Str(s), V::Str(p)]) => Ok(V::Bool(s.ends_with(&**p))),
        ("format", [x, V::Int(digits)]) if number(x).is_some() => format_fixed(x, *digits),

        ("now", []) => Ok(V::Datetime(now_micros())),
        ("read_text", [V::Path(p)]) => read_text(p),
        ("write_text", [V::Str(text)]) => write_text(text, ctx),

        _ if is_builtin(name) => Err(format!(
            "{name} does not take ({})",
            args.iter().map(kind).collect::<Vec<_>>().join(", ")
        )),
        _ => Err(format!("`{name}` is not a built-in function")),
    }
}

/// Whether `a == b` in Flow: numbers compare by value (`1 == 1.0`), dicts regardless of
/// order, records by type and fields, everything else structurally; NaN equals nothing.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    use Value as V;
    match (a, b) {
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
            compare_numbers(a, b) == Some(Ordering::Equal)
        }
        (V::List(x), V::List(y)) | (V::Tuple(x), V::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| values_equal(a, b))
        }
        (V::Dict(x), V::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (V::Record(x), V::Record(y)) => {
            x.type_name == y.type_name
                && x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .zip(y.fields.iter())
                    .all(|((n, v), (m, w))| n == m && values_equal(v, w))
        }
        (V::Float(_) | V::Int(_), _) | (_, V::Float(_) | V::Int(_)) => false,
        _ => a == b,
    }
}

/// How `a` and `b` order (as `sorted` orders them): numbers by value, strings by code point,
/// `false` before `true`, datetimes and durations by time, lists and tuples item by item.
/// `Ok(None)` when a NaN is involved; `Err` when the values have no order or differ in kind.
pub fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>, String> {
    use Value as V;
    Ok(match (a, b) {
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => compare_numbers(a, b),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Datetime(x), V::Datetime(y)) | (V::Duration(x), V::Duration(y)) => Some(x.cmp(y)),
        (V::List(x), V::List(y)) | (V::Tuple(x), V::Tuple(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                match compare(p, q)? {
                    Some(Ordering::Equal) => {}
                    other => return Ok(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => {
            return Err(if orderable(a) && orderable(b) {
                format!("cannot order {} and {}", kind(a), kind(b))
            } else {
                format!(
                    "{} values have no order",
                    kind(if orderable(a) { b } else { a })
                )
            })
        }
    })
}

/// Whether values of `v`'s kind have an order at all.
fn orderable(v: &Value) -> bool {
    matches!(
        v,
        Value::Int(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Bool(_)
            | Value::Datetime(_)
            | Value::Duration(_)
            | Value::List(_)
            | Value::Tuple(_)
    )
}

/// A value's kind, for messages: `int`, `list`, `Point`.
fn kind(v: &Value) -> String {
    match v {
        Value::None => "none".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_) => "int".into(),
        Value::Float(_) => "float".into(),
        Value::Str(_) => "str".into(),
        Value::Datetime(_) => "datetime".into(),
        Value::Duration(_) => "duration".into(),
        Value::List(_) => "list".into(),
        Value::Dict(_) => "dict".into(),
        Value::Tuple(_) => "tuple".into(),
        Value::Record(r) if r.type_name.is_empty() => "named tuple".into(),
        Value::Record(r) => r.type_name.to_string(),
        Value::Enum(e, _) => e.to_string(),
        Value::Path(_) => "file".into(),
        Value::Opaque(_) => "extern".into(),
    }
}

fn overflow() -> String {
    "integer overflow".into()
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn pair(a: Value, b: Value) -> Value {
    Value::Tuple(Arc::new(vec![a, b]))
}

/// A number, for the numeric built-ins: `Int` or `Float`.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

fn number(v: &Value) -> Option<Num> {
    match v {
        Value::Int(n) => Some(Num::I(*n)),
        Value::Float(x) => Some(Num::F(*x)),
        _ => None,
    }
}

/// A number as a float (ints beyond 2**53 rounded to the nearest); 0 for non-numbers.
fn as_f64(v: &Value) -> f64 {
    match number(v) {
        Some(Num::I(n)) => n as f64,
        Some(Num::F(x)) => x,
        None => 0.0,
    }
}

/// Exact numeric comparison of two numbers (no rounding of large ints); `None` with NaN or
/// when either is not a number.
fn compare_numbers(a: &Value, b: &Value) -> Option<Ordering> {
    match (number(a)?, number(b)?) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // `t` is an integer in [-2**63, 2**63): the cast is exact.
    match i.cmp(&(t as i64)) {
        Ordering::Equal => (0.0).partial_cmp(&(f - t)),
        other => Some(other),
    }
}

/// The integer `y` (already rounded from `x` by `op`), failing on NaN, infinity and overflow.
fn float_to_int(op: &str, x: f64, y: f64) -> Result<Value, String> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() {
        Err(format!("{op}(nan): NaN has no integer value"))
    } else if x.is_infinite() {
        Err(format!(
            "{op}({}): infinity has no integer value",
            float_repr(x)
        ))
    } else if !(-TWO_63..TWO_63).contains(&y) {
        Err(format!(
            "{op}({}): outside the 64-bit integer range",
            float_repr(x)
        ))
    } else {
        Ok(Value::Int(y as i64))
    }
}

/// `int(s)`: an optional sign and ASCII decimal digits, surrounding whitespace ignored.
fn parse_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("int({}): not an integer", quote(s)));
    }
    t.parse::<i64>()
        .map_err(|_| format!("int({}): outside the 64-bit integer range", quote(s)))
}

/// `float(s)`: a decimal number, `inf`/`infinity` or `nan` (any case, optional sign),
/// surrounding whitespace ignored.
fn parse_float(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("float({}): not a number", quote(s)))
}

fn range(start: i64, stop: i64) -> Result<Value, String> {
    let n = i128::from(stop) - i128::from(start);
    if n > i128::from(MAX_RANGE_LEN) {
        return Err(format!(
            "range of {n} items is too long (the limit is {MAX_RANGE_LEN})"
        ));
    }
    if n <= 0 {
        return Ok(Value::list(Vec::new()));
    }
    Ok(Value::list((start..stop).map(Value::Int).collect()))
}

/// `sum`: left to right, exact for ints (failing on overflow), floats once a float appears.
fn sum(xs: &[Value]) -> Result<Value, String> {
    let mut acc = Num::I(0);
    for x in xs {
        let x = number(x).ok_or_else(|| format!("sum: {} is not a number", kind(x)))?;
        acc = match (acc, x) {
            (Num::I(a), Num::I(b)) => Num::I(a.checked_add(b).ok_or_else(overflow)?),
            (Num::I(a), Num::F(b)) => Num::F(a as f64 + b),
            (Num::F(a), Num::I(b)) => Num::F(a + b as f64),
            (Num::F(a), Num::F(b)) => Num::F(a + b),
        };
    }
    Ok(match acc {
        Num::I(n) => Value::Int(n),
        Num::F(x) => Value::Float(x),
    })
}

/// `min` (`want` = Less) or `max` (`want` = Greater), as Python's: the first item that no
/// later item beats; comparisons with NaN never beat.
fn extreme(name: &str, xs: &[Value], want: Ordering) -> Result<Value, String> {
    let (first, rest) = xs
        .split_first()
        .ok_or_else(|| format!("{name} of an empty list"))?;
    if !orderable(first) {
        return Err(format!("{name}: {} values have no order", kind(first)));
    }
    let mut best = first;
    for x in rest {
        let ord = compare(x, best).map_err(|m| format!("{name}: {m}"))?;
        if ord == Some(want) {
            best = x;
        }
    }
    Ok(best.clone())
}

/// `sorted`: a stable sort. Every item (and every part of a tuple or list item) must have an
/// order; NaN sorts after every other number.
fn sorted(xs: &[Value]) -> Result<Value, String> {
    fn check(v: &Value) -> Result<(), String> {
        match v {
            Value::List(items) | Value::Tuple(items) => items.iter().try_for_each(check),
            v if orderable(v) => Ok(()),
            v => Err(format!("sorted: {} values have no order", kind(v))),
        }
    }
    xs.iter().try_for_each(check)?;
    let error = RefCell::new(None);
    let mut out = xs.to_vec();
    out.sort_by(|a, b| total_order(a, b, &error));
    match error.into_inner() {
        Some(m) => Err(format!("sorted: {m}")),
        None => Ok(Value::list(out)),
    }
}

/// A total order over orderable values (so the sort never sees an inconsistent comparator):
/// NaN after all numbers; values of different kinds by kind, recording the error.
fn total_order(a: &Value, b: &Value, error: &RefCell<Option<String>>) -> Ordering {
    use Value as V;
    fn rank(v: &Value) -> u8 {
        match v {
            V::Int(_) | V::Float(_) => 0,
            V::Str(_) => 1,
            V::Bool(_) => 2,
            V::Datetime(_) => 3,
            V::Duration(_) => 4,
            V::List(_) => 5,
            V::Tuple(_) => 6,
            _ => 7,
        }
    }
    let is_nan = |v: &Value| matches!(v, V::Float(x) if x.is_nan());
    match (a, b) {
        (V::List(x), V::List(y)) | (V::Tuple(x), V::Tuple(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = total_order(p, q, error);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ if rank(a) == 0 && rank(b) == 0 => match (is_nan(a), is_nan(b)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_numbers(a, b).unwrap_or(Ordering::Equal),
        },
        _ => match compare(a, b) {
            Ok(o) => o.unwrap_or(Ordering::Equal),
            Err(m) => {
                error.borrow_mut().get_or_insert(m);
                rank(a).cmp(&rank(b))
            }
        },
    }
}

fn join(xs: &[Value], sep: &str) -> Result<Value, String> {
    let mut out = String::new();
    for (i, x) in xs.iter().enumerate() {
        let Value::Str(s) = x else {
            return Err(format!("join: item {i} is {}, not str", kind(x)));
        };
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(s);
        if out.len() > MAX_TEXT_BYTES {
            return Err(too_long("join"));
        }
    }
    Ok(Value::str(out))
}

fn too_long(name: &str) -> String {
    format!("{name}: the result would be longer than {MAX_TEXT_BYTES} bytes")
}

fn replace(s: &str, old: &str, new: &str) -> Result<Value, String> {
    if new.len() > old.len() {
        let count = s.matches(old).count();
        let grown = count.saturating_mul(new.len() - old.len());
        if s.len().saturating_add(grown) > MAX_TEXT_BYTES {
            return Err(too_long("replace"));
        }
    }
    Ok(Value::str(s.replace(old, new)))
}

fn format_fixed(x: &Value, digits: i64) -> Result<Value, String> {
    if digits < 0 {
        return Err(format!("format: digits is negative ({digits})"));
    }
    if digits > MAX_FORMAT_DIGITS {
        return Err(format!(
            "format: {digits} digits are too many (the limit is {MAX_FORMAT_DIGITS})"
        ));
    }
    let digits = usize::try_from(digits).unwrap_or(0);
    Ok(Value::str(fixed(as_f64(x), digits)))
}

fn now_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// The local path of a `file` value: a plain path, or a `file://` URI.
fn local_path(p: &str) -> Result<&Path, String> {
    if let Some(rest) = p.strip_prefix("file://") {
        return Ok(Path::new(rest));
    }
    match p.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() && !scheme.contains('/') => Err(format!(
            "read_text: {}: only local files can be read, not `{scheme}://` ones",
            quote(p)
        )),
        _ => Ok(Path::new(p)),
    }
}

fn read_text(p: &str) -> Result<Value, String> {
    let path = local_path(p)?;
    let bytes = std::fs::read(path).map_err(|e| format!("read_text: {}: {e}", quote(p)))?;
    String::from_utf8(bytes)
        .map(Value::str)
        .map_err(|_| format!("read_text: {} is not valid UTF-8", quote(p)))
}

/// Writes `text` to a new file under the scratch directory: a temporary file first, renamed
/// into place once complete, so that no reader ever sees half a file.
fn write_text(text: &str, ctx: &Context) -> Result<Value, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = &ctx.scratch_dir;
    let fail = |what: &str, e: std::io::Error| format!("write_text: {what} {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot create", e))?;
    let pid = std::process::id();
    let stamp = now_micros();
    loop {
        let n = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
        let name = format!("text-{stamp}-{pid}-{n}.txt");
        let target = dir.join(&name);
        if target.exists() {
            continue;
        }
        let temp = dir.join(format!(".{name}.tmp"));
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail("cannot write into", e)),
        };
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temp, &target));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(fail("cannot write into", e));
        }
        let path = target
            .to_str()
            .ok_or_else(|| format!("write_text: {} is not valid UTF-8", target.display()))?;
        return Ok(Value::Path(path.into()));
    }
}
