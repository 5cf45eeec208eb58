"""Turn torch checkpoints into safetensors files: run inside an interpreter that has torch.

Like the numerics battery, this file runs as ``PYTHON -c SOURCE PAIRS`` in an interpreter that
need not hold envsnap (the job's own, or a rebuilt image's), so it imports only the standard
library and torch. PAIRS is a JSON list of ``[checkpoint, output]``. Each checkpoint is loaded
with ``torch.load(weights_only=True)`` (which refuses anything but tensors and plain containers:
a checkpoint is the job's output, never code to run), its nested dicts and lists are flattened
to dotted names, its tensors written raw into a safetensors file and its other values (epoch,
learning rate, ...) into the metadata as JSON. One JSON object is printed: path -> "ok" or the
reason it could not be read.
"""

import json
import struct
import sys

_DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "complex64": "C64",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "uint16": "U16",
    "uint32": "U32",
    "uint64": "U64",
    "bool": "BOOL",
}
MAX_DEPTH = 64


def flatten(torch, obj, name, out, depth=0):
    tensors, values = out
    if depth > MAX_DEPTH:
        values[name] = json.dumps("<nested too deeply>")
    elif isinstance(obj, torch.Tensor):
        tensors.append((name, obj))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            flatten(torch, value, f"{name}.{key}" if name else str(key), out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            flatten(torch, value, f"{name}.{i}" if name else str(i), out, depth + 1)
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        values[name] = json.dumps(obj)
    else:
        values[name] = json.dumps(f"<{type(obj).__name__}>")


def raw_bytes(torch, tensor):
    t = tensor.detach().to("cpu").contiguous().reshape(-1)
    u8 = t.view(torch.uint8) if t.numel() else t.new_empty(0, dtype=torch.uint8)
    try:
        return u8.numpy().tobytes()
    except Exception:  # torch without numpy
        return bytes(u8.tolist())


def dump(torch, src, dst):
    obj = torch.load(src, map_location="cpu", weights_only=True)
    tensors, values = [], {}
    flatten(torch, obj, "", (tensors, values))
    header, blobs, offset, seen = {}, [], 0, set()
    for name, tensor in tensors:
        key = name or "tensor"
        while key in seen:
            key += "'"
        seen.add(key)
        dtype = _DTYPES.get(str(tensor.dtype).replace("torch.", ""))
        if dtype is None or tensor.is_sparse or tensor.is_quantized:
            values[key] = json.dumps(f"<tensor {tensor.dtype} {list(tensor.shape)}>")
            continue
        data = raw_bytes(torch, tensor)
        header[key] = {
            "dtype": dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = values
    text = json.dumps(header).encode("utf-8")
    with open(dst, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def main(argv):
    import torch

    result = {}
    for src, dst in json.loads(argv[1]):
        try:
            dump(torch, src, dst)
            result[src] = "ok"
        except Exception as exc:
            result[src] = f"{type(exc).__name__}: {exc}"[:300]
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv)) + "\n")
