"""Command line of fastcallbacks.

* `python -m fastcallbacks demo [--out DIR] [--epochs N] [--quick] [--seed S]`:
  a short training run on real data with every callback, a summary and plots.
* `python -m fastcallbacks plot RUN_DIR`: `training.png` and `activations.png`
  of a demo run (or any directory with a CSVLogger `metrics.csv` and an
  ActivationLogger `activations.npz`).
* `python -m fastcallbacks example`: the book's EarlyStopping example.
* `python -m fastcallbacks inspect FILE.npz`: the members of an `.npz`, with
  statistics computed chunk by chunk; exits 1 for a damaged file (listing
  what `npz.recover` would keep) and for one it cannot read at all (one
  line on stderr, never a traceback).
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
    import numpy as np

    from . import demo as _demo

    keras = _demo._import_keras(ImportError)

    import fastcallbacks

    rng = np.random.default_rng(seed)
    # Few noisy samples and many features: the model overfits within a few
    # epochs and val_acc stops improving, as in the book's IMDB example.
    x = rng.normal(size=(600, 50)).astype("float32")
    w = rng.normal(size=(50,)).astype("float32")
    y = (x @ w + 4.0 * rng.normal(size=600) > 0).astype("float32")
    x_train, y_train, x_val, y_val = x[:500], y[:500], x[500:], y[500:]

    _demo._set_random_seed(keras, seed)
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


def _member_row(key, described):
    layer, epoch = key, ""
    head, _, tail = key.rpartition("/")
    if head and tail.startswith("epoch_") and tail[6:].isdigit():
        # Counted from 1, as Keras prints "Epoch 1/10" (member epoch_0000).
        layer, epoch = head, str(int(tail[6:]) + 1)
    return [layer, epoch, *described]


def _one_line(e):
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def _loadable_rows(path):
    """Rows of a file `np.load` opens; None and the reason if a member is
    damaged. Members are read in chunks (statistics accumulate chunk by
    chunk), so memory stays bounded whatever sizes the file declares."""
    import zipfile

    from . import _npzread

    rows = []
    with _npzread.open_regular(path) as f, zipfile.ZipFile(f) as z:
        infos = z.infolist()
        if infos and not any(i.filename.endswith(".npy") for i in infos):
            return None, (f"not an npz file: a zip archive without .npy members "
                          f"({len(infos)} member(s), e.g. {infos[0].filename!r})")
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                with z.open(info) as m:
                    described = _npzread.describe_stream(_npzread.zip_chunks(m),
                                                         info.file_size)
            except Exception as e:
                return None, f"member {info.filename!r}: {_one_line(e)}"
            rows.append(_member_row(key, described))
    return rows, None


def _salvage_rows(path):
    """Rows of the members `recover()` would keep."""
    import mmap

    from . import _npzread, npz

    members, _ = npz.scan(path)
    rows = []
    if not members:
        return rows
    with _npzread.open_regular(path) as f, \
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for m in members:
            chunks = _npzread.decoded_chunks(mm, m.data_offset, m.csize, m.method, m.usize,
                                             m.crc)
            try:
                described = _npzread.describe_stream(chunks, m.usize)
            except Exception:
                continue
            finally:
                chunks.close()
            rows.append(_member_row(m.key, described))
    return rows


def _inspect(path, out):
    from . import npz

    state = npz.status(path)
    reason = ""
    if state != "damaged":
        rows, reason = _loadable_rows(path)
        if rows is not None:
            what = ("closed cleanly" if state == "closed" else
                    "loadable but not closed by NpzWriter (a writer still running or "
                    "killed, or another program wrote it); it needs no recovery")
            print(f"{path}: {len(rows)} member(s), {what}.", file=out)
            return rows, 0
        if reason and reason.startswith("not an npz file"):
            print(f"{path}: {reason}.", file=out)
            return [], 1
    rows = _salvage_rows(path)
    why = f": {reason}" if reason else ""
    if rows:
        print(f"{path}: damaged (not loadable{why}): the writer was killed while writing "
              f"its directory, or the file was cut or changed. {len(rows)} complete "
              "member(s) can be salvaged with fastcallbacks.npz.recover(path).", file=out)
    elif _zip_head(path):
        print(f"{path}: damaged npz{why}; no complete member found.", file=out)
    else:
        print(f"{path}: not an npz file (no zip record in it).", file=out)
    return rows, 1


def _zip_head(path):
    from . import _npzread

    with _npzread.open_regular(path) as f:
        return f.read(4) == b"PK\x03\x04"


def inspect(path, out=None, err=None):
    """Prints a table of the members of an `.npz` and whether it was closed.

    Returns 0 for a loadable file whose members all read, 1 for one that
    needs `recover()`. A file that cannot be read at all (hostile, not an
    npz, not a regular file, an I/O error) gives one line on `err` and 1,
    never a traceback.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        rows, code = _inspect(path, out)
    except Exception as e:   # the command line reports any failure in one line
        print(f"python -m fastcallbacks inspect: error: {path}: {_one_line(e)}", file=err)
        return 1
    header = ["layer", "epoch", "shape", "dtype", "bytes", "mean", "std", "zeros"]
    if rows:
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        for r in [header] + rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
        if any(r[1] for r in rows):
            print("(epoch counted from 1, as Keras prints it: member epoch_0000 is epoch 1)",
                  file=out)
    return code


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
        return inspect(args.file)
    if args.command == "example":
        if args.epochs < 1:
            parser.error("--epochs must be >= 1")
        try:
            example(epochs=args.epochs, seed=args.seed)
        except ImportError as e:  # no backend: one line, no traceback
            print(f"python -m fastcallbacks example: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
