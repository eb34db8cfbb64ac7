#!/usr/bin/env python3
"""Tabulates the output of run36-gemm.sh: median GFLOP/s per library, shape and thread count.

Usage: gemm_table.py RAW_FILE [--round N]

Peers print JSON lines (numpy, torch, gemm-bench); Strata's criterion lines read
`test gemm/LABEL/MxKxN ... bench: NS ns/iter`, turned into GFLOP/s as 2·m·k·n / ns.
Without --round every round is shown, one table each.
"""
import argparse
import json
import re
from collections import defaultdict

BENCH = re.compile(r"^test gemm/(?P<label>[^/]+)/(?P<m>\d+)x(?P<k>\d+)x(?P<n>\d+) \.\.\. bench:\s+(?P<ns>[\d,]+) ns/iter")
HEADER = re.compile(r"^== round (?P<round>\d+) (?P<what>.*?) t=(?P<t>\d+)")


def parse(path):
    """Returns {round: {(lib, threads, shape): gflops}}."""
    table = defaultdict(dict)
    rnd, threads = 0, 0
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        head = HEADER.match(line)
        if head:
            rnd, threads = int(head["round"]), int(head["t"])
            continue
        if line.startswith("{"):
            row = json.loads(line)
            if "shape" not in row:
                continue
            lib = row["lib"] + ("-" + row["tag"] if row.get("tag") else "")
            table[rnd][(lib, row["threads"], tuple(row["shape"]))] = row["gflops_median"]
            continue
        bench = BENCH.match(line)
        if bench:
            m, k, n = int(bench["m"]), int(bench["k"]), int(bench["n"])
            ns = int(bench["ns"].replace(",", ""))
            lib = "strata:" + bench["label"]
            table[rnd][(lib, threads, (m, k, n))] = 2.0 * m * k * n / ns
    return table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--round", type=int)
    args = parser.parse_args()
    table = parse(args.raw)
    for rnd in sorted(table):
        if args.round is not None and rnd != args.round:
            continue
        rows = table[rnd]
        libs = sorted({lib for lib, _, _ in rows})
        for threads in sorted({t for _, t, _ in rows}):
            shapes = sorted({s for _, t, s in rows if t == threads})
            print(f"## round {rnd}, {threads} thread(s)")
            print("| lib | " + " | ".join("×".join(map(str, s)) for s in shapes) + " |")
            print("|---" * (len(shapes) + 1) + "|")
            for lib in libs:
                cells = [rows.get((lib, threads, s)) for s in shapes]
                if all(c is None for c in cells):
                    continue
                print(f"| {lib} | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |")
            print()


if __name__ == "__main__":
    main()
