"""Comparing one output across runs, format by format, on real files: safetensors and .npy
read from their own headers (hostile ones refused and compared as bytes, with a note), .npz
member by member, metrics value by value, symbolic links by target, never followed."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

import pytest

from envsnap.repro.compare import compare_output, kind_of
from envsnap.repro.compare.formats import read_npy, read_safetensors
from envsnap.repro.compare.tensors import Unreadable
from tests.fakes.tensorfiles import npy_bytes, safetensors_bytes, write_npy, write_safetensors

F32 = struct.Struct("<f")


def runs(tmp_path: Path, name: str, *contents: bytes) -> list[Path | None]:
    out: list[Path | None] = []
    for i, data in enumerate(contents):
        path = tmp_path / f"run{i + 1}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append(path)
    return out


def compare(tmp_path: Path, name: str, *contents: bytes):  # type: ignore[no-untyped-def]
    paths = runs(tmp_path, name, *contents)
    return compare_output(name, paths, scratch=tmp_path / "scratch", use_numpy=False)


def test_identical_safetensors_count_their_tensors(tmp_path: Path) -> None:
    data = safetensors_bytes({"w": ("F32", (2, 2), [1, 2, 3, 4]), "b": ("F32", (2,), [0, 1])})
    out = compare(tmp_path, "model.safetensors", data, data, data)
    assert out.identical and out.kind == "safetensors" and len(out.tensors) == 2
    assert len(set(out.digests)) == 1 and len(out.digests) == 3


def test_safetensors_tensor_by_tensor(tmp_path: Path) -> None:
    a = safetensors_bytes(
        {"w": ("F32", (2, 3), [1, 2, 3, 4, 5, 6]), "b": ("F32", (2,), [0, 1])},
        {"epoch": "3"},
    )
    nudged = F32.unpack(F32.pack(5.0))[0] + 4.76837158203125e-07  # one ulp above 5.0
    b = safetensors_bytes(
        {"w": ("F32", (2, 3), [1, 2, 3, 4, nudged, 6]), "b": ("F32", (2,), [0, 1])},
        {"epoch": "4"},
    )
    out = compare(tmp_path, "model.safetensors", a, b)
    assert not out.identical
    w = next(t for t in out.tensors if t.name == "w")
    assert (w.differing, w.max_ulps, w.first_index) == (1, 1, (1, 1))
    assert next(t for t in out.tensors if t.name == "b").identical
    assert [(v.key, v.first, v.other) for v in out.values] == [("epoch", "3", "4")]
    assert (
        out.summary()
        == "model.safetensors 1 of 2 tensors differ (max 1 ulp); epoch differs (3 vs 4)"
    )


def test_shape_and_presence_differences_are_named(tmp_path: Path) -> None:
    a = safetensors_bytes({"w": ("F32", (2, 2), [1, 2, 3, 4]), "old": ("F32", (1,), [1])})
    b = safetensors_bytes({"w": ("F32", (4,), [1, 2, 3, 4]), "new": ("F32", (1,), [1])})
    notes = {t.name: t.note for t in compare(tmp_path, "m.safetensors", a, b).tensors}
    assert notes == {
        "w": "float32 [2, 2] in run 1, float32 [4] in run 2",
        "old": "only in run 1",
        "new": "only in run 2",
    }


HOSTILE_SAFETENSORS = {
    "short": b"\x01\x02",
    "huge header length": struct.pack("<Q", 1 << 60) + b"{}",
    "header past the end": struct.pack("<Q", 100) + b"{}",
    "not json": struct.pack("<Q", 3) + b"{{{",
    "a list": struct.pack("<Q", 2) + b"[]",
    "deep": struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000,
    "bad dtype": safetensors_bytes({"w": ("F32", (1,), [1])}).replace(b'"F32"', b'"Q99"'),
    "offsets outside": safetensors_bytes({"w": ("F32", (1,), [1])}).replace(b"[0, 4]", b"[0, 9]"),
    "wrong size": safetensors_bytes({"w": ("F32", (3,), [1])}),
    "negative shape": safetensors_bytes({"w": ("F32", (1,), [1])}).replace(b"[1]", b"[-1]"),
    "metadata not strings": safetensors_bytes({"w": ("F32", (1,), [1])}, {"a": 1}),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SAFETENSORS))
def test_hostile_safetensors_headers_are_refused(tmp_path: Path, name: str) -> None:
    data = HOSTILE_SAFETENSORS[name]
    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    with pytest.raises(Unreadable), open(path, "rb") as fh:
        read_safetensors(fh, len(data))
    out = compare(tmp_path, "m.safetensors", data, data + b"!")
    assert out.kind == "bytes" and not out.identical
    assert out.note.startswith("unreadable as safetensors (") and "compared as bytes" in out.note


def test_a_truncated_npy_falls_back_to_bytes_with_a_note(tmp_path: Path) -> None:
    whole = npy_bytes("<f4", (4,), struct.pack("<4f", 1, 2, 3, 4))
    out = compare(tmp_path, "w.npy", whole[:-3], whole[:-2])
    assert out.kind == "bytes"
    assert "truncated: the array needs 16 bytes" in out.note
    assert "bytes differ from offset" in out.note


@pytest.mark.parametrize(
    "header",
    [
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (__import__('os'),), }",
        b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
        b"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
        b"{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,), }",
        b"{'descr': '<O8', 'fortran_order': False, 'shape': (1,), }",
        b"{'descr': '<f4', 'fortran_order': False, 'shape': " + b"(" * 5000 + b")" * 5000 + b"}",
    ],
)
def test_hostile_npy_headers_are_refused(tmp_path: Path, header: bytes) -> None:
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 8
    path = tmp_path / "x.npy"
    path.write_bytes(data)
    with pytest.raises(Unreadable), open(path, "rb") as fh:
        read_npy(fh, len(data))


def test_fortran_order_npy_names_the_index_as_numpy_does(tmp_path: Path) -> None:
    a = npy_bytes("<f8", (2, 3), struct.pack("<6d", 0, 1, 2, 3, 4, 5), fortran=True)
    b = npy_bytes("<f8", (2, 3), struct.pack("<6d", 0, 1, 2, 9, 4, 5), fortran=True)
    out = compare(tmp_path, "w.npy", a, b)
    (t,) = out.tensors
    # storage index 3 of a column-major (2, 3) array is row 1, column 1
    assert (t.name, t.first_index, t.max_abs) == ("w", (1, 1), 6.0)


def test_npz_member_by_member_and_zip_bombs_refused(tmp_path: Path) -> None:
    def npz(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
        with zipfile.ZipFile(path, "w", method) as z:
            for name, data in members.items():
                z.writestr(name + ".npy", data)
        return path.read_bytes()

    one = npy_bytes("<i4", (3,), struct.pack("<3i", 1, 2, 3))
    two = npy_bytes("<i4", (3,), struct.pack("<3i", 1, 2, 4))
    a = npz(tmp_path / "a.npz", {"x": one, "y": one})
    b = npz(tmp_path / "b.npz", {"x": one, "y": two})
    out = compare(tmp_path, "arrays.npz", a, b)
    assert {t.name: t.identical for t in out.tensors} == {"x": True, "y": False}
    bomb = npz(tmp_path / "bomb.npz", {"x": b"\0" * (80 << 20)}, zipfile.ZIP_DEFLATED)
    out = compare(tmp_path / "2", "arrays.npz", bomb, bomb[:-1] + b"\1")
    assert out.kind == "bytes" and "unpacks 64x larger" in out.note


def test_metrics_compare_numbers_as_numbers(tmp_path: Path) -> None:
    a = json.dumps({"loss": 0.25, "acc": 1, "nan": float("nan"), "tag": "x"}).encode()
    b = json.dumps({"acc": 1.0, "loss": 0.2500003, "nan": float("nan"), "tag": "x"}).encode()
    out = compare(tmp_path, "metrics.json", a, b)
    assert [(v.key, v.abs_diff) for v in out.values] == [("loss", pytest.approx(3e-7))]
    assert out.summary() == "metrics.json loss differs by 3e-07"
    same = compare(tmp_path / "2", "metrics.json", a, json.dumps(json.loads(a), indent=1).encode())
    assert same.identical and same.note == "bytes differ, every value is equal"


def test_csv_and_yaml_and_unparsable_metrics(tmp_path: Path) -> None:
    out = compare(tmp_path, "log.csv", b"step,loss\n1,0.5\n2,0.25\n", b"step,loss\n1,0.5\n2,0.3\n")
    assert [(v.key, v.first, v.other) for v in out.values] == [("row 2.loss", "0.25", "0.3")]
    yaml_a, yaml_b = b"a: &x [1, 2]\nb: *x\n", b"a: [1, 2]\nb: [1, 3]\n"
    refused = compare(tmp_path / "y", "m.yaml", yaml_a, yaml_b)
    assert refused.kind == "bytes" and "YAML aliases are not accepted" in refused.note
    broken = compare(tmp_path / "j", "m.json", b"{", b"{ ")
    assert broken.kind == "bytes" and "unreadable as json" in broken.note


def test_a_symlink_is_compared_by_target_and_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("do not read me")
    paths: list[Path | None] = []
    for i, target in enumerate((str(secret), "/etc/hostname")):
        link = tmp_path / f"run{i}" / "latest.pt"
        link.parent.mkdir()
        link.symlink_to(target)
        paths.append(link)
    out = compare_output("latest.pt", paths, scratch=tmp_path / "s")
    assert out.kind == "link" and not out.identical
    assert out.note.startswith("a symbolic link: not followed; its target differs")
    assert out.digests == ("", "")  # nothing was read through the link
    same = compare_output("latest.pt", [paths[0], paths[0]], scratch=tmp_path / "s")
    assert same.identical and same.note == "a symbolic link: not followed"


def test_missing_in_one_run(tmp_path: Path) -> None:
    (path,) = runs(tmp_path, "a.bin", b"x")
    out = compare_output("a.bin", [path, None, path], scratch=tmp_path / "s")
    assert out.kind == "missing" and out.note == "only runs 1, 3 made it"


def test_bytes_and_kinds(tmp_path: Path) -> None:
    out = compare(tmp_path, "log.txt", b"abcdef", b"abcxef")
    assert out.note == "bytes differ from offset 3 (6 bytes)"
    assert kind_of(Path("x.pt")) == "torch" and kind_of(Path("x.txt")) == "bytes"
    bin_file = tmp_path / "pytorch_model.bin"
    bin_file.write_bytes(b"PK\x03\x04rest")
    assert kind_of(bin_file) == "torch"
    bin_file.write_bytes(b"\x00\x01")
    assert kind_of(bin_file) == "bytes"


def test_torch_checkpoint_without_torch_is_bytes_with_a_note(tmp_path: Path) -> None:
    out = compare(tmp_path, "model.pt", b"PK\x03\x04one", b"PK\x03\x04two")
    assert out.kind == "bytes"
    assert "no interpreter with torch here to read it (weights_only=True)" in out.note


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    paths: list[Path | None] = []
    for i in range(2):
        fifo = tmp_path / f"r{i}" / "pipe"
        fifo.parent.mkdir()
        os.mkfifo(fifo)
        paths.append(fifo)
    out = compare_output("pipe", paths, scratch=tmp_path / "s")
    assert out.identical and out.note == "not a regular file: not compared"


def test_npy_written_by_the_fakes_reads_back(tmp_path: Path) -> None:
    path = write_npy(tmp_path / "a.npy", "<f4", (2,), struct.pack("<2f", 1, 2))
    with open(path, "rb") as fh:
        tfile = read_npy(fh, path.stat().st_size, "a")
    assert tfile.tensors[0].shape == (2,) and tfile.tensors[0].dtype.name == "float32"
    st = write_safetensors(tmp_path / "a.safetensors", {"w": ("I64", (1,), [7])})
    with open(st, "rb") as fh:
        assert read_safetensors(fh, st.stat().st_size).tensors[0].dtype.name == "int64"


def test_one_scan_gives_both_digests_and_where_they_differ(tmp_path: Path) -> None:
    import hashlib

    from envsnap.repro.compare.scan import CHUNK, scan

    body = os.urandom(CHUNK) * 2 + os.urandom(CHUNK // 2)
    changed = bytearray(body)
    changed[CHUNK + 5] ^= 1
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(body)
    b.write_bytes(bytes(changed))
    c.write_bytes(body + b"x")
    got = scan(a, b)
    assert got.first == hashlib.sha256(body).hexdigest()
    assert got.other == hashlib.sha256(changed).hexdigest()
    assert got.ranges == ((CHUNK, 2 * CHUNK),)
    assert got.equal_between(0, CHUNK) and not got.equal_between(CHUNK + 5, CHUNK + 6)
    same = scan(a, a, first=got.first)
    assert same.other == got.first and same.ranges == ()
    longer = scan(a, c)
    assert longer.ranges is None and longer.other == hashlib.sha256(body + b"x").hexdigest()
