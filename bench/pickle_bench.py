#!/usr/bin/env python3
"""CPython's side of the Pickle benchmark: how fast CPython's own `pickle` writes and reads the
list `flytec` is measured on, so that the Rust figures have a baseline from the same machine.

    python3 bench/pickle_bench.py [--items 1000000] [--batch 10000] [--runs 5] [--check DIR]

The list is `[{"name": f"person{i}"} for i in range(items)]` -- what a `list[People]` of
`class People { name: str }` pickles to, since Flow writes class values as dicts of their fields.
For each protocol (3, the one Flow writes; 4, CPython's default; 5, flytekit's) it times
`pickle.dumps` of every `--batch`-item slice (the files of `@batch(N)`) and of the whole list (no
`@batch`), and `pickle.loads` of the same bytes, and prints the median of `--runs` runs as a
Markdown table (items/s and total bytes).

`--check DIR` also loads every `*.pkl` file under DIR with `pickle.load` (e.g. the pickle files of
a `flytec run` directory, or files written by flytec's tests), checks that each holds a list of
dicts or a dict, and reports the item count and load time: CPython reading what flytec wrote.

Exit status: 0 measured; 1 a file under --check DIR did not load or held something else; 2 bad
command line. Only the Python 3 standard library is used.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from pathlib import Path


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(items: list, batch: int, runs: int) -> list[dict]:
    rows = []
    n = len(items)
    for protocol in (3, 4, 5):
        for layout, dump in (
            (f"@batch({batch})", lambda p=protocol: [pickle.dumps(items[i:i + batch], protocol=p)
                                                     for i in range(0, n, batch)]),
            ("whole list", lambda p=protocol: [pickle.dumps(items, protocol=p)]),
        ):
            blobs = dump()
            t_dump = median_time(dump, runs)
            t_load = median_time(lambda b=blobs: [pickle.loads(x) for x in b], runs)
            rows.append({
                "protocol": protocol,
                "layout": layout,
                "files": len(blobs),
                "bytes": sum(map(len, blobs)),
                "dumps_s": t_dump,
                "loads_s": t_load,
                "dumps_items_per_s": n / t_dump,
                "loads_items_per_s": n / t_load,
            })
    return rows


def check_dir(root: Path) -> tuple[int, int, float, list[str]]:
    files = sorted(root.rglob("*.pkl"))
    count, problems = 0, []
    start = time.perf_counter()
    for f in files:
        try:
            with open(f, "rb") as fh:
                value = pickle.load(fh)
        except Exception as e:  # noqa: BLE001 -- report any failure to load
            problems.append(f"{f}: {type(e).__name__}: {e}")
            continue
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            count += len(value)
        elif isinstance(value, dict):
            count += 1
        else:
            problems.append(f"{f}: holds a {type(value).__name__}, not a list of dicts or a dict")
    return len(files), count, time.perf_counter() - start, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", type=Path, metavar="DIR")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    if args.items < 1 or args.batch < 1 or args.runs < 1:
        print("--items, --batch and --runs must be at least 1", file=sys.stderr)
        return 2

    items = [{"name": f"person{i}"} for i in range(args.items)]
    rows = measure(items, args.batch, args.runs)
    print(f"CPython {sys.version.split()[0]}, {args.items:,} dicts, median of {args.runs} runs\n")
    print("| protocol | layout | files | MB | dumps | dumps items/s | loads | loads items/s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['protocol']} | {r['layout']} | {r['files']} | {r['bytes'] / 1e6:.1f} "
              f"| {r['dumps_s'] * 1e3:.0f} ms | {r['dumps_items_per_s']:,.0f} "
              f"| {r['loads_s'] * 1e3:.0f} ms | {r['loads_items_per_s']:,.0f} |")

    status = 0
    result = {"python": sys.version, "items": args.items, "batch": args.batch, "rows": rows}
    if args.check:
        n_files, n_items, secs, problems = check_dir(args.check)
        print(f"\n`{args.check}`: {n_files} pickle files, {n_items:,} items loaded in "
              f"{secs * 1e3:.0f} ms")
        for p in problems:
            print(f"  problem: {p}")
        result["check"] = {"files": n_files, "items": n_items, "seconds": secs,
                           "problems": problems}
        status = 1 if problems or n_files == 0 else 0
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
