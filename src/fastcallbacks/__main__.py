"""Command line: `python -m fastcallbacks example`."""

import argparse
import os
import sys


def example(epochs=10, seed=0):
    """The book's callback example, with fastcallbacks as the only change.

    Trains a small binary classifier on a synthetic, generated data set (no
    download) with `EarlyStopping(monitor='val_acc', patience=1)` and
    `ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10)`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    import fastcallbacks

    rng = np.random.default_rng(seed)
    # Few noisy samples and many features: the model overfits within a few
    # epochs and val_acc stops improving, as in the book's IMDB example.
    x = rng.normal(size=(600, 50)).astype("float32")
    w = rng.normal(size=(50,)).astype("float32")
    y = (x @ w + 4.0 * rng.normal(size=600) > 0).astype("float32")
    x_train, y_train, x_val, y_val = x[:500], y[:500], x[500:], y[500:]

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((50,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    callbacks_list = [
        fastcallbacks.EarlyStopping(monitor="val_acc", patience=1),
        fastcallbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10),
    ]
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=16,
        callbacks=callbacks_list,
        validation_data=(x_val, y_val),
        verbose=2,
    )
    es = callbacks_list[0]
    print(
        f"fastcallbacks {fastcallbacks.__version__} ({fastcallbacks.implementation()} core), "
        f"keras {keras.__version__} ({keras.backend.backend()})"
    )
    print(
        f"epochs run: {len(history.epoch)}; stopped_epoch={es.stopped_epoch} "
        f"(reason: {es.stop_reason}); best val_acc={es.best:.4f} at epoch {es.best_epoch + 1}"
    )
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastcallbacks")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("example", help="run the book-style EarlyStopping example")
    ex.add_argument("--epochs", type=int, default=10)
    ex.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "example":
        if args.epochs < 1:
            parser.error("--epochs must be >= 1")
        example(epochs=args.epochs, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
