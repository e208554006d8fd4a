"""bench/report.py: pytest-benchmark JSON -> README table."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data():
    def b(name, group, median, **extra):
        return {"name": name, "group": group, "stats": {"median": median}, "extra_info": extra}

    return {
        "machine_info": {"cpu": {"brand_raw": "TestCPU", "count": 2},
                         "python_implementation": "CPython", "python_version": "3.11.7"},
        "datetime": "2026-11-26T20:00:00",
        "benchmarks": [
            b("bench_x[keras]", "G1", 100e-6, anchor=True),
            b("bench_x[cython]", "G1", 1e-6, anchor=False),
            b("bench_y[memcpy]", "G2", 2e-3),
            b("bench_y[cython]", "G2", 3e-3),
        ],
    }


def test_table_ratios_use_the_marked_or_named_anchor(report):
    text = report.table(_data())
    assert "TestCPU, 2 cores" in text
    assert "| G1 | `keras` ⚓ | 100 µs | 1× |" in text
    assert "| G1 | `cython` | 1 µs | 0.01× |" in text
    # No marked anchor in G2: the "memcpy" row is the anchor by name.
    assert "| G2 | `memcpy` ⚓ | 2 ms | 1× |" in text
    assert "| G2 | `cython` | 3 ms | 1.5× |" in text


def test_readme_section_is_replaced_and_nothing_else(report, tmp_path):
    js = tmp_path / "b.json"
    js.write_text(json.dumps(_data()), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-table:start -->\nold\n<!-- bench-table:end -->\noutro\n",
                      encoding="utf-8")
    assert report.main([str(js), "--readme", str(readme)]) == 0
    out = readme.read_text(encoding="utf-8")
    assert out.startswith("intro\n<!-- bench-table:start -->\nMachine: ")
    assert "old" not in out and out.endswith("<!-- bench-table:end -->\noutro\n")


def test_readme_without_markers_is_an_error(report, tmp_path):
    js = tmp_path / "b.json"
    js.write_text(json.dumps(_data()), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        report.main([str(js), "--readme", str(readme)])
