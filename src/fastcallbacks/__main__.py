"""Command line of fastcallbacks.

* `python -m fastcallbacks demo [--out DIR] [--epochs N] [--quick] [--seed S]`:
  a short training run on real data with every callback, a summary and plots.
* `python -m fastcallbacks plot RUN_DIR`: `training.png` and `activations.png`
  of a demo run (or any directory with a CSVLogger `metrics.csv` and an
  ActivationLogger `activations.npz`).
* `python -m fastcallbacks example`: the book's EarlyStopping example.
* `python -m fastcallbacks inspect FILE.npz`: the members of an `.npz`.
"""

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


def _member_row(key, a):
    layer, epoch = key, ""
    head, _, tail = key.rpartition("/")
    if head and tail.startswith("epoch_") and tail[6:].isdigit():
        layer, epoch = head, str(int(tail[6:]))
    shape = "x".join(map(str, a.shape)) or "()"
    if a.dtype.kind in "biufc" and a.size:
        import numpy as np

        v = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64, copy=False)
        mean, std = np.mean(v), np.std(v)
        if a.dtype.kind == "c":
            mean, std = abs(mean), abs(std)
        stats = (f"{float(mean):.4g}", f"{float(std):.4g}",
                 f"{np.count_nonzero(a == 0) / a.size:.3f}")
    else:
        stats = ("-", "-", "-")
    return [layer, epoch, shape, str(a.dtype), str(a.nbytes), *stats]


def inspect(path, out=None):
    """Prints a table of the members of an `.npz` and whether it was closed.

    Returns 0 for a loadable file, 1 for one that needs `recover()`.
    """
    from . import npz

    out = out or sys.stdout
    state = npz.status(path)
    header = ["layer", "epoch", "shape", "dtype", "bytes", "mean", "std", "zeros"]
    if state == "damaged":
        members, _ = npz.scan(path)
        print(f"{path}: damaged (not loadable): the writer was killed while writing its "
              f"directory, or the file was cut. {len(members)} complete member(s) can be "
              "salvaged with fastcallbacks.npz.recover(path).", file=out)
        rows = [_member_row(m.key, npz.read_member(path, m)) for m in members]
    else:
        with npz.load(path, mmap=True) as z:
            rows = [_member_row(key, z[key]) for key in z.files]
        what = ("closed cleanly" if state == "closed" else
                "not closed (writer still running or killed); it lists every "
                "member committed so far and needs no recovery")
        print(f"{path}: {len(rows)} member(s), {what}.", file=out)
    if rows:
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        for r in [header] + rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
    return 1 if state == "damaged" else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastcallbacks")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("example", help="run the book-style EarlyStopping example")
    ex.add_argument("--epochs", type=int, default=10)
    ex.add_argument("--seed", type=int, default=0)
    ins = sub.add_parser("inspect", help="list the members of an .npz (ActivationLogger output)")
    ins.add_argument("file", help="the .npz file")
    from . import demo as _demo

    dm = sub.add_parser("demo", help="train on real data (scikit-learn digits) with every "
                                     "callback; print a summary and draw plots")
    _demo.add_arguments(dm)
    pl = sub.add_parser("plot", help="draw training.png and activations.png of a run directory")
    pl.add_argument("run_dir", help="directory with metrics.csv (CSVLogger) and/or "
                                    "activations.npz (ActivationLogger)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        _demo.validate(dm, args)
        try:
            _demo.run(out=args.out, epochs=args.epochs, quick=args.quick, seed=args.seed,
                      plot=not args.no_plot)
        except _demo.DemoError as e:
            dm.error(str(e))
        return 0
    if args.command == "plot":
        from . import plot as _plot

        try:
            written = _plot.plot_run(args.run_dir)
        except _plot.MatplotlibMissing as e:
            print(f"python -m fastcallbacks plot: error: {e}", file=sys.stderr)
            return 1
        except _plot.PlotError as e:
            pl.error(str(e))
        for path in written:
            print(path)
        return 0
    if args.command == "inspect":
        if not os.path.isfile(args.file):
            parser.error(f"no such file: {args.file}")
        return inspect(args.file)
    if args.command == "example":
        if args.epochs < 1:
            parser.error("--epochs must be >= 1")
        example(epochs=args.epochs, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
