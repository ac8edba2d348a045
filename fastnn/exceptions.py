"""Exceptions fastnn raises for problems the user can fix.

The CLI turns every :class:`FastnnError` into a one-line message without a
traceback; anything else is a bug in fastnn.
"""


class FastnnError(Exception):
    """Base class of the errors caused by input, options or data."""


class ParameterError(FastnnError, ValueError):
    """A hyperparameter outside its allowed range or of the wrong type."""


class DataError(FastnnError, ValueError):
    """Data that cannot be used: bad cell, wrong shape, missing column, ..."""


class DivergenceError(FastnnError, RuntimeError):
    """Training diverged and could not be recovered."""


class NotFittedError(FastnnError, AttributeError):
    """A model used before ``fit`` or ``load``."""
