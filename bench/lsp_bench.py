#!/usr/bin/env python3
"""Latency of `flytec lsp`: time from a `didChange` on a 5,000-line file to the
`publishDiagnostics` for that change, median of 20 edits (target < 50 ms).

    cargo build --release && python3 bench/lsp_bench.py [--flytec PATH] [--edits 20] [--lines 5000]

The file is made by bench/gen_program.py (its library and main files joined into one file,
imports removed), so it is a valid program that checks with zero diagnostics. Each edit changes
one integer literal inside a task body (the file stays valid) and is sent as a full-text
`didChange`; the clock stops when the diagnostics for that document version arrive. Edits are
spaced by --gap-ms (default 300 ms, longer than the server's 150 ms debounce), as when a user
pauses: the server analyses a change at once when the document had been quiet, and coalesces a
burst of keystrokes into one analysis 150 ms after the last one.

Exit status: 0 measured; 1 the server failed; 3 the median missed the target (with
--enforce-target). Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_MS = 50.0


def generate(lines: int, out: Path) -> Path:
    """One valid file of about `lines` lines."""
    subprocess.run(
        [sys.executable, str(HERE / "gen_program.py"), str(out / "gen"), "--lines", str(lines)],
        check=True,
        capture_output=True,
    )
    gen = out / "gen"
    order = [gen / "lib" / "types.flow", gen / "lib" / "util.flow"]
    order += sorted((gen / "lib").glob("tasks_*.flow")) + [gen / "main.flow"]
    text = "\n".join(re.sub(r"(?m)^import .*\n", "", p.read_text()) for p in order)
    path = out / "big.flow"
    path.write_text(text)
    return path


class Server:
    def __init__(self, command: list[str]):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages: list[tuple[float, dict]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    with self.cond:
                        self.cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            message = json.loads(out.read(length))
            now = time.perf_counter()
            with self.cond:
                self.messages.append((now, message))
                self.cond.notify_all()

    def send(self, message: dict) -> float:
        body = json.dumps(message).encode()
        data = b"Content-Length: %d\r\n\r\n" % len(body) + body
        start = time.perf_counter()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return start

    def wait_for(self, predicate, timeout=30.0) -> tuple[float, dict]:
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for i, (t, m) in enumerate(self.messages):
                    if predicate(m):
                        del self.messages[: i + 1]
                        return t, m
                remaining = deadline - time.time()
                if remaining <= 0 or self.proc.poll() is not None:
                    raise TimeoutError("the server did not answer")
                self.cond.wait(remaining)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flytec", default=str(HERE.parent / "target" / "release" / "flytec"))
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--gap-ms", type=float, default=300.0)
    parser.add_argument("--enforce-target", action="store_true")
    args = parser.parse_args()
    if not Path(args.flytec).exists():
        print(f"no binary at {args.flytec}: run `cargo build --release` first", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        path = generate(args.lines, Path(tmp))
        text = path.read_text()
        uri = path.as_uri()
        server = Server([args.flytec, "lsp"])
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        server.wait_for(lambda m: m.get("id") == 1)
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "flow", "version": 1, "text": text}}})

        def diagnostics_for(version):
            return lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and m["params"].get("version") == version
            )

        _, first = server.wait_for(diagnostics_for(1))
        count = len(first["params"]["diagnostics"])
        if count:
            print(f"warning: the generated file has {count} diagnostics", file=sys.stderr)

        # Edits change integer literals inside bodies, one after another.
        literals = [m.start() for m in re.finditer(r"(?<![\w.])\d+(?![\w.])", text) if text.rfind("{", 0, m.start()) > text.rfind("}", 0, m.start())]
        timings = []
        for k in range(args.edits):
            time.sleep(args.gap_ms / 1000)
            at = literals[(k * 97) % len(literals)]
            end = at
            while text[end].isdigit():
                end += 1
            text = text[:at] + str(int(text[at:end]) + 1) + text[end:]
            version = k + 2
            start = server.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}})
            arrived, _ = server.wait_for(diagnostics_for(version))
            timings.append((arrived - start) * 1000)

        server.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        server.wait_for(lambda m: m.get("id") == 2)
        server.send({"jsonrpc": "2.0", "method": "exit"})
        server.proc.wait(timeout=10)

    lines = text.count("\n")
    median = statistics.median(timings)
    ok = median < TARGET_MS
    print("| measurement | result | target | status |")
    print("|---|---:|---:|---|")
    print(f"| didChange → publishDiagnostics, {lines:,}-line file, median of {len(timings)} | {median:.1f} ms | < {TARGET_MS:.0f} ms | {'ok' if ok else 'MISSED'} |")
    print(f"| same, min / max | {min(timings):.1f} / {max(timings):.1f} ms | — | — |")
    if args.enforce_target and not ok:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
