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

from stateless.ops.creation import (
    array as array,
    arange as arange,
    zeros as zeros,
    ones as ones,
    full as full,
    zeros_like as zeros_like,
    ones_like as ones_like,
    eye as eye,
    linspace as linspace,
)
from stateless.ops.tensor import (
    convert_to_tensor as convert_to_tensor,
    convert_to_numpy as convert_to_numpy,
    cast as cast,
    dtype as dtype,
    shape as shape,
    ndim as ndim,
    device as device,
)
from stateless.ops.shape import (
    reshape as reshape,
    expand_dims as expand_dims,
    squeeze as squeeze,
    broadcast_to as broadcast_to,
    transpose as transpose,
    moveaxis as moveaxis,
    concatenate as concatenate,
    stack as stack,
    split as split,
    tile as tile,
    pad as pad,
    flip as flip,
    take as take,
    take_along_axis as take_along_axis,
    where as where,
    tril as tril,
    triu as triu,
)
from stateless.ops.arithmetic import (
    add as add,
    subtract as subtract,
    multiply as multiply,
    divide as divide,
    power as power,
    maximum as maximum,
    minimum as minimum,
    clip as clip,
    equal as equal,
    not_equal as not_equal,
    less as less,
    less_equal as less_equal,
    greater as greater,
    greater_equal as greater_equal,
    logical_and as logical_and,
    logical_or as logical_or,
)
from stateless.ops.elementwise import (
    negative as negative,
    abs as abs,
    sign as sign,
    exp as exp,
    log as log,
    log1p as log1p,
    expm1 as expm1,
    sqrt as sqrt,
    rsqrt as rsqrt,
    square as square,
    sin as sin,
    cos as cos,
    tanh as tanh,
    floor as floor,
    ceil as ceil,
    round as round,
    logical_not as logical_not,
)
from stateless.ops.linalg import (
    matmul as matmul,
    dot as dot,
    einsum as einsum,
)
from stateless.ops.reduce import (
    sum as sum,
    mean as mean,
    max as max,
    min as min,
    prod as prod,
    var as var,
    std as std,
    argmax as argmax,
    argmin as argmin,
    any as any,
    all as all,
    logsumexp as logsumexp,
    cumsum as cumsum,
    sort as sort,
    argsort as argsort,
    top_k as top_k,
)
from stateless.ops.nn import (
    relu as relu,
    gelu as gelu,
    sigmoid as sigmoid,
    silu as silu,
    softplus as softplus,
    elu as elu,
    leaky_relu as leaky_relu,
    softmax as softmax,
    log_softmax as log_softmax,
    one_hot as one_hot,
)
from stateless.ops.conv import (
    conv as conv,
    depthwise_conv as depthwise_conv,
)
from stateless.ops.pool import (
    max_pool as max_pool,
    average_pool as average_pool,
)
