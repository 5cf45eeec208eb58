"""envsnap._record: frozen records behave as @dataclass(frozen=True) where envsnap relies on it."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from envsnap._record import MISSING, FrozenError, Record, field, fields, record, replace


@record
class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "point"


@record
class Labeled(Point):
    label: str = field(default_factory=lambda: "none")
    note: str = field(default="", compare=False, repr=False)


@record
class Checked(Record):
    value: int
    seen: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


def test_fields_in_order_with_base_fields_first() -> None:
    assert [f.name for f in fields(Labeled)] == ["x", "y", "tags", "label", "note"]
    assert [f.type for f in fields(Point)] == ["int", "int", "tuple[str, ...]"]
    assert fields(Point)[0].default is MISSING
    assert Point.kind == "point"  # a ClassVar is no field


def test_positional_keyword_and_default_arguments() -> None:
    assert Point(1) == Point(x=1, y=0, tags=())
    assert Point(1, 2).y == 2
    assert Labeled(1).label == "none"
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]


def test_default_factory_gives_a_new_object_each_time() -> None:
    a, b = Checked(1), Checked(2)
    assert a.seen == [] and a.seen is not b.seen


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.y  # type: ignore[misc]
    assert isinstance(FrozenError("x"), AttributeError)


def test_equality_hash_and_repr_as_dataclasses() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != Labeled(1)  # same fields, another class
    assert len({Point(1, 2), Point(1, 2)}) == 1
    assert Labeled(1, note="a") == Labeled(1, note="b")  # compare=False
    assert repr(Labeled(1, note="n")) == "Labeled(x=1, y=0, tags=(), label='none')"


def test_post_init_runs() -> None:
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_replace() -> None:
    p = Labeled(1, 2, label="a")
    q = replace(p, y=5)
    assert (q.x, q.y, q.label) == (1, 5, "a") and type(q) is Labeled
    with pytest.raises(TypeError, match="no field"):
        replace(p, z=1)


def test_copy_and_pickle_round_trip() -> None:
    p = Labeled(1, 2, ("a",), "b")
    assert copy.copy(p) == p
    assert copy.deepcopy(p) == p
    assert pickle.loads(pickle.dumps(p)) == p


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default field 'b' after a default"):

        @record
        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]


def test_importing_the_models_imports_no_dataclasses() -> None:

    from tests.fakes.imports import loaded

    assert loaded("import envsnap.model", ("dataclasses", "typing")) == []


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first line of each ``__init__`` that envsnap._record compiles from now on."""
    import envsnap._record as rec

    seen: list[str] = []

    def noting(source: str, names: dict[str, object]) -> None:
        seen.append(source.split("\n", maxsplit=1)[0])
        exec(source, names)  # the source _record generated

    # a module global comes before the builtin
    monkeypatch.setattr(rec, "exec", noting, raising=False)
    return seen


def test_a_records_init_is_compiled_by_a_call_it_refuses_and_keeps_its_errors(
    compiled: list[str],
) -> None:
    @record
    class Lazy(Record):
        a: int
        b: str = "x"

    assert compiled == []  # defining the class compiles nothing
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Lazy()  # type: ignore[call-arg]
    assert Lazy(1) == Lazy(a=1, b="x") and Lazy(2, "y").b == "y"
    assert compiled == ["def __init__(self, a, b=_d_b):"]  # once, on first use
    assert Lazy.__init__.__qualname__.endswith(".<locals>.Lazy.__init__")


def test_a_record_made_a_few_times_compiles_nothing_and_one_made_often_compiles_once(
    compiled: list[str],
) -> None:
    from envsnap._record import COMPILE_AFTER

    @record
    class Often(Record):
        a: int
        b: str = "x"
        seen: list[int] = field(default_factory=list)

        def __post_init__(self) -> None:
            self.seen.append(self.a)

    made = [Often(i) if i % 2 else Often(a=i, b="y") for i in range(COMPILE_AFTER - 1)]
    assert compiled == []  # bound, not compiled
    assert [(o.a, o.b, o.seen) for o in made[:3]] == [(0, "y", [0]), (1, "x", [1]), (2, "y", [2])]
    assert made[0].seen is not made[2].seen  # a new default each time
    with pytest.raises(FrozenError):
        made[0].a = 5  # type: ignore[misc]
    Often(99)
    assert compiled == ["def __init__(self, a, b=_d_b, seen=_M):"]
    assert Often(1) == made[1] and Often(1, "x", [7]).seen == [7, 1]
    assert compiled == ["def __init__(self, a, b=_d_b, seen=_M):"]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, 3, 4), {}), ((1,), {"a": 2}), ((1,), {"zz": 2}), ((), {"self": 1})],
)
def test_a_call_binding_refuses_gets_pythons_own_error(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    @record
    class Fresh(Record):
        a: int
        b: int = 0
        c: tuple[int, ...] = ()

    @dataclasses.dataclass(frozen=True)
    class Same:
        a: int
        b: int = 0
        c: tuple[int, ...] = ()

    with pytest.raises(TypeError) as ours:
        Fresh(*args, **kwargs)
    with pytest.raises(TypeError) as theirs:
        Same(*args, **kwargs)
    assert str(ours.value).split("()", 1)[1] == str(theirs.value).split("()", 1)[1]
