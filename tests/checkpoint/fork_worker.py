"""ModelCheckpoint(async_save=True) across os.fork(), for test_checkpoint_fork.

Usage: `python fork_worker.py IMPL=DIR [IMPL=DIR ...]` (KERAS_BACKEND=numpy,
or torch without JAX: the hooks run without fit). IMPL is a core
implementation ("cython" or "python"). For each pair, a process forked from
this one (Keras imported once for all) switches to IMPL and runs the
scenario in DIR: the parent saves once, starts a second save and forks
while it is in flight; the child saves, ends training and exits; the parent
waits for it (killing it if it hangs), saves again and ends. Prints the
files of each process ("IMPL child|parent FILES...") and, per IMPL, its
outcome: "IMPL status ok", "IMPL status MESSAGE" (the child hung or failed,
or the scenario raised) or "IMPL status hung" (the scenario's parent hung).
"""

import os
import signal
import sys
import time
import traceback

import keras

import fastcallbacks as fc
from fastcallbacks import _impl


def scenario(impl, directory):
    """Returns None, or what went wrong."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    mc = fc.ModelCheckpoint(os.path.join(directory, "m{epoch}.weights.h5"),
                            save_weights_only=True, async_save=True)
    mc.set_model(model)
    mc.on_train_begin()
    mc.on_epoch_end(0, {"val_loss": 1.0})
    mc.flush()                                 # the saver thread is idle now
    mc.on_epoch_end(1, {"val_loss": 1.0})      # and busy at the fork
    pid = os.fork()
    if pid == 0:
        mc.on_epoch_end(2, {"val_loss": 1.0})  # was: queued for a thread that
        mc.on_train_end()                      # is not there, waited for ever
        print(impl, "child", *sorted(os.listdir(directory)), flush=True)
        os._exit(0)
    status = _wait_or_kill(pid, 60)
    if status is None:
        return "the child hung"
    if status != 0:
        return f"the child failed: wait status {status}"
    mc.on_epoch_end(3, {"val_loss": 1.0})
    mc.on_train_end()
    print(impl, "parent", *sorted(os.listdir(directory)), flush=True)
    return None


def _wait_or_kill(pid, timeout):
    """The child's wait status, or None if it ran past `timeout` seconds
    (then it is SIGKILLed and reaped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def run(impl, directory):
    """The scenario in a forked process of its own; prints its outcome."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            _impl.use(impl)
            assert fc.implementation() == impl, fc.implementation()
            problem = scenario(impl, directory)
        except BaseException:
            problem = traceback.format_exc()
        os.write(w, (problem or "ok").encode())
        os._exit(0)
    os.close(w)
    if _wait_or_kill(pid, 120) is None:
        os.close(r)
        print(impl, "status", "hung", flush=True)
        return
    with os.fdopen(r, "rb") as f:
        outcome = f.read().decode() or "no report"
    print(impl, "status", outcome.replace("\n", "\\n"), flush=True)


def main():
    for arg in sys.argv[1:]:
        impl, directory = arg.split("=", 1)
        run(impl, directory)


if __name__ == "__main__":
    main()
