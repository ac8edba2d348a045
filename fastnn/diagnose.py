"""``diagnose``: per-layer gradient norms at initialisation and after training,
dead and saturated fractions, and the health warnings, side by side for
several activations."""
import warnings


from . import health
from .model import MLP, FastnnWarning


class Diagnosis:
    """One configuration's report: the fitted model and its warnings."""

    def __init__(self, model, warnings_):
        self.model = model
        self.warnings = warnings_

    @property
    def label(self):
        return f"{self.model.activation} ({self.model.init_} init)"

    def layers(self):
        """One dict per layer: shape, grad norm at init and at the end, dead/saturated."""
        h = self.model.history_
        sizes = self.model.net_.sizes
        out = []
        for l in range(len(sizes) - 1):
            hidden = l < len(sizes) - 2
            dead = h["dead_fraction"][-1][l] if hidden else None
            sat = h["saturated_fraction"][-1][l] if hidden else None
            out.append(dict(layer=l + 1, shape=f"{sizes[l]}x{sizes[l + 1]}",
                            init=h["init"]["grad_norm_W"][l], final=h["grad_norm_W"][-1][l],
                            dead=dead, saturated=sat))
        return out


def diagnose(X, y, *, hidden, activation="relu", init="auto", epochs=5, seed=0,
             dtype="float32", standardize=True, **fit_kw):
    """Fit a network for a few epochs with diagnostics on; return a Diagnosis."""
    model = MLP(hidden=hidden, activation=activation, init=init, seed=seed, dtype=dtype,
                standardize=standardize)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FastnnWarning)
        model.fit(X, y, epochs=epochs, diagnostics=True, **fit_kw)
    msgs = [str(w.message) for w in caught if issubclass(w.category, FastnnWarning)]
    return Diagnosis(model, msgs)


def _fmt(x, flag_small=False):
    if x is None:
        return "-"
    s = f"{x:.1e}"
    return s + (" !" if flag_small and x < health.VANISH_ABS else "  ")


def _pct(x):
    return "-" if x is None else f"{x:.0%}"


def format_report(diags, epochs):
    """Text table: one row per layer, one column group per diagnosis."""
    head1 = f"{'layer':<6}{'shape':<10}"
    head2 = " " * 16
    for d in diags:
        head1 += f"| {d.label:<38}"
        head2 += f"| {'|dW| init':<11}{f'|dW| ep {epochs}':<11}{'dead':<7}{'satur.':<9}"
    lines = [head1, head2]
    rows = [d.layers() for d in diags]
    for i in range(len(rows[0])):
        line = f"{rows[0][i]['layer']:<6}{rows[0][i]['shape']:<10}"
        for r in rows:
            x = r[i]
            line += (f"| {_fmt(x['init'], True):<11}{_fmt(x['final'], True):<11}"
                     f"{_pct(x['dead']):<7}{_pct(x['saturated']):<9}")
        lines.append(line)
    lines.append(f"! marks a weight-gradient norm below {health.VANISH_ABS:g}")
    for d in diags:
        n_small = sum(1 for x in d.layers() if x["init"] < health.VANISH_ABS)
        lines.append("")
        lines.append(f"{d.label}: {n_small} layer(s) with gradient norm < "
                     f"{health.VANISH_ABS:g} at initialisation; final train loss "
                     f"{d.model.history_['loss'][-1]:.4f}")
        for w in d.warnings:
            lines.append(f"  warning: {w}")
        if not d.warnings:
            lines.append("  no warnings")
    return "\n".join(lines)
