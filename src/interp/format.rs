//! How Flow writes values as text: string interpolation `"{e}"` and `str(e)` (LANGUAGE.md §7),
//! and the number formatting behind the `format` and `round` built-ins.
//!
//! The rules of [`display`]:
//!
//! - ints in decimal; floats exactly as Python's `repr(float)` (shortest digits that read back
//!   to the same float; plain notation when the decimal exponent is in `-4..16`, else
//!   `1e+20`, `1.5e-07`; `inf`, `-inf`, `nan`); `true`/`false`; `none`;
//! - a string as itself at the top level; inside a list, dict, tuple or record it is written as
//!   a Flow string literal, `"a\"b"` (escapes `\\ \" \n \t \r \{ \}`), so that `["a, b"]` and
//!   `["a", "b"]` read differently; a `file`/`dir` path likewise (itself at the top level,
//!   quoted inside containers);
//! - an enum value as its variant name, `Red`;
//! - lists `[1, 2]`, dicts `{"a": 1}`, tuples `(1, "a")` (a one-item tuple `(1,)`), records
//!   `Point(x=6.0, y=8.0)`;
//! - a datetime in RFC 3339 with `Z`: `2024-05-01T12:00:00Z`, with `.123` or `.123456` when it
//!   has milliseconds or microseconds;
//! - a duration by its units, largest first, zero units left out, the seconds with a decimal
//!   fraction: `0s`, `250us`, `1.5ms`, `250ms`, `1.5s`, `2m30s`, `1h0.25s`, `1d2h`, `-30s`; a
//!   whole number of one unit reads as Flow's duration literal (`250ms`, `30s`, `5m`, `2h`, `1d`);
//! - an `extern` value as `<extern N bytes>`.

use std::fmt::Write as _;

use crate::value::Value;

/// `v` as interpolation `"{v}"` and `str(v)` write it (see the module documentation).
pub fn display(v: &Value) -> String {
    let mut out = String::new();
    write_display(&mut out, v);
    out
}

/// Appends [`display`]`(v)` to `out`.
pub fn write_display(out: &mut String, v: &Value) {
    write_value(out, v, false);
}

/// `v` as it is written inside a container: strings and paths quoted as Flow string literals.
pub fn display_nested(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

fn write_value(out: &mut String, v: &Value, nested: bool) {
    match v {
        Value::None => out.push_str("none"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) => out.push_str(&float_repr(*x)),
        Value::Str(s) | Value::Path(s) => {
            if nested {
                write_quoted(out, s);
            } else {
                out.push_str(s);
            }
        }
        Value::Datetime(us) => out.push_str(&datetime_rfc3339(*us)),
        Value::Duration(us) => out.push_str(&duration_text(*us)),
        Value::List(items) => {
            out.push('[');
            write_items(out, items);
            out.push(']');
        }
        Value::Tuple(items) => {
            out.push('(');
            write_items(out, items);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::Dict(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_quoted(out, k);
                out.push_str(": ");
                write_value(out, v, true);
            }
            out.push('}');
        }
        Value::Record(r) => {
            out.push_str(&r.type_name);
            out.push('(');
            for (i, (name, v)) in r.fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push('=');
                write_value(out, v, true);
            }
            out.push(')');
        }
        Value::Enum(_, variant) => out.push_str(variant),
        Value::Opaque(o) => {
            let _ = write!(out, "<extern {} bytes>", o.bytes.len());
        }
    }
}

fn write_items(out: &mut String, items: &[Value]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(out, item, true);
    }
}

/// `s` as a Flow string literal: in double quotes, with `\\ \" \n \t \r \{ \}` escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_quoted(&mut out, s);
    out
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `x` exactly as Python's `repr(x)` writes a float: `6.0`, `0.1`, `1e+20`, `1e-05`, `inf`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr does:
    // `d[.ddd]e[-]N`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::from(sign);
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = usize::try_from(exp).unwrap_or(0) + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                let (int_part, frac) = digits.split_at(int_len);
                out.push_str(int_part);
                out.push('.');
                out.push_str(frac);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                usize::try_from(-exp - 1).unwrap_or(0),
            ));
            out.push_str(&digits);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{esign}{:02}", exp.unsigned_abs());
    }
    out
}

/// `x` with exactly `digits` decimals, as Python's `f"{x:.{digits}f}"` writes it: the exact
/// binary value rounded to the nearest, halves to even; `nan`, `inf`, `-inf` as themselves.
pub fn fixed(x: f64, digits: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (int_part, frac) = exact_decimal(x.abs());
    let mut kept: Vec<u8> = int_part.into_bytes();
    let int_len = kept.len();
    let frac = frac.as_bytes();
    if frac.len() <= digits {
        kept.extend_from_slice(frac);
        kept.resize(int_len + digits, b'0');
    } else {
        let (head, rest) = frac.split_at(digits);
        kept.extend_from_slice(head);
        if rounds_up(&kept, rest) {
            increment(&mut kept);
        }
    }
    // `increment` may have grown the integer part by one digit.
    let int_len = kept.len() - digits;
    let mut out = String::with_capacity(kept.len() + 2);
    if x.is_sign_negative() {
        out.push('-');
    }
    let (int_digits, frac_digits) = kept.split_at(int_len);
    out.push_str(&String::from_utf8_lossy(int_digits));
    if digits > 0 {
        out.push('.');
        out.push_str(&String::from_utf8_lossy(frac_digits));
    }
    out
}

/// `x` rounded to `digits` decimals as Python's `round(x, digits)` does (halves to even on
/// the exact binary value; `digits` may be negative). `None` when the rounded value is too
/// large to represent. Non-finite `x` is returned unchanged.
pub fn round_to(x: f64, digits: i64) -> Option<f64> {
    // CPython's limits: beyond them the result is `x` itself, or a zero of `x`'s sign.
    const NDIGITS_MAX: i64 = 323;
    const NDIGITS_MIN: i64 = -308;
    if !x.is_finite() || digits > NDIGITS_MAX {
        return Some(x);
    }
    if digits < NDIGITS_MIN {
        return Some(0.0 * x);
    }
    let text = if digits >= 0 {
        fixed(x, usize::try_from(digits).unwrap_or(0))
    } else {
        let k = usize::try_from(-digits).unwrap_or(0);
        let (int_part, frac) = exact_decimal(x.abs());
        let mut int_digits = int_part.into_bytes();
        if int_digits.len() <= k {
            let mut padded = vec![b'0'; k + 1 - int_digits.len()];
            padded.extend_from_slice(&int_digits);
            int_digits = padded;
        }
        let split = int_digits.len() - k;
        let mut rest = int_digits.split_off(split);
        rest.extend_from_slice(frac.as_bytes());
        if rounds_up(&int_digits, &rest) {
            increment(&mut int_digits);
        }
        int_digits.resize(int_digits.len() + k, b'0');
        let sign = if x.is_sign_negative() { "-" } else { "" };
        format!("{sign}{}", String::from_utf8_lossy(&int_digits))
    };
    let y: f64 = text.parse().ok()?;
    y.is_finite().then_some(y)
}

/// The exact decimal expansion of the finite, non-negative `a`: integer digits and fraction
/// digits (possibly empty), with no rounding.
fn exact_decimal(a: f64) -> (String, String) {
    let bits = a.to_bits();
    let exp_bits = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let mantissa = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp_bits == 0 {
        (mantissa, -1074)
    } else {
        (mantissa | (1u64 << 52), exp_bits - 1075)
    };
    // a = m * 2^e; a binary fraction of k bits has exactly k decimal fraction digits.
    let e2 = if m == 0 {
        0
    } else {
        e + i64::from(m.trailing_zeros())
    };
    let needed = usize::try_from(-e2).unwrap_or(0);
    let text = format!("{:.*}", needed, a);
    match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (text, String::new()),
    }
}

/// Whether the digits `kept`, followed by the dropped digits `rest`, round up (halves to even).
fn rounds_up(kept: &[u8], rest: &[u8]) -> bool {
    match rest.first() {
        None => false,
        Some(&d) if d > b'5' => true,
        Some(&d) if d < b'5' => false,
        Some(_) => {
            if rest.iter().skip(1).any(|&d| d != b'0') {
                true
            } else {
                // ASCII digits have the parity of their value (`b'0'` is even).
                kept.last().is_some_and(|&d| d % 2 == 1)
            }
        }
    }
}

/// Adds one to the decimal digits `ds` (carrying, growing by a leading `1` when needed).
fn increment(ds: &mut Vec<u8>) {
    for d in ds.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    ds.insert(0, b'1');
}

/// The instant `us` microseconds after the Unix epoch in RFC 3339, UTC: `2024-05-01T12:00:00Z`.
pub fn datetime_rfc3339(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", y.unsigned_abs())
    } else {
        format!("+{y}")
    };
    let mut out = format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if micros != 0 {
        if micros % 1000 == 0 {
            let _ = write!(out, ".{:03}", micros / 1000);
        } else {
            let _ = write!(out, ".{micros:06}");
        }
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of the day `z` days after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The span of `us` microseconds as text: `0s`, `250us`, `1.5ms`, `2m30s`, `1d2h`, `-1.5s`.
pub fn duration_text(us: i64) -> String {
    const MS: u64 = 1_000;
    const S: u64 = 1_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    let sign = if us < 0 { "-" } else { "" };
    let u = us.unsigned_abs();
    if u == 0 {
        return "0s".into();
    }
    if u < MS {
        return format!("{sign}{u}us");
    }
    if u < S {
        return format!("{sign}{}{}ms", u / MS, fraction(u % MS, 3));
    }
    let mut out = String::from(sign);
    let days = u / D;
    let hours = u % D / H;
    let minutes = u % H / M;
    let seconds = u % M / S;
    let micros = u % S;
    for (n, name) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if n != 0 {
            let _ = write!(out, "{n}{name}");
        }
    }
    if seconds != 0 || micros != 0 {
        let _ = write!(out, "{seconds}{}s", fraction(micros, 6));
    }
    out
}

/// `.ddd` for the fraction `n / 10^width`, trailing zeros dropped; empty when `n` is 0.
fn fraction(n: u64, width: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let digits = format!("{n:0width$}");
    format!(".{}", digits.trim_end_matches('0'))
}
