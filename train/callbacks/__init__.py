"""Callbacks of the fit loop, with Keras's names and behaviour.

Each sees the run through `self.model` and the hooks described in
`train.callbacks.base`.

Example:
  >>> from types import SimpleNamespace
  >>> from train import callbacks
  >>> model = SimpleNamespace(stop_training=False)
  >>> calls = callbacks.CallbackList(
  ...     [callbacks.History(), callbacks.TerminateOnNaN()], model=model, epochs=1)
  >>> calls.call("on_train_begin", None)
  >>> calls.call("on_epoch_end", 0, {"loss": 0.5})
  >>> model.history.history
  {'loss': [0.5]}
"""

from train.callbacks.backup_and_restore import BackupAndRestore as BackupAndRestore
from train.callbacks.base import Callback as Callback
from train.callbacks.callback_list import CallbackList as CallbackList
from train.callbacks.checkpoint_callback import CheckpointCallback as CheckpointCallback
from train.callbacks.csv_logger import CSVLogger as CSVLogger
from train.callbacks.early_stopping import EarlyStopping as EarlyStopping
from train.callbacks.history import History as History
from train.callbacks.lambda_callback import LambdaCallback as LambdaCallback
from train.callbacks.learning_rate import LearningRateScheduler as LearningRateScheduler
from train.callbacks.learning_rate import ReduceLROnPlateau as ReduceLROnPlateau
from train.callbacks.model_checkpoint import ModelCheckpoint as ModelCheckpoint
from train.callbacks.orbax_checkpoint import OrbaxCheckpoint as OrbaxCheckpoint
from train.callbacks.progbar import ProgbarLogger as ProgbarLogger
from train.callbacks.remote_monitor import RemoteMonitor as RemoteMonitor
from train.callbacks.swap_ema_weights import SwapEMAWeights as SwapEMAWeights
from train.callbacks.tensorboard import TensorBoard as TensorBoard
from train.callbacks.terminate_on_nan import TerminateOnNaN as TerminateOnNaN
