"""Completion, rename, code actions and formatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import change_doc, doc_id, open_doc, position_of, uri_of, wait_diagnostics

SHAPES = """\
## A point.
struct Point {
    ## Horizontal position.
    x: float,
    y: float = 0.0,
}

enum Color { Red, Green, Blue }

## Moves a point.
task shift(p: Point, dx: float, dy: float = 0.0) -> Point {
    let moved = Point(x=p.x + dx, y=p.y + dy)
    moved
}
"""


async def complete(client: LanguageClient, uri: str, pos: types.Position) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id(uri), position=pos)
    )
    if isinstance(result, types.CompletionList):
        return list(result.items)
    return list(result or [])


async def edit_and_complete(client: LanguageClient, uri: str, text: str, marker: str = "|") -> list[types.CompletionItem]:
    """Puts `text` (with the cursor at `marker`) in the document, then completes there."""
    pos = position_of(text, marker)
    change_doc(client, uri, text.replace(marker, "", 1), version=edit_and_complete.version)
    edit_and_complete.version += 1
    return await complete(client, uri, pos)


edit_and_complete.version = 2


@pytest.fixture
async def shapes(client: LanguageClient, tmp_path: Path) -> str:
    uri = open_doc(client, tmp_path / "shapes.flow", SHAPES)
    await wait_diagnostics(client, uri)
    return uri


def labels(items: list[types.CompletionItem]) -> list[str]:
    return [i.label for i in items]


async def test_fields_after_dot_on_a_parameter(client: LanguageClient, shapes: str):
    text = SHAPES.replace("    moved\n", "    let a = p.|\n    moved\n")
    items = await edit_and_complete(client, shapes, text)
    assert labels(items) == ["x", "y"]
    assert items[0].detail == "float"
    assert "Horizontal position." in items[0].documentation.value


async def test_fields_after_dot_on_a_local_and_a_constructor(client: LanguageClient, shapes: str):
    items = await edit_and_complete(client, shapes, SHAPES.replace("    moved\n", "    moved.|\n"))
    assert labels(items) == ["x", "y"]
    items = await edit_and_complete(client, shapes, SHAPES.replace("    moved\n", "    Point(x=1.0).|\n"))
    assert labels(items) == ["x", "y"]


async def test_enum_variants_after_dot(client: LanguageClient, shapes: str):
    items = await edit_and_complete(client, shapes, SHAPES.replace("    moved\n", "    let c = Color.|\n    moved\n"))
    assert labels(items) == ["Red", "Green", "Blue"]


async def test_named_arguments_in_a_call(client: LanguageClient, shapes: str):
    text = SHAPES + "\nworkflow main(p: Point) -> Point {\n    shift(p=p, |)\n}\n"
    items = await edit_and_complete(client, shapes, text)
    named = [i for i in items if i.label.endswith("=")]
    assert [i.label for i in named] == ["dx=", "dy="]
    assert named[0].insert_text == "dx="
    assert named[0].detail == "float"
    # Ordinary names are offered too, for positional values.
    assert "p" in labels(items)
    # Constructors offer their fields.
    text = SHAPES + "\nfn origin() -> Point {\n    Point(|)\n}\n"
    items = await edit_and_complete(client, shapes, text)
    assert [i.label for i in items if i.label.endswith("=")] == ["x=", "y="]


async def test_names_in_scope_with_builtin_signatures(client: LanguageClient, shapes: str):
    text = SHAPES.replace("    moved\n", "    le|\n")
    items = await edit_and_complete(client, shapes, text)
    by_label = {i.label: i for i in items}
    for name in ["moved", "p", "dx", "dy", "shift", "Point", "Color", "len", "sqrt", "let"]:
        assert name in by_label, name
    assert by_label["len"].detail.startswith("fn len[T](xs: list[T]) -> int")
    assert "overloads" in by_label["len"].detail
    assert by_label["moved"].detail == "Point"
    assert by_label["shift"].detail == "task shift(p: Point, dx: float, dy: float = 0.0) -> Point"


async def test_types_after_colon_and_arrow(client: LanguageClient, shapes: str):
    items = await edit_and_complete(client, shapes, SHAPES + "\ntask t(a: |\n")
    names = labels(items)
    assert "int" in names and "Point" in names and "Color" in names
    assert "shift" not in names
    items = await edit_and_complete(client, shapes, SHAPES + "\ntask t(a: int) -> |\n")
    assert "Point" in labels(items)


async def test_annotations_after_at(client: LanguageClient, shapes: str):
    items = await edit_and_complete(client, shapes, "@|\n" + SHAPES)
    assert set(labels(items)) == {"retries", "cache", "timeout", "resources", "allow", "batch"}


async def rename(client: LanguageClient, uri: str, pos: types.Position, new: str) -> types.WorkspaceEdit:
    return await client.text_document_rename_async(
        types.RenameParams(text_document=doc_id(uri), position=pos, new_name=new)
    )


def apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def index(p: types.Position) -> int:
        line = lines[p.line]
        units = 0
        for i, ch in enumerate(line):
            if units >= p.character:
                return offsets[p.line] + i
            units += len(ch.encode("utf-16-le")) // 2
        return offsets[p.line] + len(line)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: index(e.range.start)] + e.new_text + text[index(e.range.end) :]
    return text


async def test_rename_a_local(client: LanguageClient, shapes: str):
    edit = await rename(client, shapes, position_of(SHAPES, "    moved\n", offset=4), "result")
    new = apply(SHAPES, edit.changes[shapes])
    assert "let result = Point(" in new and "    result\n" in new and "moved" not in new


async def test_rename_a_parameter_renames_named_arguments(client: LanguageClient, tmp_path: Path):
    text = SHAPES + "\nworkflow main(p: Point) -> Point {\n    shift(p=p, dx=1.0)\n}\n"
    uri = open_doc(client, tmp_path / "w.flow", text)
    await wait_diagnostics(client, uri)
    edit = await rename(client, uri, position_of(text, "dx: float", offset=0), "delta")
    new = apply(text, edit.changes[uri])
    assert "delta: float" in new and "p.x + delta" in new and "shift(p=p, delta=1.0)" in new


async def test_rename_a_top_level_name_across_files(client: LanguageClient, project: Path):
    main_uri = open_doc(client, project / "main.flow")
    lib_uri = open_doc(client, project / "lib.flow")
    await wait_diagnostics(client, main_uri)
    await wait_diagnostics(client, lib_uri)
    main = (project / "main.flow").read_text()
    lib = (project / "lib.flow").read_text()
    edit = await rename(client, main_uri, position_of(main, "Point"), "Vec2")
    assert set(edit.changes) == {main_uri, lib_uri}
    assert "struct Vec2 {" in apply(lib, edit.changes[lib_uri])
    new_main = apply(main, edit.changes[main_uri])
    assert "Point" not in new_main and new_main.count("Vec2") == main.count("Point")


async def test_rename_reaches_closed_files_of_the_workspace(workspace_client: LanguageClient, project: Path):
    client = workspace_client
    lib_uri = open_doc(client, project / "lib.flow")
    await wait_diagnostics(client, lib_uri)
    lib = (project / "lib.flow").read_text()
    main = (project / "main.flow").read_text()
    main_uri = uri_of(project / "main.flow")
    edit = await rename(client, lib_uri, position_of(lib, "struct Point", offset=7), "Vec2")
    assert set(edit.changes) == {main_uri, lib_uri}
    assert apply(main, edit.changes[main_uri]).count("Vec2") == main.count("Point")
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id(lib_uri),
            position=position_of(lib, "task greet", offset=5),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert [(r.uri, r.range.start) for r in refs] == [(main_uri, position_of(main, "greet("))]


@pytest.mark.parametrize(
    "new, why",
    [
        ("let", "keyword"),
        ("2fast", "not an identifier"),
        ("a-b", "not an identifier"),
        ("int", "built-in type"),
        ("dx", "already"),
    ],
)
async def test_rename_refusals(client: LanguageClient, shapes: str, new: str, why: str):
    with pytest.raises(JsonRpcException) as error:
        await rename(client, shapes, position_of(SHAPES, "    moved\n", offset=4), new)
    assert why in str(error.value)


async def test_rename_refuses_top_level_collisions_and_builtins(client: LanguageClient, shapes: str):
    with pytest.raises(JsonRpcException) as error:
        await rename(client, shapes, position_of(SHAPES, "shift"), "Point")
    assert "already declared" in str(error.value)
    text = SHAPES.replace("    moved\n", "    sqrt(dx)\n")
    change_doc(client, shapes, text, 50)
    with pytest.raises(JsonRpcException) as error:
        await rename(client, shapes, position_of(text, "sqrt"), "root")
    assert "built-in" in str(error.value)


async def test_prepare_rename(client: LanguageClient, shapes: str):
    result = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=doc_id(shapes), position=position_of(SHAPES, "moved", offset=2))
    )
    assert result.placeholder == "moved"
    assert result.range.start == position_of(SHAPES, "moved")


async def test_code_action_from_did_you_mean(client: LanguageClient, tmp_path: Path):
    text = "fn count(xs: list[int]) -> int {\n    lenn(xs)\n}\n"
    uri = open_doc(client, tmp_path / "typo.flow", text)
    diagnostics = await wait_diagnostics(client, uri, lambda ds: len(ds) > 0)
    typo = next(d for d in diagnostics if d.code == "E0100")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc_id(uri),
            range=typo.range,
            context=types.CodeActionContext(diagnostics=[typo]),
        )
    )
    assert len(actions) == 1
    action = actions[0]
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.title == "replace with `len`"
    assert action.is_preferred
    assert action.diagnostics[0].code == "E0100"
    fixed = apply(text, action.edit.changes[uri])
    assert fixed == "fn count(xs: list[int]) -> int {\n    len(xs)\n}\n"
    change_doc(client, uri, fixed, 2)
    await wait_diagnostics(client, uri, lambda ds: ds == [])


async def test_code_action_allow_pickle(client: LanguageClient, tmp_path: Path):
    text = "class Blob {\n    data: str\n}\n"
    uri = open_doc(client, tmp_path / "blob.flow", text)
    diagnostics = await wait_diagnostics(client, uri, lambda ds: len(ds) > 0)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc_id(uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert [a.title for a in actions] == ["allow Pickle for this type"]
    assert apply(text, actions[0].edit.changes[uri]).startswith("@allow(pickle)\nclass Blob")


async def format_doc(client: LanguageClient, uri: str) -> list[types.TextEdit]:
    return await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc_id(uri),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )


async def test_formatting_is_one_whole_document_edit(client: LanguageClient, shapes: str):
    assert client.server_capabilities.document_formatting_provider
    messy = SHAPES.replace("let moved = Point(", "let   moved=Point(").replace("    moved\n", "        moved\n")
    change_doc(client, shapes, messy, 70)
    edits = await format_doc(client, shapes)
    assert len(edits) == 1
    assert edits[0].range.start == types.Position(line=0, character=0)
    assert edits[0].range.end == position_of(messy, messy[-1], nth=messy.count(messy[-1]) - 1, offset=1)
    formatted = apply(messy, edits)
    assert "    let moved = Point(" in formatted and "\n    moved\n" in formatted
    # Formatting is idempotent: a formatted document needs no edit.
    change_doc(client, shapes, formatted, 71)
    assert list(await format_doc(client, shapes)) == []


async def test_formatting_refuses_documents_with_syntax_errors(client: LanguageClient, shapes: str):
    change_doc(client, shapes, SHAPES + "\ntask broken( {\n", 80)
    with pytest.raises(JsonRpcException) as error:
        await format_doc(client, shapes)
    assert "syntax errors" in str(error.value)
