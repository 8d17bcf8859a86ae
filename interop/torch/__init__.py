"""The torch target: `to_torch` / `from_torch` (`adapter`), and the rules that
lower each JAX primitive to torch ops (`rules`, split by family: `elementwise`,
`shape`, `reduce`, `window`, `indexing`, `structural`, `random`, with `fast`
paths and `dtypes`)."""

from interop.torch.adapter import LoweredModule as LoweredModule
from interop.torch.adapter import from_torch as from_torch
from interop.torch.adapter import to_torch as to_torch
