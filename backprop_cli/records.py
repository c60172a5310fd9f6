"""Light data classes: what ``dataclasses.dataclass`` gives us, at a fraction of its start-up.

``dataclasses`` spends 0.25 ms on every class at import time (0.45 ms when
frozen); the ~40 record classes on the path of ``backprop solve`` cost 25 ms, a
fifth of the command's whole run. This decorator compiles only ``__init__``
(positional or keyword, defaults, ``field(default_factory=...)``: records are
made by the thousand in a batch check, so it must be as fast as a dataclass's),
about 0.03 ms, and gives ``__repr__``, ``__eq__`` and ``__hash__`` (following
the dataclass rules), frozen classes from shared closures, and a ``__reduce__``
that pickles the field values only. Type checkers
treat it as a dataclass (PEP 681, ``dataclass_transform``).

It covers what this project uses, not all of ``dataclasses``: no ``order``,
``kw_only`` or ``InitVar``; :func:`replace` is here, ``fields`` and ``asdict`` are not.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, Generic, TypeVar, dataclass_transform, overload

T = TypeVar("T")
V = TypeVar("V")
_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    """What ``field(...)`` returns: a default, a default factory, whether it compares."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, compare: bool,
                 repr: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          compare: bool = True, repr: bool = True) -> Any:
    """Like ``dataclasses.field`` for the options this project uses."""
    return Field(default, default_factory, compare, repr)


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, frozen: bool = False, eq: bool = True,
           repr: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True,
           repr: bool = True) -> Any:
    """``@record`` or ``@record(frozen=True, eq=False, ...)`` on a class with annotations."""
    def wrap(klass: type[T]) -> type[T]:
        return _build(klass, frozen=frozen, eq=eq, with_repr=repr)

    if cls is None:
        return wrap
    return wrap(cls)


def _fields_of(cls: type) -> list[tuple[str, Any, Callable[[], Any] | None, bool, bool]]:
    """(name, default, factory, compare, repr) for every field, base classes first."""
    found: dict[str, tuple[str, Any, Callable[[], Any] | None, bool, bool]] = {}
    for klass in reversed(cls.__mro__):
        inherited = getattr(klass, "__record_fields__", None)
        if inherited is not None and klass is not cls:
            for entry in inherited:
                found[entry[0]] = entry
            continue
        # the class's own annotations, without importing inspect (start-up time)
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if str(annotation).startswith("ClassVar"):
                continue
            value = klass.__dict__.get(name, _MISSING)
            if isinstance(value, Field):
                entry = (name, value.default, value.default_factory, value.compare, value.repr)
                if value.default is _MISSING:
                    delattr(klass, name)
                else:
                    setattr(klass, name, value.default)
            else:
                entry = (name, value, None, True, True)
            found[name] = entry
    return list(found.values())


def _compile_init(names: tuple[str, ...], defaults: dict[str, Any],
                  factories: dict[str, Any], frozen: bool, post_init: bool,
                  qualname: str) -> Callable[..., None]:
    """``__init__(self, a, b=<default>, c=<factory>)``, compiled: as fast as a dataclass's."""
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    parameters = []
    body = []
    for index, name in enumerate(names):
        if name in defaults:
            namespace[f"_default_{index}"] = defaults[name]
            parameters.append(f"{name}=_default_{index}")
        elif name in factories:
            namespace[f"_factory_{index}"] = factories[name]
            parameters.append(f"{name}=_MISSING")
            body.append(f"    if {name} is _MISSING: {name} = _factory_{index}()")
        else:
            parameters.append(name)
        # frozen: straight into the instance dictionary (past the __setattr__ that refuses,
        # three times faster than object.__setattr__)
        body.append(f"    _fields[{name!r}] = {name}" if frozen else f"    self.{name} = {name}")
    if frozen and names:
        body.insert(0, "    _fields = self.__dict__")
    if post_init:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + "\n".join(body or ["    pass"])
    exec(source, namespace)  # the source is built from field names, never from data
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


def _make_reduce(cls: Any, names: tuple[str, ...]) -> Callable[[Any], Any]:
    """``__reduce__``: pickled as the class and its field values, rebuilt by ``__init__``.

    A batch check sends its reports between processes: a tuple of values pickles
    and loads several times faster than the instance dictionary pickle takes by
    default. ``attrgetter`` makes the tuple in C, and costs nothing to create.
    """
    if not names:
        return lambda self: (cls, ())
    values = attrgetter(*names)
    if len(names) == 1:
        return lambda self: (cls, (values(self),))
    return lambda self: (cls, values(self))


def _build(klass: type[T], *, frozen: bool, eq: bool, with_repr: bool) -> type[T]:
    cls: Any = klass  # methods are assigned below, which the type checker would refuse
    fields = _fields_of(cls)
    names = tuple(f[0] for f in fields)
    defaults = {f[0]: f[1] for f in fields if f[1] is not _MISSING}
    factories = {f[0]: f[2] for f in fields if f[2] is not None}
    compared = tuple(f[0] for f in fields if f[3])
    shown = tuple(f[0] for f in fields if f[4])
    qualname = cls.__qualname__
    cls.__init__ = _compile_init(names, defaults, factories, frozen,
                                 hasattr(cls, "__post_init__"), qualname)
    cls.__record_fields__ = tuple(fields)
    setattr(cls, "__match_args__", names)  # noqa: B010 (the type checker refuses the plain form)
    own = cls.__dict__
    if "__reduce__" not in own:
        cls.__reduce__ = _make_reduce(cls, names)
    if with_repr and "__repr__" not in own:
        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{qualname}({inner})"

        cls.__repr__ = __repr__
    if eq and "__eq__" not in own:
        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in compared)

        cls.__eq__ = __eq__
        if frozen:
            def __hash__(self: Any) -> int:
                return hash(tuple(getattr(self, n) for n in compared))

            cls.__hash__ = __hash__
        else:
            cls.__hash__ = None
    if frozen:
        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field '{name}'")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field '{name}'")

        cls.__setattr__ = __setattr__
        cls.__delattr__ = __delattr__
    return klass


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record ``obj`` with some fields changed (``dataclasses.replace``)."""
    names = [entry[0] for entry in type(obj).__record_fields__]  # type: ignore[attr-defined]
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field '{sorted(unknown)[0]}'")
    values = {name: changes[name] if name in changes else getattr(obj, name) for name in names}
    return type(obj)(**values)


class cached_property(Generic[V]):  # named as the functools one it replaces
    """``functools.cached_property`` without its lock.

    Python 3.11's takes a lock on every first access (3.12 dropped it); a batch
    check reads a few cached properties of each of thousands of problems, and
    the lock was most of their cost. The value is stored in the instance's
    ``__dict__``, so later reads do not come here at all.
    """

    def __init__(self, func: Callable[[Any], V]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[V]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> V: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value
