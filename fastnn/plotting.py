"""Training plots (matplotlib is an optional extra: ``pip install 'fastnn[plot]'``)."""
import numpy as np

from .exceptions import FastnnError


def require_matplotlib():
    """Import matplotlib with a headless backend, or raise a one-line error."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FastnnError("plotting needs matplotlib, which is not installed: "
                          "pip install 'fastnn[plot]' (or pip install matplotlib)") from None
    return plt


def plot_history(history, path, title=None):
    """Save loss curves and a layer-by-epoch heat map of log10 gradient norms."""
    plt = require_matplotlib()
    epochs = np.asarray(history["epoch"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(epochs, history["loss"], label="train loss")
    val = [np.nan if v is None else v for v in history["val_loss"]]
    if not np.all(np.isnan(val)):
        ax1.plot(epochs, val, label="validation loss")
    for r in history.get("recoveries", []):
        ax1.axvline(r["epoch"], color="red", ls=":", lw=1)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend()
    ax1.set_title(title or "loss")
    rows = list(history["grad_norm_W"])
    first = epochs[0]
    if history.get("init"):                # column 0: the gradient at initialisation
        rows.insert(0, history["init"]["grad_norm_W"])
        first = 0
    G = np.asarray(rows, dtype=np.float64).T
    im = ax2.imshow(np.log10(np.maximum(G, 1e-30)), aspect="auto", origin="lower",
                    cmap="viridis", extent=(first - 0.5, epochs[-1] + 0.5, 0.5,
                                            G.shape[0] + 0.5))
    ax2.set_xlabel("epoch (0 = at initialisation)" if first == 0 else "epoch")
    ax2.set_ylabel("layer (1 = first)")
    ax2.set_title("log10 weight-gradient norm")
    fig.colorbar(im, ax=ax2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
