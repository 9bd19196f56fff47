"""``@frozen``: ``@dataclass(frozen=True)``, made at import for less.

Python 3.11 writes each method a dataclass adds as source text and compiles it, class by class: six
functions for a frozen class, at about 0.1 ms each, and the program imports some sixty of them on every
run (~27 ms of an ``intent plan`` that takes 0.7 s). ``__eq__``, ``__hash__`` and ``__repr__`` need nothing
of the class but the names of its fields, so one function of each serves every class here: the class keeps
what its fields are (``__frozen_compared__``, ``__frozen_hashed__``, ``__frozen_shown__``). ``__init__``,
``__setattr__`` and ``__delattr__`` are dataclass's own. The three behave as dataclass's: equal when of
the same class with equal compared fields (``field(compare=False)`` left out; another class:
``NotImplemented``), the hash of the hashed fields (``field(hash=...)``, else the compared ones), and
``Name(field=value, ...)`` of the fields not marked ``repr=False``. A method the class body defines is
kept, as dataclass keeps it (a body's ``__hash__ = None`` too). Fields are compared as a tuple, as Python
3.11's dataclass does (an object there equals itself, a NaN too); ``tests/test_frozen.py`` holds all
three to the running Python's own dataclass.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: type[T]) -> type[T]:
    """``dataclass(frozen=True)`` of ``cls`` with the shared methods (see the module)."""
    own = dict(cls.__dict__)
    made = dataclasses.dataclass(cls, frozen=True, eq=False, repr=False)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    compared = tuple(f.name for f in fields if f.compare)
    made.__frozen_compared__ = _getter(compared)  # type: ignore[attr-defined]
    made.__frozen_hashed__ = _getter(tuple(  # type: ignore[attr-defined]
        f.name for f in fields if (f.compare if f.hash is None else f.hash)))
    made.__frozen_shown__ = tuple(f.name for f in fields if f.repr)  # type: ignore[attr-defined]
    if "__eq__" not in own:
        made.__eq__ = _eq  # type: ignore[method-assign]
    # dataclass adds a hash unless the class body defines one, None included (Python sets it to None for
    # a body that defines only __eq__: that is not one of its own)
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        made.__hash__ = _hash  # type: ignore[method-assign]
    if "__repr__" not in own:
        made.__repr__ = _repr  # type: ignore[method-assign]
    return made


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of these fields of an object (as dataclass compares them: a tuple, even of one)."""
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if names:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        key = self.__class__.__frozen_compared__
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__class__.__frozen_hashed__(self))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__class__.__frozen_shown__)
    return f"{self.__class__.__qualname__}({shown})"
