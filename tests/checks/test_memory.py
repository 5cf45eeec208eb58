"""Memory rules: RAM and GPU memory margins."""

from __future__ import annotations

import pytest

from envsnap.checks.rules import memory
from envsnap.model import Memory
from tests.fakes.snapshots import GIB, codes, gpus, snapshot


@pytest.mark.parametrize(
    ("gib", "expected"),
    [
        (1024, set()),
        (1010, set()),  # 98.6 %: MemTotal noise between identical machines
        (1000, {("warning", "memory.ram")}),  # 97.7 %
        (871, {("warning", "memory.ram")}),  # 85.1 %
        (512, {("error", "memory.ram")}),
    ],
)
def test_ram_margins(gib: int, expected: set) -> None:
    current = snapshot(hw={"memory": Memory(total_bytes=gib * GIB)})
    assert codes(memory.ram(snapshot(), current)) == expected


def test_more_ram_is_fine() -> None:
    assert memory.ram(snapshot(), snapshot(hw={"memory": Memory(total_bytes=2048 * GIB)})) == []


@pytest.mark.parametrize(
    ("mib", "expected"),
    [
        (81559, set()),  # H100 80GB vs A100 80GB: 99.6 %
        (76800, {("warning", "memory.gpu")}),  # 93.75 %: an ECC reservation of 1/16
        (40960, {("error", "memory.gpu")}),  # 40 GB card
    ],
)
def test_gpu_memory_margins(mib: int, expected: set) -> None:
    current = snapshot(hw={"gpus": gpus(8, memory_total_bytes=mib * 1024**2)})
    found = memory.gpu_memory(snapshot(), current)
    assert codes(found) == expected
    if found:
        assert found[0].expected == "80.0 GiB"
