"""Plots of a training run: `python -m fastcallbacks plot RUN_DIR`.

* `training.png` from the CSVLogger file `metrics.csv`: every metric with a
  `val_` twin per epoch (train and validation), the learning rate on a
  second axis, the best epoch, each learning-rate reduction and the
  early-stop point marked (taken from the demo's `summary.json` when
  present, else inferred from the CSV).
* `activations.png` from the ActivationLogger file `activations.npz`
  (members `"{layer}/epoch_{epoch:04d}"`): per layer, the distribution of
  the activations at each epoch (a histogram per epoch, drawn as a heat map,
  with the median and 99th percentile), and the fraction of zeros and of
  dead units.

matplotlib is an optional extra (`pip install "fastcallbacks[plot]"`, from a
clone `pip install ".[plot]"`); it is imported only here, with the Agg renderer (no display needed).
"""

import csv
import json
import math
import os

from ._backend import install_hint
from ._demofiles import ACTIVATIONS, METRICS, SUMMARY

TRAINING_PNG = "training.png"
ACTIVATIONS_PNG = "activations.png"

INSTALL_HINT = install_hint("plot")


class PlotError(Exception):
    """The run directory has nothing to plot, or a file cannot be read."""


class MatplotlibMissing(ImportError):
    """matplotlib (the `plot` extra) is not installed."""


def _matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        from matplotlib import colors, ticker
        from matplotlib.figure import Figure
    except ImportError as e:
        raise MatplotlibMissing(
            f"the plots need matplotlib, which is not installed ({e}); "
            f"install it with: {INSTALL_HINT}") from None
    return Figure, colors, ticker


# -- reading -------------------------------------------------------------------


def read_metrics(path):
    """The CSVLogger file as {column: [float, ...]} (epoch as int)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise PlotError(f"cannot read {path}: {e.strerror or e}") from None
    if not rows:
        raise PlotError(f"{path} has no epochs")
    columns = {}
    for name in rows[0]:
        values = []
        for row in rows:
            try:
                values.append(float(row[name]))
            except (TypeError, ValueError):
                values.append(math.nan)
        columns[name] = values
    if "epoch" not in columns:
        raise PlotError(f"{path} has no 'epoch' column (not a CSVLogger file?)")
    columns["epoch"] = [int(v) for v in columns["epoch"]]
    return columns


def read_summary(run_dir):
    path = os.path.join(run_dir, SUMMARY)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_activations(path):
    """{layer: {epoch (0-based): array}} from an ActivationLogger file."""
    from . import npz

    state = npz.status(path)
    if state == "damaged":
        raise PlotError(f"{path} is damaged; fastcallbacks.npz.recover(path) can salvage it")
    layers = {}
    with npz.load(path) as z:
        for key in z.files:
            layer, _, tail = key.rpartition("/")
            if not layer or not tail.startswith("epoch_") or not tail[6:].isdigit():
                continue
            layers.setdefault(layer, {})[int(tail[6:])] = z[key]
    if not layers:
        raise PlotError(f"{path} has no '<layer>/epoch_NNNN' members (not an "
                        "ActivationLogger file with one stream for the run?)")
    return layers


# -- run facts ----------------------------------------------------------------


def _facts(metrics, summary):
    """Monitor, best epoch, reductions and stop point (1-based epochs)."""
    n = len(metrics["epoch"])
    if summary:
        return {
            "monitor": summary.get("monitor", "val_loss"),
            "best_epoch": summary.get("best_epoch"),
            "best_value": summary.get("best_value"),
            "reductions": [(r["epoch"], r["from"], r["to"])
                           for r in summary.get("lr_reductions", [])],
            "stopped_epoch": summary.get("stopped_epoch"),
            "stop_label": ("early stop" if summary.get("stopped_epoch") else None),
            "patience": summary.get("es_patience"),
            # The demo's summary records the evaluation of restored weights.
            "restored": "restored" in summary,
            "higher_is_better": "acc" in summary.get("monitor", "val_loss"),
        }
    monitor = "val_loss" if "val_loss" in metrics else next(
        (k for k in metrics if k.startswith("val_")), None)
    best_epoch = best_value = None
    if monitor:
        values = metrics[monitor]
        finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
        if finite:
            pick = (max if "acc" in monitor else min)(finite)
            best_value, best_epoch = pick[0], pick[1] + 1
    lrs = metrics.get("learning_rate", [])
    reductions = [(i + 1, lrs[i], lrs[i + 1]) for i in range(len(lrs) - 1)
                  if lrs[i + 1] < lrs[i]]
    return {"monitor": monitor, "best_epoch": best_epoch, "best_value": best_value,
            "reductions": reductions, "stopped_epoch": None, "stop_label": None,
            "patience": None, "last_epoch": n,
            # A CSV alone cannot tell whether weights were restored.
            "restored": False, "higher_is_better": bool(monitor and "acc" in monitor)}


# -- training.png ---------------------------------------------------------------

_TRAIN, _VAL = "#1f77b4", "#ff7f0e"
_BEST, _STOP, _LR, _RED = "#2ca02c", "#d62728", "#7f7f7f", "#9467bd"


def plot_training(metrics, out_png, summary=None, title=None):
    Figure, _colors, ticker = _matplotlib()
    facts = _facts(metrics, summary)
    epochs = [e + 1 for e in metrics["epoch"]]
    bases = [k for k in metrics
             if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    bases.sort(key=lambda k: (k != "loss", k))
    if not bases:
        raise PlotError("the metrics file has no metric columns")
    fig = Figure(figsize=(6.0 * len(bases), 5.0), dpi=110, layout="constrained")
    axes = fig.subplots(1, len(bases), squeeze=False)[0]
    monitor = facts["monitor"]
    best = facts["best_epoch"]
    stop = facts["stopped_epoch"]
    reductions = facts["reductions"]
    lrs = list(metrics.get("learning_rate") or [])
    lr_x = list(epochs)
    if lrs and reductions and reductions[-1][0] >= epochs[-1]:
        # Reduced at the end of the last epoch: the CSV never saw the new rate.
        lrs.append(reductions[-1][2])
        lr_x.append(epochs[-1] + 1)
    x_max = max([epochs[-1]] + [r[0] + 0.5 for r in reductions]) + 0.5
    handles = {}
    for ax, base in zip(axes, bases):
        train, val = metrics[base], metrics.get(f"val_{base}")
        handles.setdefault("train", ax.plot(epochs, train, "-o", color=_TRAIN, ms=3.5, lw=1.8,
                                            label="train")[0])
        if val is not None:
            handles.setdefault("val", ax.plot(epochs, val, "-o", color=_VAL, ms=3.5, lw=1.8,
                                              label="validation")[0])
        ax.set_xlabel("epoch")
        ax.set_ylabel(base)
        what = f"{base} (monitored: {monitor})" if monitor == f"val_{base}" else base
        ax.set_title(what + " per epoch", fontsize=10.5)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_xlim(0.5, x_max)
        if base == "loss" or base.endswith("_loss"):
            ax.set_yscale("log")
        elif len(epochs) > 3:
            # Accuracy-like: a far-off first epoch would squash the curves.
            rest = [v for v in train[1:] + (val or []) if not math.isnan(v)]
            if rest and not math.isnan(train[0]):
                lo, hi = min(rest), max(rest)
                if train[0] < lo and hi - train[0] > 2.5 * (hi - lo):
                    pad = 0.08 * (hi - lo or abs(hi) or 1.0)
                    ax.set_ylim(lo - pad, hi + pad)
                    ax.annotate(f"epoch 1 (train {base} {train[0]:.3g}) is below the axis",
                                xy=(0.02, 0.97), xycoords="axes fraction", va="top",
                                fontsize=8, color="#555555")
        if best is not None:
            handles.setdefault("best", ax.axvline(
                best, color=_BEST, ls="--", lw=1.6,
                label=f"best epoch {best}: "
                      f"{'highest' if facts['higher_is_better'] else 'lowest'} {monitor}"
                      + (", weights restored" if facts["restored"] else "")))
            if val is not None and best - 1 < len(val):
                ax.plot([best], [val[best - 1]], marker="*", ms=18, color=_BEST, mec="black",
                        mew=0.8, zorder=5, ls="none")
        for after, old, new in reductions:
            x = after + 0.5   # decided at the end of epoch `after`
            h = ax.axvline(x, color=_RED, ls=":", lw=2.0,
                           label=f"learning rate reduced (x{new / old:.2g}, ReduceLROnPlateau)")
            handles.setdefault("lr_red", h)
            ax.plot([x], [1.0], marker="v", ms=9, color=_RED, ls="none", clip_on=False,
                    transform=ax.get_xaxis_transform(), zorder=6)
        if stop is not None:
            handles.setdefault("stop", ax.axvline(
                stop, color=_STOP, ls="-", lw=2.4, alpha=0.85,
                label=f"early stop after epoch {stop}" +
                      (f" (patience {facts['patience']})" if facts["patience"] else "")))
        if base == bases[0] and lrs:
            ax2 = ax.twinx()
            handles.setdefault("lr", ax2.step(lr_x, lrs, where="mid", color=_LR, lw=1.6,
                                              alpha=0.9, label="learning rate (right axis)")[0])
            ax2.set_yscale("log")
            ax2.set_ylabel("learning rate", color=_LR)
            ax2.tick_params(axis="y", colors=_LR)
            ax2.set_ylim(min(lrs) / 3, max(lrs) * 3)
            ax2.set_xlim(0.5, x_max)
    order = ["train", "val", "lr", "best", "lr_red", "stop"]
    legend = [handles[k] for k in order if k in handles]
    fig.legend(legend, [h.get_label() for h in legend], loc="outside lower center",
               ncol=3, fontsize=9, frameon=False)
    if title is None:
        title = "Training run"
        if best is not None and facts["best_value"] is not None:
            title += f": best {monitor} {facts['best_value']:.4f} at epoch {best}"
        if stop is not None:
            title += f", early stop after epoch {stop}"
        n_red = len(reductions)
        title += f", {n_red} learning-rate reduction{'s' if n_red != 1 else ''}"
    fig.suptitle(title, fontsize=12)
    fig.savefig(out_png)
    return out_png


# -- activations.png --------------------------------------------------------------


def _distribution(flats):
    """Bins (linear, or log for positive values spanning decades) and label."""
    import numpy as np

    every = np.concatenate(flats)
    every = every[np.isfinite(every)]
    if every.size == 0:
        return np.linspace(0.0, 1.0, 41), False
    has_zeros = bool(np.any(every == 0))
    values = every[every != 0] if has_zeros else every
    if values.size == 0:
        return np.linspace(-1.0, 1.0, 41), False
    lo_p, hi_p = np.percentile(values, [0.5, 99.9])
    if not has_zeros and values.min() > 0 and hi_p / max(lo_p, 1e-30) > 1e3:
        lo = max(float(values.min()), hi_p * 1e-8)
        return np.geomspace(lo, float(values.max()), 49), True
    lo, hi = float(values.min()), float(hi_p)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, 49), False


def plot_activations(layers, out_png, summary=None):
    import numpy as np

    Figure, colors, ticker = _matplotlib()
    from matplotlib import patheffects

    names = list(layers)
    fig = Figure(figsize=(12.5, 3.0 * len(names) + 1.1), dpi=100, layout="constrained")
    gs = fig.add_gridspec(len(names), 2, width_ratios=[2.3, 1])
    best = summary.get("best_epoch") if summary else None
    handles = {}
    for row, name in enumerate(names):
        by_epoch = layers[name]
        epochs0 = sorted(by_epoch)
        x = np.array([e + 1 for e in epochs0])
        arrays = [np.asarray(by_epoch[e]) for e in epochs0]
        flats = [a.astype(np.float64).reshape(-1) for a in arrays]
        zeros = [float(np.mean(f == 0)) for f in flats]
        dead = [float(np.mean(np.all(a.reshape(a.shape[0], -1) == 0, axis=0)))
                if a.ndim > 1 else float(np.all(a == 0)) for a in arrays]
        bins, log_bins = _distribution(flats)
        has_zeros = any(z > 0 for z in zeros)
        # Empty bins stay NaN: masked, so drawn transparent (white paper),
        # never a colour of the scale or the colour of a line.
        dens = np.full((len(bins) - 1, len(flats)), np.nan)
        med, p99 = [], []
        for j, f in enumerate(flats):
            f = f[np.isfinite(f)]
            if has_zeros:
                f = f[f != 0]
            if f.size:
                counts, _ = np.histogram(f, bins=bins)
                frac = counts / f.size
                dens[:, j] = np.where(frac > 0, frac, np.nan)
                med.append(np.median(f))
                p99.append(np.percentile(f, 99))
            else:
                med.append(np.nan)
                p99.append(np.nan)
        # A layer without zeros or dead units (softmax) gets no zeros panel:
        # its heat map takes the whole row.
        zeros_panel = has_zeros or any(d > 0 for d in dead)
        ax = fig.add_subplot(gs[row, 0] if zeros_panel else gs[row, :])
        edges_x = np.concatenate([x - 0.5, [x[-1] + 0.5]])
        finite = dens[np.isfinite(dens)]
        vmax = float(finite.max()) if finite.size else 1.0
        vmin = max(float(finite.min()) if finite.size else 1e-4, vmax * 1e-3)
        mesh = ax.pcolormesh(edges_x, bins, np.ma.masked_invalid(dens), cmap="viridis",
                             shading="flat", norm=colors.LogNorm(vmin=vmin, vmax=vmax))
        ax.set_facecolor("none")
        outline = [patheffects.withStroke(linewidth=4.2, foreground="white")]
        handles.setdefault("median", ax.plot(x, med, color="black", lw=2.0, label="median",
                                             path_effects=outline)[0])
        handles.setdefault("p99", ax.plot(x, p99, color="#e8384f", lw=2.0, ls="--",
                                          label="99th percentile", path_effects=outline)[0])
        # Room above the top bin (a tenth of the span), so that a 99th
        # percentile at the largest values is not drawn on the frame.
        if log_bins:
            ax.set_yscale("log")
            ax.set_ylim(bins[0], bins[-1] * (bins[-1] / bins[0]) ** 0.1)
        else:
            ax.set_ylim(bins[0], bins[-1] + 0.1 * (bins[-1] - bins[0]))
        ax.set_ylabel(f"{name}\nactivation value" + (" (log)" if log_bins else ""))
        ax.set_xlabel("epoch")
        ax.set_xlim(edges_x[0], edges_x[-1])
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        n_samples = arrays[0].shape[0] if arrays[0].ndim else 1
        units = int(np.prod(arrays[0].shape[1:])) if arrays[0].ndim > 1 else 1
        which = "non-zero activations" if has_zeros else "activations"
        title = (f"{name}: distribution of {which} per epoch "
                 f"({n_samples} samples x {units} units)")
        if not zeros_panel:
            title += "; no zeros, no dead units"
        ax.set_title(title, fontsize=10)
        cbar = fig.colorbar(mesh, ax=ax, pad=0.01)
        cbar.set_label("fraction of the epoch's values\n(white: none)", fontsize=8)
        if best is not None and x[0] <= best <= x[-1]:
            handles.setdefault("best", ax.axvline(best, color=_BEST, ls="--", lw=1.5,
                                                  label=f"best epoch {best}"))
        if not zeros_panel:
            continue
        axz = fig.add_subplot(gs[row, 1])
        handles.setdefault("zeros", axz.plot(x, zeros, "-o", ms=3.5, color="#333333",
                                             label="values exactly 0")[0])
        handles.setdefault("dead", axz.plot(x, dead, "-s", ms=3.5, color="#d62728",
                                            label="dead units (0 on every sample)")[0])
        if best is not None and x[0] <= best <= x[-1]:
            axz.axvline(best, color=_BEST, ls="--", lw=1.5)
        axz.set_ylim(-0.03, 1.03)
        axz.set_xlim(edges_x[0], edges_x[-1])
        axz.set_xlabel("epoch")
        axz.set_ylabel("fraction")
        axz.set_title(f"{name}: zeros", fontsize=10)
        axz.grid(True, alpha=0.3)
        axz.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    # One legend for every panel, outside the data.
    legend = [handles[k] for k in ("median", "p99", "best", "zeros", "dead") if k in handles]
    fig.legend(legend, [h.get_label() for h in legend], loc="outside lower center",
               ncol=len(legend), fontsize=9, frameon=False)
    fig.suptitle("Activations on a fixed validation sample after each epoch "
                 "(ActivationLogger, streamed .npz)", fontsize=12)
    fig.savefig(out_png)
    return out_png


def plot_run(run_dir):
    """Writes `training.png` and/or `activations.png` into `run_dir`.

    Returns the paths written. Raises `MatplotlibMissing` without matplotlib
    and `PlotError` when there is nothing to plot.
    """
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise PlotError(f"no such directory: {run_dir}")
    metrics_path = os.path.join(run_dir, METRICS)
    acts_path = os.path.join(run_dir, ACTIVATIONS)
    have_metrics, have_acts = os.path.isfile(metrics_path), os.path.isfile(acts_path)
    if not (have_metrics or have_acts):
        raise PlotError(f"{run_dir} has neither {METRICS} (CSVLogger) nor {ACTIVATIONS} "
                        "(ActivationLogger): nothing to plot")
    _matplotlib()
    summary = read_summary(run_dir)
    written = []
    if have_metrics:
        written.append(plot_training(read_metrics(metrics_path),
                                     os.path.join(run_dir, TRAINING_PNG), summary))
    if have_acts:
        written.append(plot_activations(read_activations(acts_path),
                                        os.path.join(run_dir, ACTIVATIONS_PNG), summary))
    return written
