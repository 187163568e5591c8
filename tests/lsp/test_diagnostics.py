"""Diagnostics: published on open and on change, identical to `flytec check`, with UTF-16
ranges, related information, and updates across imported files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import change_doc, flytec_bin, open_doc, position_of, utf16_col, wait_diagnostics

# Line 2 holds non-ASCII text before the syntax error: `é` is one UTF-16 unit, `😀` two, so
# the `$` is at character 17 but at UTF-16 column 18.
SYNTAX_ERROR = """\
task greet(name: str) -> str {
    let s = "é😀" $ 3
    s
}
"""


def check_json(path: Path) -> list[dict]:
    """`flytec check --format json` on `path`: the reference the server must agree with."""
    run = subprocess.run(
        [flytec_bin(), "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(run.stdout)["diagnostics"]


def to_lsp_range(text: str, r: dict) -> types.Range:
    """A `--format json` range (1-based lines, character columns) in UTF-16 units."""
    lines = text.split("\n")

    def pos(p):
        line = lines[p["line"] - 1]
        return types.Position(line=p["line"] - 1, character=utf16_col(line, p["column"] - 1))

    return types.Range(start=pos(r["start"]), end=pos(r["end"]))


async def test_syntax_error_on_open_matches_check_with_utf16_range(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "broken.flow"
    path.write_text(SYNTAX_ERROR)
    uri = open_doc(client, path)
    diagnostics = await wait_diagnostics(client, uri)
    expected = check_json(path)
    assert [d.code for d in diagnostics] == [e["code"] for e in expected]
    assert [d.message for d in diagnostics] == [e["message"] for e in expected]
    assert [d.range for d in diagnostics] == [to_lsp_range(SYNTAX_ERROR, e["range"]) for e in expected]
    first = diagnostics[0]
    assert first.code == "E0001"
    assert first.source == "flytec"
    assert first.severity == types.DiagnosticSeverity.Error
    # Independently of `check`: the error is at the `$`, counted in UTF-16 units.
    assert first.range.start == types.Position(line=1, character=18)
    assert first.range.end == types.Position(line=1, character=19)
    assert "`$`" in first.message


async def test_change_is_analysed_and_utf16_columns_follow_emoji(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "types.flow"
    good = 'task f(x: int) -> int {\n    x\n}\n'
    path.write_text(good)
    uri = open_doc(client, path)
    assert await wait_diagnostics(client, uri) == []
    bad = 'task f(x: int) -> int {\n    let s = "😀😀"\n    s + lenn(s)\n}\n'
    change_doc(client, uri, bad, 2)
    diagnostics = await wait_diagnostics(client, uri, lambda ds: any(d.code == "E0100" for d in ds))
    unknown = next(d for d in diagnostics if d.code == "E0100")
    assert unknown.range.start == position_of(bad, "lenn")
    assert "lenn" in unknown.message
    path.write_text(bad)
    expected = check_json(path)
    assert sorted((d.code, d.message) for d in diagnostics) == sorted(
        (e["code"], e["message"]) for e in expected
    )


async def test_secondary_labels_become_related_information(client: LanguageClient, tmp_path: Path):
    text = "task twice(x: int) -> int { x }\ntask twice(y: int) -> int { y }\n"
    path = tmp_path / "twice.flow"
    uri = open_doc(client, path, text)
    diagnostics = await wait_diagnostics(client, uri, lambda ds: len(ds) > 0)
    dup = next(d for d in diagnostics if d.code == "E0101")
    assert dup.range.start == position_of(text, "twice", nth=1)
    related = dup.related_information or []
    first = [r for r in related if r.message == "first declared here"]
    assert first and first[0].location.range.start == position_of(text, "twice")
    assert first[0].location.uri == uri
    assert any(r.message.startswith("help: ") for r in related)


async def test_imported_file_change_updates_importer(client: LanguageClient, project: Path):
    main_uri = open_doc(client, project / "main.flow")
    assert await wait_diagnostics(client, main_uri) == []
    lib = project / "lib.flow"
    lib_uri = open_doc(client, lib)
    lib_diags = await wait_diagnostics(client, lib_uri)
    assert [d.code for d in lib_diags] == ["W0100"]

    # The editor edits lib.flow and saves it: `greet` now takes `who`, so main's call breaks.
    new_lib = lib.read_text().replace("task greet(name: str)", "task greet(who: str)").replace(
        "People(name=name)", "People(name=who)"
    )
    lib.write_text(new_lib)
    change_doc(client, lib_uri, new_lib, 2)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=lib_uri)))
    diagnostics = await wait_diagnostics(client, main_uri, lambda ds: len(ds) > 0)
    codes = {d.code for d in diagnostics}
    assert "E0202" in codes, diagnostics
    main_text = (project / "main.flow").read_text()
    unknown = next(d for d in diagnostics if d.code == "E0202")
    assert unknown.range.start == position_of(main_text, "name=name", offset=0)

    # Fixing lib.flow clears main's diagnostics again.
    lib.write_text(new_lib.replace("greet(who: str)", "greet(name: str)").replace("name=who", "name=name"))
    change_doc(client, lib_uri, lib.read_text(), 3)
    await wait_diagnostics(client, main_uri, lambda ds: ds == [])


async def test_unsaved_edits_of_an_open_import_are_what_the_importer_sees(client: LanguageClient, project: Path):
    main_uri = open_doc(client, project / "main.flow")
    assert await wait_diagnostics(client, main_uri) == []
    lib = project / "lib.flow"
    on_disk = lib.read_text()
    lib_uri = open_doc(client, lib)
    await wait_diagnostics(client, lib_uri)

    # lib.flow is edited but not saved: main is checked against the editor's text.
    renamed = on_disk.replace("task greet(name: str)", "task greet(who: str)").replace(
        "People(name=name)", "People(name=who)"
    )
    change_doc(client, lib_uri, renamed, 2)
    diagnostics = await wait_diagnostics(client, main_uri, lambda ds: len(ds) > 0)
    assert [d.code for d in diagnostics] == ["E0202"]
    assert diagnostics[0].message == "task `greet` has no parameter named `name`"
    assert "note: task `greet` takes `who`" in [r.message for r in diagnostics[0].related_information]
    assert lib.read_text() == on_disk

    # Undoing the edit, still unsaved, fixes main again.
    change_doc(client, lib_uri, on_disk, 3)
    await wait_diagnostics(client, main_uri, lambda ds: ds == [])

    # A new declaration that exists only in the editor is visible to main.
    main_text = (project / "main.flow").read_text()
    change_doc(client, main_uri, main_text + "\ntask shade() -> Color { Color.Teal }\n", 2)
    await wait_diagnostics(client, main_uri, lambda ds: [d.code for d in ds] == ["E0100"])
    change_doc(client, lib_uri, on_disk.replace("Blue }", "Blue, Teal }"), 4)
    await wait_diagnostics(client, main_uri, lambda ds: ds == [])

    # Closed without saving: main reads lib.flow from disk again, where `Teal` does not exist.
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=lib_uri)))
    await wait_diagnostics(client, main_uri, lambda ds: [d.code for d in ds] == ["E0100"])


async def test_an_import_that_exists_only_in_the_editor_is_found(client: LanguageClient, tmp_path: Path):
    main = tmp_path / "main.flow"
    main.write_text('import "extra.flow"\n\ntask t() -> int { twice(2) }\n')
    main_uri = open_doc(client, main)
    diagnostics = await wait_diagnostics(client, main_uri, lambda ds: len(ds) > 0)
    assert sorted(d.code for d in diagnostics) == ["E0100", "E0102"]
    # A new file, opened but never saved: main is checked again and finds it.
    extra = tmp_path / "extra.flow"
    open_doc(client, extra, "fn twice(x: int) -> int { 2 * x }\n")
    await wait_diagnostics(client, main_uri, lambda ds: ds == [])
    assert not extra.exists()


async def test_errors_in_unopened_imports_are_published_for_them(client: LanguageClient, project: Path):
    lib = project / "lib.flow"
    lib.write_text(lib.read_text() + "\ntask broken() -> int { lenn([1]) }\n")
    main_uri = open_doc(client, project / "main.flow")
    lib_uri = lib.resolve().as_uri()
    await wait_diagnostics(client, main_uri)
    lib_diags = await wait_diagnostics(client, lib_uri, lambda ds: any(d.code == "E0100" for d in ds))
    assert {d.code for d in lib_diags} == {"E0100", "W0100"}
