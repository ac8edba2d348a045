"""Scores used by ``evaluate`` and the validation history."""
import numpy as np

from kernels.losses import loss_forward


def mean_loss(logits, Y, loss_code):
    """Batch-mean loss of logits (N, k) against encoded targets Y (N, k)."""
    logits = np.ascontiguousarray(logits)
    Y = np.ascontiguousarray(Y, dtype=logits.dtype).reshape(logits.shape)
    if len(logits) == 0:
        return float("nan")
    return loss_forward(logits, logits, Y, loss_code, 1.0, False) / len(logits)


def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def rmse(y_true, y_pred):
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def r2(y_true, y_pred):
    """Coefficient of determination 1 - SS_res / SS_tot (summed over outputs)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    ss_res = np.sum((y_true - y_pred) ** 2)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2)
    return float(1.0 - ss_res / ss_tot) if ss_tot > 0 else float("nan")
