"""README.md and docs/: length, links, the CI test command, runnable examples."""

import re
import subprocess
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
TEST_COMMAND = 'python -m pip install ".[test]" && python -m pytest'

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _prose(text):
    """The text without its fenced code blocks (their brackets are code)."""
    return FENCE.sub("", text)


def _blocks(text, lang):
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == lang]


def _slug(heading):
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path):
    anchors, seen = set(), {}
    for line in _prose(path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if not m:
            continue
        slug = _slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_readme_is_at_most_250_lines():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= 250, f"README.md has {n} lines; move detail to docs/"


def test_slug_matches_github():
    assert _slug("Differences from Keras (fixes and stricter checks)") == (
        "differences-from-keras-fixes-and-stricter-checks")
    assert _slug("Reading: `fastcallbacks.npz`") == "reading-fastcallbacksnpz"
    assert _slug("CRC-32 and deflate libraries") == "crc-32-and-deflate-libraries"


def _broken_links(page):
    text = _prose(page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = _broken_links(page)
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_link_checker_finds_broken_links(tmp_path):
    """The check above can fail: a missing file, a missing anchor."""
    (tmp_path / "other.md").write_text("## Some `code` here\n", encoding="utf-8")
    page = tmp_path / "p.md"
    page.write_text("# Title\n[a](missing.md) [b](#nope) [c](#title) [d](other.md#some-code-here)\n"
                    "[e](other.md#gone) [f](https://example.org/x)\n```\n[g](in-code.md)\n```\n",
                    encoding="utf-8")
    assert _broken_links(page) == ["missing.md: no such file",
                                   "#nope: no heading with that anchor",
                                   "other.md#gone: no heading with that anchor"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_compile(page):
    """Every Python example in the docs is valid Python (the README's also run, below)."""
    for i, code in enumerate(_blocks(page.read_text(encoding="utf-8"), "python")):
        compile(code, f"{page.name} python block {i + 1}", "exec")


def test_ci_reads_the_test_command_from_the_readme():
    """.ci/run takes the fenced block after the marker; it must be this command."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    awk = re.search(r"awk '([^']+)' README.md", ci).group(1)
    out = subprocess.run(["awk", awk, str(README)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == TEST_COMMAND


@pytest.mark.keras
def test_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    """The README's Python blocks, in order, in one namespace (the usage
    examples build on the set-up block), in an empty folder: in this
    process, which has the package and Keras imported already (a fresh
    interpreter cost a Keras import, for nothing the examples check).
    Warnings are shown, not raised, as a user running them sees them."""
    blocks = _blocks(README.read_text(encoding="utf-8"), "python")
    assert len(blocks) >= 7  # the import swap, five callbacks, the book example
    book = blocks[-1]
    for name in ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "ActivationLogger"):
        assert f"fastcallbacks.{name}(" in book
    assert "keras.callbacks." not in book
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for i, source in enumerate(blocks):
            exec(compile(source, f"README.md python block {i + 1}", "exec"), namespace)
    # What the examples' comments say they print.
    lines = capsys.readouterr().out.splitlines()
    assert "(32, 16)" in lines and "1" in lines   # ActivationLogger, TerminateOnNaN
    rates = [float(r) for r in next(line for line in lines if line.startswith("[")).strip("[]").split(",")]
    assert rates[0] == rates[1] == 2 * rates[2]   # ReduceLROnPlateau halved it once
    assert "Epoch 1/10" in lines                  # the book example's fit is verbose
    # What the examples say they write.
    assert (tmp_path / "acts.npz").is_file() and (tmp_path / "my_model.h5").is_file()
    assert any(tmp_path.glob("ckpt/*.weights.h5"))
