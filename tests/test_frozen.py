"""engine.frozen: ``@frozen`` behaves as ``@dataclass(frozen=True)``, field options and all, with its
``__eq__``, ``__hash__`` and ``__repr__`` shared by every class instead of compiled for each."""

from __future__ import annotations

import dataclasses
import math
import pickle
from dataclasses import FrozenInstanceError, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.frozen import frozen


@frozen
class Ours:
    a: Any
    b: Any = 0
    hidden: Any = field(default=None, repr=False)
    ignored: Any = field(default=None, compare=False)
    unhashed: Any = field(default=None, hash=False)
    only_hashed: Any = field(default=None, compare=False, hash=True)
    made: list[int] = field(default_factory=list, compare=False, hash=False)


# the same fields, each with the same options, as a plain frozen dataclass
Theirs = dataclasses.make_dataclass("Theirs", [
    (f.name, f.type, field(default=f.default, default_factory=f.default_factory, repr=f.repr, compare=f.compare,
                           hash=f.hash)) if f.default_factory is not dataclasses.MISSING or f.default is not
    dataclasses.MISSING else (f.name, f.type) for f in dataclasses.fields(Ours)], frozen=True)


@frozen
class One:
    x: Any


@frozen
class OneChild(One):
    y: int = 1


@frozen
class NoFields:
    pass


@frozen
class OwnEq:
    x: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OwnEq) and other.x % 10 == self.x % 10

    def __hash__(self) -> int:
        return self.x % 10


@frozen
class Unhashable:
    x: int
    __hash__ = None  # type: ignore[assignment]


@frozen
class OwnRepr:
    x: int

    def __repr__(self) -> str:
        return "mine"


NAN = float("nan")
values = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=2), st.sampled_from([NAN, 0.0, -0.0, 1.0]),
                   st.tuples(st.integers(0, 2), st.sampled_from([NAN, "x"])))
records = st.fixed_dictionaries({name: values for name in ("a", "b", "hidden", "ignored", "unhashed", "only_hashed")})


@settings(max_examples=400, deadline=None)
@given(one=records, other=records)
def test_equality_hash_and_repr_are_dataclass_s(one: dict[str, Any], other: dict[str, Any]) -> None:
    ours, theirs = (Ours(**one), Ours(**other)), (Theirs(**one), Theirs(**other))
    assert (ours[0] == ours[1]) == (theirs[0] == theirs[1])
    assert (ours[0] != ours[1]) == (theirs[0] != theirs[1])
    assert ours[0] == ours[0] and (ours[0] == theirs[0]) is False  # NaN fields: one object is itself
    assert hash(ours[0]) == hash(theirs[0]) and hash(ours[1]) == hash(theirs[1])  # the same fields' tuple
    assert repr(ours[0]) == repr(theirs[0]).replace("Theirs(", "Ours(")
    assert pickle.loads(pickle.dumps(ours[0])) == ours[0] or any(
        isinstance(v, float) and math.isnan(v) or isinstance(v, tuple) and NAN in v for v in one.values())


def test_frozen_replace_fields_and_one_field_classes() -> None:
    record = Ours(1, 2)
    with pytest.raises(FrozenInstanceError):
        record.a = 5  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del record.b  # type: ignore[misc]
    assert replace(record, b=3) == Ours(1, 3) and dataclasses.is_dataclass(record)
    assert [f.name for f in dataclasses.fields(Ours)] == [f.name for f in dataclasses.fields(Theirs)]
    assert Ours(1, made=[1]) == Ours(1, made=[2]) and hash(Ours(1, made=[1])) == hash(Ours(1, made=[2]))
    assert Ours(1, only_hashed=1) == Ours(1, only_hashed=2)  # hashed, not compared
    assert One(NAN) != One(float("nan")) and One(NAN) == One(NAN)  # compared as a tuple of one, as dataclass does
    assert One((1,)) != One(1) and hash(One(1)) == hash(One(1))
    assert OneChild(1, 2) != One(1) and One(1) != OneChild(1, 2) and OneChild(1, 2) == OneChild(1, 2)
    assert repr(OneChild(1, 2)) == "OneChild(x=1, y=2)" and repr(NoFields()) == "NoFields()"
    assert NoFields() == NoFields() and hash(NoFields()) == hash(NoFields())
    assert {One(1): "a"}[One(1)] == "a"


def test_what_the_class_body_defines_is_kept() -> None:
    assert OwnEq(3) == OwnEq(13) and hash(OwnEq(3)) == hash(OwnEq(13)) == 3
    assert repr(OwnRepr(1)) == "mine" and OwnRepr(1) == OwnRepr(1) and OwnRepr(1) != OwnRepr(2)
    with pytest.raises(TypeError, match="unhashable"):
        hash(Unhashable(1))  # the body's own __hash__ = None, as dataclass leaves it
    assert Unhashable(1) == Unhashable(1)


def test_a_record_that_holds_itself_is_shown_without_recursing() -> None:
    holder = Ours([])
    holder.a.append(holder)
    assert repr(holder) == "Ours(a=[...], b=0, ignored=None, unhashed=None, only_hashed=None, made=[])"
