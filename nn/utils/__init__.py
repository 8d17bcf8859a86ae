"""Keras's `keras.utils` helpers, for scripts that import them.

Labels and arrays (`to_categorical`, `normalize`, `pad_sequences`,
`split_dataset`), images (`array_to_img`, `img_to_array`, `load_img`,
`save_img`), data sources (`PyDataset` / `Sequence`,
`image_dataset_from_directory`, `text_dataset_from_directory`,
`timeseries_dataset_from_array`),
`plot_model`, `get_file` and `set_random_seed`. Each takes Keras's arguments and returns
NumPy arrays or this project's `train.data.Dataset`.

Example:
  >>> from nn import utils
  >>> utils.pad_sequences([[5, 6], [7]], maxlen=3).tolist()
  [[0, 5, 6], [0, 0, 7]]
"""

from nn.utils.files import get_file as get_file
from nn.utils.images import array_to_img as array_to_img
from nn.utils.images import img_to_array as img_to_array
from nn.utils.images import load_img as load_img
from nn.utils.images import save_img as save_img
from nn.utils.model_diagram import plot_model as plot_model
from nn.utils.numerical import normalize as normalize
from nn.utils.numerical import to_categorical as to_categorical
from nn.utils.sequences import pad_sequences as pad_sequences
from nn.utils.splitting import split_dataset as split_dataset
from stateless.random import set_random_seed as set_random_seed
from train.data import image_dataset_from_directory as image_dataset_from_directory
from train.data import text_dataset_from_directory as text_dataset_from_directory
from train.data import timeseries_dataset_from_array as timeseries_dataset_from_array
from train.data.py_dataset import PyDataset as PyDataset
from train.data.py_dataset import Sequence as Sequence
