"""Draws docs/stopping-criteria.png: one real training run's loss curves and
the epoch at which each stopping criterion would have stopped it.

    KERAS_BACKEND=tensorflow python bench/plot_stopping_criteria.py docs/stopping-criteria.png

The run trains an MLP on 24 noisy samples of sin(2x) for 120 epochs (it
overfits after about 30), then feeds the recorded (loss, val_loss) through one StopWhen
per criterion, which never stops the recorded run itself.
"""

import sys

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fastcallbacks  # noqa: E402
from fastcallbacks.criteria import GL, PQ, UP, Patience  # noqa: E402

EPOCHS = 120


def record_run(seed=0):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(224, 1)).astype("float32")
    y = (np.sin(2 * x) + rng.normal(0, 0.5, size=x.shape)).astype("float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.003), "mse")
    history = model.fit(x[:24], y[:24], validation_data=(x[24:], y[24:]), batch_size=24,
                        epochs=EPOCHS, verbose=0)
    return np.array(history.history["loss"]), np.array(history.history["val_loss"])


class _Model:
    stop_training = False
    metrics = []


def fired_epoch(criterion, loss, val_loss):
    """The epoch (0-based) at which StopWhen(criterion) stops, or None."""
    cb = fastcallbacks.StopWhen(criterion)
    model = _Model()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, (a, b) in enumerate(zip(loss, val_loss)):
        cb.on_epoch_end(epoch, {"loss": float(a), "val_loss": float(b)})
        if model.stop_training:
            return epoch
    return None


def main(path):
    loss, val_loss = record_run()
    criteria = [GL(5.0), GL(20.0), PQ(1.0), UP(2), UP(3), Patience("val_loss", 10)]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    t = np.arange(1, EPOCHS + 1)
    ax.plot(t, loss, label="loss (training)", color="tab:blue")
    ax.plot(t, val_loss, label="val_loss", color="tab:orange")
    best = int(np.argmin(val_loss))
    ax.scatter([best + 1], [val_loss[best]], color="black", zorder=5,
               label=f"best val_loss (epoch {best + 1})")
    colors = plt.cm.tab10(np.linspace(0.2, 1.0, len(criteria)))
    for c, color in zip(criteria, colors):
        epoch = fired_epoch(c, loss, val_loss)
        name = repr(c).replace("Patience(monitor='val_loss', patience=10)", "Patience(10)")
        if epoch is None:
            ax.plot([], [], color=color, ls="--", label=f"{name}: never")
            continue
        ax.axvline(epoch + 1, color=color, ls="--", lw=1.2,
                   label=f"{name}: epoch {epoch + 1}")
    ax.set_xlabel("epoch t")
    ax.set_ylabel("mean squared error")
    ax.set_yscale("log")
    ax.set_title("Where each criterion would stop one real run (fastcallbacks.StopWhen)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    # Palette-quantized (256 colours), as the other docs pictures.
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(256)
    quantized.save(path, optimize=True)
    for c in criteria:
        print(repr(c), fired_epoch(c, loss, val_loss))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/stopping-criteria.png")
