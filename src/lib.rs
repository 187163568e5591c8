//! flytec: the toolchain for Flow. The library's face: parse, check and lower Flow programs;
//! the command line and the tests are thin callers of it.

pub mod check;
pub mod diagnostics;
pub mod fmt;
pub mod interp;
pub mod ir;
pub mod literal;
pub mod lsp;
pub mod parallel;
pub mod pickle;
pub mod python;
pub mod source;
pub mod store;
pub mod syntax;
pub mod value;
