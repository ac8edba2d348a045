"""Options shared by several commands, typed so click validates them.

Choices come from the kernels' own tables, so the CLI, validation and
dispatch cannot disagree.  Nothing here imports numba.
"""
import click

# Kept in sync with kernels.activations.HIDDEN_ACTIVATIONS / kernels.optim.OPTIMIZERS /
# fastnn.params; tests/test_cli.py checks that they match.
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu")
OPTIMIZERS = ("sgd", "adam")
TASKS = ("auto", "binary", "multiclass", "regression")
MAX_LAYERS = 1000
INITS = ("auto", "he", "xavier", "glorot")
ENGINES = ("auto", "serial", "blas", "split")


class Sizes(click.ParamType):
    """Comma-separated positive integers: '64,64' -> (64, 64); 'WxD' repeats W D
    times ('8x15' is fifteen layers of 8); '' or 'none' -> ()."""
    name = "SIZES"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if text.lower() in ("", "none", "0"):
            return ()
        try:
            sizes = []
            for part in text.split(","):
                w, x, d = part.strip().lower().partition("x")
                count = int(d) if x else 1
                if count <= 0:
                    self.fail(f"{value!r}: the repeat count in {part.strip()!r} must be a "
                              "positive integer", param, ctx)
                sizes += [int(w)] * count
                if len(sizes) > MAX_LAYERS:
                    self.fail(f"{value!r}: at most {MAX_LAYERS} hidden layers", param, ctx)
            sizes = tuple(sizes)
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers (e.g. 64,64 or 8x15)",
                      param, ctx)
        if any(s <= 0 for s in sizes):
            self.fail(f"{value!r}: every width must be a positive integer", param, ctx)
        return sizes


def network_options(f):
    """Options that build a network and its training run (train, diagnose)."""
    opts = [
        click.option("--target", "-t", metavar="COL",
                     help="Target column of a CSV file (default: the last column)."),
        click.option("--dataset", "-d", metavar="NAME",
                     help="Use a bundled dataset instead of a file (see `fastnn datasets`)."),
        click.option("--hidden", type=Sizes(), default="64,64", show_default=True,
                     help="Hidden layer widths, comma separated."),
        click.option("--activation", "-a", type=click.Choice(ACTIVATIONS), default="relu",
                     show_default=True, help="Hidden activation."),
        click.option("--init", type=click.Choice(INITS), default="auto", show_default=True,
                     help="Weight initialisation (auto: he for relu family, else xavier)."),
        click.option("--task", type=click.Choice(TASKS), default="auto", show_default=True,
                     help="What the target is (auto infers it)."),
        click.option("--epochs", "-e", type=click.IntRange(1, 10**7), default=200,
                     show_default=True, help="Maximum passes over the training data."),
        click.option("--batch-size", "-b", type=click.IntRange(1, 10**7), default=32,
                     show_default=True, help="Rows per mini-batch."),
        click.option("--lr", type=click.FloatRange(0, 10, min_open=True), default=None,
                     help="Learning rate [default: 0.001 for adam, 0.01 for sgd]."),
        click.option("--optimizer", "-o", type=click.Choice(OPTIMIZERS), default="adam",
                     show_default=True),
        click.option("--momentum", type=click.FloatRange(0, 0.9999), default=0.9,
                     show_default=True, help="SGD momentum."),
        click.option("--nesterov", is_flag=True, help="Nesterov momentum (SGD)."),
        click.option("--l2", type=click.FloatRange(0, 10), default=0.01, show_default=True,
                     help="L2 penalty on the weights (weight decay)."),
        click.option("--clip-norm", type=click.FloatRange(0, None, min_open=True), default=None,
                     help="Clip gradients to this global L2 norm."),
        click.option("--val-split", type=click.FloatRange(0, 0.9), default=0.2,
                     show_default=True, help="Fraction of rows held out for validation."),
        click.option("--patience", type=click.IntRange(0, 10**6), default=20,
                     show_default=True,
                     help="Early stopping: epochs without validation improvement (0: off)."),
        click.option("--standardize/--no-standardize", default=True, show_default=True,
                     help="Scale inputs with the training split's mean and std."),
        click.option("--recover/--no-recover", default=True, show_default=True,
                     help="On divergence roll back and divide the learning rate by 10."),
        click.option("--dtype", type=click.Choice(("float32", "float64")), default="float32",
                     show_default=True),
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True),
        click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
                     help="How training uses the cores: serial (one thread), blas (BLAS "
                          "threads for the matrix products), split (each batch in halves on "
                          "two threads); auto times them on a sample when it can matter."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
