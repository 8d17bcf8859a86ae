"""NumPy-like and neural-network ops, written once on `jax.numpy` and `lax`.

Each op has NumPy's semantics where NumPy has the op (shapes, broadcasting,
`axis`/`keepdims`) and JAX's dtype promotion. An op is a thin function that
vanishes at trace time: `jax.make_jaxpr(ops.f)` equals `jax.make_jaxpr(jnp.f)`.
Shape errors are re-raised as `ShapeError`s that name the op and the shapes.

Example:
  >>> from stateless import ops
  >>> ops.matmul(ops.ones((2, 3)), ops.ones((3, 4))).shape
  (2, 4)
"""

from stateless.ops.arithmetic import (
    add as add,
)
from stateless.ops.arithmetic import (
    clip as clip,
)
from stateless.ops.arithmetic import (
    divide as divide,
)
from stateless.ops.arithmetic import (
    equal as equal,
)
from stateless.ops.arithmetic import (
    greater as greater,
)
from stateless.ops.arithmetic import (
    greater_equal as greater_equal,
)
from stateless.ops.arithmetic import (
    less as less,
)
from stateless.ops.arithmetic import (
    less_equal as less_equal,
)
from stateless.ops.arithmetic import (
    logical_and as logical_and,
)
from stateless.ops.arithmetic import (
    logical_or as logical_or,
)
from stateless.ops.arithmetic import (
    maximum as maximum,
)
from stateless.ops.arithmetic import (
    minimum as minimum,
)
from stateless.ops.arithmetic import (
    multiply as multiply,
)
from stateless.ops.arithmetic import (
    not_equal as not_equal,
)
from stateless.ops.arithmetic import (
    power as power,
)
from stateless.ops.arithmetic import (
    subtract as subtract,
)
from stateless.ops.convolution import (
    conv as conv,
)
from stateless.ops.convolution import (
    conv_transpose as conv_transpose,
)
from stateless.ops.convolution import (
    depthwise_conv as depthwise_conv,
)
from stateless.ops.creation import (
    arange as arange,
)
from stateless.ops.creation import (
    array as array,
)
from stateless.ops.creation import (
    eye as eye,
)
from stateless.ops.creation import (
    full as full,
)
from stateless.ops.creation import (
    linspace as linspace,
)
from stateless.ops.creation import (
    ones as ones,
)
from stateless.ops.creation import (
    ones_like as ones_like,
)
from stateless.ops.creation import (
    zeros as zeros,
)
from stateless.ops.creation import (
    zeros_like as zeros_like,
)
from stateless.ops.elementwise import (
    abs as abs,
)
from stateless.ops.elementwise import (
    ceil as ceil,
)
from stateless.ops.elementwise import (
    cos as cos,
)
from stateless.ops.elementwise import (
    exp as exp,
)
from stateless.ops.elementwise import (
    expm1 as expm1,
)
from stateless.ops.elementwise import (
    floor as floor,
)
from stateless.ops.elementwise import (
    log as log,
)
from stateless.ops.elementwise import (
    log1p as log1p,
)
from stateless.ops.elementwise import (
    logical_not as logical_not,
)
from stateless.ops.elementwise import (
    negative as negative,
)
from stateless.ops.elementwise import (
    round as round,
)
from stateless.ops.elementwise import (
    rsqrt as rsqrt,
)
from stateless.ops.elementwise import (
    sign as sign,
)
from stateless.ops.elementwise import (
    sin as sin,
)
from stateless.ops.elementwise import (
    sqrt as sqrt,
)
from stateless.ops.elementwise import (
    square as square,
)
from stateless.ops.elementwise import (
    tanh as tanh,
)
from stateless.ops.linalg import (
    dot as dot,
)
from stateless.ops.linalg import (
    einsum as einsum,
)
from stateless.ops.linalg import (
    matmul as matmul,
)
from stateless.ops.manipulation import (
    broadcast_to as broadcast_to,
)
from stateless.ops.manipulation import (
    concatenate as concatenate,
)
from stateless.ops.manipulation import (
    expand_dims as expand_dims,
)
from stateless.ops.manipulation import (
    flip as flip,
)
from stateless.ops.manipulation import (
    moveaxis as moveaxis,
)
from stateless.ops.manipulation import (
    pad as pad,
)
from stateless.ops.manipulation import (
    repeat as repeat,
)
from stateless.ops.manipulation import (
    reshape as reshape,
)
from stateless.ops.manipulation import (
    split as split,
)
from stateless.ops.manipulation import (
    squeeze as squeeze,
)
from stateless.ops.manipulation import (
    stack as stack,
)
from stateless.ops.manipulation import (
    take as take,
)
from stateless.ops.manipulation import (
    take_along_axis as take_along_axis,
)
from stateless.ops.manipulation import (
    tile as tile,
)
from stateless.ops.manipulation import (
    transpose as transpose,
)
from stateless.ops.manipulation import (
    tril as tril,
)
from stateless.ops.manipulation import (
    triu as triu,
)
from stateless.ops.manipulation import (
    where as where,
)
from stateless.ops.nn import (
    elu as elu,
)
from stateless.ops.nn import (
    gelu as gelu,
)
from stateless.ops.nn import (
    leaky_relu as leaky_relu,
)
from stateless.ops.nn import (
    log_softmax as log_softmax,
)
from stateless.ops.nn import (
    one_hot as one_hot,
)
from stateless.ops.nn import (
    relu as relu,
)
from stateless.ops.nn import (
    sigmoid as sigmoid,
)
from stateless.ops.nn import (
    silu as silu,
)
from stateless.ops.nn import (
    softmax as softmax,
)
from stateless.ops.nn import (
    softplus as softplus,
)
from stateless.ops.pooling import (
    average_pool as average_pool,
)
from stateless.ops.pooling import (
    max_pool as max_pool,
)
from stateless.ops.reduce import (
    all as all,
)
from stateless.ops.reduce import (
    any as any,
)
from stateless.ops.reduce import (
    argmax as argmax,
)
from stateless.ops.reduce import (
    argmin as argmin,
)
from stateless.ops.reduce import (
    argsort as argsort,
)
from stateless.ops.reduce import (
    cumsum as cumsum,
)
from stateless.ops.reduce import (
    logsumexp as logsumexp,
)
from stateless.ops.reduce import (
    max as max,
)
from stateless.ops.reduce import (
    mean as mean,
)
from stateless.ops.reduce import (
    min as min,
)
from stateless.ops.reduce import (
    prod as prod,
)
from stateless.ops.reduce import (
    sort as sort,
)
from stateless.ops.reduce import (
    std as std,
)
from stateless.ops.reduce import (
    sum as sum,
)
from stateless.ops.reduce import (
    top_k as top_k,
)
from stateless.ops.reduce import (
    var as var,
)
from stateless.ops.tensor import (
    cast as cast,
)
from stateless.ops.tensor import (
    convert_to_numpy as convert_to_numpy,
)
from stateless.ops.tensor import (
    convert_to_tensor as convert_to_tensor,
)
from stateless.ops.tensor import (
    device as device,
)
from stateless.ops.tensor import (
    dtype as dtype,
)
from stateless.ops.tensor import (
    ndim as ndim,
)
from stateless.ops.tensor import (
    shape as shape,
)


def _accept_backend_tensors(namespace: dict) -> None:
    """Wraps every op above so that it also takes the chosen backend's tensors
    (see `stateless.ops.backend_tensors`)."""
    from stateless.ops.backend_tensors import accepting_backend_tensors

    for name, value in list(namespace.items()):
        if callable(value) and getattr(value, "__module__", "").startswith(
            "stateless.ops."
        ):
            namespace[name] = accepting_backend_tensors(value)


_accept_backend_tensors(globals())
