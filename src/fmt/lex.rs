//! Just enough lexing to work around what the AST does not keep: where comments are, where a
//! string or number literal ends, and what lies between two tokens. Works on bytes: every
//! character that matters here (`#`, `"`, `\`, `{`, `}`, `(`, `,`, newline) is ASCII, and the
//! bytes of other characters are never mistaken for them in UTF-8.

use crate::syntax::opens_python_code;

/// The byte ranges of the comments outside string literals, in order, each without its newline.
pub(super) fn comment_ranges(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                let end = line_end(b, i);
                out.push((i, end));
                i = end;
            }
            b'"' if opens_python_code(b, i) => i = python_code_end(b, i),
            b'"' => i = string_end(b, i),
            _ => i += 1,
        }
    }
    out
}

/// Just past a Python task's code at `i`: `"module:function"`, which ends at its line, or an
/// inline `"""…"""`, which is raw (no escapes, no interpolations).
fn python_code_end(b: &[u8], i: usize) -> usize {
    if b[i..].starts_with(b"\"\"\"") {
        return b[i + 3..]
            .windows(3)
            .position(|w| w == b"\"\"\"")
            .map_or(b.len(), |n| i + 3 + n + 3);
    }
    b[i + 1..]
        .iter()
        .position(|&c| matches!(c, b'"' | b'\n' | b'\r'))
        .map_or(b.len(), |n| match b[i + 1 + n] {
            b'"' => i + 1 + n + 1,
            _ => i + 1 + n,
        })
}

/// The offset of the newline ending the line that holds `i` (or the end of the text).
pub(super) fn line_end(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |n| i + n)
}

/// Just past the string literal that starts at `i` (a `"`), triple-quoted or not, with its
/// escapes and interpolations (which may hold strings and comments of their own).
pub(super) fn string_end(b: &[u8], i: usize) -> usize {
    let triple = b[i..].starts_with(b"\"\"\"");
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        match b[j] {
            b'"' if !triple => return j + 1,
            b'"' if b[j..].starts_with(b"\"\"\"") => return j + 3,
            b'\\' => j += 2,
            b'{' => j = interpolation_end(b, j + 1),
            b'\n' if !triple => return j,
            _ => j += 1,
        }
    }
    b.len()
}

/// Just past the `}` closing an interpolation whose body starts at `j`.
fn interpolation_end(b: &[u8], mut j: usize) -> usize {
    let mut depth = 1usize;
    while j < b.len() {
        match b[j] {
            b'#' => j = line_end(b, j),
            b'"' => j = string_end(b, j),
            b'{' => {
                depth += 1;
                j += 1;
            }
            b'}' => {
                depth -= 1;
                j += 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    b.len()
}

/// Just past the number literal that starts at `i`, following the grammar's `number` rule.
pub(super) fn number_end(b: &[u8], i: usize) -> usize {
    let digits = |mut j: usize| {
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'_') {
            j += 1;
        }
        j
    };
    let exponent = |j: usize| -> Option<usize> {
        if !matches!(b.get(j), Some(b'e' | b'E')) {
            return None;
        }
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let start = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        (k > start).then_some(k)
    };
    let j = digits(i);
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        let k = digits(j + 1);
        return exponent(k).unwrap_or(k);
    }
    if let Some(k) = exponent(j) {
        return k;
    }
    for unit in [&b"ms"[..], b"s", b"m", b"h", b"d"] {
        if b[j..].starts_with(unit) {
            return j + unit.len();
        }
    }
    j
}

/// The first offset at or after `i` that is not whitespace, a newline or a comment.
pub(super) fn skip_trivia(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = line_end(b, i),
            _ => break,
        }
    }
    i
}

/// The first offset at or after `i` that is not trivia or a comma: where a list's closing
/// bracket is, given the end of its last item.
pub(super) fn skip_trivia_and_commas(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_trivia(b, i);
        if b.get(i) == Some(&b',') {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Past any opening parentheses (and trivia) at `i`: where a parenthesized token starts.
pub(super) fn skip_opening_parens(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_trivia(b, i);
        if b.get(i) == Some(&b'(') {
            i += 1;
        } else {
            return i;
        }
    }
}

/// How many `(` stand between `i` and `end`, skipping trivia.
pub(super) fn count_opening_parens(b: &[u8], mut i: usize, end: usize) -> usize {
    let mut n = 0;
    loop {
        i = skip_trivia(b, i);
        if i < end && b[i] == b'(' {
            n += 1;
            i += 1;
        } else {
            return n;
        }
    }
}

/// Whether the line holding `pos` has only whitespace before `pos`.
pub(super) fn starts_line(b: &[u8], pos: usize) -> bool {
    b[..pos.min(b.len())]
        .iter()
        .rev()
        .take_while(|&&c| c != b'\n')
        .all(|&c| c == b' ' || c == b'\t' || c == b'\r')
}

/// Whether `pos` starts its line and the line above it is blank.
pub(super) fn blank_line_before(b: &[u8], pos: usize) -> bool {
    let pos = pos.min(b.len());
    if !starts_line(b, pos) {
        return false;
    }
    let Some(newline) = b[..pos].iter().rposition(|&c| c == b'\n') else {
        return false;
    };
    let above = b[..newline].iter().rposition(|&c| c == b'\n');
    b[above.map_or(0, |a| a + 1)..newline]
        .iter()
        .all(|&c| c == b' ' || c == b'\t' || c == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_skip_strings_and_interpolations() {
        let text = "a # one\n\"# not {x # inside\n} \\\" #\" # two\n\"\"\"\n# no\n\"\"\" #three";
        let found: Vec<&str> = comment_ranges(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(found, ["# one", "# two", "#three"]);
    }

    #[test]
    fn python_code_is_raw() {
        let text = "task a() -> int python \"\"\"{ \\\"\"\" # one\n\
                    task b() -> int python \"m:f{\\\" # two\n\
                    task c() -> int { \"{python}\" } # three";
        let found: Vec<&str> = comment_ranges(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(found, ["# one", "# two", "# three"]);
    }

    #[test]
    fn numbers_end_where_the_grammar_says() {
        for (text, len) in [
            ("1_000)", 5),
            ("1.5e-3 ", 6),
            ("2e10", 4),
            ("250ms", 5),
            ("30s+", 3),
            ("1.x", 1),
            ("7", 1),
        ] {
            assert_eq!(number_end(text.as_bytes(), 0), len, "{text}");
        }
    }

    #[test]
    fn blank_lines() {
        let b = b"a\n\n  b\nc\n \t\nd";
        assert!(blank_line_before(b, 5));
        assert!(!blank_line_before(b, 7));
        assert!(blank_line_before(b, 12));
        assert!(!blank_line_before(b, 0));
    }
}
