"""Tensor file headers read without their libraries: safetensors and numpy's .npy.

A header comes from a file the job wrote, which may be anything: lengths are bounded before
anything is read, every field is type-checked, every tensor must lie inside the file, and a file
that breaks a rule raises `Unreadable` with the reason (its bytes are compared instead).

- safetensors: an 8-byte little-endian header length, a JSON header (at most 100 MiB, as the
  safetensors library allows), then the data; ``data_offsets`` count from the end of the header.
- .npy (format 1.0-3.0): the magic ``\\x93NUMPY``, a version, the header's length (2 or 4
  bytes), a Python dict literal (``descr``, ``fortran_order``, ``shape``), then the array.
"""

from __future__ import annotations

import json
import struct

from envsnap._record import Record, record

from .tensors import DTYPES, DType, Unreadable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

__all__ = ["TensorFile", "TensorSpec", "read_npy", "read_safetensors"]

MAX_SAFETENSORS_HEADER = 100 << 20
MAX_NPY_HEADER = 64 << 10
MAX_TENSORS = 1 << 20
MAX_DIMS = 64
_SAFETENSORS_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "C64": "complex64",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U64": "uint64",
    "U32": "uint32",
    "U16": "uint16",
    "U8": "uint8",
    "BOOL": "bool",
}
# npy descr: byte order, kind, size
_NPY_KINDS = {"f": "float", "i": "int", "u": "uint", "b": "bool", "c": "complex"}


@record
class TensorSpec(Record):
    """One tensor of a file: name, element type, shape, and where its bytes lie."""

    name: str
    dtype: DType
    shape: tuple[int, ...]
    offset: int  # from the start of the file
    order: str = "C"  # F: a Fortran-ordered .npy

    @property
    def count(self) -> int:
        """The number of elements."""
        total = 1
        for dim in self.shape:
            total *= dim
        return total

    @property
    def nbytes(self) -> int:
        """The size of its data in bytes."""
        return self.count * self.dtype.size * self.dtype.parts


@record
class TensorFile(Record):
    """The tensors of a file, and its other values (safetensors metadata, a checkpoint's
    numbers and strings) as ``(name, JSON text)`` pairs."""

    tensors: tuple[TensorSpec, ...]
    values: tuple[tuple[str, str], ...] = ()


def _shape(raw: Any, where: str) -> tuple[int, ...]:
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_DIMS:
        raise Unreadable(f"{where}: shape is not a list of at most {MAX_DIMS} sizes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 62 for d in raw):
        raise Unreadable(f"{where}: shape holds something other than sizes")
    return tuple(raw)


def read_safetensors(fh: BinaryIO, size: int) -> TensorFile:
    """The header of the safetensors file open as *fh* (of *size* bytes)."""
    head = fh.read(8)
    if len(head) < 8:
        raise Unreadable("shorter than a safetensors header")
    (length,) = struct.unpack("<Q", head)
    if length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        raise Unreadable(f"header length {length} does not fit the file ({size} bytes)")
    from envsnap.errors import InputError
    from envsnap.formats.capture import json_value

    try:
        header = json_value(fh.read(length).decode("utf-8"), "header")
    except UnicodeDecodeError:
        raise Unreadable("header is not UTF-8") from None
    except InputError as exc:
        raise Unreadable(f"header is {exc.message.partition(': ')[2]}") from None
    if not isinstance(header, dict) or len(header) > MAX_TENSORS:
        raise Unreadable("header is not a JSON object of tensors")
    base = 8 + length
    tensors, values = [], []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise Unreadable("__metadata__ is not a table of strings")
            values = [(k, json.dumps(v)) for k, v in info.items()]
            continue
        tensors.append(_safetensor(name, info, base, size))
    return TensorFile(tuple(tensors), tuple(values))


def _safetensor(name: str, info: Any, base: int, size: int) -> TensorSpec:
    where = f"tensor {name[:80]!r}"
    if not isinstance(info, dict):
        raise Unreadable(f"{where}: not an object")
    dtype = DTYPES.get(_SAFETENSORS_DTYPES.get(str(info.get("dtype")), ""))
    if dtype is None:
        raise Unreadable(f"{where}: unknown dtype {str(info.get('dtype'))[:20]!r}")
    shape = _shape(info.get("shape"), where)
    offsets = info.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise Unreadable(f"{where}: data_offsets is not two integers")
    begin, end = offsets
    spec = TensorSpec(name, dtype, shape, base + begin)
    if not 0 <= begin <= end or base + end > size or end - begin != spec.nbytes:
        raise Unreadable(f"{where}: its data lies outside the file or has the wrong size")
    return spec


def read_npy(fh: BinaryIO, size: int, name: str = "") -> TensorFile:
    """The header of the .npy file open as *fh* (of *size* bytes): one tensor named *name*."""
    head = fh.read(8)
    if len(head) < 8 or head[:6] != b"\x93NUMPY":
        raise Unreadable("no .npy magic")
    major = head[6]
    if major == 1:
        raw = fh.read(2)
        length = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
        start = 10
    elif major in (2, 3):
        raw = fh.read(4)
        length = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
        start = 12
    else:
        raise Unreadable(f".npy format version {major} is not known")
    if not 0 <= length <= MAX_NPY_HEADER or start + length > size:
        raise Unreadable(f".npy header length {length} does not fit the file")
    header = _npy_header(fh.read(length), major)
    dtype = _npy_dtype(header.get("descr"))
    order = header.get("fortran_order")
    if not isinstance(order, bool):
        raise Unreadable(".npy fortran_order is not True or False")
    shape = _shape(header.get("shape"), ".npy")
    spec = TensorSpec(name, dtype, shape, start + length, "F" if order else "C")
    if spec.offset + spec.nbytes > size:
        raise Unreadable(
            f"truncated: the array needs {spec.nbytes} bytes, the file holds {size - spec.offset}"
        )
    return TensorFile((spec,))


def _npy_header(raw: bytes, major: int) -> dict[str, Any]:
    import ast

    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        header = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, RecursionError, MemoryError):
        raise Unreadable(".npy header is not a dict literal") from None
    if not isinstance(header, dict):
        raise Unreadable(".npy header is not a dict literal")
    return header


def _npy_dtype(descr: Any) -> DType:
    if not isinstance(descr, str) or len(descr) < 3 or len(descr) > 8:
        raise Unreadable(".npy descr is not a plain type (structured arrays compare as bytes)")
    order, kind, digits = descr[0], descr[1], descr[2:]
    if order == ">":
        raise Unreadable(f"big-endian .npy ({descr}): compared as bytes")
    if order not in "<|=" or kind not in _NPY_KINDS or not digits.isdigit():
        raise Unreadable(f".npy type {descr!r} is not a plain number type (compared as bytes)")
    size = int(digits)
    if kind == "b":
        name = "bool" if size == 1 else ""
    elif kind == "c":
        name = f"complex{size * 8}"
    else:
        name = f"{_NPY_KINDS[kind]}{size * 8}"
    found = DTYPES.get(name)
    if found is None:
        raise Unreadable(f".npy type {descr!r} is not supported (compared as bytes)")
    return found
