"""Frozen records: what envsnap's models need from `dataclasses`, without its start-up cost.

``import dataclasses`` loads `inspect` (with `ast`, `dis` and `tokenize`), and each
``@dataclass(frozen=True)`` compiles five or six functions, on every start of `envsnap capture`,
which runs before every training job (bench/ measures it). `record` compiles one function,
``__init__``; equality, hash, repr and immutability are shared methods of `Record`.

The behaviour is that of ``@dataclass(frozen=True)``: fields in annotation order (those of base
records first), plain defaults and ``field(default_factory=...)``, ``ClassVar`` annotations
skipped, positional or keyword arguments, ``__post_init__``. Instances are equal when of the same
class with equal compared fields, hash by those fields, show as ``Name(field=value, ...)`` and
refuse assignment with `FrozenError` (an `AttributeError`, as `dataclasses.FrozenInstanceError`).
`fields` and `replace` mirror the `dataclasses` functions of the same names.
"""

from __future__ import annotations

TYPE_CHECKING = False  # keeps `typing` off every start; mypy reads this name as usual
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar

    from typing_extensions import dataclass_transform

    R = TypeVar("R", bound="Record")
    C = TypeVar("C", bound=type)
else:

    def dataclass_transform(**_kwargs: object) -> Callable[[C], C]:
        return lambda fn: fn


__all__ = ["MISSING", "Field", "FrozenError", "Record", "field", "fields", "record", "replace"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    """One field of a record: name, annotation (as written), default or default factory."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr", "type")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        compare: bool = True,
        repr: bool = True,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field with options, as `dataclasses.field`: a default factory, or left out of eq/repr."""
    return Field(default, default_factory, compare, repr)


class Record:
    """Base of `record` classes: immutability, equality, hash and repr over the fields."""

    __record_fields__: ClassVar[tuple[Field, ...]] = ()
    __record_compared__: ClassVar[tuple[str, ...]] = ()
    __record_shown__: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenError(f"cannot delete field {name!r}")

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__record_compared__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)  # for mypy: same class
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_shown__)
        return f"{type(self).__qualname__}({shown})"


def _is_classvar(annotation: Any) -> bool:
    text = str(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _init_source(cls: type, found: list[Field]) -> tuple[str, dict[str, Any]]:
    """The source of a function that returns *cls*'s ``__init__``, and its globals."""
    names: dict[str, Any] = {"_set": object.__setattr__, "_M": MISSING}
    params, body = ["self"], []
    seen_default = False
    for f in found:
        if f.default is not MISSING:
            names[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            value, seen_default = f.name, True
        elif f.default_factory is not MISSING:
            names[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_M")
            value, seen_default = f"_f_{f.name}() if {f.name} is _M else {f.name}", True
        else:
            if seen_default:
                raise TypeError(f"{cls.__name__}: non-default field {f.name!r} after a default")
            params.append(f.name)
            value = f.name
        body.append(f"    _set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["    pass"]) + "\n"
    return source, names


# A record class made fewer times than this is made by `_bind`, without compiling anything: an
# ``__init__`` costs about 60 us to compile, as much as a few dozen bindings, and most classes of a
# `capture` or `check` are made once or twice. One made more often gets its compiled ``__init__``.
COMPILE_AFTER = 16


def _bind(cls: type, self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Set *self*'s fields from *args* and *kwargs* as the compiled ``__init__`` would; False
    (nothing set) for any call that ``__init__`` would refuse, left to it to raise its error."""
    found: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    if len(args) > len(found):
        return False
    values = {f.name: value for f, value in zip(found, args)}
    for name, value in kwargs.items():
        if name in values:
            return False
        values[name] = value
    ordered: list[tuple[Field, Any]] = []
    for f in found:
        if f.name in values:
            ordered.append((f, values.pop(f.name)))
        elif f.default is not MISSING:
            ordered.append((f, f.default))
        elif f.default_factory is not MISSING:
            ordered.append((f, MISSING))  # made below, once every check passed
        else:
            return False
    if values:  # an unknown keyword
        return False
    for f, given in ordered:
        object.__setattr__(self, f.name, f.default_factory() if given is MISSING else given)
    if hasattr(cls, "__post_init__"):
        self.__post_init__()
    return True


def _first_init(cls: type) -> Callable[..., None]:
    """An ``__init__`` that binds the first few instances of *cls* without compiling anything
    (`_bind`), then compiles *cls*'s own and puts it in its place. A call `_bind` leaves (a
    missing or unknown argument) compiles it at once, so that the error is Python's own.

    Compiling every record's ``__init__`` when its module is imported cost each start of
    `capture` and `check` a few milliseconds, mostly for records the run never makes; compiling
    it on first use still cost them one or two, for records made once.
    """
    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made < COMPILE_AFTER and _bind(cls, self, args, kwargs):
            return
        source, names = _init_source(cls, list(cls.__record_fields__))  # type: ignore[attr-defined]
        exec(source, names)  # noqa: S102 - our own generated source, as dataclasses does
        init = names["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__module__ = cls.__module__
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    return __init__


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: C) -> C:
    """Make *cls* (a `Record` subclass with annotated fields) a frozen record."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            found[f.name] = f
    # With `from __future__ import annotations` (every envsnap module) the class dict holds the
    # annotations as strings on every Python, 3.14's lazy annotations included.
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    if not annotations and "__annotate__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: a record needs `from __future__ import annotations`")
    for name, annotation in annotations.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        spec.name, spec.type = name, annotation
        if isinstance(value, Field):
            if spec.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        found.pop(name, None)
        found[name] = spec
    ordered = list(found.values())
    _init_source(cls, ordered)  # a field order `__init__` cannot take fails here, not later
    cls.__init__ = _first_init(cls)  # type: ignore[misc]
    cls.__record_fields__ = tuple(ordered)  # type: ignore[attr-defined]
    cls.__record_compared__ = tuple(f.name for f in ordered if f.compare)  # type: ignore[attr-defined]
    cls.__record_shown__ = tuple(f.name for f in ordered if f.repr)  # type: ignore[attr-defined]
    return cls


def fields(obj: Record | type[Record]) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    return obj.__record_fields__


def replace(obj: R, /, **changes: Any) -> R:
    """A copy of record *obj* with *changes* applied (as `dataclasses.replace`)."""
    unknown = set(changes).difference(f.name for f in obj.__record_fields__)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {', '.join(sorted(unknown))}")
    for f in obj.__record_fields__:
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)
