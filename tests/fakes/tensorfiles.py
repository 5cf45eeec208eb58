"""Tensor files written byte for byte as their formats say, without their libraries: safetensors
(8-byte little-endian header length, JSON header, data) and .npy (magic, version, header
length, dict literal, data). Tests that have numpy check these against numpy's own files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

__all__ = ["npy_bytes", "safetensors_bytes", "write_npy", "write_safetensors"]

CODES = {"F32": "f", "F64": "d", "F16": "e", "I64": "q", "I32": "i", "U8": "B"}


def safetensors_bytes(
    tensors: dict[str, tuple[str, tuple[int, ...], list[float] | bytes]],
    metadata: dict[str, str] | None = None,
) -> bytes:
    """{name: (dtype, shape, values or raw bytes)} as a safetensors file."""
    header: dict[str, object] = {}
    blobs = []
    offset = 0
    for name, (dtype, shape, values) in tensors.items():
        data = (
            values
            if isinstance(values, bytes)
            else struct.pack(f"<{len(values)}{CODES[dtype]}", *values)
        )
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path: Path, *args: object, **kwargs: object) -> Path:
    path.write_bytes(safetensors_bytes(*args, **kwargs))  # type: ignore[arg-type]
    return path


def npy_bytes(descr: str, shape: tuple[int, ...], data: bytes, *, fortran: bool = False) -> bytes:
    """A version 1.0 .npy file holding *data* (already in its byte order)."""
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    text = (header + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def write_npy(path: Path, descr: str, shape: tuple[int, ...], data: bytes, **kw: bool) -> Path:
    path.write_bytes(npy_bytes(descr, shape, data, **kw))
    return path
