//! Turns a pest error into an E0001 diagnostic in human words: "expected `)` or another
//! parameter, found `:`", never raw rule names.

use std::collections::BTreeSet;

use pest::error::{Error, InputLocation};

use super::parser::Rule;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// A diagnostic for `error`, raised while parsing a region of `text` starting at byte `offset`.
pub fn from_pest(file: FileId, text: &str, offset: usize, error: &Error<Rule>) -> Diagnostic {
    let at = offset
        + match error.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let at = at.min(text.len());
    let found = found_at(text, at);
    let end = at
        + found
            .len()
            .max(if at < text.len() { 1 } else { 0 })
            .min(text.len() - at);
    let span = Span::new(file, at..end);
    let found_words = describe_found(found);

    let mut rules: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    if let Some(attempts) = error.parse_attempts() {
        for stack in attempts.call_stacks() {
            let specific = stack.deepest.get_rule().copied();
            if let Some(words) = specific.and_then(rule_words) {
                push_unique(&mut rules, words.to_string());
            }
        }
        let expected: BTreeSet<Expected> = attempts
            .expected_tokens()
            .iter()
            .map(|token| Expected::read(&token.to_string()))
            .collect();
        for token in expected {
            push_unique(&mut tokens, token.shown());
        }
    }
    if found == "{"
        && tokens.iter().any(|t| t == "\"" || t == "\"\"\"")
        && inside_string(text, offset, at)
    {
        return Diagnostic::new(
            Code::E0001,
            span,
            "unclosed interpolation",
            "this `{` opens an interpolation that is never closed",
        )
        .with_help("close it with `}`, or write `\\{` for a brace in the text");
    }
    let at_line_end = found.is_empty() || found.starts_with(['\n', '\r']);
    if at_line_end
        && tokens.iter().any(|t| t == "\"" || t == "\"\"\"")
        && !rules.iter().any(|r| r == EXPRESSION || r == PYTHON_CODE)
        && inside_string(text, offset, at)
    {
        return Diagnostic::new(
            Code::E0001,
            span,
            "unterminated string",
            "the string is still open here",
        )
        .with_help("close the string with `\"`; use `\"\"\"…\"\"\"` for text that spans lines");
    }
    let expected = if at_line_end && rules.iter().any(|r| r == EXPRESSION) {
        vec![EXPRESSION.to_string()]
    } else {
        curate(tokens, rules)
    };
    let message = match expected.len() {
        0 => format!("unexpected {found_words}"),
        _ => format!("expected {}, found {found_words}", join_or(&expected)),
    };
    let label = if expected.is_empty() {
        "unexpected here".to_string()
    } else {
        format!("expected {}", join_or(&expected))
    };
    let diagnostic = Diagnostic::new(Code::E0001, span, message, label);
    let wants_name = expected
        .iter()
        .any(|w| matches!(w.as_str(), "a name" | "a field" | "a parameter"));
    if wants_name && KEYWORDS.contains(&found) {
        return diagnostic.with_help(format!(
            "`{found}` is a reserved word; choose another name, such as `{found}_`"
        ));
    }
    diagnostic
}

/// Whether `at` is inside a string literal (or one of its interpolations) that opens after
/// `from`, a place outside strings: where a quote is expected at the end of a line, the string
/// may be open, or a statement that could start with one may be missing (a `}` left out).
fn inside_string(text: &str, from: usize, at: usize) -> bool {
    let at = at.min(text.len());
    text.get(from.min(at)..at)
        .is_some_and(super::ends_in_string)
}

/// The reserved words of LANGUAGE.md section 2.
const KEYWORDS: &[&str] = &[
    "task", "workflow", "fn", "struct", "class", "enum", "extern", "type", "import", "let", "var",
    "if", "else", "for", "in", "while", "break", "continue", "return", "fail", "and", "or", "not",
    "true", "false", "none",
];

/// A token pest expected, ordered as pest orders them: literals, then ranges.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    Literal(String),
    Range(char, char),
}

/// The characters the grammar matches as ranges because they are classes of their own (blanks,
/// newlines, the first characters of operators). The grammar writes every other single
/// character as a one-character range too, only because pest matches a range faster than a
/// literal: those are told, and ordered, as the literals they are.
const RANGES: &[char] = &[' ', '\t', '\r', '\n', '#', '!', '%', 'a', 'i', 'o'];

impl Expected {
    /// Reads pest's rendering of a token: the literal itself, or `a..z` for a range.
    fn read(text: &str) -> Expected {
        let chars: Vec<char> = text.chars().collect();
        match chars[..] {
            [a, '.', '.', b] if a == b && !RANGES.contains(&a) => Expected::Literal(a.to_string()),
            [a, '.', '.', b] => Expected::Range(a, b),
            _ => Expected::Literal(text.to_string()),
        }
    }

    /// The token as a message shows it; a one-character range `c..c` is that character.
    fn shown(self) -> String {
        match self {
            Expected::Literal(text) => text,
            Expected::Range(a, b) if a == b => a.to_string(),
            Expected::Range(a, b) => format!("{a}..{b}"),
        }
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

const EXPRESSION: &str = "an expression";
const BLOCK: &str = "a block `{ … }`";

/// Rules that, after a complete element, would only continue it: not worth naming when a
/// separator or the end of the line is also expected.
const CONTINUATIONS: &[&str] = &[EXPRESSION, "a type", "an annotation", "an argument"];

/// The expected tokens and rules worth telling a person: closers and separators, then rules;
/// operators, whitespace and the first tokens of an expected expression only repeat the rest.
fn curate(tokens: Vec<String>, rules: Vec<String>) -> Vec<String> {
    const NOISE: &[&str] = &[
        " ", "\t", "\r", "!", "!=", "%", "*", "**", "/", "//", "<", "<=", "==", ">", ">=", "??",
        "+", "-", "|", "?", ".", "@", "#", ";", "\\", "_", "e", "E",
    ];
    const EXPRESSION_START: &[&str] = &["\"", "\"\"\"", "(", "[", "{", "-"];
    // Quotes are how an expression or Python code starts: the rule's words say it better.
    let wants_expression = rules.iter().any(|r| r == EXPRESSION || r == PYTHON_CODE);
    let mut words: Vec<String> = Vec::new();
    for token in &tokens {
        let noise = NOISE.contains(&token.as_str())
            || (wants_expression && EXPRESSION_START.contains(&token.as_str()))
            || token.contains("..")
            || token.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
        if noise {
            continue;
        }
        let word = if token == "\n" || token == "\r\n" {
            "the end of the line".to_string()
        } else {
            format!("`{token}`")
        };
        push_unique(&mut words, word);
    }
    if words
        .iter()
        .any(|w| ["`)`", "`]`", "`}`", "`,`"].contains(&w.as_str()))
    {
        words.retain(|w| w != "the end of the line" && w != "`(`" && w != "`[`");
    }
    // Where a block may close, what a statement may start with only repeats that it is open.
    let closes_block = words.iter().any(|w| w == "`}`");
    if closes_block {
        words.retain(|w| !["`\"`", "`\"\"\"`", "`{`"].contains(&w.as_str()));
    }
    let continues = !words.is_empty();
    for rule in rules {
        let repeats = (continues && CONTINUATIONS.contains(&rule.as_str()))
            || (closes_block && rule == BLOCK);
        if !repeats {
            push_unique(&mut words, rule);
        }
    }
    words
}

/// The token at `at`: a word, a newline, or one character; empty at the end of the text.
fn found_at(text: &str, at: usize) -> &str {
    const OPERATOR: &str = "-+*/<>=!?%|.:";
    let rest = &text[at..];
    let Some(first) = rest.chars().next() else {
        return "";
    };
    let run =
        |keep: &dyn Fn(char) -> bool| &rest[..rest.find(|c: char| !keep(c)).unwrap_or(rest.len())];
    if first.is_alphanumeric() || first == '_' {
        run(&|c| c.is_alphanumeric() || c == '_')
    } else if OPERATOR.contains(first) {
        run(&|c| OPERATOR.contains(c))
    } else {
        &rest[..first.len_utf8()]
    }
}

fn describe_found(found: &str) -> String {
    match found {
        "" => "end of file".to_string(),
        "\n" | "\r" => "end of line".to_string(),
        _ => format!("`{found}`"),
    }
}

/// What follows `python` in a Python task.
const PYTHON_CODE: &str =
    "a Python function `\"module:function\"` or an inline body `\"\"\"…\"\"\"`";

/// Human words for the grammar rules a user can be expected to write.
fn rule_words(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        item | item_alone => {
            "a declaration (`task`, `workflow`, `fn`, `struct`, `class`, `enum`, `type`, `import`)"
        }
        import => "an import",
        ident | variant | generics => "a name",
        param | params | param_name => "a parameter",
        field | fields | field_name | field_alone => "a field",
        named_output => "an output `name: type`",
        type_expr | type_union | type_opt | named_type | tuple_type | none_type => "a type",
        annotation => "an annotation",
        block => BLOCK,
        stmt_alone | let_stmt | var_stmt | for_stmt | while_stmt | return_stmt | assign_stmt => {
            "a statement"
        }
        expr | number | string | triple_string | list | dict | paren | if_expr | fail_expr => {
            EXPRESSION
        }
        arg | call_args => "an argument",
        output => "an output type `-> …`",
        python_impl | kw_python => "`python`",
        py_inline | py_ref => {
            "a Python function `\"module:function\"` or an inline body `\"\"\"…\"\"\"`"
        }
        pattern | tuple_pattern => "a name or `(a, b)` pattern",
        _ => return None,
    })
}
