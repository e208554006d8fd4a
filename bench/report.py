"""Turn a pytest-benchmark JSON file into the README's performance table.

    python -m pytest --benchmark --benchmark-json=bench.json
    python bench/report.py bench.json              # print the table
    python bench/report.py bench.json --readme README.md   # rewrite it in place

Each group (one `benchmark.group`) becomes a block of rows; every row shows
its median and its ratio to the group's anchor, the row a benchmark marked
with `benchmark.extra_info["anchor"] = True` (Keras's own callback, a
memcpy, np.savez, a raw write, the reference, one thread ...). The README
section between `<!-- bench-table:start -->` and `<!-- bench-table:end -->`
is replaced; nothing else is touched.
"""

import argparse
import json
import re
import sys

START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
KEYWORDS = ("keras", "memcpy", "savez", "raw", "python", "none")


def _fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _param(bench):
    name = bench["name"]
    m = re.search(r"\[(.*)\]$", name)
    return m.group(1) if m else name


def _anchor(rows):
    marked = [b for b in rows if b.get("extra_info", {}).get("anchor")]
    if marked:
        return marked[0]
    for key in KEYWORDS:
        for b in rows:
            if key in _param(b).split("-"):
                return b
    return min(rows, key=lambda b: b["stats"]["median"])


def machine_line(data):
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {})
    return (
        f"{cpu.get('brand_raw', info.get('processor', '?'))}, "
        f"{cpu.get('count', '?')} cores, {info.get('python_implementation', '')} "
        f"{info.get('python_version', '')}, {data.get('datetime', '')[:10]}"
    )


def _is_summary(bench):
    # A benchmark that only carries ratios computed from interleaved runs
    # (its own timing is meaningless): listed below the table.
    return bench["name"].endswith("_ratios")


def _summary_lines(bench):
    info = {k: v for k, v in bench.get("extra_info", {}).items() if k != "anchor"}
    lines = []
    for key, value in info.items():
        if isinstance(value, list):
            lines.extend(f"- {item}" for item in value)
        else:
            lines.append(f"- {key}: {value}")
    return lines


def table(data):
    groups = {}
    summaries = []
    for b in data["benchmarks"]:
        if _is_summary(b):
            summaries.append(b)
            continue
        groups.setdefault(b.get("group") or b["name"], []).append(b)
    lines = [
        f"Machine: {machine_line(data)}. Medians; ratio = median / anchor median "
        "(anchor marked ⚓, measured in the same run).",
        "",
        "| benchmark | case | median | ratio to anchor |",
        "| --- | --- | --- | --- |",
    ]
    for group in sorted(groups):
        rows = sorted(groups[group], key=lambda b: b["name"])
        anchor = _anchor(rows)
        base = anchor["stats"]["median"]
        for b in rows:
            ratio = b["stats"]["median"] / base if base else float("nan")
            mark = " ⚓" if b is anchor else ""
            extra = b.get("extra_info", {})
            note = ""
            if "ratio_to_keras_import" in extra:
                note = (f" (import itself: {_fmt_time(extra['fastcallbacks_import_s_median'])}, "
                        f"{100 * extra['ratio_to_keras_import']:.1f}% of `import keras`)")
            lines.append(
                f"| {group} | `{_param(b)}`{mark} | {_fmt_time(b['stats']['median'])}{note} "
                f"| {ratio:.3g}× |"
            )
    for b in summaries:
        lines += ["", f"{b.get('group') or b['name']} (ratios from interleaved runs, "
                      "throughput or stall relative to the anchor named in each line):", ""]
        lines += _summary_lines(b)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file")
    parser.add_argument("--readme", help="rewrite the marked section of this file")
    args = parser.parse_args(argv)
    with open(args.json_file, encoding="utf-8") as f:
        data = json.load(f)
    text = table(data)
    if not args.readme:
        sys.stdout.write(text)
        return 0
    with open(args.readme, encoding="utf-8") as f:
        readme = f.read()
    if START not in readme or END not in readme:
        parser.error(f"{args.readme} has no {START} ... {END} section")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(args.readme, "w", encoding="utf-8") as f:
        f.write(f"{head}{START}\n{text}{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
