"""Layers: configuration-only objects with pure `init` and `apply`.

Example:
  >>> from nn import layers
  >>> layer = layers.Dense(3)
  >>> variables = layer.init(sl.random.key(0), jnp.ones((2, 4)))
  >>> layer.apply(variables, jnp.ones((2, 4)))[0].shape
  (2, 3)
"""

from nn.layers.attention import MultiHeadAttention as MultiHeadAttention
from nn.layers.base import Layer as Layer
from nn.layers.convolution import Conv1D as Conv1D
from nn.layers.convolution import Conv2D as Conv2D
from nn.layers.core import Activation as Activation
from nn.layers.core import Dense as Dense
from nn.layers.core import Dropout as Dropout
from nn.layers.core import Embedding as Embedding
from nn.layers.core import Flatten as Flatten
from nn.layers.core import Input as Input
from nn.layers.core import InputLayer as InputLayer
from nn.layers.core import Rescaling as Rescaling
from nn.layers.core import Reshape as Reshape
from nn.layers.merging import Add as Add
from nn.layers.merging import Concatenate as Concatenate
from nn.layers.normalization import BatchNormalization as BatchNormalization
from nn.layers.normalization import LayerNormalization as LayerNormalization
from nn.layers.pooling import AveragePooling2D as AveragePooling2D
from nn.layers.pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
from nn.layers.pooling import MaxPooling2D as MaxPooling2D
from nn.layers.recurrent import GRU as GRU
from nn.layers.recurrent import LSTM as LSTM
