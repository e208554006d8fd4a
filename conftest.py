"""Repository-level pytest switches: `pytest` runs tests/, `pytest --benchmark` runs bench/."""

from pathlib import Path

ROOT = Path(__file__).parent


def pytest_addoption(parser):
    parser.addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run the benchmarks in bench/ (pytest-benchmark) instead of the tests",
    )


def pytest_ignore_collect(collection_path, config):
    bench = config.getoption("--benchmark")
    path = Path(collection_path).resolve()
    if path.is_relative_to(ROOT / "bench"):
        return None if bench else True
    if path.is_relative_to(ROOT / "tests"):
        return True if bench else None
    return None
