"""Keras's `keras.models`: the model classes, cloning, JSON and saving.

Example:
  >>> from nn import models
  >>> model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
  >>> models.clone_model(model).output_shape
  (None, 1)
"""

from nn.models.cloning import clone_model as clone_model
from nn.models.cloning import model_from_json as model_from_json
from nn.models.functional import Functional as Functional
from nn.models.model import Model as Model
from nn.models.sequential import Sequential as Sequential
