"""Scenarios of test_fork, run as `python fork_worker.py IMPL DIR SCENARIO...`.

Each scenario runs in its own process, forked from this (thread-free)
driver once it has imported numpy and the implementation, so the scenarios
share one interpreter start; the driver bounds each scenario's time and
prints one JSON object {scenario: "ok" or what failed}.

The process forks while an object with a background thread is busy. The
child does one thing and then exits normally (interpreter teardown frees
every object, which must not wait for the parent's threads); it reports
through its exit status. The parent waits for the child with a time limit
(killing it if it hangs), then checks that its own object still works.
A scenario reports "ok" when every check passed.
"""

import gc
import importlib
import json
import os
import signal
import sys
import threading
import time

import numpy as np

PACKAGES = {"cython": "fastcallbacks._core", "python": "fastcallbacks._reference"}
CHILD_TIMEOUT = 60.0
SCENARIO_TIMEOUT = 150.0   # a scenario process (the parent of the fork) that hangs
# Scenarios run one at a time by default: in parallel their forks and
# 100 MB writes contend (2-4 at a time took 2x the time and 5x the system CPU).
PARALLEL = int(os.environ.get("FORK_WORKER_PARALLEL", "1"))

# Child exit statuses.
RAISED = 0         # the call raised RuntimeError naming another process
SUCCEEDED = 3      # the call returned normally
OTHER_ERROR = 4    # the call raised something else
WRONG_DATA = 5


def wait_child(pid):
    """The child's exit status; kills it and fails if it hangs."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                sys.exit(f"the child died of signal {os.WTERMSIG(status)}")
            return os.WEXITSTATUS(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit("the child hung (killed after %.0f s)" % CHILD_TIMEOUT)


def child_call(fn):
    try:
        fn()
    except RuntimeError as e:
        if "created in another process" not in str(e):
            print(f"child: unexpected message {e}", file=sys.stderr)
            return OTHER_ERROR
        return RAISED
    except BaseException as e:  # reported through the exit status
        print(f"child: {type(e).__name__}: {e}", file=sys.stderr)
        return OTHER_ERROR
    return SUCCEEDED


_GLOBAL = []


def npz_child(holder, action):
    if action == "drop":
        holder.clear()   # frees the writer now
        gc.collect()
        return RAISED
    if action == "exit":
        _GLOBAL.extend(holder)   # freed by the interpreter's teardown
        return RAISED
    w = holder[0]
    calls = {
        "commit": w.commit,
        "close": w.close,
        "add": lambda: w.add("child", np.zeros(3)),
        "pending": lambda: w.pending,
        "exit_with": lambda: w.__exit__(None, None, None),
    }
    return child_call(calls[action])


def npz_scenario(impl, action, directory):
    """NpzWriter open (its thread busy writing) across fork."""
    mod = importlib.import_module(PACKAGES[impl] + ".npzwriter")
    path = os.path.join(directory, "w.npz")
    big = np.arange((32 << 20) // 8, dtype="f8")
    w = mod.NpzWriter(path, queue_bytes=256 << 20)
    w.add("before", np.arange(10.0))
    w.commit()
    idle = action.endswith("_idle")
    action = action.replace("_idle", "")
    for k in range(3):
        w.add(f"big{k}", big)   # queued: the writer thread is busy at the fork
    if idle:
        w.commit()   # the writer thread waits for work at the fork
    pid = os.fork()
    if pid == 0:
        holder = [w]
        del w
        sys.exit(npz_child(holder, action))   # a normal exit
    status = wait_child(pid)
    expected = RAISED
    if status != expected:
        sys.exit(f"child status {status}, expected {expected}")
    # The parent is unaffected.
    w.add("after", np.ones(4))
    w.close()
    with np.load(path) as f:
        names = sorted(f.files)
        if names != ["after", "before", "big0", "big1", "big2"]:
            sys.exit(f"members {names}")
        if not (np.array_equal(f["big2"], big) and np.array_equal(f["after"], np.ones(4))):
            sys.exit("wrong member data")
    os.remove(path)   # checked: spare the disk the write-back of ~100 MB


def snapshot_scenario(impl, action, directory):
    """WeightSnapshot across fork: a thread of the parent busy in
    capture_while ("thread"), or the fork inside capture_while's fn ("fn")."""
    mod = importlib.import_module(PACKAGES[impl] + ".snapshot")
    snap = mod.WeightSnapshot()
    src = [np.arange((16 << 20) // 8, dtype="f8"), np.arange(100.0)]
    stop = threading.Event()
    busy = None
    if action == "thread":
        def loop():
            while not stop.is_set():
                out, _ = snap.capture_while(src, lambda: time.sleep(0.001))
                assert all(np.array_equal(o, s) for o, s in zip(out, src))
        busy = threading.Thread(target=loop)
        busy.start()
        time.sleep(0.05)
        pid = os.fork()
        forked_copies = None
    else:
        forked_copies, pid = snap.capture_while(src, os.fork)
    if pid == 0:
        code = RAISED
        if forked_copies is not None and not all(
                np.array_equal(o, s) for o, s in zip(forked_copies, src)):
            code = WRONG_DATA
        # The child may go on using the snapshot.
        other = [s + 1 for s in src]
        for _ in range(3):
            out, _ = snap.capture_while(other, lambda: None)
            if not all(np.array_equal(o, s) for o, s in zip(out, other)):
                code = WRONG_DATA
            out = snap.capture(src)
            if not all(np.array_equal(o, s) for o, s in zip(out, src)):
                code = WRONG_DATA
        sys.exit(code)
    status = wait_child(pid)
    stop.set()
    if busy is not None:
        busy.join()
    if status != RAISED:
        sys.exit(f"child status {status}")
    if forked_copies is not None and not all(
            np.array_equal(o, s) for o, s in zip(forked_copies, src)):
        sys.exit("wrong data in the parent")
    out = snap.capture(src)
    if not all(np.array_equal(o, s) for o, s in zip(out, src)):
        sys.exit("wrong data in the parent after the fork")


def start_scenario(impl, scenario, directory):
    """Starts one scenario in a process forked from this driver; returns its
    pid. The scenario process exits normally (interpreter teardown), as a
    process of its own would, after writing its result ("ok" or what
    failed) to DIR/result.txt and its stderr to DIR/stderr.txt."""
    kind, action = scenario.split(":")
    os.makedirs(directory)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    me = os.getpid()
    err = os.open(os.path.join(directory, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(err, 2)
    os.close(err)
    result = "ok"
    try:
        {"npz": npz_scenario, "snapshot": snapshot_scenario}[kind](impl, action, directory)
    except SystemExit as e:
        if os.getpid() != me:
            raise   # the scenario's own child exiting: not a result
        result = f"failed: {e.code}"
    except BaseException as e:
        if os.getpid() != me:
            raise
        import traceback

        traceback.print_exc()
        result = f"failed: {type(e).__name__}: {e}"
    with open(os.path.join(directory, "result.txt"), "w") as f:
        f.write(result)
    sys.exit(0)   # a normal exit, its teardown included


def scenario_result(scenario, directory, status):
    try:
        with open(os.path.join(directory, "result.txt")) as f:
            result = f.read()
    except OSError:
        result = "no result"
    with open(os.path.join(directory, "stderr.txt")) as f:
        err = f.read()
    if status != 0 or result != "ok":
        return f"{scenario}: status {status}, {result}\n{err[-3000:]}"
    return "ok"


def main():
    """Runs the scenarios, at most PARALLEL at a time, each with its own
    time limit."""
    impl, directory = sys.argv[1:3]
    importlib.import_module(PACKAGES[impl] + ".npzwriter")
    importlib.import_module(PACKAGES[impl] + ".snapshot")
    todo = list(enumerate(sys.argv[3:]))
    running = {}   # pid -> (scenario, directory, deadline)
    results = {}
    while todo or running:
        while todo and len(running) < PARALLEL:
            i, scenario = todo.pop(0)
            path = os.path.join(directory, str(i))
            pid = start_scenario(impl, scenario, path)
            running[pid] = (scenario, path, time.monotonic() + SCENARIO_TIMEOUT)
        for pid, (scenario, path, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results[scenario] = f"{scenario}: the parent hung"
                del running[pid]
            elif done:
                results[scenario] = scenario_result(scenario, path, status)
                del running[pid]
        time.sleep(0.01)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
