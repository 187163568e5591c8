//! The wire: JSON-RPC messages framed by `Content-Length` headers, read from stdin on a thread of
//! their own and written to stdout.
//!
//! Consumes raw bytes; produces [`Incoming`] items on a channel. Unlike `lsp_server`'s own stdio
//! transport, the reader never gives up on bad input: a malformed header is skipped, an
//! oversized body is discarded without being held in memory, and a body that is not a JSON-RPC
//! message becomes [`Incoming::Invalid`], which the server answers with a JSON-RPC error.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::Sender;

use lsp_server::{Message, RequestId};
use serde_json::Value;

/// The largest message body accepted; larger ones are read and dropped.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The longest header line kept; longer ones are garbage and skipped.
const MAX_HEADER_BYTES: usize = 8 << 10;

/// What the reader hands the server.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed message.
    Message(Message),
    /// A framed body that is not a JSON-RPC message: the error to answer with, and the request
    /// id when one could be read (`None` answers with `"id": null`).
    Invalid {
        /// The request's id, when the body had a usable one.
        id: Option<RequestId>,
        /// The JSON-RPC error code (`-32700` parse error, `-32600` invalid request).
        code: i32,
        /// What was wrong.
        message: String,
    },
    /// A note for the log: garbage between messages was skipped.
    Skipped(String),
}

/// Reads messages from `input` until it ends (or the receiving side hangs up), sending each to
/// `sink`. Never panics on any input.
pub fn read_loop(input: impl Read, sink: Sender<Incoming>) {
    let mut input = io::BufReader::with_capacity(64 << 10, input);
    loop {
        let item = match read_one(&mut input) {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(e) => {
                let _ = sink.send(Incoming::Skipped(format!("stdin failed: {e}")));
                return;
            }
        };
        if sink.send(item).is_err() {
            return;
        }
    }
}

/// Reads one framed message (or one piece of garbage); `None` at the end of the input.
fn read_one(input: &mut impl BufRead) -> io::Result<Option<Incoming>> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    let mut skipped = 0usize;
    loop {
        let Some(line) = read_line(input)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        match text.split_once(':') {
            Some((name, value)) if is_header_name(name) => {
                saw_header = true;
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
            _ => match find_ignore_case(text, "content-length:") {
                // Garbage glued to the front of a header: resynchronize on the header.
                Some(at) => {
                    saw_header = true;
                    length = text[at + "content-length:".len()..].trim().parse().ok();
                }
                None => skipped += line.len(),
            },
        }
        if skipped > 0 && !saw_header {
            return Ok(Some(Incoming::Skipped(format!(
                "skipped {skipped} bytes that are not a message header"
            ))));
        }
    }
    let Some(length) = length else {
        return Ok(Some(Incoming::Skipped(
            "a message without a valid Content-Length header was skipped".into(),
        )));
    };
    if length > MAX_MESSAGE_BYTES {
        let dropped = io::copy(&mut input.take(length as u64), &mut io::sink())?;
        return Ok(Some(Incoming::Invalid {
            id: None,
            code: lsp_server::ErrorCode::InvalidRequest as i32,
            message: format!(
                "message of {dropped} bytes is larger than the limit of {MAX_MESSAGE_BYTES} bytes"
            ),
        }));
    }
    let mut body = Vec::with_capacity(length.min(1 << 20));
    input.take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(None);
    }
    Ok(Some(decode(&body)))
}

/// The byte offset of `needle` (ASCII, lower case) in `text`, ignoring ASCII case.
fn find_ignore_case(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether `name` looks like a header name (`Content-Length`, `Content-Type`).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads one line (up to and including `\n`), keeping at most [`MAX_HEADER_BYTES`] of it.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any.then_some(line));
        }
        any = true;
        let (taken, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = MAX_HEADER_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&buf[..taken.min(room)]);
        input.consume(taken);
        if done {
            return Ok(Some(line));
        }
    }
}

/// Turns a body into a message, or into the JSON-RPC error it deserves.
pub fn decode(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Incoming::Invalid {
                id: None,
                code: lsp_server::ErrorCode::ParseError as i32,
                message: format!("the message is not JSON: {e}"),
            }
        }
    };
    let id = value.get("id").and_then(request_id);
    let is_message = value.get("method").is_some_and(Value::is_string)
        || value.get("result").is_some()
        || value.get("error").is_some();
    if !is_message {
        return Incoming::Invalid {
            id,
            code: lsp_server::ErrorCode::InvalidRequest as i32,
            message: "the message has no `method`, `result` or `error`".into(),
        };
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Incoming::Message(message),
        Err(e) => Incoming::Invalid {
            id,
            code: lsp_server::ErrorCode::InvalidRequest as i32,
            message: format!(
                "the message is not a JSON-RPC request, response or notification: {e}"
            ),
        },
    }
}

fn request_id(value: &Value) -> Option<RequestId> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Into::into),
        Value::String(s) => Some(s.clone().into()),
        _ => None,
    }
}

/// Writes one message with its header.
pub fn write_message(out: &mut impl Write, message: &Message) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct JsonRpc<'a> {
        jsonrpc: &'static str,
        #[serde(flatten)]
        msg: &'a Message,
    }
    let text = serde_json::to_string(&JsonRpc {
        jsonrpc: "2.0",
        msg: message,
    })?;
    write_text(out, &text)
}

/// Writes an error response whose id could not be read (`"id": null`).
pub fn write_null_id_error(out: &mut impl Write, code: i32, message: &str) -> io::Result<()> {
    let text = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    })
    .to_string();
    write_text(out, &text)
}

fn write_text(out: &mut impl Write, text: &str) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", text.len())?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Incoming> {
        let (tx, rx) = std::sync::mpsc::channel();
        read_loop(input, tx);
        rx.into_iter().collect()
    }

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn reads_messages_and_survives_garbage_between_them() {
        let mut input = frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#);
        input.extend_from_slice(b"\xff\xfe garbage\r\n\x00\x01\n\x02:\x03");
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let items = read_all(&input);
        assert!(
            matches!(&items[0], Incoming::Message(Message::Request(r)) if r.method == "shutdown")
        );
        assert!(items.iter().any(|i| matches!(i, Incoming::Skipped(_))));
        assert!(
            matches!(items.last(), Some(Incoming::Message(Message::Notification(n))) if n.method == "exit")
        );
    }

    #[test]
    fn bad_bodies_become_errors_with_their_id() {
        let items = read_all(&frame(r#"{"id": 7, "nonsense": true}"#));
        assert!(
            matches!(&items[0], Incoming::Invalid { id: Some(id), code: -32600, .. } if *id == 7.into())
        );
        let items = read_all(&frame("{not json"));
        assert!(matches!(
            &items[0],
            Incoming::Invalid {
                id: None,
                code: -32700,
                ..
            }
        ));
    }

    #[test]
    fn huge_lengths_are_not_allocated() {
        let items = read_all(b"Content-Length: 99999999999999\r\n\r\nabc");
        assert!(matches!(&items[0], Incoming::Invalid { .. }));
        let items = read_all(b"Content-Length: 10\r\n\r\nabc");
        assert!(items.is_empty());
    }
}
