"""The runner of Flow's Python tasks, shipped inside `flytec` and started as
`python3 -c RUNNER CALL.json` once per attempt of a Python task.

CALL.json says what to call and the Flow types of its inputs and outputs. The inputs arrive as
one pickle (a dict of input name to value, in the plain form Flow writes: records as dicts,
datetimes as ISO strings, durations as seconds, extern values as nested pickles that load
themselves). The runner turns them into the Python values a task expects (records as objects
with attribute access, `datetime` and `timedelta`, enums as variant names), calls the function,
checks the result against the declared outputs, and writes them back in Flow's plain form as a
pickle of `(python_version, [output, ...])`; an extern value is `pickle.dumps` of the object,
nested as `pickle.loads(b"...")`. A failure is written as JSON to the error file, and the
runner exits with status 1.

Only the standard library is used.
"""

import dataclasses
import datetime
import enum
import importlib
import json
import numbers
import os
import pickle
import platform
import sys
import textwrap
import traceback

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class Mismatch(Exception):
    """A value that does not fit its Flow type: where, what was expected, what was found."""

    def __init__(self, path, expected, found):
        super().__init__(path, expected, found)
        self.path, self.expected, self.found = path, expected, found


class Nested:
    """An extern value inside the outputs: pickles as `pickle.loads(data)`."""

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (pickle.loads, (self.data,))


class Types:
    """The Flow types of one call: `show` renders one as Flow writes it, `to_python` and
    `from_python` convert values between Flow's plain form and the Python a task sees."""

    def __init__(self, named):
        self.named = named
        self.classes = {}

    def resolve(self, spec):
        while isinstance(spec, dict) and "ref" in spec:
            spec = self.named[spec["ref"]]
        return spec

    def show(self, spec):
        if isinstance(spec, str):
            return spec
        if "ref" in spec:
            return spec["ref"]
        if "list" in spec:
            return "list[%s]" % self.show(spec["list"])
        if "dict" in spec:
            return "dict[str, %s]" % self.show(spec["dict"])
        if "tuple" in spec:
            return "(%s)" % ", ".join(self.show(s) for s in spec["tuple"])
        if "union" in spec:
            members = spec["union"]
            if len(members) == 2 and "none" in members:
                other = members[0] if members[1] == "none" else members[1]
                return "%s?" % self.show(other)
            return " | ".join(self.show(s) for s in members)
        return spec.get("name", "?")

    def record_class(self, name, fields):
        """A dataclass standing for the Flow struct or class `name`."""
        if name not in self.classes:
            self.classes[name] = dataclasses.make_dataclass(name, [f for f, _ in fields])
        return self.classes[name]

    def to_python(self, value, spec):
        spec = self.resolve(spec)
        if spec == "datetime":
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if spec == "duration":
            return datetime.timedelta(seconds=value)
        if isinstance(spec, str) or value is None:
            return value
        if "list" in spec:
            return [self.to_python(v, spec["list"]) for v in value]
        if "dict" in spec:
            return {k: self.to_python(v, spec["dict"]) for k, v in value.items()}
        if "tuple" in spec:
            return tuple(self.to_python(v, s) for v, s in zip(value, spec["tuple"]))
        if "union" in spec:
            # The first member the value converts to and then fits.
            for member in spec["union"]:
                try:
                    converted = self.to_python(value, member)
                    self.from_python(converted, member, "")
                    return converted
                except (Mismatch, TypeError, ValueError, AttributeError, KeyError):
                    continue
            return value
        if spec.get("kind") in ("struct", "class") and isinstance(value, dict):
            cls = self.record_class(spec["name"], spec["fields"])
            return cls(**{f: self.to_python(value[f], s) for f, s in spec["fields"]})
        return value

    def from_python(self, value, spec, path):
        """`value` in Flow's plain form, or `Mismatch` where it does not fit `spec`."""
        shown = spec
        spec = self.resolve(spec)

        def mismatch():
            return Mismatch(path, self.show(shown), describe(value))

        if spec == "none":
            if value is None:
                return None
            raise mismatch()
        if spec == "bool":
            if isinstance(value, bool):
                return value
            raise mismatch()
        if spec == "int":
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                if INT_MIN <= int(value) <= INT_MAX:
                    return int(value)
                raise Mismatch(path, "int (64 bits)", "%s, beyond 64 bits" % describe(value))
            raise mismatch()
        if spec == "float":
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                return float(value)
            raise mismatch()
        if spec == "str":
            if isinstance(value, str):
                return value
            raise mismatch()
        if spec in ("file", "dir"):
            if isinstance(value, (str, os.PathLike)):
                return os.fspath(value)
            raise mismatch()
        if spec == "datetime":
            if isinstance(value, datetime.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=datetime.timezone.utc)
                return value.astimezone(datetime.timezone.utc)
            raise mismatch()
        if spec == "duration":
            if isinstance(value, datetime.timedelta):
                return value
            raise mismatch()
        if "list" in spec:
            if isinstance(value, (list, tuple)):
                return [
                    self.from_python(v, spec["list"], "%s[%d]" % (path, i))
                    for i, v in enumerate(value)
                ]
            raise mismatch()
        if "dict" in spec:
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                return {
                    k: self.from_python(v, spec["dict"], "%s[%r]" % (path, k))
                    for k, v in value.items()
                }
            raise mismatch()
        if "tuple" in spec:
            if isinstance(value, (list, tuple)) and len(value) == len(spec["tuple"]):
                return tuple(
                    self.from_python(v, s, "%s.%d" % (path, i))
                    for i, (v, s) in enumerate(zip(value, spec["tuple"]))
                )
            raise mismatch()
        if "union" in spec:
            for member in spec["union"]:
                try:
                    return self.from_python(value, member, path)
                except Mismatch:
                    continue
            raise mismatch()
        kind = spec.get("kind")
        if kind == "enum":
            name = value.name if isinstance(value, enum.Enum) else value
            if isinstance(name, str) and name in spec["variants"]:
                return name
            raise mismatch()
        if kind in ("struct", "class"):
            out = {}
            for field, field_spec in spec["fields"]:
                if isinstance(value, dict) and field in value:
                    item = value[field]
                elif not isinstance(value, dict) and hasattr(value, field):
                    item = getattr(value, field)
                else:
                    raise Mismatch(
                        path, self.show(shown), "%s without a field `%s`" % (describe(value), field)
                    )
                out[field] = self.from_python(item, field_spec, "%s.%s" % (path, field))
            return out
        if kind == "extern":
            if value is None:
                raise mismatch()
            try:
                return Nested(pickle.dumps(value, protocol=pickle.DEFAULT_PROTOCOL))
            except Exception as e:
                raise Mismatch(path, self.show(shown), "%s, which cannot be pickled: %s" % (
                    describe(value), e))
        raise mismatch()


def describe(value):
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return "%s %s" % (type(value).__name__, text)


def load_function(call):
    """The function to call: `module:function`, or the inline body compiled so that tracebacks
    point into the `.flow` file."""
    if call.get("inline") is not None:
        params = ", ".join(name for name, _ in call["inputs"])
        body = textwrap.indent(textwrap.dedent(call["inline"]), "    ")
        # The body starts on `inline_line` of the .flow file: the `def` goes on the line before.
        padding = "\n" * max(call["inline_line"] - 2, 0)
        source = "%sdef %s(%s):\n%s\n    pass\n" % (padding, call["task"], params, body)
        namespace = {"__name__": "flytec_task_%s" % call["task"]}
        exec(compile(source, call["flow_file"], "exec"), namespace)
        return namespace[call["task"]]
    try:
        module = importlib.import_module(call["module"])
    except ModuleNotFoundError as e:
        if e.name and call["module"].startswith(e.name):
            raise Failure(
                "import",
                "cannot import the module `%s`: it is neither beside the .flow file (%s) nor on "
                "PYTHONPATH" % (call["module"], call["dir"]),
            )
        raise
    function = getattr(module, call["function"], None)
    if function is None or not callable(function):
        raise Failure(
            "import",
            "the module `%s` (%s) has no function `%s`"
            % (call["module"], getattr(module, "__file__", "?"), call["function"]),
        )
    return function


class Failure(Exception):
    """A failure the runner reports: an exception in the task's code (with the line of the
    .flow file it was raised on, for an inline body), a result that does not fit, a missing
    module or function."""

    def __init__(self, kind, message, flow_line=None):
        super().__init__(message)
        self.kind, self.message, self.flow_line = kind, message, flow_line


def outputs_of(result, outputs):
    """The task's return value as one value per declared output."""
    if len(outputs) == 0:
        return []
    if len(outputs) == 1:
        return [result]
    names = [name for name, _ in outputs]
    if isinstance(result, dict) and set(result) == set(names):
        return [result[n] for n in names]
    if isinstance(result, (tuple, list)) and len(result) == len(names):
        return list(result)
    raise Failure(
        "mismatch",
        "the task declares %d outputs (%s), so it must return a tuple of %d values, found %s"
        % (len(names), ", ".join(names), len(names), describe(result)),
    )


def main(call_file):
    with open(call_file, encoding="utf-8") as f:
        call = json.load(f)
    # Modules are looked up beside the .flow file first, then on PYTHONPATH (not in the
    # current directory, which would make a task's behaviour depend on where flytec ran).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)
    sys.path.insert(0, call["dir"])
    types = Types(call["types"])
    try:
        function = load_function(call)
        with open(call["inputs_file"], "rb") as f:
            plain = pickle.load(f)
        kwargs = {name: types.to_python(plain[name], spec) for name, spec in call["inputs"]}
        try:
            result = function(**kwargs)
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)[1:]
            text = "".join(traceback.format_list(frames))
            text += "".join(traceback.format_exception_only(type(e), e))
            # The innermost line of an inline body, to point at in the .flow file.
            lines = [f.lineno for f in frames if f.filename == call["flow_file"]]
            raise Failure("exception", text.rstrip(), lines[-1] if lines else None) from None
        values = outputs_of(result, call["outputs"])
        converted = []
        for value, (name, spec) in zip(values, call["outputs"]):
            try:
                converted.append(types.from_python(value, spec, name))
            except Mismatch as m:
                raise Failure(
                    "mismatch",
                    "output `%s` must be `%s`, but the function returned %s%s"
                    % (name, types.show(spec), m.found,
                       "" if m.path == name else " at `%s` (expected `%s`)" % (m.path, m.expected)),
                )
        # A top-level extern output is stored as the very bytes Python wrote.
        with open(call["outputs_file"], "wb") as f:
            pickle.dump((platform.python_version(), converted), f, protocol=4)
    except Failure as failure:
        write_error(call, failure.kind, failure.message, failure.flow_line)
        return 1
    except BaseException as e:
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        write_error(call, "runner", text.rstrip())
        return 1
    return 0


def write_error(call, kind, message, flow_line=None):
    with open(call["error_file"], "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "message": message, "flow_line": flow_line}, f)


sys.exit(main(sys.argv[1]))
