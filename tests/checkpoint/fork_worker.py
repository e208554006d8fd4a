"""ModelCheckpoint(async_save=True) across os.fork(), for test_checkpoint_fork.

Usage: `python fork_worker.py DIR` (KERAS_BACKEND=numpy, or torch without JAX: the hooks run
without fit). The parent saves once, starts a second save and forks while
it is in flight; the child saves, ends training and exits; the parent waits
for it (killing it if it hangs), saves again and ends. Prints the files of
each process; exits non-zero if the child hung or failed.
"""

import os
import signal
import sys
import time

import keras

import fastcallbacks as fc


def main():
    directory = sys.argv[1]
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
        print("child", *sorted(os.listdir(directory)), flush=True)
        sys.exit(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.exit("the child hung")
    if status != 0:
        sys.exit(f"the child failed: wait status {status}")
    mc.on_epoch_end(3, {"val_loss": 1.0})
    mc.on_train_end()
    print("parent", *sorted(os.listdir(directory)), flush=True)


if __name__ == "__main__":
    main()
