"""The server never crashes: garbage bytes on stdin, malformed messages, requests in the wrong
state or with bad parameters, huge or deeply nested documents. These tests talk to the binary
directly over pipes, without pytest-lsp, so they can send what no client library would."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time

import pytest

from conftest import flytec_bin

TIMEOUT = 20


class Raw:
    """A bare JSON-RPC connection to `flytec lsp`."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [flytec_bin(), "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stderr = b""
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        # A hung server is killed, so a read fails with EOFError instead of blocking forever.
        self._watchdog = threading.Timer(3 * TIMEOUT, self.proc.kill)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def send_bytes(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict):
        body = json.dumps(message).encode()
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, id_, method, params=None):
        self.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})

    def notify(self, method, params=None):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def read(self) -> dict:
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed stdout")
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def response(self, id_) -> dict:
        """Reads messages until the response to `id_` (skipping notifications)."""
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            message = self.read()
            if message.get("id") == id_ and "method" not in message:
                return message
        raise TimeoutError(f"no response to {id_}")

    def initialize(self):
        self.request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        assert "capabilities" in self.response(1)["result"]
        self.notify("initialized", {})

    def finish(self) -> int:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self.proc.wait(timeout=TIMEOUT)
        self._watchdog.cancel()
        self._drain.join(timeout=TIMEOUT)
        assert b"panicked" not in self.stderr, self.stderr.decode(errors="replace")
        return code


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_on_stdin_do_not_panic(seed: int):
    rng = random.Random(seed)
    raw = Raw()
    chunks = []
    for _ in range(50):
        kind = rng.randrange(4)
        if kind == 0:
            chunks.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        elif kind == 1:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 100)))
            chunks.append(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        elif kind == 2:
            chunks.append(b"Content-Length: %d\r\n\r\n" % rng.choice([0, 10**12, 2**64 + 5, -3]))
        else:
            chunks.append(b"Content-Type: x\r\nContent-Length: abc\r\n\r\n{}")
    try:
        raw.send_bytes(b"".join(chunks))
    except BrokenPipeError:
        pass
    code = raw.finish()
    assert code in (0, 1), raw.stderr.decode(errors="replace")


def test_garbage_between_messages_is_skipped_and_the_server_still_answers():
    raw = Raw()
    raw.send_bytes(b"\x00\xff\xfe garbage line\r\n\r\n")
    raw.initialize()
    raw.send_bytes(b"Content-Length: 5\r\n\r\n{bad}")
    error = raw.read()
    assert error["id"] is None and error["error"]["code"] == -32700
    raw.send({"jsonrpc": "2.0", "id": 9, "nonsense": True})
    error = raw.read()
    assert error["id"] == 9 and error["error"]["code"] == -32600
    raw.send_bytes(bytes(range(256)) * 4)
    raw.request(2, "shutdown")
    assert raw.response(2)["result"] is None
    raw.notify("exit")
    assert raw.finish() == 0


def test_requests_in_the_wrong_state_and_with_bad_params_get_errors():
    raw = Raw()
    raw.request(1, "textDocument/hover", {})
    assert raw.response(1)["error"]["code"] == -32002  # not initialized
    raw.request(2, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert "result" in raw.response(2)
    raw.request(3, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert raw.response(3)["error"]["code"] == -32600
    raw.request(4, "textDocument/hover", {"textDocument": 5})
    assert raw.response(4)["error"]["code"] == -32602  # invalid params
    raw.request(5, "flytec/unknown", {})
    assert raw.response(5)["error"]["code"] == -32601  # method not found
    raw.request(6, "textDocument/hover", {"textDocument": {"uri": "file:///nowhere.flow"}, "position": {"line": 0, "character": 0}})
    assert raw.response(6)["result"] is None
    raw.request(7, "textDocument/rename", {"textDocument": {"uri": "file:///nowhere.flow"}, "position": {"line": 0, "character": 0}, "newName": "x"})
    assert raw.response(7)["error"]["code"] == -32803
    raw.notify("textDocument/didChange", {"bogus": True})
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": "not a uri"}})
    raw.request(8, "shutdown")
    assert raw.response(8)["result"] is None
    raw.request(9, "textDocument/hover", {})
    assert raw.response(9)["error"]["code"] == -32600  # after shutdown
    raw.notify("exit")
    assert raw.finish() == 0


def open_and_wait(raw: Raw, uri: str, text: str) -> dict:
    raw.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "flow", "version": 1, "text": text}},
    )
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        message = raw.read()
        if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
            return message["params"]
    raise TimeoutError("no diagnostics")


@pytest.mark.parametrize(
    "text",
    [
        "task f() -> int { " + "(" * 5000 + "1" + ")" * 5000 + " }\n",
        "task f() -> int { " + "1 + " * 20000 + "1 }\n",
        "\x00\x01\x02 task \uffff { } } } ((( \"unterminated\n" * 200,
        "task f(" * 3000,
    ],
    ids=["deep-parens", "long-chain", "binary-junk", "unclosed"],
)
def test_pathological_documents_are_analysed_or_refused(tmp_path, text: str):
    raw = Raw()
    raw.initialize()
    uri = (tmp_path / "bad.flow").as_uri()
    params = open_and_wait(raw, uri, text)
    assert isinstance(params["diagnostics"], list)
    raw.request(2, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 20}})
    assert "result" in raw.response(2) or "error" in raw.response(2)
    raw.request(3, "textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 25}})
    raw.response(3)
    raw.request(4, "textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    raw.response(4)
    raw.request(5, "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}})
    raw.response(5)
    raw.request(6, "textDocument/references", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 20}, "context": {"includeDeclaration": True}})
    raw.response(6)
    raw.request(7, "shutdown")
    raw.response(7)
    raw.notify("exit")
    assert raw.finish() == 0


def test_completion_after_a_non_ascii_character_answers(tmp_path):
    # The name before the cursor was found by stepping one byte past the character before it,
    # which panicked inside a two-byte `é` (after `é.`, and in the call `é(`).
    raw = Raw()
    raw.initialize()
    uri = (tmp_path / "accent.flow").as_uri()
    text = "# é.\ntask f(x: int) -> int { é(x) }\n"
    open_and_wait(raw, uri, text)
    for id_, (line, character) in enumerate([(0, 4), (1, 26)], start=2):
        raw.request(id_, "textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
        assert "result" in raw.response(id_)
    raw.request(9, "shutdown")
    raw.response(9)
    raw.notify("exit")
    assert raw.finish() == 0


def test_documents_over_the_size_limit_are_refused_with_a_diagnostic(tmp_path):
    raw = Raw()
    raw.initialize()
    uri = (tmp_path / "huge.flow").as_uri()
    text = "# " + "x" * (9 << 20) + "\n"
    params = open_and_wait(raw, uri, text)
    assert len(params["diagnostics"]) == 1
    assert "bytes" in params["diagnostics"][0]["message"]
    raw.request(2, "shutdown")
    raw.response(2)
    raw.notify("exit")
    assert raw.finish() == 0


def test_a_long_expression_chain_is_analysed_on_a_large_stack(tmp_path):
    # 20000 nested additions need more than the 8 MB stack of an ordinary thread to check,
    # index and format; the server does all three on threads with large stacks.
    raw = Raw()
    raw.initialize()
    uri = (tmp_path / "chain.flow").as_uri()
    text = "task f() -> int {\n    " + "1 + " * 20000 + "1\n}\n"
    params = open_and_wait(raw, uri, text)
    assert params["diagnostics"] == []
    raw.request(2, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 6}})
    assert "int" in raw.response(2)["result"]["contents"]["value"]
    raw.request(3, "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}})
    assert "result" in raw.response(3)
    raw.request(4, "shutdown")
    raw.response(4)
    raw.notify("exit")
    assert raw.finish() == 0
