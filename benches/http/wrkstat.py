#!/usr/bin/env python3
"""Parse `wrk --latency` output and print the HTTP bench summary.

  wrkstat.py parse FILE
      One wrk output as JSON: rps, p50_ms, p75_ms, p90_ms, p99_ms, requests,
      non2xx, socket_errors.

  wrkstat.py table [--baseline LABEL] [--ceiling PREFIX] [--check PREFIX]
                   [--target-rps N] [--target-p99-ms MS] LABEL=FILE...
      A Markdown table: requests/s, p50, p99, p99/p50, errors per target, the
      throughput ratio of each row to the baseline row, for a row
      `<check PREFIX>REST` its ratio to the row `<ceiling PREFIX>REST` (the
      same request against a bare server), and, for rows whose label starts
      with the check PREFIX, whether they meet the targets.
      Exit 0; 3 if any row had non-2xx answers or socket errors (its figures
      are not a measure of the server doing its job); 4 if STRICT=1 in the
      environment and a checked row missed a target.

Only the standard library: runs under any python3.
"""
import argparse
import json
import os
import re
import sys

# wrk prints durations with format_time_us: "us", "ms", "s", then "m", "h".
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse(text):
    out = {"non2xx": 0, "socket_errors": 0}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}%\s+(\S+)\s*$", text, re.M)
        if not m:
            raise ValueError(
                f"no {pct}% latency line: was wrk run with --latency, and did it finish?"
            )
        out[f"p{pct}_ms"] = _ms(m.group(1))
    m = re.search(r"^Requests/sec:\s+([0-9.]+)\s*$", text, re.M)
    if not m:
        raise ValueError("no Requests/sec line in wrk output")
    out["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+),", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
        out["duration_ms"] = _ms(m.group(2))
    m = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", text, re.M)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(
        r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
        text,
        re.M,
    )
    if m:
        out["socket_errors"] = sum(int(g) for g in m.groups())
        out["socket_errors_detail"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()))
        )
    return out


def _fmt_ms(v):
    if v < 1:
        return f"{v * 1000:.0f} µs"
    if v < 100:
        return f"{v:.2f} ms"
    return f"{v:.0f} ms"


def table(args):
    rows = []
    for item in args.rows:
        label, sep, path = item.partition("=")
        if not sep:
            sys.exit(f"wrkstat: expected LABEL=FILE, got {item!r}")
        with open(path, encoding="utf-8", errors="replace") as f:
            try:
                rows.append((label, parse(f.read())))
            except ValueError as e:
                sys.exit(f"wrkstat: {path}: {e}")
    base = dict(rows).get(args.baseline) if args.baseline else None
    if args.baseline and base is None:
        print(f"(baseline {args.baseline!r} not in this run: no ratio column)")

    by_label = dict(rows)

    def ceiling_of(label):
        if not (args.ceiling and args.check and label.startswith(args.check)):
            return None
        return by_label.get(args.ceiling + label[len(args.check):])

    head = ["target", "requests/s", "p50", "p99", "p99/p50", "errors"]
    if base:
        head.append(f"× {args.baseline} req/s")
    if args.ceiling:
        head.append(f"× {args.ceiling}* req/s")
    if args.check:
        head.append(f"≥ {args.target_rps:,.0f} req/s, p99 ≤ {args.target_p99_ms:g} ms")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    bad_errors = missed = False
    for label, r in rows:
        errors = r["non2xx"] + r["socket_errors"]
        bad_errors |= errors > 0
        parts = [f"{r['non2xx']} non-2xx"] if r["non2xx"] else []
        parts += [f"{k} {v}" for k, v in r.get("socket_errors_detail", {}).items() if v]
        err_txt = ", ".join(parts) or "0"
        spread = f"{r['p99_ms'] / r['p50_ms']:.2f}" if r["p50_ms"] > 0 else "n/a"
        cells = [
            label,
            f"{r['rps']:,.0f}",
            _fmt_ms(r["p50_ms"]),
            _fmt_ms(r["p99_ms"]),
            spread,
            err_txt,
        ]
        if base:
            if label == args.baseline:
                cells.append("baseline")
            else:
                cells.append(f"{r['rps'] / base['rps']:,.1f}×" if base["rps"] > 0 else "n/a")
        if args.ceiling:
            top = ceiling_of(label)
            cells.append(f"{r['rps'] / top['rps']:.2f}×" if top and top["rps"] > 0 else "")
        if args.check:
            if label.startswith(args.check):
                ok_rps = r["rps"] >= args.target_rps
                ok_p99 = r["p99_ms"] <= args.target_p99_ms
                missed |= not (ok_rps and ok_p99 and not errors)
                cells.append(
                    ("met" if ok_rps and ok_p99 else "MISSED")
                    + ("" if ok_rps else " (req/s)")
                    + ("" if ok_p99 else " (p99)")
                    + ("" if not errors else ", errors")
                )
            else:
                cells.append("")
        print("| " + " | ".join(cells) + " |")
    if bad_errors:
        print("\nSome runs had non-2xx answers or socket errors: their figures are not valid.")
        return 3
    if missed and os.environ.get("STRICT") == "1":
        return 4
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("parse")
    pp.add_argument("file")
    pt = sub.add_parser("table")
    pt.add_argument("--baseline")
    pt.add_argument("--ceiling")
    pt.add_argument("--check")
    pt.add_argument("--target-rps", type=float, default=40_000)
    pt.add_argument("--target-p99-ms", type=float, default=2.0)
    pt.add_argument("rows", nargs="+")
    args = p.parse_args()
    if args.cmd == "parse":
        with open(args.file, encoding="utf-8", errors="replace") as f:
            try:
                print(json.dumps(parse(f.read())))
            except ValueError as e:
                sys.exit(f"wrkstat: {args.file}: {e}")
        return 0
    return table(args)


if __name__ == "__main__":
    sys.exit(main())
