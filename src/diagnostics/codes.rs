//! The stable diagnostic codes of LANGUAGE.md section 10, with severity and a one-line title.

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $text:literal, $severity:ident, $title:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $title] $variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written, e.g. `E0200`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// Whether it is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// A one-line description of the problem the code stands for.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    E0001 = "E0001", Error, "syntax error";
    E0100 = "E0100", Error, "unknown name";
    E0101 = "E0101", Error, "name declared twice";
    E0102 = "E0102", Error, "import not found, or an import cycle";
    E0200 = "E0200", Error, "type mismatch";
    E0201 = "E0201", Error, "missing argument";
    E0202 = "E0202", Error, "unknown named argument or field";
    E0203 = "E0203", Error, "argument given twice, or positional after named";
    E0204 = "E0204", Error, "wrong number of values";
    E0205 = "E0205", Error, "declared output does not match the body";
    E0300 = "E0300", Error, "computation on a promise inside a workflow";
    E0301 = "E0301", Error, "invalid workflow branch";
    E0302 = "E0302", Error, "recursive workflow";
    E0303 = "E0303", Error, "task or workflow called from a task or fn body";
    E0400 = "E0400", Error, "annotation misused";
    E0401 = "E0401", Error, "interface type that cannot be lowered";
    W0100 = "W0100", Warning, "type lowered to Pickle";
    W0101 = "W0101", Warning, "`@batch` on a list that is not pickled";
    W0200 = "W0200", Warning, "unused variable or import";
}

impl Code {
    /// Parses `E0200` (case-insensitive) into a code.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
