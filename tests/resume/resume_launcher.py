"""Runs chains of resume_script.py runs, each run in a process forked from
this one, for tests/resume/test_resume_kill.py.

    python resume_launcher.py SPEC

SPEC is JSON: {chain name: [argv of resume_script.main, ...]}. Keras (and
fastcallbacks) are imported once, here, before any backend op (as
tests/checkpoint/kill_worker.py does); each run is then a process of its
own, started after the previous run of its chain ended, that runs the
script's `main` and exits: a kill point SIGKILLs that process, and the
next run finds only what the killed one left on disk. The chains run
concurrently. Prints one JSON line: {chain name: [exit code of each run]}
(-9: SIGKILLed).
"""

import json
import os
import sys
import traceback

import resume_script  # imports Keras (the backend of KERAS_BACKEND)

import fastcallbacks  # noqa: E402
from fastcallbacks import _backupfiles  # noqa: E402, F401

for _name in ("BackupAndRestore", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
              "ActivationLogger"):
    getattr(fastcallbacks, _name)  # imported here once, not in every run


def start(argv):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            resume_script.main(argv)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def main():
    spec = json.loads(sys.argv[1])
    pending = {name: list(runs) for name, runs in spec.items()}
    codes = {name: [] for name in spec}
    running = {}
    for name, runs in pending.items():
        if runs:
            running[start(runs.pop(0))] = name
    while running:
        pid, status = os.wait()
        name = running.pop(pid)
        codes[name].append(os.waitstatus_to_exitcode(status))
        if pending[name]:
            running[start(pending[name].pop(0))] = name
    print(json.dumps(codes), flush=True)


if __name__ == "__main__":
    main()
