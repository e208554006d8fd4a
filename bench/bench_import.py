"""Import time of fastcallbacks on top of `import keras` (fresh interpreters).

Each round runs one subprocess that imports keras, then fastcallbacks and
its three callbacks, timing both with perf_counter. Anchor: the keras
import measured in the same process.
"""

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import keras
t1 = time.perf_counter()
import fastcallbacks
fastcallbacks.EarlyStopping, fastcallbacks.ReduceLROnPlateau, fastcallbacks.TerminateOnNaN
t2 = time.perf_counter()
print(json.dumps({"keras": t1 - t0, "fastcallbacks": t2 - t1}))
"""


def bench_import_time(benchmark):
    benchmark.group = "import fastcallbacks after import keras (subprocess)"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    samples = []

    def run():
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True,
                             text=True, env=env, check=True, timeout=300)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=5, iterations=1)
    samples.sort(key=lambda s: s["fastcallbacks"])
    mid = samples[len(samples) // 2]
    benchmark.extra_info["fastcallbacks_import_s_median"] = mid["fastcallbacks"]
    benchmark.extra_info["keras_import_s_same_process"] = mid["keras"]
    benchmark.extra_info["ratio_to_keras_import"] = mid["fastcallbacks"] / mid["keras"]
    assert all(s["fastcallbacks"] > 0 for s in samples)
