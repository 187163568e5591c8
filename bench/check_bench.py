#!/usr/bin/env python3
"""Benchmark `flytec check` on a generated 100,000-line program and on a 30-line file.

    cargo build --release && python3 bench/check_bench.py [--flytec PATH] [--runs N]

Builds nothing: it takes the binary (default target/release/flytec), generates the programs with
bench/gen_program.py into a temporary directory, checks once to make sure the generated program
is clean (any diagnostic, error or warning, is printed and the exit status is 1), then times
`flytec check main.flow` and prints a Markdown table against the project's targets:

    throughput   >= 300,000 lines/s on the large program, on one core (the process pinned to
                 one CPU, so check's own parallelism is off); all cores shown beside it
    peak memory  <= 100 MB (max RSS of the flytec process, 1 MB = 10^6 bytes)
    latency      <= 5 ms median wall time for a 30-line file

Exit status: 0 measured; 1 flytec reported diagnostics on a generated program (or failed on
one); 2 bad command line or binary not found; 3 a target was missed and --enforce-targets was
given.  Only the Python 3.11 standard library is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import gen_program  # noqa: E402

TARGET_LINES_PER_S = 300_000
TARGET_PEAK_MB = 100.0
TARGET_SMALL_MS = 5.0
DIAG_RE = re.compile(r"\b[EW]\d{4}\b")


def find_binary(arg: str | None) -> Path | None:
    if arg:
        p = Path(arg)
        return p if p.is_file() else None
    for p in (Path("target/release/flytec"), REPO / "target" / "release" / "flytec"):
        if p.is_file():
            return p
    return None


def maxrss_bytes(ru) -> int:
    # Linux reports KiB, macOS bytes.
    return ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024


def pin_to_one_cpu() -> None:
    """In a child before exec: run on one CPU only (the first this process may use)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def timed_run(cmd: list[str], cwd: Path, timeout: float,
              one_core: bool = False) -> tuple[float, int, int]:
    """Run cmd once with output discarded, on one CPU if `one_core`; return (wall seconds, exit
    code, max RSS bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            preexec_fn=pin_to_one_cpu if one_core else None)
    killed: list[bool] = []

    def kill() -> None:
        killed.append(True)
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    _, status, ru = os.wait4(proc.pid, 0)  # blocking: the rusage of this child alone
    wall = time.perf_counter() - start
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # already reaped; keep Popen from waiting again
    if killed:
        raise TimeoutError(f"{' '.join(cmd)} took longer than {timeout:.0f} s")
    return wall, code, maxrss_bytes(ru)


def validate(flytec: Path, cwd: Path, label: str, timeout: float) -> list[str]:
    """Check once; return the diagnostics flytec reports (empty when the program is clean)."""
    cmd = [str(flytec), "check", "--format", "json", "main.flow"]
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"{label}: `flytec check` did not finish within {timeout:.0f} s"]
    if res.returncode < 0:
        return [f"{label}: flytec was killed by signal {-res.returncode}", res.stderr.strip()]
    try:
        doc = json.loads(res.stdout)
        diags = doc["diagnostics"]
    except (ValueError, KeyError, TypeError):
        doc = None
    if doc is not None:
        out = []
        for d in diags:
            start = (d.get("range") or {}).get("start") or {}
            text = (f"{d.get('file', '?')}:{start.get('line', '?')}:{start.get('column', '?')}: "
                    f"{d.get('severity', '?')}[{d.get('code', '?')}]: {d.get('message', '')}")
            if d.get("help"):
                text += f"\n    help: {d['help']}"
            out.append(text)
        if not out and res.returncode != 0:
            out.append(f"{label}: flytec exited {res.returncode} without diagnostics: "
                       f"{res.stderr.strip()[:2000]}")
        return out
    # No JSON (e.g. --format not implemented yet): fall back on the human output and exit code.
    res = subprocess.run(cmd[:2] + ["main.flow"], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout)
    text = (res.stdout + res.stderr).strip()
    if res.returncode != 0 or DIAG_RE.search(text):
        return [f"{label}: flytec exited {res.returncode} (no JSON output; human output follows)\n"
                + text[:20000]]
    return []


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark `flytec check` (see module docstring).")
    ap.add_argument("--flytec", help="path to the flytec binary (default target/release/flytec)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs on the large program (default 5)")
    ap.add_argument("--small-runs", type=int, default=50, help="timed runs on the 30-line file (default 50)")
    ap.add_argument("--lines", type=int, default=100_000, help="size of the large program (default 100000)")
    ap.add_argument("--seed", type=int, default=gen_program.DEFAULT_SEED, help="generator seed")
    ap.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per flytec run")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--enforce-targets", action="store_true",
                    help="exit 3 when a target is missed")
    ap.add_argument("--allow-diagnostics", action="store_true",
                    help="print diagnostics on the generated programs but measure anyway "
                         "(timed runs must then exit as the check did)")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.small_runs < 1:
        ap.error("--runs and --small-runs must be at least 1")

    if not hasattr(os, "sched_setaffinity"):
        print("error: the one-core measurement needs sched_setaffinity (Linux)", file=sys.stderr)
        return 2
    flytec = find_binary(args.flytec)
    if flytec is None:
        where = args.flytec or "target/release/flytec"
        print(f"error: flytec binary not found at `{where}`.\n"
              f"Build it first with `cargo build --release` (from {REPO}),\n"
              f"or pass the path of an existing binary with `--flytec PATH`.", file=sys.stderr)
        return 2
    flytec = flytec.resolve()
    if not os.access(flytec, os.X_OK):
        print(f"error: `{flytec}` is not executable", file=sys.stderr)
        return 2

    root = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="flytec-bench-"))
    keep = bool(args.keep)
    big, small = root / "large", root / "small"
    for d in (big, small):
        if d.exists():
            shutil.rmtree(d)
    try:
        t0 = time.perf_counter()
        counts = gen_program.generate(big, args.lines, args.seed)
        gen_s = time.perf_counter() - t0
        small_counts = gen_program.generate(small, small=True)
        total_lines = sum(counts.values())
        total_bytes = sum(p.stat().st_size for p in big.rglob("*.flow"))
        small_lines = sum(small_counts.values())

        print(f"flytec: {flytec}", file=sys.stderr)
        print(f"generated {len(counts)} files, {total_lines:,} lines in {gen_s:.2f} s under {root}",
              file=sys.stderr)

        # 1. The generated programs must check clean: the bench doubles as a validity test.
        problems = []
        for label, d in (("large program", big), ("30-line file", small)):
            diags = validate(flytec, d, label, args.timeout)
            if diags:
                problems.append((label, d, diags))
        if problems:
            keep = not args.allow_diagnostics or keep
            for label, d, diags in problems:
                print(f"\nflytec reported {len(diags)} diagnostic(s) on the generated {label} "
                      f"({d}):", file=sys.stderr)
                for line in diags[:200]:
                    print(line, file=sys.stderr)
                if len(diags) > 200:
                    print(f"... and {len(diags) - 200} more", file=sys.stderr)
            codes = {}
            for _, _, diags in problems:
                for line in diags:
                    for c in DIAG_RE.findall(line):
                        codes[c] = codes.get(c, 0) + 1
            if codes:
                print("\nby code: " + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())),
                      file=sys.stderr)
            if not args.allow_diagnostics:
                print(f"\nThe generated files are kept in {root} for inspection.", file=sys.stderr)
                return 1
            print("\n--allow-diagnostics: measuring anyway\n", file=sys.stderr)
        expected = {"large": 0, "small": 0}
        if args.allow_diagnostics:
            for key, d in (("large", big), ("small", small)):
                expected[key] = subprocess.run([str(flytec), "check", "main.flow"], cwd=d,
                                               capture_output=True, timeout=args.timeout).returncode

        # 2. Timed runs.
        cmd = [str(flytec), "check", "main.flow"]
        walls, rss, walls_1 = [], [], []
        for i in range(args.runs):
            # Alternate one core and all cores, so a change in the host's load hits both alike.
            for one_core, into in ((True, walls_1), (False, walls)):
                wall, code, peak = timed_run(cmd, big, args.timeout, one_core)
                if code != expected["large"]:
                    print(f"error: run {i + 1} of `flytec check` on the large program exited "
                          f"{code}", file=sys.stderr)
                    keep = True
                    return 1
                into.append(wall)
                rss.append(peak)
                where = "one core" if one_core else "all cores"
                print(f"  large run {i + 1}/{args.runs}, {where}: {wall * 1000:.1f} ms, "
                      f"{peak / 1e6:.1f} MB", file=sys.stderr)
        s_walls, s_rss = [], []
        for i in range(args.small_runs):
            wall, code, peak = timed_run(cmd, small, args.timeout)
            if code != expected["small"]:
                print(f"error: `flytec check` on the 30-line file exited {code}", file=sys.stderr)
                keep = True
                return 1
            s_walls.append(wall)
            s_rss.append(peak)
        spawn = [timed_run(["/bin/true"], small, 10)[0] for _ in range(20)] \
            if Path("/bin/true").exists() else []

        med = statistics.median(walls_1)
        lps = total_lines / med
        med_all = statistics.median(walls)
        lps_all = total_lines / med_all
        peak_mb = max(rss) / 1e6
        s_med_ms = statistics.median(s_walls) * 1000
        s_peak_mb = max(s_rss) / 1e6
        spawn_ms = statistics.median(spawn) * 1000 if spawn else None

        def status(ok: bool) -> str:
            return "met" if ok else "**missed**"

        ok_lps = lps >= TARGET_LINES_PER_S
        ok_mem = peak_mb <= TARGET_PEAK_MB
        ok_small = s_med_ms <= TARGET_SMALL_MS
        version = ""
        try:
            v = subprocess.run([str(flytec), "--version"], capture_output=True, text=True, timeout=10)
            version = v.stdout.strip() if v.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            pass

        print(f"## `flytec check` benchmark\n")
        print(f"- binary: `{flytec}`" + (f" ({version})" if version else ""))
        print(f"- large program: {len(counts)} files, {fmt_int(total_lines)} lines, "
              f"{total_bytes / 1e6:.1f} MB (gen_program.py, seed {args.seed}); "
              f"{args.runs} timed runs")
        print(f"- small program: 1 file, {small_lines} lines; {args.small_runs} timed runs")
        print(f"- host: {os.cpu_count()} CPUs, {sys.platform}; wall time includes process start")
        if problems:
            n = sum(len(x[2]) for x in problems)
            print(f"- **not a clean run**: flytec reported {n} diagnostic(s) on the generated "
                  f"programs (measured anyway, --allow-diagnostics)")
        print()
        print("| measurement | result | target | result / target | status |")
        print("|---|---:|---:|---:|---|")
        print(f"| large, one core: median wall time | {med * 1000:.1f} ms "
              f"(min {min(walls_1) * 1000:.1f}, max {max(walls_1) * 1000:.1f}) "
              f"| ≤ {total_lines / TARGET_LINES_PER_S * 1000:.0f} ms | {med / (total_lines / TARGET_LINES_PER_S):.2f} | {status(ok_lps)} |")
        print(f"| large, one core: throughput | {fmt_int(lps)} lines/s | ≥ {fmt_int(TARGET_LINES_PER_S)} lines/s "
              f"| {lps / TARGET_LINES_PER_S:.2f} | {status(ok_lps)} |")
        print(f"| large, all {os.cpu_count()} cores: median wall time | {med_all * 1000:.1f} ms "
              f"(min {min(walls) * 1000:.1f}, max {max(walls) * 1000:.1f}) | — | — | — |")
        print(f"| large, all {os.cpu_count()} cores: throughput | {fmt_int(lps_all)} lines/s "
              f"| — | {lps_all / TARGET_LINES_PER_S:.2f} | — |")
        print(f"| large: peak memory (max RSS) | {peak_mb:.1f} MB | ≤ {TARGET_PEAK_MB:.0f} MB "
              f"| {peak_mb / TARGET_PEAK_MB:.2f} | {status(ok_mem)} |")
        print(f"| 30-line file: median wall time | {s_med_ms:.2f} ms "
              f"(min {min(s_walls) * 1000:.2f}, max {max(s_walls) * 1000:.2f}) "
              f"| ≤ {TARGET_SMALL_MS:.0f} ms | {s_med_ms / TARGET_SMALL_MS:.2f} | {status(ok_small)} |")
        print(f"| 30-line file: peak memory (max RSS) | {s_peak_mb:.1f} MB | — | — | — |")
        if spawn_ms is not None:
            print(f"| process start alone (`/bin/true`, median) | {spawn_ms:.2f} ms | — | — | — |")

        if args.json:
            Path(args.json).write_text(json.dumps({
                "binary": str(flytec), "version": version, "seed": args.seed,
                "large": {"files": len(counts), "lines": total_lines, "bytes": total_bytes,
                          "one_core": {"wall_s": walls_1, "median_s": med, "lines_per_s": lps},
                          "all_cores": {"wall_s": walls, "median_s": med_all,
                                        "lines_per_s": lps_all},
                          "max_rss_bytes": max(rss)},
                "small": {"lines": small_lines, "wall_s": s_walls, "median_ms": s_med_ms,
                          "max_rss_bytes": max(s_rss)},
                "spawn_median_ms": spawn_ms,
                "targets": {"lines_per_s": TARGET_LINES_PER_S, "peak_mb": TARGET_PEAK_MB,
                            "small_ms": TARGET_SMALL_MS},
                "met": {"throughput": ok_lps, "memory": ok_mem, "latency": ok_small},
            }, indent=2) + "\n")
        if args.enforce_targets and not (ok_lps and ok_mem and ok_small):
            return 3
        return 0
    except TimeoutError as e:
        keep = True
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
