//! Request dispatch: the server's capabilities, and each request method routed to its feature
//! module with its parameters decoded.
//!
//! Consumes a method name, JSON parameters and the open documents; produces the JSON result, or
//! a [`RequestError`] (`InvalidParams` for parameters that do not decode, `MethodNotFound` for
//! methods the server does not know, `RequestFailed` when a request cannot be carried out).

use std::collections::BTreeMap;
use std::path::PathBuf;

use lsp_server::ErrorCode;
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeResult, OneOf, RenameOptions, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Url,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::analysis::Analysis;
use super::server::{Document, RequestError};
use super::{actions, complete, hover, navigate, rename, symbols};

/// The `initialize` result: what the server can do.
pub fn initialize_result() -> Value {
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![
                ".".into(),
                "@".into(),
                "(".into(),
                ",".into(),
                ":".into(),
            ]),
            ..Default::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        document_formatting_provider: actions::FORMATTING.then_some(OneOf::Left(true)),
        ..Default::default()
    };
    serde_json::to_value(InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "flytec".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    })
    .expect("capabilities serialize")
}

/// The analysis of the document at `uri`, or why there is none.
pub fn analysis_of<'d>(
    docs: &'d BTreeMap<Url, Document>,
    uri: &Url,
) -> Result<&'d Analysis, RequestError> {
    match docs.get(uri) {
        None => Err(RequestError::failed(format!(
            "{uri} is not an open document"
        ))),
        Some(doc) => doc
            .analysis
            .as_ref()
            .map_err(|f| RequestError::failed(f.0.clone())),
    }
}

fn decode<P: DeserializeOwned>(params: Value) -> Result<P, RequestError> {
    serde_json::from_value(params)
        .map_err(|e| RequestError::invalid_params(format!("invalid parameters: {e}")))
}

fn encode<R: Serialize>(result: R) -> Result<Value, RequestError> {
    serde_json::to_value(result).map_err(|e| RequestError {
        code: ErrorCode::InternalError as i32,
        message: format!("cannot encode the result: {e}"),
    })
}

/// Answers one request.
pub fn request(
    docs: &BTreeMap<Url, Document>,
    roots: &[PathBuf],
    method: &str,
    params: Value,
) -> Result<Value, RequestError> {
    match method {
        "textDocument/hover" => {
            let p: lsp_types::HoverParams = decode(params)?;
            let at = p.text_document_position_params;
            match analysis_of(docs, &at.text_document.uri) {
                Ok(a) => encode(hover::hover(a, at.position)),
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/definition" => {
            let p: lsp_types::GotoDefinitionParams = decode(params)?;
            let at = p.text_document_position_params;
            match analysis_of(docs, &at.text_document.uri) {
                Ok(a) => encode(navigate::definition(a, at.position)),
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/references" => {
            let p: lsp_types::ReferenceParams = decode(params)?;
            let at = p.text_document_position;
            let a = analysis_of(docs, &at.text_document.uri)?;
            encode(navigate::references(
                docs,
                roots,
                a,
                at.position,
                p.context.include_declaration,
            ))
        }
        "textDocument/completion" => {
            let p: lsp_types::CompletionParams = decode(params)?;
            let at = p.text_document_position;
            match analysis_of(docs, &at.text_document.uri) {
                Ok(a) => encode(complete::completion(a, at.position)),
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/documentSymbol" => {
            let p: lsp_types::DocumentSymbolParams = decode(params)?;
            match analysis_of(docs, &p.text_document.uri) {
                Ok(a) => encode(symbols::document_symbols(a)),
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/prepareRename" => {
            let p: lsp_types::TextDocumentPositionParams = decode(params)?;
            let a = analysis_of(docs, &p.text_document.uri)?;
            encode(rename::prepare(a, p.position)?)
        }
        "textDocument/rename" => {
            let p: lsp_types::RenameParams = decode(params)?;
            let at = p.text_document_position;
            let a = analysis_of(docs, &at.text_document.uri)?;
            encode(rename::rename(docs, roots, a, at.position, &p.new_name)?)
        }
        "textDocument/codeAction" => {
            let p: lsp_types::CodeActionParams = decode(params)?;
            match analysis_of(docs, &p.text_document.uri) {
                Ok(a) => encode(actions::code_actions(a, p.range)),
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/formatting" => {
            let p: lsp_types::DocumentFormattingParams = decode(params)?;
            let doc = docs.get(&p.text_document.uri).ok_or_else(|| {
                RequestError::failed(format!("{} is not an open document", p.text_document.uri))
            })?;
            encode(actions::format(&doc.text)?)
        }
        _ => Err(RequestError {
            code: ErrorCode::MethodNotFound as i32,
            message: format!("the server does not handle `{method}`"),
        }),
    }
}
