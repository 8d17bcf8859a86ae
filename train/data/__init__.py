"""Host-side input pipelines: batches of NumPy arrays for the training loop.

`Dataset` is an iterable of `(x, y[, sample_weight])` batches with seeded,
per-epoch shuffling; `adapt` turns arrays, generators, `tf.data` datasets and
torch `DataLoader`s into one; `prefetch` reads batches ahead on a thread.
`image_dataset_from_directory`, `text_dataset_from_directory` and
`timeseries_dataset_from_array` follow
Keras, and `datasets` reads classic datasets from local files.
"""

from train.data import datasets as datasets
from train.data.adapters import adapt as adapt
from train.data.adapters import is_arrays as is_arrays
from train.data.adapters import length as length
from train.data.dataset import Dataset as Dataset
from train.data.dataset import as_batch as as_batch
from train.data.images import (
    image_dataset_from_directory as image_dataset_from_directory,
)
from train.data.prefetch import prefetch as prefetch
from train.data.py_dataset import PyDataset as PyDataset
from train.data.texts import text_dataset_from_directory as text_dataset_from_directory
from train.data.timeseries import (
    timeseries_dataset_from_array as timeseries_dataset_from_array,
)
