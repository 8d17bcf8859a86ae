"""train: pure training of any `apply(variables, x, training, rng)`.

It depends on `stateless` (and `interop`), never on `nn`: a hand-written
function trains here exactly as an `nn.Model` does.

* `losses`, `metrics` (pure `init`/`update`/`result` over explicit state),
  `optimizers` (optax underneath), `callbacks`, `data`, `checkpoint` (orbax
  managers: keep N, best by metric, exact resume).
* `TrainState` and the step builders `make_train_step`, `make_eval_step`,
  `make_predict_step` (unjitted, composable); `Trainer`, the fit loop, which
  trains a `Program` (a model's pure functions) and keeps the run's state in
  its `RunContext`.

Example:
  >>> import train
  >>> def apply(v, x, training=False, rng=None):
  ...     return x @ v["params"]["w"], v["state"]
  >>> trainer = train.Trainer(apply, "mse", train.optimizers.SGD(0.1))
  >>> trainer.variables = {"params": {"w": jnp.zeros((2, 1))}, "state": {}}
  >>> x = np.ones((8, 2), "float32")
  >>> history = trainer.fit(x, x[:, :1] * 2, epochs=5, verbose=0, seed=0)
  >>> len(history.history["loss"])
  5
"""

from train import _no_shadowing as _no_shadowing  # first: see the module
from train import callbacks as callbacks
from train import checkpoint as checkpoint
from train import data as data
from train import losses as losses
from train import metrics as metrics
from train import optimizers as optimizers
from train.fit import Trainer as Trainer
from train.precision import dynamic_loss_scale as dynamic_loss_scale
from train.program import Program as Program
from train.run_context import RunContext as RunContext
from train.steps import TrainState as TrainState
from train.steps import make_eval_step as make_eval_step
from train.steps import make_predict_step as make_predict_step
from train.steps import make_train_step as make_train_step
