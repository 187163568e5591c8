//! The comments of a file, recovered from its text (the parse tree drops them), and the cursor
//! the printer takes them with: in source order, each exactly once.

use std::ops::Range;

use super::lex;

/// One `#` or `##` comment.
#[derive(Clone, Debug)]
pub(super) struct Comment {
    /// Where it starts (its `#`).
    pub start: usize,
    /// Its text, from `#` to the end of the line, trailing whitespace removed.
    pub text: String,
    /// Nothing but whitespace before it on its line.
    pub own_line: bool,
    /// It is on its own line and the line above is blank.
    pub blank_before: bool,
}

/// The comments of a file and how far the printer has taken them.
pub(super) struct Comments {
    list: Vec<Comment>,
    /// The next comment to take.
    next: usize,
    /// Comments from this index on belong to a later region and are not taken now.
    limit: usize,
}

impl Comments {
    /// Every comment of `text`, outside string literals.
    pub fn scan(text: &str) -> Comments {
        let b = text.as_bytes();
        let list: Vec<Comment> = lex::comment_ranges(text)
            .into_iter()
            .map(|(start, end)| {
                let own_line = lex::starts_line(b, start);
                Comment {
                    start,
                    text: text[start..end].trim_end().to_string(),
                    own_line,
                    blank_before: own_line && lex::blank_line_before(b, start),
                }
            })
            .collect();
        let limit = list.len();
        Comments {
            list,
            next: 0,
            limit,
        }
    }

    /// The comment at `index`.
    pub fn get(&self, index: usize) -> &Comment {
        &self.list[index]
    }

    /// How many comments start before `pos`.
    pub fn count_before(&self, pos: usize) -> usize {
        self.list.partition_point(|c| c.start < pos)
    }

    /// The indices of the comments not yet taken that start before `pos`; takes them.
    pub fn take_before(&mut self, pos: usize) -> Range<usize> {
        let start = self.next;
        while self.next < self.limit && self.list[self.next].start < pos {
            self.next += 1;
        }
        start..self.next
    }

    /// The comments not yet taken in the current region.
    pub fn pending(&self) -> &[Comment] {
        &self.list[self.next..self.limit]
    }

    /// Restricts the cursor to the comments with indices in `range` (a region of the file).
    pub fn enter(&mut self, range: Range<usize>) {
        self.next = range.start;
        self.limit = range.end;
    }

    /// Every comment text, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.list.iter().map(|c| c.text.as_str()).collect()
    }
}
