"""nn: layers and models with Keras's grammar over pure `init` / `apply`.

Three ways to build a model, one contract (`init(key, ...)`, `apply(variables,
...)`): `nn.Sequential([...])`, the functional `nn.Model(inputs, outputs)`,
and subclassing `nn.Model` with a `call` method.

Example:
  >>> import nn
  >>> from nn import layers
  >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
  ...                        layers.Dense(2)])
  >>> variables = model.init(sl.random.key(0))
  >>> model.apply(variables, jnp.ones((3, 4)))[0].shape
  (3, 2)
"""

from nn import _no_shadowing as _no_shadowing  # first: see the module
from nn import activations as activations
from nn import archive as archive
from nn import constraints as constraints
from nn import initializers as initializers
from nn import layers as layers
from nn import models as models
from nn import regularizers as regularizers
from nn import saving as saving
from nn import utils as utils
from nn.archive import ArchiveError as ArchiveError
from nn.archive import load_model as load_model
from nn.layers import Input as Input
from nn.models.functional import Functional as Functional
from nn.models.model import Model as Model
from nn.models.sequential import Sequential as Sequential
from nn.registry import deserialize as deserialize
from nn.registry import register as register
from nn.registry import serialize as serialize
from train import callbacks as callbacks  # Keras's namespaces, for `import nn as keras`
from train import losses as losses
from train import metrics as metrics
from train import optimizers as optimizers
