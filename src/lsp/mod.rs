//! The language server (`flytec lsp`): the Language Server Protocol over stdio, built on
//! `lsp-server`'s message types and `lsp-types`.
//!
//! Consumes JSON-RPC messages on stdin; produces responses and `publishDiagnostics`
//! notifications on stdout, and a log on stderr. Every analysis is the checker's
//! ([`crate::check::check_text`]) on the editor's text, so diagnostics are exactly those of
//! `flytec check`; hover, definition, references, completion, symbols, rename and code actions
//! read the checked program and an [`index::Index`] of its names.
//!
//! Modules: [`transport`] (framing, robust to garbage), [`server`] (lifecycle, documents,
//! debounced analysis, publishing), [`documents`] (sync notifications), [`handlers`] (request
//! dispatch), [`analysis`] (running the checker safely), [`index`] and [`walk`] (name resolution),
//! [`convert`] (positions, URIs, diagnostics), [`describe`], [`hover`], [`navigate`],
//! [`complete`], [`symbols`], [`rename`], [`actions`], [`stdlib`] (standard library
//! locations) and [`workspace`] (closed files of the workspace folders).

pub mod actions;
pub mod analysis;
pub mod complete;
pub mod convert;
pub mod describe;
pub mod documents;
pub mod handlers;
pub mod hover;
pub mod index;
pub mod navigate;
pub mod rename;
pub mod server;
pub mod stdlib;
pub mod symbols;
pub mod transport;
pub mod walk;
pub mod workspace;

use std::io::Read;
use std::sync::mpsc;

/// Serves `input` (normally stdin), writing to `output` (normally stdout), until `exit` or the
/// end of the input. Returns the process exit code: 0 after `shutdown` then `exit`, 1 otherwise.
///
/// The server runs on a thread with a large stack whoever calls it: requests answered there
/// (formatting, for one) recurse as deeply as the document nests, like the analysis does on its
/// own thread ([`analysis`]).
pub fn serve(input: impl Read + Send + 'static, output: impl std::io::Write + Send) -> i32 {
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("flytec-lsp-reader".into())
        .spawn(move || transport::read_loop(input, sender));
    if let Err(e) = reader {
        server::log(&format!("cannot start the reader thread: {e}"));
        return 1;
    }
    std::thread::scope(|scope| {
        let main = std::thread::Builder::new()
            .name("flytec-lsp".into())
            .stack_size(analysis::LARGE_STACK)
            .spawn_scoped(scope, || server::run(receiver, output));
        match main.map(|handle| handle.join()) {
            Ok(Ok(code)) => code,
            Ok(Err(_)) => {
                server::log("the server stopped on an internal error");
                1
            }
            Err(e) => {
                server::log(&format!("cannot start the server thread: {e}"));
                1
            }
        }
    })
}

/// Serves stdin and stdout.
pub fn serve_stdio() -> i32 {
    serve(std::io::stdin(), std::io::stdout())
}
