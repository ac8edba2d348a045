"""fastnn: fast, honest training of dense feed-forward networks on the CPU.

>>> import fastnn
>>> data = fastnn.load_dataset("breast_cancer")
>>> model = fastnn.MLP(hidden=(64, 64)).fit(data.X, data.y, epochs=50)
>>> model.predict(data.X[:3])
"""
from ._version import __version__
from .datasets import (dataset_names, describe_datasets, load_dataset, make_circles, make_moons,
                       make_spirals, make_xor)
from .exceptions import DataError, DivergenceError, FastnnError, NotFittedError, ParameterError
from .io import read_csv, read_npz, read_table
from .model import MLP, FastnnWarning
from .preprocessing import train_test_split
from .serialize import load_model as load

__all__ = ["MLP", "load", "load_dataset", "dataset_names", "describe_datasets", "read_csv",
           "read_npz", "read_table", "train_test_split", "make_xor", "make_moons",
           "make_circles", "make_spirals", "FastnnError", "DataError", "ParameterError",
           "DivergenceError", "NotFittedError", "FastnnWarning", "__version__"]
