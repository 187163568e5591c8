"""Checks literal maps written by flytec against flyteidl itself.

Usage: python3 tests/flyteidl_check.py DIR

Every `*.json` file in DIR must parse as a `flyteidl.core.LiteralMap` with
`google.protobuf.json_format.Parse` (which rejects unknown fields and ill-typed values), and
printing it back with `json_format.MessageToDict` must give the same JSON, up to what the
mapping leaves open: empty `literals` fields (left out by MessageToDict) and ints in a
`google.protobuf.Struct` (doubles there: 3 reads back as 3.0, which compares equal).

Prints one line per failure, then `N passed, M failed`. Exit status: 0 when all passed, 1 when
some failed or DIR holds no file, 2 when flyteidl cannot be imported.
"""

import json
import pathlib
import sys

try:
    from google.protobuf import json_format
    from flyteidl.core.literals_pb2 import LiteralMap
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"cannot import flyteidl ({e}): run `pip install flyteidl`", file=sys.stderr)
    sys.exit(2)


def normalize(value):
    """Drops empty `literals` fields, which MessageToDict leaves out."""
    if isinstance(value, dict):
        return {
            k: normalize(v)
            for k, v in value.items()
            if not (k == "literals" and v in ([], {}))
        }
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def first_difference(a, b, path="$"):
    """The path of the first place where a and b differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: {a.get(k, '<absent>')!r} != {b.get(k, '<absent>')!r}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    # 3 == 3.0 (Struct numbers are doubles), but True is not 1.
    same = a == b and isinstance(a, bool) == isinstance(b, bool)
    return None if same else f"{path}: {a!r} != {b!r}"


def check(path):
    """None when the file is a valid LiteralMap printed as flyteidl prints it, else the problem."""
    text = path.read_text()
    try:
        msg = json_format.Parse(text, LiteralMap())
    except json_format.ParseError as e:
        return f"does not parse: {e}"
    back = json_format.MessageToDict(msg)
    diff = first_difference(normalize(json.loads(text)), normalize(back))
    if diff:
        return f"prints back differently at {diff}"
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    files = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
    import flyteidl
    import google.protobuf

    version = getattr(flyteidl, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("flyteidl")
        except Exception:  # pragma: no cover
            version = "?"
    print(f"flyteidl {version}, protobuf {google.protobuf.__version__}", file=sys.stderr)
    passed = failed = 0
    for f in files:
        problem = check(f)
        if problem:
            failed += 1
            print(f"FAIL {f.name}: {problem}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if files and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
