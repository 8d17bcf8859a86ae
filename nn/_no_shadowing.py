"""Imported first by `nn`: stops with a clear error when a user's own file
hides one of the packages `nn` imports (see `stateless.packages`)."""

from stateless.packages import check_not_shadowed

check_not_shadowed("stateless", "interop", "train")
