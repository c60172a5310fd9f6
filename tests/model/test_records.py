"""records.record behaves like dataclasses.dataclass for what the project uses."""

from __future__ import annotations

import dataclasses

import pytest

from backprop_cli.records import FrozenInstanceError, field, record, replace


@record
class Point:
    x: float
    y: float = 0.0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)


@record(frozen=True)
class Key:
    name: str
    index: int = 0


@record(frozen=True, eq=False)
class Node:
    value: float


@record
class Labelled(Point):
    label: str = "p"


def test_init_positional_keyword_defaults_and_factories() -> None:
    p = Point(1.0, tags=["a"])
    assert (p.x, p.y, p.tags, p.note) == (1.0, 0.0, ["a"], "")
    assert Point(1.0).tags is not Point(1.0).tags
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1.0, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes from 2 to 5 positional arguments but 6"):
        Point(1, 2, [], "", 5)  # type: ignore[call-arg]


def test_repr_eq_and_hash_follow_the_dataclass_rules() -> None:
    assert repr(Point(1.0, 2.0)) == "Point(x=1.0, y=2.0, tags=[])"
    assert Point(1.0, note="a") == Point(1.0, note="b")  # note does not compare
    assert Point(1.0) != Point(2.0)
    assert Point.__hash__ is None  # mutable and compared by value: unhashable
    assert hash(Key("a", 1)) == hash(Key("a", 1)) and {Key("a"): 1}[Key("a")] == 1
    a, b = Node(1.0), Node(1.0)
    assert a != b and len({a, b}) == 2  # eq=False: identity


def test_frozen() -> None:
    key = Key("a")
    with pytest.raises(FrozenInstanceError):
        key.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del key.name


def test_inheritance_and_replace() -> None:
    labelled = Labelled(1.0, 2.0, label="q")
    assert (labelled.x, labelled.label) == (1.0, "q")
    moved = replace(labelled, x=5.0)
    assert (moved.x, moved.y, moved.label) == (5.0, 2.0, "q") and labelled.x == 1.0
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(labelled, z=1)


def test_same_behaviour_as_dataclasses() -> None:
    @dataclasses.dataclass
    class Reference:
        x: float
        y: float = 0.0
        tags: list[str] = dataclasses.field(default_factory=list)

    assert repr(Reference(1.0)).split("(", 1)[1] == repr(Point(1.0)).split("(", 1)[1]
    assert Point.__match_args__ == ("x", "y", "tags", "note")


def test_pickled_as_field_values_and_rebuilt_equal() -> None:
    import pickle

    point = Labelled(1.5, tags=["a"], note="kept", label="q")
    for original in (point, Key("k", 2), Point(0.0, 2.0)):
        copy = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(copy) is type(original)
        assert vars(copy) == vars(original)
    assert Labelled.__reduce__(point) == (Labelled, (1.5, 0.0, ["a"], "kept", "q"))
    frozen = pickle.loads(pickle.dumps(Key("k", 2)))
    with pytest.raises(FrozenInstanceError):
        frozen.name = "other"  # type: ignore[misc]


def test_cached_property_computes_once_and_stores_in_the_instance() -> None:
    from backprop_cli.records import cached_property

    calls: list[int] = []

    class Box:
        def __init__(self, n: int) -> None:
            self.n = n

        @cached_property
        def double(self) -> int:
            """Twice n."""
            calls.append(self.n)
            return 2 * self.n

    box = Box(3)
    assert (box.double, box.double) == (6, 6) and calls == [3]
    assert vars(box)["double"] == 6
    assert Box(4).double == 8 and calls == [3, 4]
    assert isinstance(Box.double, cached_property) and Box.double.__doc__ == "Twice n."
