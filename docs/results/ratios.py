#!/usr/bin/env python3
"""Per-round speed ratios of Strata against a peer, from the raw files of the side-by-side runs.

  python3 docs/results/ratios.py FILE [FILE ...] [--peer burn-flex[,torch,...]] [--strata LABEL]

Each FILE holds lines `round=R <Strata key=value line>` and `round=R <peer JSON line>` as the
run scripts here write them (run19.sh, run11.sh, ...). For every round and workload (W1 `mlp`:
median epoch seconds; W3 `transfer`: total seconds; W2 `bn`: median epoch seconds), the best
configuration of each side (the fewest seconds over its thread counts; a configuration measured
more than once in a round, as in ABBA runs, counts with the mean of its runs) is compared: the ratio
is peer / Strata, so 2.0 means Strata is twice as fast. A Strata line may carry a label
between `round=R` and its key=value pairs (`strata`, `kernel=default`, `build=new`, ...); only
lines with the label LABEL count (default: `kernel=default`, `strata`, or no label), so
that the other variants of A/B runs are left out. Only SGD runs count (the peers' optimizer).
With several peers (`--peer burn-flex,torch`) each round's ratio is against the best of them
(the fewest seconds over every listed peer's configurations), and its line names that peer.
Prints one line per round and a summary per workload and file: the median ratio and how many
rounds reach 2x.
"""
import json
import re
import statistics
import sys


def seconds(workload, fields):
    if workload == "transfer":
        return float(fields["total_s"])
    return float(fields["median_epoch_s"])


STRATA_KEYS = ("workload", "threads", "steps_per_epoch", "optimizer")


def parse(path, peer, label):
    runs = {}  # (round, workload, side, threads) -> [seconds]
    names = {}  # (round, workload, peer:threads) -> peer
    with open(path) as f:
        for line in f:
            m = re.match(r"round=(\d+) (.*)", line.strip())
            if not m:
                continue
            rnd, rest = int(m.group(1)), m.group(2)
            if rest.startswith("{"):
                d = json.loads(rest)
                if d.get("peer") not in peer.split(",") or d.get("workload") not in (
                    "mlp",
                    "bn",
                    "transfer",
                ):
                    continue
                side, workload, s = "peer", d["workload"], seconds(d["workload"], d)
                threads = f'{d["peer"]}:{d.get("threads")}'
                names[(rnd, workload, threads)] = d["peer"]
            else:
                tokens = rest.split()
                first = tokens[0] if tokens else ""
                has_label = not any(first.startswith(k + "=") for k in STRATA_KEYS)
                this = first if has_label else ""
                if (label is None and this not in ("", "strata", "kernel=default")) or (
                    label is not None and this != label
                ):
                    continue
                fields = dict(kv.split("=", 1) for kv in tokens if "=" in kv)
                if fields.get("workload") not in ("mlp", "bn", "transfer"):
                    continue
                if fields.get("optimizer", "sgd") != "sgd":
                    continue
                side, workload, s = "strata", fields["workload"], seconds(fields["workload"], fields)
                threads = fields.get("threads")
            runs.setdefault((rnd, workload, side, str(threads)), []).append(s)
    best = {}  # (round, workload, side) -> (seconds of the best configuration, peer name)
    for (rnd, workload, side, config), values in runs.items():
        s = sum(values) / len(values)
        key = (rnd, workload, side)
        if key not in best or s < best[key][0]:
            best[key] = (s, names.get((rnd, workload, config), side))
    return best


def main():
    args = sys.argv[1:]
    peer, label = "burn-flex", None
    for flag in ("--peer", "--strata"):
        if flag in args:
            i = args.index(flag)
            if flag == "--peer":
                peer = args[i + 1]
            else:
                label = args[i + 1]
            del args[i : i + 2]
    if not args:
        sys.exit(__doc__)
    for path in args:
        best = parse(path, peer, label)
        ratios = {}
        for (rnd, workload, side), (s, _) in sorted(best.items()):
            if side != "strata" or (rnd, workload, "peer") not in best:
                continue
            peer_s, name = best[(rnd, workload, "peer")]
            r = peer_s / s
            ratios.setdefault(workload, []).append(r)
            print(f"{path} round={rnd} workload={workload} strata_s={s:.4f} "
                  f"{name}_s={peer_s:.4f} ratio={r:.2f}")
        for workload, rs in sorted(ratios.items()):
            print(f"{path} workload={workload} rounds={len(rs)} median_ratio={statistics.median(rs):.2f} "
                  f"min={min(rs):.2f} at_least_2x={sum(r >= 2.0 for r in rs)}")


if __name__ == "__main__":
    main()
