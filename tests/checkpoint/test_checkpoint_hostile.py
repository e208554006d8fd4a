"""Hostile files in a checkpoint directory: stray temporary names, garbage
and non-regular sidecars, symlinks planted at temporary names (issue 12,
items 12 and 13). Nothing found in a directory may break a run, block it,
or make a save write outside the files it owns."""

import itertools
import json
import os
import secrets
import subprocess
import sys
import textwrap
import threading
import uuid
import warnings

import pytest

import fastcallbacks
from ckpt_utils import classifier
from fastcallbacks import checkpoint

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file types and pids")


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _commit_bytes(path, content):
    tmp = checkpoint.temp_path(path)
    with open(tmp, "wb") as f:
        f.write(content)
    return checkpoint.commit(tmp, path)


# -- stray temporary names (item 12) -------------------------------------------

_GARBAGE_PIDS = ["99999999999999999999", "\u0661\u0662\u0663", "\u00b2", "0", "4294967296", "-5", ""]


@posix_only
def test_remove_stale_temps_skips_garbage_pids_and_warns_once(tmp_path):
    tag = f"{checkpoint._TMP_MARK}{checkpoint._host_tag()}-"
    garbage = [f".x{tag}{pid}-0" for pid in _GARBAGE_PIDS]
    stale = f".x{tag}{_dead_pid()}-0123456789ab.weights.h5"
    for name in garbage + [stale]:
        (tmp_path / name).write_bytes(b"x")
    with pytest.warns(UserWarning) as record:
        removed = checkpoint.remove_stale_temps(tmp_path)
    assert removed == [str(tmp_path / stale)]
    # one warning per skipped entry, naming it
    assert len(record) == len(garbage)
    assert all(any(repr(str(tmp_path / n)) in str(w.message) for w in record) for n in garbage)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkpoint.remove_stale_temps(tmp_path) == []  # warned once only
    assert sorted(os.listdir(tmp_path)) == sorted(garbage)


@posix_only
def test_remove_stale_temps_removes_dead_temp_dirs_but_not_through_symlinks(tmp_path):
    # A save through Keras's own saver that is killed leaves a private
    # temporary directory; a symlink named like one is removed, never its
    # target.
    tag = f"{checkpoint._TMP_MARK}{checkpoint._host_tag()}-{_dead_pid()}-"
    ckpt, outside = tmp_path / "ckpt", tmp_path / "outside"
    ckpt.mkdir()
    outside.mkdir()
    (outside / "keep").write_bytes(b"keep")
    stale_dir = ckpt / f".m.h5{tag}0123456789ab.d"
    stale_dir.mkdir(mode=0o700)
    (stale_dir / "checkpoint.h5").write_bytes(b"partial")
    link = ckpt / f".m.h5{tag}ba9876543210.d"
    link.symlink_to(outside, target_is_directory=True)
    removed = checkpoint.remove_stale_temps(ckpt)
    assert sorted(removed) == sorted([str(stale_dir), str(link)])
    assert os.listdir(ckpt) == []
    assert (outside / "keep").read_bytes() == b"keep"


@posix_only
def test_a_stray_temp_name_does_not_break_fit(tmp_path):
    tag = f"{checkpoint._TMP_MARK}{checkpoint._host_tag()}-"
    (tmp_path / f".m.weights.h5{tag}99999999999999999999-0").write_bytes(b"x")
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "m.weights.h5"), save_weights_only=True)
    model = classifier(build=True)
    cb.set_model(model)
    with pytest.warns(UserWarning, match="not a process id"):
        cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_train_end()
    assert checkpoint.verify(tmp_path / "m.weights.h5")


# -- garbage sidecars (item 12) ------------------------------------------------


def _sidecar_text(time_ns):
    entry = {"size": 1, "sha256": "0" * 64}
    text = json.dumps({"format": "fastcallbacks-checksum-1", "entries": [entry]})
    return text.replace('"sha256"', f'"time_ns": {time_ns}, "sha256"')


_BAD_SIDECARS = {
    "time_string": _sidecar_text('"123"'),
    "time_null": _sidecar_text("null"),
    "time_inf": _sidecar_text("1e400"),
    "time_nan": _sidecar_text("NaN"),
    "time_float": _sidecar_text("1.5"),
    "time_bool": _sidecar_text("true"),
    "time_huge": _sidecar_text("9" * 30),
    "deep": '{"format": "fastcallbacks-checksum-1", "entries": ' + "[" * 20000 + "]" * 20000 + "}",
    "not_utf8": b"\xff\xfe{}",
    "huge": "[" + " " * (1 << 17) + "]",
    "entries_dict": '{"format": "fastcallbacks-checksum-1", "entries": {}}',
    "list": "[1, 2]",
    "size_string": '{"format": "fastcallbacks-checksum-1", "entries": [{"size": "1", "sha256": "x"}]}',
}


@pytest.mark.parametrize("kind", sorted(_BAD_SIDECARS))
def test_latest_good_and_verify_skip_a_garbage_sidecar(tmp_path, kind):
    good = tmp_path / "a.bin"
    _commit_bytes(good, b"good")
    bad = tmp_path / "z.bin"
    bad.write_bytes(b"x")
    content = _BAD_SIDECARS[kind]
    side = checkpoint.sidecar_path(bad)
    with open(side, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    with pytest.warns(UserWarning, match="z.bin.checksum.json"):
        assert checkpoint.latest_good(tmp_path) == str(good)
    with warnings.catch_warnings():  # once per file
        warnings.simplefilter("error")
        assert checkpoint.latest_good(tmp_path) == str(good)
        assert checkpoint.verify(bad) is False
    assert checkpoint.verify(good)


_NON_REGULAR = textwrap.dedent(
    """
    import os, sys, warnings
    from fastcallbacks import checkpoint
    warnings.simplefilter("ignore")
    d = sys.argv[1]
    good = os.path.join(d, "a.bin")
    tmp = checkpoint.temp_path(good)
    with open(tmp, "wb") as f:
        f.write(b"good")
    checkpoint.commit(tmp, good)
    for name in ("fifo", "dir", "link", "dangling"):
        path = os.path.join(d, name + ".bin")
        with open(path, "wb") as f:
            f.write(b"good")  # what the sidecar of a.bin accepts
        side = checkpoint.sidecar_path(path)
        if name == "fifo":
            os.mkfifo(side)
        elif name == "dir":
            os.mkdir(side)
        elif name == "link":
            os.symlink(checkpoint.sidecar_path(good), side)
        else:
            os.symlink(os.path.join(d, "missing"), side)
        assert checkpoint.verify(path) is False, name
    assert checkpoint.latest_good(d) == good
    # a commit over a FIFO sidecar replaces it, never reads it
    tmp = checkpoint.temp_path(good)
    with open(tmp, "wb") as f:
        f.write(b"x")
    checkpoint.commit(tmp, os.path.join(d, "fifo.bin"))
    assert checkpoint.verify(os.path.join(d, "fifo.bin"))
    print("OK")
    """
)


@posix_only
def test_non_regular_sidecars_never_block_or_verify(tmp_path):
    # A FIFO blocks a blocking open forever: in a subprocess with a limit.
    src = os.path.join(os.path.dirname(checkpoint.__file__), os.pardir)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
    proc = subprocess.run([sys.executable, "-c", _NON_REGULAR, str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "OK"


# -- symlinks planted at temporary names (item 13) -----------------------------


class _Predictable:
    """Random parts of temporary names (uuid4 and secrets.token_hex alike)
    made predictable: the n-th name gets random part n."""

    def __init__(self):
        self._count = itertools.count(1)

    def token_hex(self, nbytes=32):
        return f"{next(self._count):0{2 * nbytes}x}"

    def uuid4(self):
        return uuid.UUID(int=next(self._count) << 80)  # .hex[:12]: the count


def _names(target, values, suffixes):
    """Every temporary name of `target` a save can use (either name format
    of the random part), for random parts `values`."""
    directory, base = os.path.split(str(target))
    head = f".{base}{checkpoint._TMP_MARK}{checkpoint._host_tag()}-{os.getpid()}-"
    out = []
    for v in values:
        for rand in (f"{v:024x}", f"{v:012x}"):
            out += [os.path.join(directory, head + rand + s) for s in suffixes]
    return out


_SUFFIXES = ("", ".keras", ".weights.h5", ".h5", ".old", ".d")


@posix_only
@pytest.mark.parametrize("target,kwargs", [
    ("m.keras", {}),
    ("m.weights.h5", {"save_weights_only": True}),
    ("m.weights.h5", {"save_weights_only": True, "async_save": True}),
    ("m.h5", {}),  # Keras's own saver (legacy format)
])
def test_planted_symlinks_at_temp_names_are_never_followed(tmp_path, monkeypatch, target, kwargs):
    fake = _Predictable()
    monkeypatch.setattr(secrets, "token_hex", fake.token_hex)
    monkeypatch.setattr(uuid, "uuid4", fake.uuid4)
    ckpt_dir, victims = tmp_path / "ckpt", tmp_path / "victims"
    ckpt_dir.mkdir()
    victims.mkdir()
    path = ckpt_dir / target
    values = range(1, 9)
    planted = _names(path, values, _SUFFIXES) + _names(checkpoint.sidecar_path(path), values, ("",))
    # the weights temp of a .keras temp is named after it
    for outer in _names(path, values, (".keras",)):
        planted += _names(outer, values, (".weights.h5",))
    planted = list(dict.fromkeys(planted))
    for i, name in enumerate(planted):
        victim = victims / f"v{i}"
        if i % 2:
            victim.write_bytes(b"victim")  # half point at files, half dangle
        os.symlink(victim, name)
    cb = fastcallbacks.ModelCheckpoint(str(path), checksum=True, **kwargs)
    model = classifier(build=True)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
    cb.on_train_end()
    for i in range(len(planted)):
        victim = victims / f"v{i}"
        if i % 2:
            assert victim.read_bytes() == b"victim", planted[i]
        else:
            assert not victim.exists(), planted[i]
    assert checkpoint.verify(path)
    assert all(os.path.islink(n) for n in planted)


@posix_only
@pytest.mark.parametrize("target,kwargs", [
    ("m.keras", {}),
    ("m.weights.h5", {"save_weights_only": True}),
])
def test_symlinks_raced_onto_temp_names_are_never_written(tmp_path, target, kwargs):
    """A thread swaps every temporary file it sees for a symlink: saves may
    fail (OSError), but no symlink target is ever written or created."""
    ckpt_dir, victims = tmp_path / "ckpt", tmp_path / "victims"
    ckpt_dir.mkdir()
    victims.mkdir()
    stop = threading.Event()
    swapped = []

    def attacker():
        n = 0
        while not stop.is_set():
            for name in os.listdir(ckpt_dir):
                if not checkpoint.is_temp_name(name) or name.endswith(".link"):
                    continue
                victim = victims / f"v{n}"
                if n % 2:
                    victim.write_bytes(b"victim")
                link = ckpt_dir / f".{n}.link"
                n += 1
                os.symlink(victim, link)
                try:
                    os.replace(link, ckpt_dir / name)
                    swapped.append(name)
                except OSError:
                    os.unlink(link)

    cb = fastcallbacks.ModelCheckpoint(str(ckpt_dir / target), **kwargs)
    cb.set_model(classifier(build=True))
    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    try:
        for epoch in range(12):
            cb.on_epoch_begin(epoch)
            try:
                cb.on_epoch_end(epoch, {"val_loss": 1.0})
            except OSError:
                pass  # the swap was noticed
    finally:
        stop.set()
        thread.join(10)
    for victim in victims.iterdir():
        assert victim.read_bytes() == b"victim", (victim, swapped)


@posix_only
def test_fd_path_reaches_the_created_file_whatever_is_at_its_name(tmp_path, monkeypatch):
    from fastcallbacks import _tempfiles

    name, fd = checkpoint.create_temp(tmp_path / "m.keras", ".keras")
    try:
        victim = tmp_path / "victim"
        victim.write_bytes(b"victim")
        os.unlink(name)
        os.symlink(victim, name)
        path = _tempfiles.fd_path(fd, name)
        if os.path.isdir("/proc/self/fd"):
            assert path != name
            with open(path, "wb") as f:
                f.write(b"ours")
            assert os.pread(fd, 10, 0) == b"ours"
        assert victim.read_bytes() == b"victim"
        monkeypatch.setattr(_tempfiles, "_proc_fd", lambda: False)
        assert _tempfiles.fd_path(fd, name) == name
    finally:
        os.close(fd)


def test_a_directory_at_the_sidecar_name_is_reported_as_such(tmp_path):
    os.mkdir(checkpoint.sidecar_path(tmp_path / "m.weights.h5"))
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "m.weights.h5"), save_weights_only=True,
                                       checksum=True)
    cb.set_model(classifier(build=True))
    cb.on_epoch_begin(0)
    with pytest.raises(FileExistsError, match="checksum sidecar"):
        cb.on_epoch_end(0, {"val_loss": 1.0})
    assert not (tmp_path / "m.weights.h5").exists()
    assert [n for n in os.listdir(tmp_path) if checkpoint.is_temp_name(n)] == []
