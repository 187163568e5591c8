//! A small Wadler-style document language and its printer. A [`Doc`] is text with line breaks
//! that a [`Doc::Group`] either keeps flat (every break a space or nothing) or breaks (every
//! break of the group a newline), whichever fits in [`WIDTH`] columns; a hard break, or a
//! comment that must end its line, forces every group around it to break.

/// The maximum line width.
pub(super) const WIDTH: usize = 100;
/// Spaces per indentation level.
pub(super) const INDENT: usize = 4;

/// A document to lay out.
#[derive(Debug)]
pub(super) enum Doc {
    /// Text as is (it holds a newline only when copied verbatim from a triple-quoted string).
    Text(String),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Always a newline; forces the groups around it to break.
    HardLine,
    /// A sequence.
    Concat(Vec<Doc>),
    /// Its newlines indent one level deeper.
    Indent(Box<Doc>),
    /// Flat if it fits, else broken; the flag forces it broken.
    Group(Box<Doc>, bool),
    /// The first when the enclosing group is broken, the second when flat.
    IfBreak(Box<Doc>, Box<Doc>),
    /// A trailing comment: printed two spaces after the end of the current line.
    LineSuffix(String),
    /// Forces the groups around it to break.
    BreakParent,
}

pub(super) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub(super) fn concat(docs: Vec<Doc>) -> Doc {
    Doc::Concat(docs)
}

pub(super) fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub(super) fn if_break(broken: Doc, flat: Doc) -> Doc {
    Doc::IfBreak(Box::new(broken), Box::new(flat))
}

/// A group, forced broken when something in it (outside nested groups, which carry their own
/// flag) must break.
pub(super) fn group(doc: Doc) -> Doc {
    let forced = forces_break(&doc);
    Doc::Group(Box::new(doc), forced)
}

fn forces_break(doc: &Doc) -> bool {
    match doc {
        Doc::HardLine | Doc::BreakParent => true,
        Doc::Concat(docs) => docs.iter().any(forces_break),
        Doc::Indent(d) => forces_break(d),
        Doc::Group(_, forced) => *forced,
        Doc::IfBreak(_, flat) => forces_break(flat),
        Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::LineSuffix(_) => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Flat,
    Break,
}

/// Lays `doc` out: no trailing spaces on any line, exactly one final newline (none when the
/// document is empty).
pub(super) fn render(doc: &Doc) -> String {
    let mut out = Output::default();
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((ind, mode, d)) = stack.pop() {
        match d {
            Doc::Text(s) => out.text(s),
            Doc::Line if mode == Mode::Flat => out.text(" "),
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => out.newline(ind),
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|x| (ind, mode, x))),
            Doc::Indent(x) => stack.push((ind + INDENT, mode, x)),
            Doc::Group(x, forced) => {
                let flat = mode == Mode::Flat
                    || (!forced && fits(&stack, x, WIDTH as isize - out.col as isize));
                stack.push((ind, if flat { Mode::Flat } else { Mode::Break }, x));
            }
            Doc::IfBreak(broken, flat) => {
                stack.push((ind, mode, if mode == Mode::Break { broken } else { flat }))
            }
            Doc::LineSuffix(s) => out.suffixes.push(s.clone()),
            Doc::BreakParent => {}
        }
    }
    out.finish()
}

/// Whether `next`, laid flat, and what follows it up to the next possible newline fit in
/// `width` columns.
fn fits(rest: &[(usize, Mode, &Doc)], next: &Doc, mut width: isize) -> bool {
    let mut stack: Vec<(Mode, &Doc)> = vec![(Mode::Flat, next)];
    let mut rest_index = rest.len();
    loop {
        let (mode, d) = match stack.pop() {
            Some(x) => x,
            None if rest_index == 0 => return true,
            None => {
                rest_index -= 1;
                (rest[rest_index].1, rest[rest_index].2)
            }
        };
        match d {
            Doc::Text(s) => {
                let first_line = s.split('\n').next().unwrap_or("");
                width -= first_line.chars().count() as isize;
                if width < 0 {
                    return false;
                }
                if first_line.len() < s.len() {
                    return true;
                }
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Break => return true,
            Doc::HardLine => return true,
            Doc::Line => {
                width -= 1;
                if width < 0 {
                    return false;
                }
            }
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|x| (mode, x))),
            Doc::Indent(x) => stack.push((mode, x)),
            Doc::Group(x, forced) => stack.push((if *forced { Mode::Break } else { mode }, x)),
            Doc::IfBreak(broken, flat) => {
                stack.push((mode, if mode == Mode::Break { broken } else { flat }))
            }
            Doc::SoftLine | Doc::LineSuffix(_) | Doc::BreakParent => {}
        }
    }
}

#[derive(Default)]
struct Output {
    out: String,
    col: usize,
    suffixes: Vec<String>,
}

impl Output {
    fn text(&mut self, s: &str) {
        self.out.push_str(s);
        match s.rfind('\n') {
            Some(i) => self.col = s[i + 1..].chars().count(),
            None => self.col += s.chars().count(),
        }
    }

    /// Ends the line: its trailing comments, no trailing spaces.
    fn end_line(&mut self) {
        let trimmed = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(trimmed);
        let blank = self.out.is_empty() || self.out.ends_with('\n');
        for (i, s) in std::mem::take(&mut self.suffixes).into_iter().enumerate() {
            if !(blank && i == 0) {
                self.out.push_str("  ");
            }
            self.out.push_str(&s);
        }
    }

    fn newline(&mut self, indent: usize) {
        self.end_line();
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.col = indent;
    }

    fn finish(mut self) -> String {
        self.end_line();
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                inner.push(text(","));
                inner.push(Doc::Line);
            }
            inner.push(text(*item));
        }
        inner.push(if_break(text(","), text("")));
        group(concat(vec![
            text("f("),
            indent(concat(inner)),
            Doc::SoftLine,
            text(")"),
        ]))
    }

    #[test]
    fn groups_break_only_when_they_do_not_fit() {
        assert_eq!(render(&list(&["a", "b"])), "f(a, b)\n");
        let long = "x".repeat(60);
        assert_eq!(
            render(&list(&[&long, &long])),
            format!("f(\n    {long},\n    {long},\n)\n")
        );
    }

    #[test]
    fn suffixes_end_the_line() {
        let doc = concat(vec![
            text("a"),
            Doc::LineSuffix("# c".into()),
            Doc::HardLine,
            text("b"),
        ]);
        assert_eq!(render(&doc), "a  # c\nb\n");
    }
}
