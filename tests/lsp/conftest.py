"""Shared fixtures for the language server tests: a pytest-lsp client connected to
`flytec lsp`, and helpers to open documents and wait for their diagnostics.

The binary is `$FLYTEC_BIN` (set by tests/lsp.rs), else target/debug/flytec.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = HERE / "fixtures"


def flytec_bin() -> str:
    path = os.environ.get("FLYTEC_BIN") or str(REPO / "target" / "debug" / "flytec")
    if not Path(path).exists():
        pytest.exit(f"flytec binary not found at {path}: run `cargo build` first", returncode=2)
    return path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[flytec_bin(), "lsp", "--stdio"]),
)
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(capabilities=pytest_lsp.client_capabilities("visual-studio-code"))
    result = await lsp_client.initialize_session(params)
    lsp_client.server_capabilities = result.capabilities
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[flytec_bin(), "lsp"]),
)
async def workspace_client(lsp_client: LanguageClient, project: Path):
    """A client whose workspace folder is `project` (so closed files there are searched)."""
    folder = types.WorkspaceFolder(uri=uri_of(project), name="project")
    params = types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        root_uri=folder.uri,
        workspace_folders=[folder],
    )
    result = await lsp_client.initialize_session(params)
    lsp_client.server_capabilities = result.capabilities
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of fixtures/project (main.flow importing lib.flow) in a temporary directory."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", target)
    return target


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def open_doc(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    """Opens `path` (with its text on disk unless `text` is given); returns its URI."""
    uri = uri_of(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="flow",
                version=version,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return uri


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def wait_diagnostics(client: LanguageClient, uri: str, predicate=lambda ds: True, timeout=15.0):
    """Waits until the diagnostics published for `uri` satisfy `predicate`; returns them."""

    async def wait():
        while True:
            current = client.diagnostics.get(uri)
            if current is not None and predicate(list(current)):
                return list(current)
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    try:
        return await asyncio.wait_for(wait(), timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"no matching diagnostics for {uri}; last: {client.diagnostics.get(uri)!r}")


def utf16_col(line: str, index: int) -> int:
    """The UTF-16 column of character index `index` of `line`."""
    return len(line[:index].encode("utf-16-le")) // 2


def position_of(text: str, needle: str, nth: int = 0, offset: int = 0) -> types.Position:
    """The LSP position of the `nth` occurrence of `needle` (plus `offset` characters)."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    start += offset
    line = text.count("\n", 0, start)
    line_start = text.rfind("\n", 0, start) + 1
    return types.Position(line=line, character=utf16_col(text[line_start:], start - line_start))


def doc_id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def at(uri: str, pos: types.Position) -> types.TextDocumentPositionParams:
    return types.TextDocumentPositionParams(text_document=doc_id(uri), position=pos)


sys.path.insert(0, str(HERE))
