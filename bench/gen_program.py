#!/usr/bin/env python3
"""Generate a large, valid Flow program for benchmarking `flytec check`.

    python3 bench/gen_program.py OUT_DIR [--lines 100000] [--seed N]
    python3 bench/gen_program.py OUT_DIR --small

The default program is about 100,000 lines: 2,000 tasks and 200 workflows spread over

    OUT_DIR/main.flow            the workflows; imports lib/types.flow and every lib/tasks_NN.flow
    OUT_DIR/lib/types.flow       structs (some fields with defaults), enums, type aliases
    OUT_DIR/lib/util.flow        shared fns; imports types.flow
    OUT_DIR/lib/tasks_NN.flow    tasks and module-local fns; imports types.flow and util.flow

`--lines` scales the number of tasks and workflows (one task per 50 lines, one workflow per 10
tasks) and sizes task bodies so that the total lands close to the target.
`--small` writes a single 30-line OUT_DIR/main.flow for latency measurements.

Everything is deterministic for a given seed and line target.  The program is meant to check with
zero diagnostics (no errors, no warnings): every value is built with a known type, every local,
parameter and import is used, every name is declared once across all files.
Only the Python 3.11 standard library is used.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

DEFAULT_SEED = 20240611

KEYWORDS = set(
    "task workflow fn struct class enum extern type import let var if else for in while break "
    "continue return fail and or not true false none".split()
)
PRELUDE = set(
    "len range str int float sum min max abs sqrt round sorted reversed enumerate zip keys values "
    "upper lower strip split join replace contains starts_with format now unwrap read_text "
    "write_text".split()
)
TYPE_WORDS = set("int float str bool list dict datetime duration file dir none main".split())
# Loop and comprehension variables; never used for any other binding, so nothing shadows.
LOOP_VARS = ["i", "j", "v", "w", "x", "r", "p", "k", "it", "item", "row", "el"]
RESERVED = KEYWORDS | PRELUDE | TYPE_WORDS | set(LOOP_VARS)

SIMPLE = ["int", "float", "str", "bool"]

# --------------------------------------------------------------------------------------------
# Vocabulary

STRUCT_PREFIXES = [
    "Order", "Invoice", "Sensor", "User", "Session", "Event", "Metric", "Trade", "Patient",
    "Sample", "Route", "Flight", "Product", "Payment", "Ticket", "Review", "Account", "Model",
    "Feature", "Shipment", "Device", "Claim", "Quote", "Store",
]
STRUCT_KINDS = [
    "Record", "Summary", "Stats", "Config", "Window", "Report", "Snapshot", "Profile", "Score",
    "Delta", "Batch", "Entry",
]
ENUMS = {
    "Priority": ["Low", "Medium", "High", "Critical"],
    "Region": ["North", "South", "East", "West", "Central"],
    "Status": ["Pending", "Active", "Suspended", "Closed"],
    "Channel": ["Web", "Mobile", "Email", "Store", "Partner"],
    "Tier": ["Free", "Basic", "Pro", "Enterprise"],
    "Severity": ["Info", "Warning", "Error", "Fatal"],
    "Stage": ["Raw", "Cleaned", "Enriched", "Published"],
    "Mode": ["Batch", "Streaming", "Replay"],
    "Currency": ["Usd", "Eur", "Gbp", "Jpy", "Chf"],
    "Grade": ["A", "B", "C", "D", "F"],
    "Source": ["Api", "Upload", "Scraper", "Manual"],
    "Outcome": ["Success", "Partial", "Failure"],
    "Phase": ["Setup", "Run", "Teardown"],
    "Band": ["Narrow", "Medium", "Wide", "Ultra"],
    "Shape": ["Circle", "Square", "Triangle", "Hexagon"],
    "Weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "Method": ["Linear", "Quadratic", "Spline", "Nearest"],
    "Policy": ["Strict", "Lenient", "Off"],
    "Signal": ["Buy", "Hold", "Sell"],
    "Weather": ["Sunny", "Cloudy", "Rain", "Snow", "Storm"],
}

FIELD_NAMES = {
    "int": ["count", "qty", "rank", "attempts", "size", "version", "retries", "shard", "offset",
            "width", "depth", "age_days", "hits", "misses", "step", "epoch", "seq"],
    "float": ["amount", "score", "weight", "ratio", "rate", "latency_ms", "price", "mean",
              "stddev", "threshold", "lat", "lon", "confidence", "cost", "duration_s"],
    "str": ["name", "label", "region_code", "owner", "source_id", "note", "title", "path",
            "code", "currency_code", "kind_name", "host"],
    "bool": ["active", "valid", "flagged", "archived", "retried", "healthy"],
    "list[int]": ["ids", "buckets", "hourly_counts", "ranks", "sizes"],
    "list[float]": ["samples", "weights", "history", "deltas", "quantiles"],
    "list[str]": ["tags", "labels", "hosts", "steps_done", "aliases"],
    "dict[str, int]": ["counts", "histogram", "totals_by_key"],
    "float?": ["discount", "baseline", "limit_value"],
}

LOCAL_NAMES = {
    "int": ["count", "total_n", "steps", "hits", "width", "offset", "best", "acc", "n_valid",
            "n_seen", "matches", "budget", "span", "capped", "first", "found", "bonus"],
    "float": ["score", "mean", "ratio", "weight", "norm", "spread", "peak", "avg", "gap",
              "factor", "rate", "adjusted", "base", "total"],
    "str": ["label", "text", "summary", "key_name", "code", "title", "message", "line",
            "header", "slug", "cleaned", "caption"],
    "bool": ["ok", "flag", "ready", "is_valid", "has_data", "enabled"],
    "list[int]": ["ids", "ranks", "buckets", "picks", "top", "indices", "lengths", "evens",
                  "grid", "ordered"],
    "list[float]": ["scores", "weights", "scaled", "deltas", "normalized", "smoothed",
                    "products", "amounts", "readings"],
    "list[str]": ["tokens", "names", "parts", "words", "tag_list", "key_list", "lines_out",
                  "fields"],
    "dict[str, int]": ["counts", "index_by_name", "lookup", "freq", "tally_map", "sizes_by_key"],
    "dict[str, float]": ["totals", "sums_by_key", "weight_map", "mass_by_key"],
}
PARAM_NAMES = {
    "int": ["n", "limit", "size", "window", "min_count", "top_k", "depth", "batch_size", "seed"],
    "float": ["scale", "alpha", "cutoff", "factor", "tolerance", "learning_rate", "margin"],
    "str": ["tag", "prefix", "region_name", "run_label", "owner_name", "separator", "mode_name"],
    "bool": ["strict", "verbose", "dry_run", "include_all", "enabled"],
    "list[int]": ["ids", "sizes", "counts_in", "offsets", "raw_ids"],
    "list[float]": ["values_in", "samples", "weights", "prices", "readings"],
    "list[str]": ["names", "tags", "lines", "hosts", "keys_in"],
    "dict[str, int]": ["counts", "histogram", "index"],
}

TASK_VERBS = [
    "load", "clean", "validate", "normalize", "enrich", "aggregate", "score", "rank", "filter",
    "dedupe", "merge", "partition", "summarize", "export", "tokenize", "embed", "train",
    "evaluate", "predict", "cluster", "bucket", "audit", "reconcile", "forecast", "detect",
    "annotate", "sample", "compress", "fetch", "parse", "transform", "index_build", "resolve",
]
TASK_NOUNS = [
    "orders", "invoices", "shipments", "sensors", "readings", "users", "sessions", "events",
    "metrics", "logs", "images", "documents", "tokens", "batches", "features", "models",
    "scores", "trades", "quotes", "prices", "accounts", "claims", "patients", "samples",
    "genes", "alerts", "tickets", "routes", "vehicles", "flights", "bookings", "reviews",
    "products", "carts", "payments", "refunds", "ledgers", "forecasts",
]
SINK_VERBS = ["report", "publish", "summarize", "notify", "archive", "finalize"]
FN_VERBS = ["calc", "fmt", "norm", "weigh", "pick", "blend", "scale", "clip", "mix", "rate",
            "grade", "score", "merge", "tidy", "split"]
WORDS = ["alpha", "beta", "gamma", "delta", "north", "south", "daily", "hourly", "raw", "clean",
         "eu-west", "us-east", "batch", "stream", "primary", "backup", "v1", "v2", "blue",
         "green", "ok", "retry", "main", "shadow", "x-ray", "zulu", "prod", "staging"]
COMMENTS = [
    "normalize the inputs before aggregating",
    "guard against empty batches",
    "keep only the interesting rows",
    "build the lookup used below",
    "the upstream system sometimes sends duplicates",
    "cheap summary statistics",
    "bucket values so the report stays small",
    "rank and keep the top entries",
    "derive a stable label for the output",
    "accumulate totals per key",
    "TODO: make the threshold configurable",
    "this mirrors the legacy pipeline",
]
DOCS = [
    "Reads the raw input and returns a cleaned view.",
    "Computes summary statistics for one batch.",
    "Scores each record against the current thresholds.",
    "Joins two sources and reconciles their totals.",
    "Builds the per-key histogram used by the report.",
    "Derives labels for downstream consumers.",
    "Filters out records that failed validation.",
    "Aggregates one partition of the data set.",
    "Turns intermediate results into a compact summary.",
    "Applies the configured policy to each record.",
]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plural(word: str) -> str:
    if word.endswith(("s", "x", "ch")):
        return word + "es" if not word.endswith("s") else word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def is_list(t: str) -> bool:
    return t.startswith("list[")


def elem(t: str) -> str:
    return t[5:-1]


def is_dict(t: str) -> bool:
    return t.startswith("dict[")


def dval(t: str) -> str:
    return t[len("dict[str, "):-1]


# --------------------------------------------------------------------------------------------
# Program model


class Struct:
    def __init__(self, name: str, fields: list[tuple[str, str, str | None]]):
        self.name = name
        self.fields = fields  # (name, type, default literal or None)

    def of(self, t: str) -> list[str]:
        return [f for f, ft, _ in self.fields if ft == t]


class Fn:
    def __init__(self, name, params, out, scope):
        self.name = name
        self.params = params  # [(name, type)]
        self.out = out
        self.scope = scope  # "util" or module index
        self.lines: list[str] = []


class Task:
    def __init__(self, name: str, module: int):
        self.name = name
        self.module = module
        self.params: list[tuple[str, str, str | None]] = []
        self.out: str | tuple = "int"  # a type, or ("tuple", named: bool, [(name, type)])
        self.doc: str | None = None
        self.annots: list[str] = []
        self.lines: list[str] = []


class Program:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.structs: dict[str, Struct] = {}
        self.struct_order: list[str] = []
        self.enums: dict[str, list[str]] = {}
        self.aliases: dict[str, list[str]] = {}  # canonical type -> alias names
        self.alias_decls: list[tuple[str, str]] = []
        self.util_fns: list[Fn] = []
        self.module_fns: dict[int, list[Fn]] = {}
        self.tasks: list[Task] = []
        self.top_names: set[str] = set()

    # ---- names
    def declare(self, name: str) -> str:
        assert name not in self.top_names, name
        assert name not in RESERVED, name
        self.top_names.add(name)
        return name

    # ---- types
    def kind(self, t: str) -> str:
        if t in SIMPLE or t in ("float?",):
            return t
        if is_list(t):
            return "list[struct]" if elem(t) in self.structs else t
        if is_dict(t):
            return t
        if t in self.structs:
            return "struct"
        if t in self.enums:
            return "enum"
        raise ValueError(t)

    def render(self, t: str) -> str:
        """Spell a type, sometimes through one of its aliases."""
        names = self.aliases.get(t)
        if names and self.rng.random() < 0.35:
            return self.rng.choice(names)
        return t

    def structs_where(self, pred) -> list[Struct]:
        return [self.structs[s] for s in self.struct_order if pred(self.structs[s])]

    # ---- literals
    def lit(self, t: str) -> str:
        r = self.rng
        if t == "int":
            return r.choice(["1", "2", "3", "5", "8", "10", "12", "16", "25", "50", "100", "1_000"])
        if t == "float":
            return r.choice(["0.5", "1.0", "1.5", "2.5", "0.25", "0.75", "10.0", "3.5", "0.1"])
        if t == "str":
            return '"' + r.choice(WORDS) + '"'
        if t == "bool":
            return r.choice(["true", "false"])
        if t == "list[int]":
            return "[" + ", ".join(str(r.randint(0, 20)) for _ in range(r.randint(1, 4))) + "]"
        if t == "list[float]":
            return "[" + ", ".join(r.choice(["0.5", "1.5", "2.0", "4.25", "7.0"])
                                   for _ in range(r.randint(1, 4))) + "]"
        if t == "list[str]":
            return "[" + ", ".join('"' + r.choice(WORDS) + '"' for _ in range(r.randint(1, 3))) + "]"
        if t == "dict[str, int]":
            return "{" + ", ".join('"%s": %d' % (w, r.randint(0, 9))
                                   for w in r.sample(WORDS, r.randint(1, 3))) + "}"
        if t == "dict[str, float]":
            return "{" + ", ".join('"%s": %d.5' % (w, r.randint(0, 9))
                                   for w in r.sample(WORDS, r.randint(1, 3))) + "}"
        if t in self.enums:
            return t + "." + r.choice(self.enums[t])
        raise ValueError("no literal for " + t)

    def from_index(self, t: str, iv: str, depth: int = 0) -> str:
        """An expression of type t computed from the int expression `iv` (a loop variable)."""
        r = self.rng
        if t == "int":
            return r.choice([iv, f"{iv} * 2", f"{iv} + 1", f"{iv} % 7"])
        if t == "float":
            return r.choice([f"float({iv}) * 0.5", f"float({iv}) + 1.5", f"float({iv})"])
        if t == "str":
            return r.choice(['"item{%s}"' % iv, f"str({iv})", '"r-{%s}"' % iv])
        if t == "bool":
            return f"{iv} % 2 == 0"
        if t == "list[int]":
            return r.choice([f"[{iv}]", f"[{iv}, {iv} + 1]"])
        if t == "list[float]":
            return f"[float({iv})]"
        if t == "list[str]":
            return f"[str({iv})]"
        if t == "dict[str, int]":
            return '{"n": %s}' % iv
        if t == "float?":
            return f"float({iv}) * 0.1"
        if t in self.enums:
            return self.lit(t)
        if t in self.structs:
            return self.ctor_from_index(t, iv, depth + 1)
        raise ValueError(t)

    def ctor_from_index(self, sname: str, iv: str, depth: int = 0) -> str:
        s = self.structs[sname]
        anchor = s.of("int")[0]  # always set from iv, so iv is used even if every field has a default
        args = []
        for f, ft, d in s.fields:
            if f != anchor and d is not None and (depth > 0 or self.rng.random() < 0.6):
                continue
            args.append(f"{f}={self.from_index(ft, iv, depth)}")
        return f"{sname}({', '.join(args)})"


# --------------------------------------------------------------------------------------------
# Bodies of tasks and fns: a typed environment and statement templates


class Body:
    IND = "    "

    def __init__(self, prog: Program, params: list[tuple[str, str]], fns: list[Fn], where: str):
        self.p = prog
        self.r = prog.rng
        self.fns = fns
        self.where = where
        self.lines: list[str] = []
        self.env: dict[str, str] = {}
        self.order: list[str] = []
        self.unused: set[str] = set()
        self.taken: set[str] = set()
        self.fn_calls = 0
        for n, t in params:
            self.bind(n, t)

    # ---- environment
    def bind(self, name: str, t: str, used: bool = False) -> str:
        assert name not in self.env and name not in RESERVED, name
        self.env[name] = t
        self.order.append(name)
        self.taken.add(name)
        if not used:
            self.unused.add(name)
        return name

    def use(self, name: str) -> str:
        self.unused.discard(name)
        return name

    def fresh(self, t: str) -> str:
        k = self.p.kind(t) if t in self.p.structs or is_list(t) else t
        if k == "struct":
            s = snake(t)
            bases = [s, "new_" + s, "best_" + s, s.split("_")[-1] + "_value"]
        elif k == "list[struct]":
            s = snake(elem(t))
            bases = [s + "_rows", s + "_list", "kept_" + plural(s)]
        elif t in self.p.enums:
            s = snake(t)
            bases = [s, s + "_level", "picked_" + s]
        else:
            bases = LOCAL_NAMES[t]
        cands = [b for b in bases if b not in self.taken and b not in self.p.top_names]
        if cands:
            name = self.r.choice(cands)
        else:
            base = self.r.choice(bases)
            n = 2
            while f"{base}_{n}" in self.taken:
                n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def emit(self, line: str, depth: int = 0) -> None:
        self.lines.append(self.IND * (1 + depth) + line)

    def unused_names(self) -> list[str]:
        return [n for n in self.order if n in self.unused]

    # ---- getting values of a type
    def need(self, t: str) -> str:
        """An expression of type t, preferring to consume an unused binding."""
        r = self.r
        exact = [n for n in self.unused_names() if self.env[n] == t]
        if exact:
            return self.use(r.choice(exact))
        cands = self.unused_names()
        r.shuffle(cands)
        for n in cands:
            e = self.derive(t, n)
            if e is not None:
                self.use(n)
                return self.settle(t, e)
        exact = [n for n in self.order if self.env[n] == t]
        if exact and r.random() < 0.85:
            return self.use(r.choice(exact))
        cands = list(self.order)
        r.shuffle(cands)
        for n in cands[:6]:
            e = self.derive(t, n)
            if e is not None:
                self.use(n)
                return self.settle(t, e)
        return self.make(t)

    def need_name(self, t: str) -> str:
        e = self.need(t)
        if e in self.env:
            return e
        name = self.fresh(t)
        self.emit(f"let {name} = {e}")
        return self.bind(name, t, used=True)

    def settle(self, t: str, e: str) -> str:
        """Bind if-expressions to a local instead of nesting them in other expressions."""
        if e.startswith("if "):
            name = self.fresh(t)
            self.emit(f"let {name} = {e}")
            return self.bind(name, t, used=True)
        return e

    def make(self, t: str) -> str:
        p, r = self.p, self.r
        if t in p.structs:
            return self.construct(t)
        if is_list(t) and elem(t) in p.structs:
            if r.random() < 0.5:
                return f"[{self.construct(elem(t))}]"
            n = r.choice(["3", "4", "8"])
            return f"[{p.ctor_from_index(elem(t), 'i')} for i in range({n})]"
        return p.lit(t)

    def construct(self, sname: str) -> str:
        """Emit `let x = S(...)` with every field taken from the environment; return x."""
        s = self.p.structs[sname]
        args = []
        for f, ft, d in s.fields:
            if d is not None and self.r.random() < 0.5:
                continue
            if ft == "float?":
                args.append((f, self.need("float") if self.r.random() < 0.5 else "none"))
            else:
                args.append((f, self.need(ft)))
        name = self.fresh(sname)
        self.emit_ctor(f"let {name} = ", sname, args)
        return self.bind(name, sname, used=True)

    def emit_ctor(self, prefix: str, sname: str, args: list[tuple[str, str]], depth: int = 0):
        one = f"{prefix}{sname}({', '.join(f'{f}={e}' for f, e in args)})"
        if len(one) + 4 * (depth + 1) <= 96 and len(args) <= 4:
            self.emit(one, depth)
            return
        self.emit(f"{prefix}{sname}(", depth)
        for f, e in args:
            self.emit(f"{f}={e},", depth + 1)
        self.emit(")", depth)

    def derive(self, t: str, n: str) -> str | None:
        """An expression of type t built from binding n alone (None if there is no natural one)."""
        p, r = self.p, self.r
        s = self.env[n]
        sk = p.kind(s)
        st = p.structs.get(s)
        if t == "int":
            if s == "float":
                return r.choice([f"round({n})", f"int({n})"])
            if s in ("str", "dict[str, int]", "dict[str, float]") or sk in ("list[struct]",):
                return f"len({n})"
            if s == "list[int]":
                return r.choice([f"len({n})", f"sum({n})"])
            if is_list(s):
                return f"len({n})"
            if st and st.of("int"):
                return f"{n}.{r.choice(st.of('int'))}"
            return None
        if t == "float":
            if s == "int":
                return r.choice([f"float({n})", f"({n} * 0.5)"])
            if s == "list[float]":
                return f"sum({n})"
            if s == "list[int]":
                return f"float(sum({n}))"
            if s == "str":
                return f"float(len({n}))"
            if st and st.of("float"):
                return f"{n}.{r.choice(st.of('float'))}"
            if st and st.of("float?"):
                return f"({n}.{r.choice(st.of('float?'))} ?? 0.0)"
            return None
        if t == "str":
            if s in ("int", "float", "bool") or sk == "enum":
                return r.choice([f"str({n})", '"{%s}"' % n])
            if s == "list[str]":
                return f'join({n}, ", ")'
            if st and st.of("str"):
                return f"{n}.{r.choice(st.of('str'))}"
            if s in ("dict[str, int]", "dict[str, float]"):
                return f'join(keys({n}), ",")'
            return None
        if t == "bool":
            if s == "int":
                return f"({n} > {p.lit('int')})"
            if s == "float":
                return f"({n} > {p.lit('float')})"
            if s == "str":
                return r.choice([f'starts_with({n}, "a")', f'contains({n}, "-")', f'({n} != "")'])
            if is_list(s) or is_dict(s):
                return f"(len({n}) > 0)"
            if st and st.of("bool"):
                return f"{n}.{r.choice(st.of('bool'))}"
            if sk == "enum":
                return f"({n} == {p.lit(s)})"
            return None
        if t == "list[int]":
            if s == "int":
                return f"range({n})"
            if s == "list[float]":
                return f"[round(x) for x in {n}]"
            if s == "list[str]":
                return f"[len(w) for w in {n}]"
            if s == "dict[str, int]":
                return f"values({n})"
            if sk == "list[struct]" and p.structs[elem(s)].of("int"):
                return f"[r.{r.choice(p.structs[elem(s)].of('int'))} for r in {n}]"
            if st and st.of("list[int]"):
                return f"{n}.{r.choice(st.of('list[int]'))}"
            return None
        if t == "list[float]":
            if s == "list[int]":
                return f"[float(v) * {p.lit('float')} for v in {n}]"
            if s == "dict[str, float]":
                return f"values({n})"
            if s == "float":
                return f"[{n}, {n} * 2.0]"
            if sk == "list[struct]" and p.structs[elem(s)].of("float"):
                return f"[r.{r.choice(p.structs[elem(s)].of('float'))} for r in {n}]"
            if st and st.of("list[float]"):
                return f"{n}.{r.choice(st.of('list[float]'))}"
            return None
        if t == "list[str]":
            if s == "str":
                return r.choice([f'split({n}, ",")', f'split({n}, " ")'])
            if s == "list[int]":
                return f"[str(v) for v in {n}]"
            if s in ("dict[str, int]", "dict[str, float]"):
                return f"keys({n})"
            if sk == "list[struct]" and p.structs[elem(s)].of("str"):
                return f"[r.{r.choice(p.structs[elem(s)].of('str'))} for r in {n}]"
            if st and st.of("list[str]"):
                return f"{n}.{r.choice(st.of('list[str]'))}"
            return None
        if t == "dict[str, int]":
            if s == "list[str]":
                return f"{{w: len(w) for w in {n}}}"
            if sk == "list[struct]":
                es = p.structs[elem(s)]
                if es.of("str") and es.of("int"):
                    return f"{{r.{r.choice(es.of('str'))}: r.{r.choice(es.of('int'))} for r in {n}}}"
            if st and st.of("dict[str, int]"):
                return f"{n}.{r.choice(st.of('dict[str, int]'))}"
            return None
        if t == "dict[str, float]":
            if s == "list[str]":
                return f"{{w: float(len(w)) * 0.5 for w in {n}}}"
            if sk == "list[struct]":
                es = p.structs[elem(s)]
                if es.of("str") and es.of("float"):
                    return f"{{r.{r.choice(es.of('str'))}: r.{r.choice(es.of('float'))} for r in {n}}}"
            return None
        if is_list(t) and elem(t) in p.structs:
            if s == elem(t):
                return f"[{n}]"
            if s == "int":
                return f"[{p.ctor_from_index(elem(t), 'i')} for i in range({n})]"
            return None
        if t in p.enums:
            vs = p.enums[t]
            a, b = r.sample(vs, 2)
            if s == "int":
                return f"if {n} > {p.lit('int')} {{ {t}.{a} }} else {{ {t}.{b} }}"
            if s == "float":
                return f"if {n} > {p.lit('float')} {{ {t}.{a} }} else {{ {t}.{b} }}"
            if s == "bool":
                return f"if {n} {{ {t}.{a} }} else {{ {t}.{b} }}"
            if s == "str":
                return f'if starts_with({n}, "a") {{ {t}.{a} }} else {{ {t}.{b} }}'
            return None
        return None

    # ---- statement templates.  Each takes an optional source binding of its input type, asks
    # for every other input before emitting anything, and binds what it produces.

    def _src(self, src: str | None, t: str) -> str:
        if src is None:
            return self.need_name(t)
        return self.use(src)

    def _pick_struct(self, src, pred):
        if src is not None:
            st = self.p.structs[elem(self.env[src]) if is_list(self.env[src]) else self.env[src]]
            return st if pred(st) else None
        cands = self.p.structs_where(pred)
        return self.r.choice(cands) if cands else None

    def seg_loop_acc(self, src=None):
        xs = self._src(src, "list[int]")
        acc = self.fresh("int")
        m = self.r.choice(["2", "3", "5", "7"])
        self.emit(f"var {acc} = 0")
        self.emit(f"for v in {xs} {{")
        self.emit(f"if v % {m} == 0 {{", 1)
        self.emit(f"{acc} = {acc} + v", 2)
        self.emit("} else {", 1)
        self.emit(f"{acc} = {acc} + 1", 2)
        self.emit("}", 1)
        self.emit("}")
        self.bind(acc, "int")
        return True

    def seg_sort_top(self, src=None):
        xs = self._src(src, "list[int]")
        ranked, top = self.fresh("list[int]"), self.fresh("list[int]")
        self.emit(f"let {ranked} = reversed(sorted({xs}))")
        self.emit(f"let {top} = [v for v in {ranked} if v > {self.p.lit('int')}]")
        self.bind(ranked, "list[int]", used=True)
        self.bind(top, "list[int]")
        return True

    def seg_break_scan(self, src=None):
        xs = self._src(src, "list[int]")
        found = self.fresh("int")
        self.emit(f"var {found} = -1")
        self.emit(f"for (i, v) in enumerate({xs}) {{")
        self.emit("if v < 0 {", 1)
        self.emit("continue", 2)
        self.emit("}", 1)
        self.emit(f"if v > {self.p.lit('int')} {{", 1)
        self.emit(f"{found} = i", 2)
        self.emit("break", 2)
        self.emit("}", 1)
        self.emit("}")
        self.bind(found, "int")
        return True

    def seg_bounds(self, src=None):
        xs = self._src(src, "list[int]")
        lo, hi, span = self.fresh("int"), self.fresh("int"), self.fresh("int")
        self.emit(f"let ({lo}, {hi}) = (min({xs}), max({xs}))")
        self.emit(f"let {span} = {hi} - {lo}")
        self.bind(lo, "int", used=True)
        self.bind(hi, "int", used=True)
        self.bind(span, "int")
        return True

    def seg_index_default(self, src=None):
        xs = self._src(src, "list[int]")
        first = self.fresh("int")
        if self.r.random() < 0.5:
            self.emit(f"let {first} = {xs}[0] ?? 0")
        else:
            self.emit(f"let {first} = {xs}[len({xs}) - 1] ?? -1")
        self.bind(first, "int")
        return True

    def seg_float_stats(self, src=None):
        xs = self._src(src, "list[float]")
        total, mean = self.fresh("float"), self.fresh("float")
        self.emit(f"let {total} = sum({xs})")
        if self.r.random() < 0.5:
            self.emit(f"let {mean} = if len({xs}) > 0 {{ {total} / len({xs}) }} else {{ 0.0 }}")
        else:
            self.emit(f"let {mean} = if len({xs}) > 0 {{")
            self.emit(f"{total} / len({xs})", 1)
            self.emit("} else {")
            self.emit("0.0", 1)
            self.emit("}")
        self.bind(total, "float", used=True)
        self.bind(mean, "float")
        return True

    def seg_filter_scale(self, src=None):
        xs = self._src(src, "list[float]")
        scale = self.need("float")
        out = self.fresh("list[float]")
        self.emit(f"let {out} = [x * {scale} for x in {xs} if x > {self.p.lit('float')}]")
        self.bind(out, "list[float]")
        return True

    def seg_zip(self, src=None):
        a = self._src(src, "list[float]")
        others = [n for n in self.order if self.env[n] == "list[float]" and n != a]
        b = self.use(self.r.choice(others)) if others else self.need_name("list[float]")
        out = self.fresh("list[float]")
        self.emit(f"let {out} = [p.0 * p.1 for p in zip({a}, {b})]")
        self.bind(out, "list[float]")
        return True

    def seg_enum_strings(self, src=None):
        xs = self._src(src, "list[str]")
        parts, text = self.fresh("list[str]"), self.fresh("str")
        sep = self.r.choice([";", ",", " | ", "/"])
        self.emit(f"var {parts}: {self.p.render('list[str]')} = []")
        self.emit(f"for (i, w) in enumerate({xs}) {{")
        self.emit(f'{parts} = {parts} + ["{{i}}={{upper(w)}}"]', 1)
        self.emit("}")
        self.emit(f'let {text} = join({parts}, "{sep}")')
        self.bind(parts, "list[str]", used=True)
        self.bind(text, "str")
        return True

    def seg_count_words(self, src=None):
        xs = self._src(src, "list[str]")
        counts, key = self.fresh("dict[str, int]"), self.fresh("str")
        self.emit(f"var {counts}: {self.p.render('dict[str, int]')} = {{}}")
        self.emit(f"for w in {xs} {{")
        self.emit(f"let {key} = lower(strip(w))", 1)
        self.emit(f'if {key} == "" {{ continue }}', 1)
        self.emit(f"{counts}[{key}] = ({counts}[{key}] ?? 0) + 1", 1)
        self.emit("}")
        self.bind(counts, "dict[str, int]")
        return True

    def seg_dict_comp(self, src=None):
        xs = self._src(src, "list[str]")
        d = self.fresh("dict[str, int]")
        self.emit(f"let {d} = {{w: len(w) for w in {xs}}}")
        self.bind(d, "dict[str, int]")
        return True

    def seg_membership(self, src=None):
        xs = self._src(src, "list[str]")
        allowed, hits = self.fresh("list[str]"), self.fresh("int")
        self.emit(f"let {allowed} = {self.p.lit('list[str]')}")
        self.emit(f"let {hits} = len([w for w in {xs} if w in {allowed}])")
        self.bind(allowed, "list[str]", used=True)
        self.bind(hits, "int")
        return True

    def seg_dict_scan(self, src=None):
        d = self._src(src, "dict[str, int]")
        best, best_key = self.fresh("int"), self.fresh("str")
        self.emit(f"var {best} = 0")
        self.emit(f'var {best_key} = ""')
        self.emit(f"for k in keys({d}) {{")
        self.emit(f"if {d}[k] > {best} {{", 1)
        self.emit(f"{best} = {d}[k]", 2)
        self.emit(f"{best_key} = k", 2)
        self.emit("}", 1)
        self.emit("}")
        self.bind(best, "int")
        self.bind(best_key, "str")
        return True

    def seg_dict_mass(self, src=None):
        d = self._src(src, "dict[str, float]")
        total = self.fresh("float")
        self.emit(f"let {total} = sum(values({d}))")
        self.bind(total, "float")
        return True

    def seg_collatz(self, src=None):
        n = self._src(src, "int")
        cur, steps = self.fresh("int"), self.fresh("int")
        self.emit(f"var {cur} = {n}")
        self.emit(f"var {steps} = 0")
        self.emit(f"while {cur} > 1 and {steps} < 64 {{")
        self.emit(f"{cur} = if {cur} % 2 == 0 {{ {cur} // 2 }} else {{ 3 * {cur} + 1 }}", 1)
        self.emit(f"{steps} = {steps} + 1", 1)
        self.emit("}")
        self.bind(cur, "int", used=True)
        self.bind(steps, "int")
        return True

    def seg_clamp(self, src=None):
        n = self._src(src, "int")
        c = self.fresh("int")
        hi = self.r.choice(["10", "100", "1_000"])
        self.emit(f"let {c} = if {n} > {hi} {{ {hi} }} else if {n} < 0 {{ 0 }} else {{ {n} }}")
        self.bind(c, "int")
        return True

    def seg_nested_loops(self, src=None):
        n = self._src(src, "int")
        grid = self.fresh("list[int]")
        self.emit(f"var {grid}: {self.p.render('list[int]')} = []")
        self.emit(f"for i in range({n}) {{")
        self.emit(f"for j in range({self.r.choice(['2', '3', '4'])}) {{", 1)
        self.emit("if (i + j) % 2 == 0 {", 2)
        self.emit(f"{grid} = {grid} + [i * j]", 3)
        self.emit("}", 2)
        self.emit("}", 1)
        self.emit("}")
        self.bind(grid, "list[int]")
        return True

    def seg_ctor_rows(self, src=None):
        sname = self.r.choice(self.p.struct_order)
        n = self._src(src, "int")
        rows = self.fresh(f"list[{sname}]")
        ctor = self.p.ctor_from_index(sname, "i")
        line = f"let {rows} = [{ctor} for i in range({n})]"
        if len(line) <= 92:
            self.emit(line)
        else:
            self.emit(f"let {rows} = [")
            self.emit(ctor, 1)
            self.emit(f"for i in range({n})", 1)
            self.emit("]")
        self.bind(rows, f"list[{sname}]")
        return True

    def seg_classify(self, src=None):
        x = self._src(src, "float")
        ename = self.r.choice([e for e in self.p.enums if len(self.p.enums[e]) >= 3])
        a, b, c = self.r.sample(self.p.enums[ename], 3)
        lvl, wt = self.fresh(ename), self.fresh("int")
        self.emit(f"let {lvl} = if {x} > 10.0 {{")
        self.emit(f"{ename}.{a}", 1)
        self.emit(f"}} else if {x} > 5.0 {{")
        self.emit(f"{ename}.{b}", 1)
        self.emit("} else {")
        self.emit(f"{ename}.{c}", 1)
        self.emit("}")
        self.bind(lvl, ename)
        if self.r.random() < 0.6:
            self.emit(f"let {wt} = if {lvl} == {ename}.{a} {{ 3 }} else {{ 1 }}")
            self.use(lvl)
            self.bind(wt, "int")
        return True

    def seg_math(self, src=None):
        a = self._src(src, "float")
        others = [n for n in self.order if self.env[n] == "float" and n != a]
        b = self.use(self.r.choice(others)) if others else self.need_name("float")
        if b == a:
            b = self.p.lit("float")
        norm, gap, rounded = self.fresh("float"), self.fresh("float"), self.fresh("int")
        self.emit(f"let {norm} = sqrt({a} * {a} + {b} * {b})")
        self.emit(f"let {gap} = abs({a} - {b})")
        self.emit(f"let {rounded} = round({norm} * 100.0 + {gap})")
        self.bind(norm, "float", used=True)
        self.bind(gap, "float", used=True)
        self.bind(rounded, "int")
        return True

    def seg_interp(self, src=None):
        if src is not None and self.env[src] == "str":
            label, count = self.use(src), self.need_name("int")
        else:
            count = self.use(src) if src is not None and self.env[src] == "int" else self.need_name("int")
            label = self.need_name("str")
        x = self.use(src) if src is not None and self.env[src] == "float" else self.need_name("float")
        msg = self.fresh("str")
        L, C, X = "{" + label + "}", "{" + count + "}", "{" + x + "}"
        if self.r.random() < 0.25:
            # the continuation lines of a triple-quoted string are part of its text: no indent
            self.emit(f'let {msg} = """report for {L}')
            self.lines.append(f"count: {C}")
            self.lines.append(f'mean: {X}"""')
        else:
            text = self.r.choice([
                f"{L}: {C} items, mean {X}",
                f"processed {C} rows for {L} (avg {X})",
                f"[{L}] n={C} score={X}",
                f"{L} -> {C} / {X}",
            ])
            self.emit(f'let {msg} = "{text}"')
        self.bind(msg, "str")
        return True

    def seg_str_words(self, src=None):
        s = self._src(src, "str")
        words, initials = self.fresh("list[str]"), self.fresh("str")
        self.emit(f'let {words} = split(lower({s}), " ")')
        self.emit(f'let {initials} = join([upper(w) for w in {words} if len(w) > 0], "")')
        self.bind(words, "list[str]", used=True)
        self.bind(initials, "str")
        return True

    def seg_str_flag(self, src=None):
        s = self._src(src, "str")
        flag = self.fresh("bool")
        w1, w2 = self.r.sample(WORDS, 2)
        self.emit(f'let {flag} = contains({s}, "{w1}") or starts_with({s}, "{w2}")')
        self.bind(flag, "bool")
        return True

    def seg_strings(self, src=None):
        s = self._src(src, "str")
        cleaned, tokens, label = self.fresh("str"), self.fresh("list[str]"), self.fresh("str")
        self.emit(f'let {cleaned} = replace(strip({s}), "-", "_")')
        self.emit(f'let {tokens} = split({cleaned}, "_")')
        self.emit(f'let {label} = if starts_with({cleaned}, "x") {{ upper({cleaned}) }} else {{ lower({cleaned}) }}')
        self.bind(cleaned, "str", used=True)
        self.bind(tokens, "list[str]")
        self.bind(label, "str")
        return True

    def seg_flag(self, src=None):
        f = self._src(src, "bool")
        out = self.fresh("float")
        self.emit(f"let {out} = if {f} {{ {self.p.lit('float')} }} else {{ 1.0 }}")
        self.bind(out, "float")
        return True

    def seg_enum_weight(self, src=None):
        if src is None:
            ename = self.r.choice(list(self.p.enums))
            e = self.need_name(ename)
        else:
            ename, e = self.env[src], self.use(src)
        a, b = self.r.sample(self.p.enums[ename], 2)
        wt = self.fresh("int")
        self.emit(f"let {wt} = if {e} == {ename}.{a} {{")
        self.emit("3", 1)
        self.emit(f"}} else if {e} == {ename}.{b} {{")
        self.emit("2", 1)
        self.emit("} else {")
        self.emit("1", 1)
        self.emit("}")
        self.bind(wt, "int")
        return True

    def seg_struct_update(self, src=None):
        st = self._pick_struct(src, lambda s: True)
        s = self._src(src, st.name)
        out = self.fresh(st.name)
        args = []
        for f, ft, _ in st.fields:
            e = f"{s}.{f}"
            if ft == "int":
                e = self.r.choice([f"{e} + 1", f"{e} * 2", e])
            elif ft == "float":
                e = self.r.choice([f"{e} * 1.1", f"{e} + 0.5", e])
            elif ft == "str":
                e = self.r.choice([f"upper({e})", f"strip({e})", e])
            elif ft == "bool":
                e = self.r.choice([f"not {e}", e])
            elif ft == "list[int]":
                e = self.r.choice([f"sorted({e})", f"{e} + [0]", e])
            elif ft == "list[float]":
                e = self.r.choice([f"reversed({e})", e])
            args.append((f, e))
        self.emit_ctor(f"let {out} = ", st.name, args)
        self.bind(out, st.name)
        return True

    def seg_field_math(self, src=None):
        st = self._pick_struct(src, lambda s: bool(s.of("int")))
        if st is None:
            return False
        s = self._src(src, st.name)
        fi = self.r.choice(st.of("int"))
        if st.of("float"):
            ff = self.r.choice(st.of("float"))
            out = self.fresh("float")
            self.emit(f"let {out} = float({s}.{fi}) * {self.p.lit('float')} + {s}.{ff}")
            self.bind(out, "float")
        elif st.of("str"):
            fs = self.r.choice(st.of("str"))
            out = self.fresh("str")
            self.emit(f'let {out} = "{{{s}.{fs}}}-{{{s}.{fi}}}"')
            self.bind(out, "str")
        else:
            out = self.fresh("int")
            self.emit(f"let {out} = {s}.{fi} + {self.p.lit('int')}")
            self.bind(out, "int")
        return True

    def seg_optional(self, src=None):
        st = self._pick_struct(src, lambda s: bool(s.of("float?")))
        if st is None:
            return False
        s = self._src(src, st.name)
        f = self.r.choice(st.of("float?"))
        out = self.fresh("float")
        self.emit(f"let {out} = {s}.{f} ?? {self.p.lit('float')}")
        self.bind(out, "float")
        return True

    def seg_project(self, src=None):
        st = self._pick_struct(src, lambda s: bool(s.of("float")))
        if st is None:
            return False
        rows = self._src(src, f"list[{st.name}]")
        f = self.r.choice(st.of("float"))
        vals, best = self.fresh("list[float]"), self.fresh("float")
        cond = ""
        if st.of("bool") and self.r.random() < 0.5:
            cond = f" if r.{self.r.choice(st.of('bool'))}"
        self.emit(f"let {vals} = [r.{f} for r in {rows}{cond}]")
        self.emit(f"let {best} = if len({vals}) > 0 {{ max({vals}) }} else {{ 0.0 }}")
        self.bind(vals, "list[float]", used=True)
        self.bind(best, "float")
        return True

    def seg_group_by(self, src=None):
        st = self._pick_struct(src, lambda s: bool(s.of("str")) and bool(s.of("float")))
        if st is None:
            return False
        rows = self._src(src, f"list[{st.name}]")
        fs, ff = self.r.choice(st.of("str")), self.r.choice(st.of("float"))
        totals = self.fresh("dict[str, float]")
        self.emit(f"var {totals}: dict[str, float] = {{}}")
        self.emit(f"for r in {rows} {{")
        self.emit(f"{totals}[r.{fs}] = ({totals}[r.{fs}] ?? 0.0) + r.{ff}", 1)
        self.emit("}")
        self.bind(totals, "dict[str, float]")
        return True

    def seg_agg(self, src=None):
        st = self._pick_struct(src, lambda s: bool(s.of("int")))
        if st is None:
            return False
        rows = self._src(src, f"list[{st.name}]")
        out = self.fresh("int")
        self.emit(f"let {out} = sum([r.{self.r.choice(st.of('int'))} for r in {rows}])")
        self.bind(out, "int")
        return True

    def seg_filter_struct(self, src=None):
        st = self._pick_struct(src, lambda s: True)
        rows = self._src(src, f"list[{st.name}]")
        enums = [(f, ft) for f, ft, _ in st.fields if ft in self.p.enums]
        if enums and self.r.random() < 0.5:
            f, ft = self.r.choice(enums)
            cond = f"r.{f} == {self.p.lit(ft)}"
        elif st.of("bool"):
            cond = f"r.{self.r.choice(st.of('bool'))}"
        else:
            cond = f"r.{self.r.choice(st.of('int'))} > {self.p.lit('int')}"
        out = self.fresh(f"list[{st.name}]")
        self.emit(f"let {out} = [r for r in {rows} if {cond}]")
        self.bind(out, f"list[{st.name}]")
        return True

    def seg_fn_call(self, src=None, fns=None):
        pool = fns if fns is not None else self.fns
        if src is not None:
            pool = [f for f in pool if any(t == self.env[src] for _, t in f.params)]
        if not pool:
            return False
        fn = self.r.choice(pool)
        args = []
        placed = False
        for _, t in fn.params:
            if src is not None and not placed and t == self.env[src]:
                args.append(self.use(src))
                placed = True
            else:
                args.append(self.need(t))
        out = self.fresh(fn.out)
        self.emit(f"let {out} = {fn.name}({', '.join(args)})")
        self.bind(out, fn.out)
        self.fn_calls += 1
        return True

    SEGS = {
        "int": ["seg_collatz", "seg_clamp", "seg_nested_loops", "seg_ctor_rows", "seg_interp"],
        "float": ["seg_classify", "seg_math", "seg_interp"],
        "str": ["seg_strings", "seg_interp", "seg_str_words", "seg_str_flag"],
        "bool": ["seg_flag"],
        "list[int]": ["seg_loop_acc", "seg_sort_top", "seg_break_scan", "seg_bounds",
                      "seg_index_default"],
        "list[float]": ["seg_float_stats", "seg_filter_scale", "seg_zip"],
        "list[str]": ["seg_enum_strings", "seg_count_words", "seg_dict_comp", "seg_membership"],
        "dict[str, int]": ["seg_dict_scan"],
        "dict[str, float]": ["seg_dict_mass"],
        "struct": ["seg_struct_update", "seg_field_math", "seg_optional"],
        "list[struct]": ["seg_project", "seg_group_by", "seg_agg", "seg_filter_struct"],
        "enum": ["seg_enum_weight"],
    }
    ALL_SEGS = sorted({s for v in SEGS.values() for s in v} | {"seg_fn_call"})

    def segment(self) -> None:
        r = self.r
        if r.random() < 0.08:
            self.emit("# " + r.choice(COMMENTS))
        un = self.unused_names()
        if un and r.random() < 0.85:
            src = r.choice(un[-4:])
            k = self.p.kind(self.env[src])
            names = list(self.SEGS[k])
            if self.fns and r.random() < 0.15:
                names = ["seg_fn_call"] + names
            r.shuffle(names)
            for name in names:
                if getattr(self, name)(src):
                    return
        while True:
            if getattr(self, r.choice(self.ALL_SEGS))():
                return

    def guard(self) -> None:
        """An early `fail` on bad input (the parameter stays due for real use)."""
        lists = [n for n in self.order if is_list(self.env[n]) or self.env[n] == "str"]
        ints = [n for n in self.order if self.env[n] == "int"]
        if lists and self.r.random() < 0.6:
            n = self.r.choice(lists)
            self.emit(f"if len({n}) == 0 {{")
            self.emit(f'fail("{self.where}: {n} must not be empty")', 1)
            self.emit("}")
        elif ints:
            n = self.r.choice(ints)
            self.emit(f'if {n} < 0 {{ fail("{self.where}: {n} must be >= 0, got {{{n}}}") }}')

    # ---- the final expression

    def to_int(self, n: str) -> str:
        t = self.env[n]
        k = self.p.kind(t)
        if t == "int":
            return n
        if t == "float":
            return f"round({n})"
        if t == "str" or is_list(t) or is_dict(t):
            return f"len({n})"
        if k == "struct":
            return f"{n}.{self.r.choice(self.p.structs[t].of('int'))}"
        tmp = self.fresh("int")
        if t == "bool":
            self.emit(f"let {tmp} = if {n} {{ 1 }} else {{ 0 }}")
        else:  # enum
            self.emit(f"let {tmp} = if {n} == {self.p.lit(t)} {{ 1 }} else {{ 0 }}")
        self.bind(tmp, "int", used=True)
        return tmp

    def mix(self, t: str, e: str, tally: str) -> str:
        """Expression of type t combining the value e (of type t) with the int `tally`."""
        p = self.p
        if t == "int":
            return f"{e} + {tally}"
        if t == "float":
            return f"{e} + float({tally})"
        if t == "str":
            return f'{e} + " #" + str({tally})'
        if t == "bool":
            return f"{e} and {tally} >= 0"
        if t == "list[int]":
            return f"{e} + [{tally}]"
        if t == "list[float]":
            return f"{e} + [float({tally})]"
        if t == "list[str]":
            return f"{e} + [str({tally})]"
        if is_dict(t):
            out = self.fresh(t)
            self.emit(f"var {out}: {p.render(t)} = {e}")
            v = tally if dval(t) == "int" else f"float({tally})"
            self.emit(f'{out}["tally"] = {v}')
            self.bind(out, t, used=True)
            return out
        if t in p.structs:
            if e not in self.env:
                tmp = self.fresh(t)
                self.emit(f"let {tmp} = {e}")
                e = self.bind(tmp, t, used=True)
            st = p.structs[t]
            fi = self.r.choice(st.of("int"))
            args = [(f, f"{e}.{f} + {tally}" if f == fi else f"{e}.{f}") for f, _, _ in st.fields]
            out = self.fresh(t)
            self.emit_ctor(f"let {out} = ", t, args)
            self.bind(out, t, used=True)
            return out
        if is_list(t) and elem(t) in p.structs:
            return f"{e} + [{p.ctor_from_index(elem(t), tally)}]"
        if t in p.enums:
            return f"if {tally} > {p.lit('int')} {{ {e} }} else {{ {p.lit(t)} }}"
        raise ValueError(t)

    def finish(self, out) -> None:
        """Emit the value of the body: out is a type or ("tuple", named, [(name, type)])."""
        if isinstance(out, tuple):
            _, named, fields = out
            exprs = [self.need(t) for _, t in fields]
        else:
            exprs = [self.need(out)]
        rest = self.unused_names()
        if rest:
            parts = [self.to_int(n) for n in rest]
            for n in rest:
                self.use(n)
            tally = self.fresh("int")
            while len(parts) > 5:
                self.emit(f"let {tally} = {' + '.join(parts[:5])}")
                self.bind(tally, "int", used=True)
                parts = [tally] + parts[5:]
                tally = self.fresh("int")
            self.emit(f"let {tally} = {' + '.join(parts)}")
            self.bind(tally, "int", used=True)
            t0 = fields[0][1] if isinstance(out, tuple) else out
            exprs[0] = self.mix(t0, exprs[0], tally)
        if isinstance(out, tuple):
            _, named, fields = out
            if named:
                self.emit("(" + ", ".join(f"{f}={e}" for (f, _), e in zip(fields, exprs)) + ")")
            else:
                self.emit("(" + ", ".join(exprs) + ")")
        else:
            e = exprs[0]
            if e.startswith("if "):
                # a multi-line if-expression reads better as the last expression
                m = re.match(r"if (.*) \{ (.*) \} else \{ (.*) \}$", e)
                self.emit(f"if {m.group(1)} {{")
                self.emit(m.group(2), 1)
                self.emit("} else {")
                self.emit(m.group(3), 1)
                self.emit("}")
            else:
                self.emit(e)
        assert not self.unused_names(), self.unused_names()


# --------------------------------------------------------------------------------------------
# Declarations


def gen_types(p: Program, n_structs: int) -> list[str]:
    r = p.rng
    for e, vs in ENUMS.items():
        p.enums[p.declare(e)] = vs
    names = [a + b for a in STRUCT_PREFIXES for b in STRUCT_KINDS]
    r.shuffle(names)
    field_types = (["int"] * 4 + ["float"] * 4 + ["str"] * 3 + ["bool"] * 2 + ["list[int]"]
                   + ["list[float]"] * 2 + ["list[str]"] * 2 + ["dict[str, int]"] + ["float?"]
                   + ["enum"] * 2 + ["struct"])
    for sname in names[:n_structs]:
        p.declare(sname)
        nf = r.randint(3, 8)
        fields: list[tuple[str, str, str | None]] = []
        used_names: set[str] = set()

        def add(ft: str):
            if ft == "enum":
                ft = r.choice(list(p.enums))
                fname = snake(ft)
            elif ft == "struct":
                if not p.struct_order or r.random() < 0.5:
                    return
                ft = r.choice(p.struct_order[-20:])
                fname = snake(ft)
            else:
                fname = r.choice(FIELD_NAMES[ft])
            if fname in used_names:
                return
            used_names.add(fname)
            default = None
            if ft == "float?":
                default = "none"
            elif ft in SIMPLE and r.random() < 0.25:
                default = {"int": "0", "float": "1.0", "str": '""', "bool": "false"}[ft]
            elif ft in ("list[int]", "list[str]", "list[float]") and r.random() < 0.3:
                default = "[]"
            fields.append((fname, ft, default))

        add("int")
        while len(fields) < nf:
            add(r.choice(field_types))
        r.shuffle(fields)
        p.structs[sname] = Struct(sname, fields)
        p.struct_order.append(sname)

    # aliases: a few for common shapes, one per list of some structs
    for alias, t in [("Scores", "list[float]"), ("Tags", "list[str]"), ("IdList", "list[int]"),
                     ("Tally", "dict[str, int]"), ("Weights", "list[float]")]:
        p.declare(alias)
        p.aliases.setdefault(t, []).append(alias)
        p.alias_decls.append((alias, t))
    for sname in p.struct_order[: max(3, n_structs // 6)]:
        alias = sname + "List"
        if alias in p.top_names:
            continue
        p.declare(alias)
        p.aliases.setdefault(f"list[{sname}]", []).append(alias)
        p.alias_decls.append((alias, f"list[{sname}]"))

    out = ["# Shared record types for the generated benchmark program.", ""]
    for e, vs in p.enums.items():
        if r.random() < 0.5:
            out.append(f"## {e} of a record.")
        out.append(f"enum {e} {{ {', '.join(vs)} }}")
    out.append("")
    for sname in p.struct_order:
        st = p.structs[sname]
        if r.random() < 0.6:
            out.append(f"## A {snake(sname).replace('_', ' ')} as exchanged between tasks.")
        one_line = r.random() < 0.2 and len(st.fields) <= 4 and all(d is None for _, _, d in st.fields)
        if one_line:
            out.append(f"struct {sname} {{ {', '.join(f'{f}: {t}' for f, t, _ in st.fields)} }}")
        else:
            out.append(f"struct {sname} {{")
            for f, t, d in st.fields:
                if r.random() < 0.15:
                    out.append(f"    ## The {f.replace('_', ' ')}.")
                out.append(f"    {f}: {p.render(t) if t != 'float?' else t}" + (f" = {d}" if d else ""))
            out.append("}")
        out.append("")
    for alias, t in p.alias_decls:
        out.append(f"type {alias} = {t}")
    out.append("")
    return out


FN_PARAM_TYPES = ["int", "float", "str", "list[int]", "list[float]", "list[str]", "struct",
                  "list[struct]"]
FN_OUT_TYPES = ["int", "float", "str", "bool", "list[int]", "list[float]", "list[str]", "struct"]


def pick_type(p: Program, choice: str) -> str:
    if choice == "struct":
        return p.rng.choice(p.struct_order)
    if choice == "list[struct]":
        return f"list[{p.rng.choice(p.struct_order)}]"
    if choice == "enum":
        return p.rng.choice(list(p.enums))
    return choice


def gen_fn(p: Program, name: str, scope, visible: list[Fn], force_struct: bool = False) -> Fn:
    r = p.rng
    params = []
    taken: set[str] = set()
    for i in range(r.randint(1, 3)):
        t = pick_type(p, "struct" if force_struct and i == 0 else r.choice(FN_PARAM_TYPES))
        pn = param_name(p, t, taken)
        params.append((pn, t))
    out = pick_type(p, r.choice(FN_OUT_TYPES))
    fn = Fn(name, params, out, scope)
    body = Body(p, params, visible, name)
    for _ in range(r.randint(1, 3)):
        body.segment()
    body.finish(out)
    head = []
    if r.random() < 0.4:
        head.append(f"## Helper: {r.choice(DOCS).lower()}")
    sig = ", ".join(f"{n}: {p.render(t)}" for n, t in params)
    head.append(f"fn {name}({sig}) -> {p.render(out)} {{")
    fn.lines = head + body.lines + ["}", ""]
    return fn


def param_name(p: Program, t: str, taken: set[str], hint: str | None = None) -> str:
    r = p.rng
    cands = []
    if hint and hint not in RESERVED and hint not in taken and hint not in p.top_names:
        cands = [hint]
    if not cands:
        k = p.kind(t)
        if k == "struct":
            base = [snake(t), snake(t).split("_")[0], "input_" + snake(t)]
        elif k == "list[struct]":
            s = snake(elem(t))
            base = [s + "_rows", plural(s), "all_" + plural(s)]
        elif k == "enum":
            base = [snake(t), snake(t) + "_in"]
        else:
            base = PARAM_NAMES.get(t, LOCAL_NAMES.get(t, ["arg"]))
        cands = [b for b in base if b not in taken and b not in RESERVED and b not in p.top_names]
        if not cands:
            b = r.choice(base)
            n = 2
            while f"{b}_{n}" in taken:
                n += 1
            cands = [f"{b}_{n}"]
    name = r.choice(cands)
    taken.add(name)
    return name


# --------------------------------------------------------------------------------------------
# Workflows: plan the graph, creating the tasks it calls with matching signatures

PROMISE_TYPES = ["int", "float", "str", "list[int]", "list[float]", "list[str]", "struct",
                 "list[struct]", "enum", "bool"]
TASK_OUT_TYPES = (["struct"] * 5 + ["int"] * 2 + ["float"] * 2 + ["str"] * 2 + ["list[int]",
                  "list[float]", "list[str]", "list[struct]", "list[struct]", "dict[str, int]",
                  "enum", "bool"])
MAP_OUT_TYPES = ["struct", "struct", "int", "float", "str"]
LIT_TYPES = ["int", "int", "float", "str", "bool", "list[int]", "list[str]", "list[float]"]


class WorkflowPlan:
    def __init__(self, gen: "Generator", name: str, n_tasks: int):
        self.g = gen
        self.p = gen.p
        self.r = gen.p.rng
        self.name = name
        self.n_tasks = n_tasks
        self.created = 0
        self.lines: list[str] = []
        self.bindings: list[tuple[str, str]] = []  # root name, type
        self.unused: list[str] = []
        self.taken: set[str] = set()
        self.inputs: list[tuple[str, str, str | None]] = []
        self.out = None

    def bind(self, t: str) -> str:
        k = self.p.kind(t)
        if k == "struct":
            bases = [snake(t), snake(t).split("_")[-1]]
        elif k == "list[struct]":
            s = snake(elem(t))
            bases = [plural(s), s + "_rows", s + "_batch"]
        elif k == "enum":
            bases = [snake(t), snake(t) + "_choice"]
        else:
            bases = LOCAL_NAMES[t]
        cands = [b for b in bases if b not in self.taken and b not in self.p.top_names]
        if cands:
            n = self.r.choice(cands)
        else:
            b = self.r.choice(bases)
            i = 2
            while f"{b}_{i}" in self.taken:
                i += 1
            n = f"{b}_{i}"
        self.taken.add(n)
        return n

    def add_binding(self, name: str, t: str):
        self.bindings.append((name, t))
        self.unused.append(name)

    def exprs(self) -> list[tuple[str, str, str]]:
        """Promise expressions available: (expr, type, root)."""
        out = []
        for root, t in self.bindings:
            out.append((root, t, root))
            st = self.p.structs.get(t)
            if st:
                for f, ft, _ in st.fields:
                    if ft == "float?":
                        continue
                    out.append((f"{root}.{f}", ft, root))
                    inner = self.p.structs.get(ft)
                    if inner:
                        for g, gt, _ in inner.fields:
                            if gt != "float?" and gt not in self.p.structs:
                                out.append((f"{root}.{f}.{g}", gt, root))
        return out

    def mark(self, root: str):
        if root in self.unused:
            self.unused.remove(root)

    def pick_expr(self, avoid: set[str], pred=lambda t: True):
        ex = [e for e in self.exprs() if e[0] not in avoid and pred(e[1])]
        if not ex:
            return None
        fresh = [e for e in ex if e[2] in self.unused]
        if fresh and self.r.random() < 0.75:
            roots = sorted({e[2] for e in fresh}, key=self.unused.index)
            root = self.r.choice(roots[:3])
            mine = [e for e in fresh if e[2] == root]
            whole = [e for e in mine if e[0] == root]
            if whole and self.r.random() < 0.6:
                return whole[0]
            return self.r.choice(mine)
        return self.r.choice(ex)

    def new_task(self, verb=None) -> Task:
        self.created += 1
        return self.g.new_task(verb)

    def args_for(self, task: Task, k: int, fixed: list[tuple[str, str, str]] = ()) -> str:
        """Choose k arguments (promises or literals), set task params, return the arg text."""
        r = self.r
        taken: set[str] = set()
        args = []
        for pname, t, e in fixed:
            taken.add(pname)
            task.params.append((pname, t, None))
            args.append(f"{pname}={e}")
        used: set[str] = set()
        for _ in range(k):
            roll = r.random()
            choice = None
            if roll < 0.05:
                # an index on a list promise
                choice = self.pick_expr(used, lambda t: is_list(t) and elem(t) in SIMPLE)
                if choice:
                    e, t, root = choice
                    choice = (f"{e}[0]", elem(t), root)
            elif roll < 0.09:
                # a list literal built of promises
                ex = [x for x in self.exprs() if x[1] in ("int", "float", "str") and x[0] not in used]
                by_t: dict[str, list] = {}
                for x in ex:
                    by_t.setdefault(x[1], []).append(x)
                ok = [v for v in by_t.values() if len(v) >= 2]
                if ok:
                    grp = r.choice(ok)
                    a, b = r.sample(grp, 2)
                    self.mark(a[2])
                    self.mark(b[2])
                    used.update([a[0], b[0]])
                    pn = param_name(self.p, f"list[{a[1]}]", taken)
                    task.params.append((pn, f"list[{a[1]}]", None))
                    args.append(f"{pn}=[{a[0]}, {b[0]}]")
                    continue
            if choice is None and roll < 0.80:
                choice = self.pick_expr(used)
            if choice is None:
                t = r.choice(LIT_TYPES)
                pn = param_name(self.p, t, taken)
                task.params.append((pn, t, None))
                args.append(f"{pn}={self.p.lit(t)}")
                continue
            e, t, root = choice
            used.add(e)
            self.mark(root)
            hint = None if "[" in e else e.split(".")[-1]
            pn = param_name(self.p, t, taken, hint)
            task.params.append((pn, t, None))
            args.append(f"{pn}={e}")
        # a defaulted parameter the workflow leaves out
        if r.random() < 0.25:
            t = r.choice(["int", "float", "str", "bool"])
            pn = param_name(self.p, t, taken)
            task.params.append((pn, t, self.p.lit(t)))
        return ", ".join(args)

    def call_text(self, task: Task, args: str) -> str:
        return f"{task.name}({args})"

    def emit(self, s: str, depth: int = 0):
        self.lines.append("    " * (1 + depth) + s)

    # ---- node kinds
    def node_plain(self):
        r = self.r
        task = self.new_task()
        out_t = pick_type(self.p, r.choice(TASK_OUT_TYPES))
        task.out = out_t
        fixed = []
        if self.n_tasks - self.created >= 3 and r.random() < 0.12:
            inner = self.new_task(r.choice(["load", "fetch", "parse"]))
            inner.out = pick_type(self.p, r.choice(TASK_OUT_TYPES))
            inner_args = self.args_for(inner, r.randint(1, 2))
            pn = param_name(self.p, inner.out, set())
            fixed.append((pn, inner.out, f"{inner.name}({inner_args})"))
        args = self.args_for(task, r.randint(1, 3) - len(fixed) + (0 if fixed else 0), fixed)
        name = self.bind(out_t)
        self.emit(f"let {name} = {task.name}({args})")
        self.add_binding(name, out_t)

    def node_tuple(self):
        r = self.r
        task = self.new_task()
        types = [pick_type(self.p, r.choice(["int", "float", "str", "list[str]", "list[float]",
                                               "struct"])) for _ in range(r.randint(2, 3))]
        named = r.random() < 0.6
        fields = []
        names = []
        for t in types:
            n = self.bind(t)
            names.append(n)
            fields.append((n if named else None, t))
        task.out = ("tuple", named, fields)
        args = self.args_for(task, r.randint(1, 3))
        self.emit(f"let ({', '.join(names)}) = {task.name}({args})")
        for n, t in zip(names, types):
            self.add_binding(n, t)

    def node_map(self) -> bool:
        r = self.r
        src = self.pick_expr(set(), lambda t: is_list(t) and (elem(t) in ("int", "float", "str")
                                                             or elem(t) in self.p.structs))
        if src is None:
            return False
        e, lt, root = src
        self.mark(root)
        et = elem(lt)
        task = self.new_task(r.choice(["process", "score", "enrich", "check", "convert"]))
        out_t = pick_type(self.p, r.choice(MAP_OUT_TYPES))
        task.out = out_t
        lv = r.choice(["item", "row", "x", "it"])
        pn = param_name(self.p, et, set())
        args = self.args_for(task, r.randint(0, 2), [(pn, et, lv)])
        name = self.bind(f"list[{out_t}]")
        self.emit(f"let {name} = [{task.name}({args}) for {lv} in {e}]")
        self.add_binding(name, f"list[{out_t}]")
        return True

    def node_branch(self) -> bool:
        r = self.r
        num = [x for x in self.exprs() if x[1] in ("int", "float")]
        if not num:
            return False
        fresh = [x for x in num if x[2] in self.unused]
        e, t, root = r.choice(fresh if fresh and r.random() < 0.7 else num)
        self.mark(root)
        op = r.choice([">", ">=", "<", "<=", "==", "!="] if t == "int" else [">", "<", ">=", "<="])
        cond = f"{e} {op} {self.p.lit(t)}"
        if r.random() < 0.25:
            others = [x for x in self.exprs() if x[1] in ("int", "float", "str", "bool") and x[0] != e]
            if others:
                e2, t2, root2 = r.choice(others)
                self.mark(root2)
                op2 = r.choice(["==", "!="]) if t2 in ("str", "bool") else r.choice(["<", ">", "!="])
                conj = r.choice(["and", "or"])
                neg = "not " if r.random() < 0.2 else ""
                cond = f"{cond} {conj} {neg}{e2} {op2} {self.p.lit(t2)}"
        out_t = pick_type(self.p, r.choice(TASK_OUT_TYPES))
        n_arms = 3 if (self.n_tasks - self.created >= 4 and r.random() < 0.2) else 2
        arms = []
        for i in range(n_arms):
            if i == n_arms - 1 and r.random() < 0.06:
                arms.append('fail("{}: no branch applies")'.format(self.name))
                continue
            task = self.new_task()
            task.out = out_t
            args = self.args_for(task, r.randint(1, 3))
            arms.append(f"{task.name}({args})")
        name = self.bind(out_t)
        self.emit(f"let {name} = if {cond} {{")
        self.emit(arms[0], 1)
        if n_arms == 3:
            e3 = r.choice([x for x in self.exprs() if x[1] in ("int", "float")])
            self.mark(e3[2])
            self.emit(f"}} else if {e3[0]} > {self.p.lit(e3[1])} {{")
            self.emit(arms[1], 1)
        self.emit("} else {")
        self.emit(arms[-1], 1)
        self.emit("}")
        self.add_binding(name, out_t)
        return True

    def node_subworkflow(self) -> bool:
        r = self.r
        if not self.g.workflows:
            return False
        wf = r.choice(self.g.workflows[-40:])
        args = []
        used: set[str] = set()
        roots: list[str] = []
        for pn, t, d in wf.inputs:
            if d is not None and r.random() < 0.6:
                continue
            ex = [x for x in self.exprs() if x[1] == t and x[0] not in used]
            if ex:
                x = r.choice(ex)
                used.add(x[0])
                roots.append(x[2])
                args.append(f"{pn}={x[0]}")
            elif self.p.kind(t) in ("int", "float", "str", "bool", "list[int]", "list[float]",
                                    "list[str]"):
                args.append(f"{pn}={self.p.lit(t)}")
            else:
                return False
        if not used:
            return False  # at least one promise argument, so the call is wired into the graph
        for root in roots:
            self.mark(root)
        call = f"{wf.name}({', '.join(args)})"
        if isinstance(wf.out, tuple):
            fields = wf.out[2]
            names = [self.bind(t) for _, t in fields]
            self.emit(f"let ({', '.join(names)}) = {call}")
            for n, (_, t) in zip(names, fields):
                self.add_binding(n, t)
        else:
            name = self.bind(wf.out)
            self.emit(f"let {name} = {call}")
            self.add_binding(name, wf.out)
        return True

    def plan(self):
        r = self.r
        # inputs
        taken: set[str] = set()
        n_in = r.randint(2, 4)
        types = [pick_type(self.p, r.choice(PROMISE_TYPES)) for _ in range(n_in)]
        if not any(is_list(t) for t in types):
            types[0] = pick_type(self.p, r.choice(["list[int]", "list[str]", "list[struct]",
                                                    "list[float]"]))
        for t in types:
            pn = param_name(self.p, t, taken)
            self.taken.add(pn)
            default = None
            if t in ("int", "float", "str", "bool", "list[int]", "list[str]") and r.random() < 0.4:
                default = self.p.lit(t)
            self.inputs.append((pn, t, default))
        # parameters with defaults after those without, as in Python
        self.inputs.sort(key=lambda x: x[2] is not None)
        for pn, t, _ in self.inputs:
            self.add_binding(pn, t)
        subs = 0
        guard = 0
        while self.created < self.n_tasks - 1 and guard < 200:
            guard += 1
            left = self.n_tasks - 1 - self.created
            roll = r.random()
            if roll < 0.14 and left >= 2:
                if self.node_branch():
                    continue
            if roll < 0.30:
                if self.node_map():
                    continue
            if roll < 0.38:
                self.node_tuple()
                continue
            if roll < 0.43 and subs < 2:
                if self.node_subworkflow():
                    subs += 1
                    continue
            self.node_plain()
        # sink: consumes every binding not used yet
        sink = self.new_task(r.choice(SINK_VERBS))
        fixed = []
        st: set[str] = set()
        for root in list(self.unused):
            t = dict(self.bindings)[root]
            pn = param_name(self.p, t, st, root)
            fixed.append((pn, t, root))
        self.unused.clear()
        out_t = pick_type(self.p, r.choice(["str", "str", "struct", "struct", "int", "list[str]"]))
        sink.out = out_t
        args = self.args_for(sink, 0, fixed)
        call = f"{sink.name}({args})"
        if len(call) > 80:
            call = f"{sink.name}(\n" + "".join(f"        {a},\n" for a in args.split(", ")) + "    )"
        if r.random() < 0.3:
            extra = r.choice(self.exprs())
            oname = r.choice(["report", "result", "summary", "outcome"])
            ename = extra[0].split(".")[-1]
            if ename == oname or ename in RESERVED:
                ename = "detail"
            self.out = ("tuple", True, [(oname, out_t), (ename, extra[1])])
            bound = self.bind(out_t)
            self.emit(f"let {bound} = {call}")
            self.emit(f"({oname}={bound}, {ename}={extra[0]})")
        else:
            self.out = out_t
            self.emit(call)

    def render(self) -> list[str]:
        p, r = self.p, self.r
        head = []
        if r.random() < 0.7:
            head.append(f"## {r.choice(DOCS)}")
        if isinstance(self.out, tuple):
            out = "(" + ", ".join(f"{n}: {p.render(t)}" for n, t in self.out[2]) + ")"
        else:
            out = p.render(self.out)
        params = [f"{n}: {p.render(t)}" + (f" = {d}" if d is not None else "")
                  for n, t, d in self.inputs]
        one = f"workflow {self.name}({', '.join(params)}) -> {out} {{"
        if len(one) <= 100:
            head.append(one)
        else:
            head.append(f"workflow {self.name}(")
            head.extend(f"    {x}," for x in params)
            head.append(f") -> {out} {{")
        return head + self.lines + ["}", ""]


class Generator:
    def __init__(self, lines: int, seed: int):
        self.p = Program(random.Random(seed))
        self.target = lines
        scale = lines / 100_000
        self.n_tasks = max(12, round(2000 * scale))
        self.n_workflows = max(1, round(self.n_tasks / 10))
        self.n_modules = max(1, min(10, round(10 * scale)))
        self.n_structs = max(8, min(60, round(60 * scale)))
        self.workflows: list[WorkflowPlan] = []
        self.task_seq = 0

    def new_task(self, verb=None) -> Task:
        r = self.p.rng
        self.task_seq += 1
        name = f"{verb or r.choice(TASK_VERBS)}_{r.choice(TASK_NOUNS)}_{self.task_seq:04d}"
        t = Task(self.p.declare(name), r.randrange(self.n_modules))
        self.p.tasks.append(t)
        return t

    def task_counts(self) -> list[int]:
        r = self.p.rng
        n, total = self.n_workflows, self.n_tasks
        lo, hi = (5, 15) if total >= 5 * n else (1, 15)
        counts = [r.randint(lo, hi) for _ in range(n)]
        while sum(counts) != total:
            i = r.randrange(n)
            if sum(counts) < total and counts[i] < hi:
                counts[i] += 1
            elif sum(counts) > total and counts[i] > lo:
                counts[i] -= 1
        return counts

    def run(self) -> dict[str, str]:
        p, r = self.p, self.p.rng
        files: dict[str, list[str]] = {}
        files["lib/types.flow"] = gen_types(p, self.n_structs)

        # shared fns
        util = ["# Shared helper functions.", 'import "types.flow"', ""]
        for i in range(max(4, self.n_modules * 4)):
            name = p.declare(f"{r.choice(FN_VERBS)}_{r.choice(TASK_NOUNS)}_u{i:02d}")
            fn = gen_fn(p, name, "util", list(p.util_fns), force_struct=(i == 0))
            p.util_fns.append(fn)
            util.extend(fn.lines)
        files["lib/util.flow"] = util

        # module-local fns
        for m in range(self.n_modules):
            fns: list[Fn] = []
            for i in range(r.randint(8, 14)):
                name = p.declare(f"{r.choice(FN_VERBS)}_{r.choice(TASK_NOUNS)}_m{m:02d}_{i:02d}")
                fns.append(gen_fn(p, name, m, p.util_fns + fns))
            p.module_fns[m] = fns

        # workflows, creating the tasks they call
        for wi, k in enumerate(self.task_counts()):
            name = p.declare(f"{r.choice(TASK_NOUNS)}_{r.choice(['daily', 'hourly', 'nightly', 'adhoc', 'weekly', 'backfill'])}_pipeline_{wi:03d}")
            wf = WorkflowPlan(self, name, k)
            wf.plan()
            self.workflows.append(wf)
        assert len(p.tasks) == self.n_tasks, (len(p.tasks), self.n_tasks)

        main = ["# Generated benchmark program: workflows wiring the tasks of lib/.",
                'import "lib/types.flow"']
        main += [f'import "lib/tasks_{m:02d}.flow"' for m in range(self.n_modules)]
        main.append("")
        for wf in self.workflows:
            main.extend(wf.render())
        files["main.flow"] = main

        # task bodies, sized so that the whole program lands near the target
        by_mod: dict[int, list[Task]] = {m: [] for m in range(self.n_modules)}
        for t in p.tasks:
            by_mod[t.module].append(t)
        fixed = sum(len(v) for v in files.values())
        fixed += sum(len(f.lines) for fns in p.module_fns.values() for f in fns)
        fixed += self.n_modules * 4
        remaining = self.target - fixed
        left = len(p.tasks)
        for m in range(self.n_modules):
            lines = [f"# Tasks of module {m:02d}.", 'import "types.flow"', 'import "util.flow"', ""]
            for fn in p.module_fns[m]:
                lines.extend(fn.lines)
            for ti, t in enumerate(by_mod[m]):
                budget = max(4, int(remaining / max(1, left) * r.uniform(0.5, 1.5)))
                block = self.render_task(t, budget, force_util=(ti == 0))
                lines.extend(block)
                remaining -= len(block)
                left -= 1
            files[f"lib/tasks_{m:02d}.flow"] = lines

        return {k: "\n".join(v).rstrip("\n") + "\n" for k, v in files.items()}

    def render_task(self, t: Task, budget: int, force_util: bool) -> list[str]:
        p, r = self.p, self.p.rng
        head: list[str] = []
        if r.random() < 0.5:
            head.append(f"## {r.choice(DOCS)}")
        annots = []
        if r.random() < 0.12:
            annots.append(f"@retries({r.randint(1, 5)})")
        if r.random() < 0.08:
            annots.append(f'@cache(version="{r.randint(1, 4)}")')
        if r.random() < 0.08:
            annots.append(f"@timeout({r.choice(['30s', '5m', '10m', '2h'])})")
        if r.random() < 0.05:
            annots.append(f'@resources(cpu={r.randint(1, 8)}, mem="{r.choice(["512Mi", "1Gi", "4Gi"])}")')
        head += annots
        out = t.out
        if isinstance(out, tuple):
            _, named, fields = out
            if named:
                out_s = "(" + ", ".join(f"{n}: {p.render(ft)}" for n, ft in fields) + ")"
            else:
                out_s = "(" + ", ".join(p.render(ft) for _, ft in fields) + ")"
        else:
            out_s = p.render(out)
        params = [f"{n}: {p.render(pt)}" + (f" = {d}" if d is not None else "")
                  for n, pt, d in t.params]
        one = f"task {t.name}({', '.join(params)}) -> {out_s} {{"
        if len(one) <= 100 and r.random() < 0.9:
            head.append(one)
        else:
            head.append(f"task {t.name}(")
            for (n, pt, d), s in zip(t.params, params):
                if r.random() < 0.15:
                    head.append(f"    ## The {n.replace('_', ' ')} to work on.")
                head.append(f"    {s},")
            head.append(f") -> {out_s} {{")

        visible = p.util_fns + p.module_fns[t.module]
        body = Body(p, [(n, pt) for n, pt, _ in t.params], visible, t.name)
        if force_util:
            body.seg_fn_call(fns=p.util_fns)
        if r.random() < 0.25:
            body.guard()
        target = budget - len(head) - 4
        while len(body.lines) < target:
            body.segment()
        body.finish(out)
        return head + body.lines + ["}", ""]


# --------------------------------------------------------------------------------------------

SMALL = '''\
# A small Flow program: check latency on a typical one-screen file.

## One measurement taken at a site.
struct Reading {
    site: str
    value: float
    tags: list[str] = []
}

enum Level { Low, Normal, High }

fn classify(v: float) -> Level {
    if v < 10.0 { Level.Low } else if v < 50.0 { Level.Normal } else { Level.High }
}

task load(n: int) -> list[Reading] {
    [Reading(site="s{i}", value=float(i) * 7.5) for i in range(n)]
}

@retries(2)
task summarize(rows: list[Reading], label: str = "daily") -> str {
    let highs = [r.site for r in rows if classify(r.value) == Level.High]
    let total = sum([r.value for r in rows])
    let sites = join(highs, ", ")
    "{label}: {len(rows)} readings, total {total}, high at {sites}"
}

workflow main(n: int = 10) -> str {
    let rows = load(n=n)
    summarize(rows=rows)
}
'''


def generate(out_dir: str | Path, lines: int = 100_000, seed: int = DEFAULT_SEED,
             small: bool = False) -> dict[str, int]:
    """Write the program under out_dir; return {relative path: line count}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"main.flow": SMALL} if small else Generator(lines, seed).run()
    counts = {}
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        counts[rel] = text.count("\n")
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="directory to write main.flow (and lib/) into")
    ap.add_argument("--lines", type=int, default=100_000, help="approximate total lines (default 100000)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default fixed)")
    ap.add_argument("--small", action="store_true", help="write a ~30-line single-file program instead")
    args = ap.parse_args(argv)
    if args.lines < 1000 and not args.small:
        ap.error("--lines must be at least 1000")
    counts = generate(args.out_dir, args.lines, args.seed, args.small)
    total = sum(counts.values())
    print(f"wrote {len(counts)} files, {total} lines to {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
