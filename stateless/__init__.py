"""stateless: the core of a JAX-first deep-learning framework.

Backend choice, ops, random keys, dtypes and policies, and the StatelessScope.
Importing it imports JAX and NumPy only: never torch or TensorFlow.

Example:
  >>> import stateless as sl
  >>> x = sl.random.normal((2, 3), seed=sl.random.key(0))
  >>> sl.ops.matmul(x, sl.ops.ones((3, 4))).shape
  (2, 4)
"""

from stateless import dtypes as dtypes
from stateless import errors as errors
from stateless import mixed_precision as mixed_precision
from stateless import ops as ops
from stateless import random as random
from stateless import scope as scope
from stateless.config import backend as backend
from stateless.config import set_backend as set_backend
from stateless.random import set_random_seed as set_random_seed
from stateless.scope import StatelessScope as StatelessScope
from stateless.variable import Variable as Variable

__version__ = "0.1.0"
