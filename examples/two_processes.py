"""Two training processes on this machine, with fastcallbacks (JAX backend).

    python examples/two_processes.py [OUT_DIR]

Starts itself twice (process 0 and 1) on a free 127.0.0.1 port. Each process
trains the same model with `keras.distribution.DataParallel` on its half of
the data; process 0 alone writes the checkpoints and the activations, and
`AgreeOnStop` makes both stop after the same epoch. Ends both processes if
they run longer than 5 minutes. Needs `jax` installed.
"""

import os
import socket
import subprocess
import sys
import tempfile


def train(index, port, out):
    os.environ["KERAS_BACKEND"] = "jax"
    import keras
    import numpy as np

    import fastcallbacks

    keras.distribution.initialize(job_addresses=f"127.0.0.1:{port}", num_processes=2,
                                  process_id=index)
    keras.distribution.set_distribution(keras.distribution.DataParallel(
        devices=keras.distribution.list_devices("cpu"), auto_shard_dataset=False))

    rng = np.random.default_rng(0)                       # the same data everywhere
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    vx, vy = x[:64], y[:64]
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")

    callbacks = [
        fastcallbacks.EarlyStopping(patience=2, restore_best_weights=True),
        fastcallbacks.ReduceLROnPlateau(patience=1),
        fastcallbacks.ModelCheckpoint(os.path.join(out, "best.keras"), save_best_only=True),
        fastcallbacks.ActivationLogger(os.path.join(out, "activations.npz"), vx[:16]),
        fastcallbacks.AgreeOnStop(timeout=120),     # last
    ]
    # auto_shard_dataset=False: each process feeds its own half of the batch.
    history = model.fit(x[index::2], y[index::2], validation_data=(vx[index::2], vy[index::2]),
                        epochs=20, batch_size=16, verbose=0, callbacks=callbacks)
    role = "writer" if fastcallbacks.distributed.is_writer(model) else "not a writer"
    print(f"process {index} ({role}): {len(history.epoch)} epochs, "
          f"val_loss {history.history['val_loss'][-1]:.4f}", flush=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="two-processes-")
    os.makedirs(out, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(i), str(port), out])
             for i in (0, 1)]
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=300))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            codes.append(proc.wait())
    print("files:", sorted(os.listdir(out)), "in", out)
    return 0 if codes == [0, 0] else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        train(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(main())
