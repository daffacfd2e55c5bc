"""Keyword aliases: old argument names that keep working beside the new ones."""

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def renamed_keywords(func: Callable, kwargs: dict, aliases: Mapping[str, str]) -> dict:
    """``kwargs`` with each old name in ``aliases`` (old -> new) replaced by its new name.

    Raises:
        TypeError: when an old name and its new name are both given.
    """
    out = dict(kwargs)
    for old, new in aliases.items():
        if old not in out:
            continue
        if new in out:
            raise TypeError(
                f"{func.__qualname__}() got both {old!r} (the old name) and {new!r}; "
                f"pass only {new!r}"
            )
        out[new] = out.pop(old)
    return out


def keyword_aliases(**aliases: str) -> Callable[[F], F]:
    """Decorator: accept the old keyword names ``old=new`` of ``func`` as aliases.

    A ``ValueError`` or ``TypeError`` of ``func`` that names a parameter given under its old name
    says so.

    Example::

        @keyword_aliases(canvas_size="canvas")
        def make(canvas: int = 60): ...

        make(canvas_size=64) == make(canvas=64)  # both at once: TypeError
    """

    def decorate(func: F) -> F:
        names = inspect.signature(func).parameters
        for old, new in aliases.items():
            if new not in names:
                raise ValueError(f"{func.__qualname__} has no parameter {new!r} (alias {old!r})")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            used = {aliases[old]: old for old in kwargs if old in aliases}
            renamed = renamed_keywords(func, kwargs, aliases)
            try:
                return func(*args, **renamed)
            except (TypeError, ValueError) as error:
                named = [new for new in used if new in str(error)]
                if type(error) not in (TypeError, ValueError) or not named:
                    raise
                given = ", ".join(f"{new} given as its old name {used[new]}" for new in named)
                raise type(error)(f"{error} ({given})") from error

        wrapper.keyword_aliases = dict(aliases)
        return wrapper  # type: ignore[return-value]

    return decorate
