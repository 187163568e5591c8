#!/usr/bin/env python3
"""Benchmarks of `flytec run`, each against a baseline measured in the same run on the same machine.

    cargo build --release && python3 bench/run_bench.py [--flytec PATH] [--runs N] ...

1. **pickle**: a task returns `list[People] @batch(10000)` of `--items` (1,000,000) `People`
   (`class People { name: str }`); a second task counts them. The list is written to the store as
   pickle files and read back (as the first task's outputs and as the second task's inputs).
   Measured: the wall time of the whole `flytec run`. Baseline: CPython's `pickle.dumps` then
   `pickle.loads` of the same list of objects of a Python class with a `name` attribute, timed in
   this script (the list is built untimed). Target: flytec >= 5x faster.
2. **chain**: a generated workflow of `--chain` (1,000) `int -> int` tasks, each taking the one
   before it. Reported: microseconds per node, (time(chain of N) - time(chain of 1)) / (N - 1),
   so that process start and compilation are not counted; the raw wall time / N is shown too.
   Target: < 200 us per node.
3. **fib**: `fib(--fib)` (27), a recursive `fn` called by a task, vs the same recursive function
   in CPython timed in this script. Measured: the whole `flytec run` (start and compile
   included, so the comparison is conservative) and, for information, that time minus a
   `fib(1)` run. Target: no slower than CPython.

Every figure is the median of `--runs` runs (each after one untimed warm-up run). Outputs are
checked (the count, the chain's result, fib's value): a wrong answer fails the bench. Prints a
Markdown table, the machine's load average before and after, and exits 0; 1 when a run failed
or gave a wrong answer; 2 on a bad command line or a missing binary; 3 when a target was missed
and `--enforce-targets` was given.

Only the Python 3 standard library is used.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class People:
    """The Python twin of Flow's `class People { name: str }`."""

    def __init__(self, name: str):
        self.name = name


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


PICKLE_FLOW = """\
@allow(pickle)
class People { name: str }

task make(n: int) -> list[People] @batch(BATCH) {
    [People(name="person{i}") for i in range(n)]
}

task count(people: list[People] @batch(BATCH)) -> int {
    len(people)
}

workflow main(n: int) -> int {
    count(people=make(n=n))
}
"""

FIB_FLOW = """\
fn fib(n: int) -> int {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

task run_fib(n: int) -> int {
    fib(n)
}

workflow main(n: int) -> int {
    run_fib(n=n)
}
"""


def chain_flow(n: int) -> str:
    """A workflow of n `inc` nodes, each taking the output of the one before."""
    lines = ["task inc(x: int) -> int { x + 1 }", "", "workflow main(x: int = 0) -> int {"]
    prev = "x"
    for i in range(n):
        lines.append(f"    let v{i} = inc(x={prev})")
        prev = f"v{i}"
    lines.append(f"    {prev}")
    lines.append("}")
    return "\n".join(lines) + "\n"


class Failed(Exception):
    pass


RUN_NUMBERS = itertools.count()


def flytec_run(flytec: str, work: Path, program: Path, args: list[str], timeout: float):
    """Runs `flytec run PROGRAM ARGS` in `work` with a new run directory; returns
    ((wall seconds, CPU seconds), stdout JSON). CPU time is user + system time of the process
    and its threads (from `wait4`). Run directories are kept until the bench ends (they go with
    its temporary directory): deleting one just before the next run would make that run pay for
    the deletion, on file systems that do not reuse just-freed inodes right away (ext4 without
    a journal scans past them for every file it creates)."""
    run_dir = work / f"run{next(RUN_NUMBERS)}"
    cache_dir = work / "cache"
    cmd = [flytec, "run", str(program), *args, "--run-dir", str(run_dir), "--cache-dir",
           str(cache_dir), "--color", "never"]
    shown = " ".join(cmd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, ru = os.wait4(proc.pid, 0)  # the rusage of this child alone
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if wall >= timeout:
        raise Failed(f"`{shown}` did not finish within {timeout} s")
    if proc.returncode != 0:
        raise Failed(f"`{shown}` exited {proc.returncode}:\n{stderr[-2000:]}")
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError:
        raise Failed(f"`{shown}` printed no JSON: {stdout[:500]!r}")
    return (wall, ru.ru_utime + ru.ru_stime), result


def median_of(runs: int, fn):
    """Calls fn() -> ((wall, cpu), result) once untimed, then `runs` times; returns
    ((median wall, median CPU), last result)."""
    fn()
    walls, cpus, result = [], [], None
    for _ in range(runs):
        (wall, cpu), result = fn()
        walls.append(wall)
        cpus.append(cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def timed(fn):
    """((wall, CPU) seconds, result) of fn() in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def expect(what: str, got, want):
    if got != want:
        raise Failed(f"{what}: got {got!r}, want {want!r}")


def ratio_text(baseline: float, flytec: float) -> str:
    """How much faster flytec is than the baseline (or slower)."""
    if flytec <= 0:
        return "-"
    r = baseline / flytec
    return f"{r:.2f}x faster" if r >= 1 else f"{1 / r:.2f}x slower"


def row(name, flytec, baseline, target="", met=None, note=""):
    """A table row; `flytec` and `baseline` are (wall, CPU) seconds, or text."""
    return {"name": name, "flytec": flytec, "baseline": baseline, "target": target,
            "met": met, "note": note}


def bench_pickle(args, work: Path) -> list[dict]:
    program = work / "pickle.flow"
    program.write_text(PICKLE_FLOW.replace("BATCH", str(args.batch)))
    n = args.items
    t_flow, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, program, ["--n", str(n)], args.timeout))
    expect("pickle: count", out, {"o0": n})
    t_empty, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, program, ["--n", "0"], args.timeout))
    expect("pickle: count of none", out, {"o0": 0})

    people = [People(f"person{i}") for i in range(n)]

    def roundtrip():
        return timed(lambda: len(pickle.loads(pickle.dumps(people))))

    t_py, count = median_of(args.runs, roundtrip)
    expect("pickle: CPython count", count, n)
    return [
        row(f"pickle: {n:,} `People` `@batch({args.batch})`, make + count, whole run", t_flow,
            t_py, ">= 5x faster (wall)", t_py[0] / t_flow[0] >= 5,
            "baseline: CPython `pickle.dumps` + `pickle.loads` of the list"),
        row("pickle: the same workflow with 0 items (start, compile, store)", t_empty, "-"),
    ]


def bench_chain(args, work: Path) -> list[dict]:
    n = args.chain
    long_flow = work / "chain.flow"
    long_flow.write_text(chain_flow(n))
    one_flow = work / "chain1.flow"
    one_flow.write_text(chain_flow(1))
    jobs = ["--jobs", "1"]
    t_long, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, long_flow, jobs, args.timeout))
    expect("chain: result", out, {"o0": n})
    t_one, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, one_flow, jobs, args.timeout))
    expect("chain of 1: result", out, {"o0": 1})
    per_node = tuple((a - b) / (n - 1) for a, b in zip(t_long, t_one))
    us = lambda t: f"{t * 1e6:.0f} µs"  # noqa: E731
    return [
        row(f"chain: {n:,} `int -> int` tasks, per node", (us(per_node[0]), us(per_node[1])),
            "-", "< 200 µs (wall)", per_node[0] < 200e-6,
            f"(run of {n} - run of 1) / {n - 1}"),
        row(f"chain: whole run of {n:,} tasks", t_long, "-"),
        row("chain: whole run of 1 task", t_one, "-"),
    ]


def bench_fib(args, work: Path) -> list[dict]:
    program = work / "fib.flow"
    program.write_text(FIB_FLOW)
    n = args.fib
    want = fib(n)
    t_flow, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, program, ["--n", str(n)], args.timeout))
    expect("fib: result", out, {"o0": want})
    t_small, out = median_of(
        args.runs, lambda: flytec_run(args.flytec, work, program, ["--n", "1"], args.timeout))
    expect("fib(1): result", out, {"o0": 1})
    t_py, got = median_of(args.runs, lambda: timed(lambda: fib(n)))
    expect("fib: CPython", got, want)
    compute = tuple(max(a - b, 1e-9) for a, b in zip(t_flow, t_small))
    return [
        row(f"fib({n}): whole `flytec run`", t_flow, t_py, "no slower (wall)",
            t_py[0] / t_flow[0] >= 1,
            f"baseline: CPython {platform.python_version()} `fib({n})` in-process"),
        row(f"fib({n}): minus a fib(1) run (interpretation only)", compute, t_py),
    ]


def fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def cell(value) -> str:
    if isinstance(value, str):
        return value
    return fmt_s(value)


def table(rows: list[dict]) -> str:
    out = [
        "| benchmark | flytec wall | flytec CPU | baseline wall | baseline CPU "
        "| ratio (wall) | ratio (CPU) | target | status |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        f, b = r["flytec"], r["baseline"]
        fw, fc = (f, f) if isinstance(f, str) else f
        bw, bc = (b, b) if isinstance(b, str) else b
        numeric = not isinstance(f, str) and not isinstance(b, str)
        rw = ratio_text(b[0], f[0]) if numeric else "-"
        rc = ratio_text(b[1], f[1]) if numeric else "-"
        status = {True: "met", False: "**missed**", None: ""}[r["met"]]
        out.append(f"| {r['name']} | {cell(fw)} | {cell(fc)} | {cell(bw)} | {cell(bc)} "
                   f"| {rw} | {rc} | {r['target']} | {status} |")
    notes = [f"- {r['name']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(out + [""] + notes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flytec", default=str(ROOT / "target" / "release" / "flytec"),
                        help="the flytec binary (default: target/release/flytec)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--items", type=int, default=1_000_000, help="People in the list")
    parser.add_argument("--batch", type=int, default=10_000, help="@batch(N) of the list")
    parser.add_argument("--chain", type=int, default=1_000, help="tasks in the chain")
    parser.add_argument("--fib", type=int, default=27, help="n of fib(n)")
    parser.add_argument("--only", choices=["pickle", "chain", "fib"], action="append",
                        help="run only these benchmarks (repeatable)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--enforce-targets", action="store_true",
                        help="exit 3 when a target is missed")
    args = parser.parse_args()
    if args.runs < 1 or args.items < 0 or args.batch < 1 or args.chain < 2 or args.fib < 0:
        parser.error("--runs >= 1, --items >= 0, --batch >= 1, --chain >= 2, --fib >= 0")
    if not (os.path.isfile(args.flytec) and os.access(args.flytec, os.X_OK)):
        print(f"no flytec binary at {args.flytec}: run `cargo build --release` first "
              "(or give --flytec PATH)", file=sys.stderr)
        return 2
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    load_before = os.getloadavg()
    rows: list[dict] = []
    benches = {"pickle": bench_pickle, "chain": bench_chain, "fib": bench_fib}
    with tempfile.TemporaryDirectory(prefix="flytec-run-bench-") as tmp:
        for name, bench in benches.items():
            if args.only and name not in args.only:
                continue
            work = Path(tmp) / name
            work.mkdir()
            print(f"running {name}…", file=sys.stderr)
            try:
                rows.extend(bench(args, work))
            except Failed as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
    load_after = os.getloadavg()

    print(table(rows))
    print()
    print(f"flytec: {args.flytec}; Python {platform.python_version()}; "
          f"{os.cpu_count()} CPUs; median of {args.runs} runs; load average (1 min) "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if args.json:
        args.json.write_text(json.dumps(
            {"rows": rows, "load_before": load_before, "load_after": load_after}, indent=2))
    missed = [r["name"] for r in rows if r["met"] is False]
    if missed and args.enforce_targets:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
