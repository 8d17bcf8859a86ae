"""Intersection over union, from a confusion matrix of class labels.

Every label (every pixel of a segmentation map, say) adds its weight to
`cm[true, predicted]`; a class's IoU is `tp / (tp + fp + fn)` read from that
matrix, and the metric is the mean over `target_class_ids` of the classes
that occur (a class absent from both labels and predictions is left out).
Labels outside `[0, num_classes)` and `ignore_class` count nowhere.

Keras 3.15 keeps the matrix as int32 by default and so truncates fractional
sample weights to zero; here the matrix is float32 whatever `dtype` names, so
fractional weights count as Keras's own documentation describes.

Example:
  >>> m = MeanIoU(num_classes=2)
  >>> state = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
  >>> round(float(m.result(state)), 4)
  0.3333
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from stateless import ops
from stateless.errors import ShapeError, owner_name
from train._metric import Metric, State
from train.losses import EPSILON
from train.targets import broadcast_weights

_DTYPES = (None, "float32", "int", "int32")  # Keras's default is "int"


@dataclass(frozen=True)
class IoU(Metric):
    """The mean IoU of the classes `target_class_ids`.

    Args:
      num_classes: how many classes; the matrix is `num_classes` square.
      target_class_ids: the classes averaged.
      ignore_class: a label (such as a "void" class) whose entries count
        nowhere; None for none.
      sparse_y_true: whether `y_true` holds class ids (else scores or one-hot
        rows, read by their argmax along `axis`).
      sparse_y_pred: the same for `y_pred`.
      axis: the class axis of dense inputs.

    Example:
      >>> m = IoU(num_classes=2, target_class_ids=[0])
      >>> state = m.update(m.init(), jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
      >>> round(float(m.result(state)), 4)
      0.3333
    """

    num_classes: int
    target_class_ids: tuple[int, ...]
    ignore_class: int | None = None
    sparse_y_true: bool = True
    sparse_y_pred: bool = True
    axis: int = -1
    default_name: ClassVar[str] = "io_u"

    def __post_init__(self):
        dtype = self.dtype
        object.__setattr__(self, "dtype", None)  # counts are float32 (see above)
        super().__post_init__()
        where = owner_name(self)
        if dtype not in _DTYPES:
            raise ValueError(f"{where}: dtype={dtype!r}; expected one of {_DTYPES}.")
        object.__setattr__(self, "dtype", dtype)
        n = self.num_classes
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{where}: num_classes must be an int >= 1, got {n!r}.")
        ids = tuple(int(i) for i in self.target_class_ids)
        if not ids or not all(0 <= i < n for i in ids):
            raise ValueError(
                f"{where}: target_class_ids={list(self.target_class_ids)} must be "
                f"class ids in [0, {n}) (num_classes={n})."
            )
        object.__setattr__(self, "target_class_ids", ids)

    def init(self) -> State:
        n = self.num_classes
        return {"total_confusion_matrix": ops.zeros((n, n), "float32")}

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        if y_true.size != y_pred.size:
            raise ShapeError(
                f"{owner_name(self)}: y_true holds {y_true.size} labels and y_pred "
                f"{y_pred.size} (shapes {tuple(y_true.shape)} and "
                f"{tuple(y_pred.shape)}); they must hold one per entry."
            )
        if sample_weight is None:
            weights = ops.ones(y_true.shape, "float32")
        else:  # one weight per example, or per entry
            weights = broadcast_weights(self, sample_weight, y_true.shape)
        labels = ops.cast(y_true, "int32").reshape(-1)
        predicted = ops.cast(y_pred, "int32").reshape(-1)
        weights = weights.reshape(-1)
        n = self.num_classes
        counted = (labels >= 0) & (labels < n) & (predicted >= 0) & (predicted < n)
        if self.ignore_class is not None:
            counted = counted & (labels != self.ignore_class)
        weights = ops.where(counted, weights, 0.0)
        cells = ops.where(counted, labels * n + predicted, 0)
        matrix = jnp.zeros(n * n, "float32").at[cells].add(weights).reshape(n, n)
        return {"total_confusion_matrix": state["total_confusion_matrix"] + matrix}

    def result(self, state: State) -> Any:
        cm = state["total_confusion_matrix"]
        tp = jnp.diagonal(cm)
        union = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - tp
        ids = np.array(self.target_class_ids)
        tp, union = tp[ids], union[ids]
        present = union > 1e-9
        iou = ops.where(present, tp / (union + EPSILON), 0.0)
        return ops.sum(iou) / (ops.sum(ops.cast(present, "float32")) + EPSILON)

    def get_config(self) -> dict[str, Any]:
        """The arguments of this class's constructor (they differ by class)."""
        config = super().get_config()
        config["target_class_ids"] = list(self.target_class_ids)
        taken = inspect.signature(type(self)).parameters
        return {k: v for k, v in config.items() if k in taken}


@dataclass(frozen=True)
class BinaryIoU(IoU):
    """IoU of two classes, from scores: a score at or above `threshold` is
    class 1, below it class 0.

    Args:
      target_class_ids: `[0]`, `[1]` or `[0, 1]` (the mean of both).
      threshold: the score from which a prediction is class 1.

    Example:
      >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
      >>> y, p = jnp.array([0, 1, 0, 1]), jnp.array([0.1, 0.2, 0.4, 0.7])
      >>> round(float(m.result(m.update(m.init(), y, p))), 4)
      0.3333
    """

    threshold: float = 0.5
    default_name: ClassVar[str] = "binary_io_u"

    def __init__(
        self,
        target_class_ids: Any = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ):
        _set(self, num_classes=2, target_class_ids=target_class_ids,
             threshold=threshold, name=name, dtype=dtype)  # fmt: skip

    def update(
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_pred = ops.cast(ops.cast(y_pred, "float32") >= self.threshold, "int32")
        return super().update(state, y_true, y_pred, sample_weight)


@dataclass(frozen=True)
class MeanIoU(IoU):
    """The mean IoU over all `num_classes` classes (see `IoU`).

    Example:
      >>> m = MeanIoU(num_classes=2)
      >>> y, p = jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1])
      >>> state = m.update(m.init(), y, p, jnp.array([0.3, 0.3, 0.3, 0.1]))
      >>> round(float(m.result(state)), 4)
      0.2381
    """

    default_name: ClassVar[str] = "mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        every = range(num_classes if isinstance(num_classes, int) else 0)
        _set(self, num_classes=num_classes, target_class_ids=every, name=name,
             dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
             sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip


@dataclass(frozen=True)
class OneHotIoU(IoU):
    """`IoU` of one-hot labels and scores, both read by their argmax.

    Example:
      >>> m = OneHotIoU(num_classes=3, target_class_ids=[0, 2])
      >>> y = jnp.eye(3)[jnp.array([2, 0, 1, 0])]
      >>> p = jnp.array([[.2, .3, .5], [.1, .2, .7], [.5, .3, .1], [.1, .4, .5]])
      >>> state = m.update(m.init(), y, p, jnp.array([0.1, 0.2, 0.3, 0.4]))
      >>> round(float(m.result(state)), 4)
      0.0714
    """

    default_name: ClassVar[str] = "one_hot_io_u"

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        _set(self, num_classes=num_classes, target_class_ids=target_class_ids,
             name=name, dtype=dtype, ignore_class=ignore_class,
             sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip


@dataclass(frozen=True)
class OneHotMeanIoU(MeanIoU):
    """`MeanIoU` of one-hot labels and scores, both read by their argmax.

    Example:
      >>> m = OneHotMeanIoU(num_classes=2)
      >>> state = m.update(m.init(), jnp.eye(2), jnp.array([[0.9, 0.1], [0.6, 0.4]]))
      >>> round(float(m.result(state)), 4)
      0.25
    """

    default_name: ClassVar[str] = "one_hot_mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        MeanIoU.__init__(self, num_classes, name, dtype, ignore_class, False,
                         sparse_y_pred, axis)  # fmt: skip


def _set(metric: IoU, **values: Any) -> None:
    """Fills a frozen IoU's fields (Keras's constructors differ by subclass)
    and checks them."""
    defaults = {"ignore_class": None, "sparse_y_true": True, "sparse_y_pred": True,
                "axis": -1}  # fmt: skip
    for key, value in {**defaults, **values}.items():
        object.__setattr__(metric, key, value)
    metric.__post_init__()
