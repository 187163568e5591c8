"""Hover, go to definition, find references and document symbols, across the files of a
program (fixtures/project: main.flow imports lib.flow)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import at, doc_id, open_doc, position_of, uri_of, wait_diagnostics


async def hover_text(client: LanguageClient, uri: str, pos: types.Position) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=doc_id(uri), position=pos)
    )
    assert result is not None, f"no hover at {pos}"
    assert isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.Markdown
    return result.contents.value


async def open_main(client: LanguageClient, project: Path) -> tuple[str, str]:
    main = project / "main.flow"
    uri = open_doc(client, main)
    await wait_diagnostics(client, uri)
    return uri, main.read_text()


async def test_hover_on_a_task_shows_signature_doc_and_interface(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    value = await hover_text(client, uri, position_of(text, "task scale", offset=6))
    assert "task scale(p: Point, factor: float = 2.0) -> Point" in value
    assert "Scales a point by a factor." in value
    assert "input `p`: `STRUCT Point`" in value
    assert "output `o0`: `STRUCT Point`" in value


async def test_hover_on_an_imported_task_at_a_call(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    value = await hover_text(client, uri, position_of(text, "greet(name=name)", offset=1))
    assert "task greet(name: str) -> People" in value
    assert "Greets someone by name." in value
    assert "PythonPickle" in value
    assert "from `" in value and "lib.flow" in value


async def test_hover_on_a_pickled_class_says_why(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    value = await hover_text(client, uri, position_of(text, "People] @batch", offset=1))
    assert "class People {" in value
    assert "name: str," in value
    assert "Flyte: `PythonPickle`" in value
    assert "the type engine does not know it" in value
    assert "Pickle" in value and "struct" in value


async def test_hover_on_a_parameter_shows_its_type_and_flyte_type(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    value = await hover_text(client, uri, position_of(text, "people: list", offset=1))
    assert "people: list[People] @batch(2)" in value
    assert "Flyte: `collection of PythonPickle`" in value
    # A use of the parameter in the body hovers the same way.
    value = await hover_text(client, uri, position_of(text, "in people", offset=4))
    assert "people: list[People] @batch(2)" in value


async def test_hover_on_locals_and_builtins(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    value = await hover_text(client, uri, position_of(text, "    q\n", offset=4))
    assert "let q: Point" in value
    assert "inferred" in value
    value = await hover_text(client, uri, position_of(text, "str] {", offset=0))
    assert "built-in type" in value and "STRING" in value
    value = await hover_text(client, uri, position_of(text, "who.name", offset=5))
    assert "name: str" in value and "field of `People`" in value


async def test_hover_on_a_builtin_function_shows_every_overload(client: LanguageClient, tmp_path: Path):
    text = "fn count(xs: list[int]) -> int { len(xs) }\n"
    uri = open_doc(client, tmp_path / "a.flow", text)
    await wait_diagnostics(client, uri)
    value = await hover_text(client, uri, position_of(text, "len(", offset=1))
    assert "fn len[T](xs: list[T]) -> int" in value
    assert "fn len(s: str) -> int" in value
    assert "built-in" in value


async def test_definition_across_files(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    lib = (project / "lib.flow").read_text()
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(uri), position=position_of(text, "greet(name", offset=2))
    )
    location = result if isinstance(result, types.Location) else result[0]
    assert location.uri == uri_of(project / "lib.flow")
    assert location.range.start == position_of(lib, "greet(name: str)")
    # A named argument jumps to the parameter it names.
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(uri), position=position_of(text, "name=name", offset=1))
    )
    location = result if isinstance(result, types.Location) else result[0]
    assert location.range.start == position_of(lib, "name: str)")
    # A field in a constructor call jumps to the field.
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(uri), position=position_of(text, "Point(x=", offset=6))
    )
    location = result if isinstance(result, types.Location) else result[0]
    assert location.range.start == position_of(lib, "x: float")


async def test_definition_of_locals_and_builtins(client: LanguageClient, project: Path):
    uri, text = await open_main(client, project)
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(uri), position=position_of(text, "    q\n", offset=4))
    )
    location = result if isinstance(result, types.Location) else result[0]
    assert location.uri == uri
    assert location.range.start == position_of(text, "q = Point")
    text2 = "fn count(xs: list[int]) -> int { len(xs) }\n"
    uri2 = open_doc(client, project / "other.flow", text2)
    await wait_diagnostics(client, uri2)
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(uri2), position=position_of(text2, "len("))
    )
    location = result if isinstance(result, types.Location) else result[0]
    assert location.uri.startswith("file:") and location.uri.endswith("std/prelude.flow")
    assert Path(location.uri[len("file://"):]).read_text().count("fn len") >= 1


async def test_references_across_open_files(client: LanguageClient, project: Path):
    main_uri, main = await open_main(client, project)
    lib_path = project / "lib.flow"
    lib_uri = open_doc(client, lib_path)
    await wait_diagnostics(client, lib_uri)
    lib = lib_path.read_text()
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id(lib_uri),
            position=position_of(lib, "struct Point", offset=7),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    found = sorted((r.uri, r.range.start.line, r.range.start.character) for r in result)
    expected = sorted(
        [(lib_uri, *pos) for pos in [(p.line, p.character) for p in [position_of(lib, "Point {")]]]
        + [
            (main_uri, p.line, p.character)
            for p in [position_of(main, "Point", n) for n in range(main.count("Point"))]
        ]
    )
    assert found == expected


async def test_document_symbols_have_children(client: LanguageClient, project: Path):
    lib_uri = open_doc(client, project / "lib.flow")
    await wait_diagnostics(client, lib_uri)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc_id(lib_uri))
    )
    by_name = {s.name: s for s in symbols}
    assert list(by_name) == ["Point", "People", "Color", "greet"]
    assert by_name["Point"].kind == types.SymbolKind.Struct
    assert [c.name for c in by_name["Point"].children] == ["x", "y"]
    assert by_name["Point"].children[0].kind == types.SymbolKind.Field
    assert by_name["People"].kind == types.SymbolKind.Class
    assert [c.name for c in by_name["Color"].children] == ["Red", "Green", "Blue"]
    assert [c.name for c in by_name["greet"].children] == ["name"]
    assert by_name["greet"].detail == "task greet(name: str) -> People"


async def test_requests_in_a_broken_document_give_partial_results(client: LanguageClient, tmp_path: Path):
    text = "struct P { x: int }\n\ntask f(p: P) -> int {\n    let y = p.\n    p.x\n}\n\ntask g( -> {\n"
    uri = open_doc(client, tmp_path / "broken.flow", text)
    diagnostics = await wait_diagnostics(client, uri, lambda ds: len(ds) > 0)
    assert any(d.code == "E0001" for d in diagnostics)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc_id(uri))
    )
    assert "P" in [s.name for s in symbols] and "f" in [s.name for s in symbols]
    value = await hover_text(client, uri, position_of(text, "p.x", offset=0))
    assert "p: P" in value
    # Out-of-range positions answer, not crash.
    far = await client.text_document_hover_async(
        types.HoverParams(text_document=doc_id(uri), position=types.Position(line=999, character=999))
    )
    assert far is None
