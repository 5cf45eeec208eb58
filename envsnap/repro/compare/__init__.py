"""Compare one output across runs, by format: bit-identical files are identical; otherwise
safetensors, torch checkpoints, .npy/.npz tensor by tensor, JSON/YAML/CSV metrics value by
value, and bytes for anything else.

Files are read in chunks (bounded memory): one pass gives each run's digest and the ranges that
differ, and only tensors in those ranges are read again, element by element; a
file that is not what its name says (truncated, malformed) falls back to bytes with a note, as
does a torch checkpoint when no interpreter with torch can read it. Symbolic links are compared
by their target text and never followed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from envsnap._record import replace

from ..result import OutputComparison, TensorDiff, ValueDiff
from . import formats, metrics, tensors
from .scan import Scan, scan
from .tensors import Unreadable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    # (checkpoint, safetensors file to write) pairs -> {checkpoint: "ok" or why not}
    Converter = Callable[[Sequence[tuple[str, str]]], dict[str, str]]

__all__ = ["compare_output", "digest_files", "kind_of"]

TENSOR_KINDS = ("safetensors", "torch", "npy", "npz")
_TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_NPZ_RATIO = 64  # a member may unpack to at most this many times its compressed size
_VALUE_TEXT = 80


def kind_of(path: Path) -> str:
    """The format *path* is compared as, from its name (and, for .bin, its first bytes)."""
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in (".npy", ".npz"):
        return suffix[1:]
    if suffix in metrics.KINDS:
        return metrics.KINDS[suffix]
    if suffix in _TORCH_SUFFIXES:
        if suffix != ".bin":
            return "torch"
        with contextlib.suppress(OSError), open(path, "rb") as fh:
            head = fh.read(4)
            if head == _ZIP_MAGIC or head[:2] in _PICKLE_MAGIC:
                return "torch"
    return "bytes"


def digest_files(paths: Sequence[Path]) -> list[str]:
    """The sha256 of each file, hashed concurrently (hashlib releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from envsnap._io import file_sha256

    with ThreadPoolExecutor(max_workers=min(4, max(1, len(paths)))) as pool:
        return list(pool.map(file_sha256, paths))


def _lkind(path: Path | None) -> str:
    if path is None:
        return "missing"
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "other"


def compare_output(
    rel: str,
    paths: Sequence[Path | None],
    *,
    scratch: Path,
    convert: Converter | None = None,
    use_numpy: bool | None = None,
) -> OutputComparison:
    """Compare output *rel* as each run left it (*paths*, None where a run made none); the
    first run is the reference. *scratch* is a private folder for converted checkpoints."""
    kinds = [_lkind(p) for p in paths]
    present = [i for i, k in enumerate(kinds) if k != "missing"]
    if len(present) < len(paths) or set(kinds) != {"file"}:
        files = [p for p, k in zip(paths, kinds) if k == "file" and p is not None]
        digests = dict(zip(files, digest_files(files))) if files else {}
        sums = tuple(digests.get(p, "") if p is not None else "" for p in paths)
    if len(present) < len(paths):
        where = ", ".join(str(i + 1) for i in present)
        note = f"only run {where} made it" if len(present) == 1 else f"only runs {where} made it"
        return OutputComparison(rel, "missing", False, sums, note=note if present else "missing")
    if "link" in kinds or "other" in kinds:
        return _special(rel, paths, kinds, sums)
    real = [p for p in paths if p is not None]
    kind = kind_of(real[0])
    scans: list[Scan] = []
    for other in real[1:]:
        scans.append(scan(real[0], other, first=scans[0].first if scans else ""))
    sums = (scans[0].first, *(s.other for s in scans)) if scans else ()
    if len(set(sums)) <= 1:
        return OutputComparison(rel, kind, True, sums, _identical_tensors(real[0], kind))
    ctx = _Context(scratch, convert, use_numpy)
    pairs = [
        _pair(rel, kind, real[0], other, run=i + 2, ctx=ctx, known=scans[i])
        for i, other in enumerate(real[1:])
        if scans[i].first != scans[i].other
    ]
    return replace(_merge(pairs), digests=sums)


def _identical_tensors(path: Path, kind: str) -> tuple[TensorDiff, ...]:
    """The tensors of an identical tensor file, for the count in the verdict (headers only)."""
    if kind not in ("safetensors", "npy"):
        return ()
    try:
        with _opened(path, kind) as (tfile, _):
            return tuple(
                TensorDiff(_name(t.name, path), t.dtype.name, t.shape, True) for t in tfile.tensors
            )
    except (Unreadable, OSError):
        return ()


def _special(
    rel: str, paths: Sequence[Path | None], kinds: list[str], sums: tuple[str, ...]
) -> OutputComparison:
    """Symbolic links (compared by target, never followed) and FIFOs/sockets/devices."""
    if all(k == "link" for k in kinds):
        targets = [str(p.readlink()) for p in paths if p is not None]
        same = len(set(targets)) == 1
        note = "a symbolic link: not followed" + (
            "" if same else "; its target differs: " + " vs ".join(repr(t[:80]) for t in targets)
        )
        return OutputComparison(rel, "link", same, sums, note=note)
    if all(k == "other" for k in kinds):
        return OutputComparison(rel, "other", True, sums, note="not a regular file: not compared")
    shown = ", ".join(f"run {i + 1}: {k}" for i, k in enumerate(kinds))
    return OutputComparison(rel, "bytes", False, sums, note=f"not the same kind of file ({shown})")


class _Context:
    """What comparing a pair may need: a private folder, a checkpoint converter, numpy or not."""

    def __init__(self, scratch: Path, convert: Converter | None, use_numpy: bool | None) -> None:
        self.scratch = scratch
        self.convert = convert
        self.use_numpy = use_numpy


def _pair(
    rel: str, kind: str, a: Path, b: Path, *, run: int, ctx: _Context, known: Scan | None = None
) -> OutputComparison:
    """Run 1's file *a* against run *run*'s file *b* (their bytes differ; *known*: where)."""
    try:
        if kind in TENSOR_KINDS:
            return _tensor_pair(rel, kind, (a, b), run, ctx, known=known)
        if kind in metrics.KINDS.values():
            return _metrics_pair(rel, kind, a, b)
    except Unreadable as exc:
        fallback = _bytes_pair(rel, a, b)
        what = "a torch checkpoint" if kind == "torch" else kind
        note = f"unreadable as {what} ({exc}): compared as bytes; {fallback.note}"
        return replace(fallback, note=note)
    return _bytes_pair(rel, a, b)


def _bytes_pair(rel: str, a: Path, b: Path) -> OutputComparison:
    size_a, size_b = a.stat().st_size, b.stat().st_size
    at = _first_difference(a, b)
    sizes = f"{size_a} and {size_b} bytes" if size_a != size_b else f"{size_a} bytes"
    return OutputComparison(rel, "bytes", False, note=f"bytes differ from offset {at} ({sizes})")


def _first_difference(a: Path, b: Path) -> int:
    offset = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            ca, cb = fa.read(1 << 20), fb.read(1 << 20)
            if ca != cb:
                n = min(len(ca), len(cb))
                i = next((j for j in range(n) if ca[j] != cb[j]), n)
                return offset + i
            if not ca:
                return offset
            offset += len(ca)


def _metrics_pair(rel: str, kind: str, a: Path, b: Path) -> OutputComparison:
    va, vb = metrics.load(a, kind), metrics.load(b, kind)
    diffs = tuple(
        ValueDiff(key, _text(x), _text(y), d) for key, x, y, d in metrics.differences(va, vb)
    )
    count = len(set(va) | set(vb))
    note = "" if diffs else "bytes differ, every value is equal"
    return OutputComparison(rel, kind, not diffs, values=diffs, values_compared=count, note=note)


def _text(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= _VALUE_TEXT else text[: _VALUE_TEXT - 3] + "..."


@contextlib.contextmanager
def _opened(path: Path, kind: str) -> Iterator[tuple[formats.TensorFile, tensors.Reader]]:
    """The parsed tensor file (safetensors or npy) at *path* and a reader of its bytes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        read = formats.read_safetensors if kind == "safetensors" else formats.read_npy
        yield read(fh, size), tensors.reader(fh.fileno())


def _tensor_pair(
    rel: str,
    kind: str,
    files: tuple[Path, Path],
    run: int,
    ctx: _Context,
    *,
    known: Scan | None = None,
) -> OutputComparison:
    a, b = files
    if kind == "npz":
        from .npz import members

        with members(a, ctx.scratch / "a") as ma, members(b, ctx.scratch / f"run{run}") as mb:
            diffs: list[TensorDiff] = []
            for name in [*ma, *(n for n in mb if n not in ma)]:
                if name not in ma or name not in mb:
                    diffs.append(_only(name, ma.get(name), run))
                    continue
                sub = _tensor_pair(name, "npy", (ma[name], mb[name]), run, ctx)
                diffs.extend(replace(t, name=name) for t in sub.tensors)
            same = all(t.identical for t in diffs)
            return OutputComparison(rel, "npz", same, tensors=tuple(diffs))
    if kind == "torch":
        a, b = _converted(a, b, run, ctx.scratch, ctx.convert)
        known = None  # the converted files were not scanned
    file_kind = "npy" if kind == "npy" else "safetensors"
    with _opened(a, file_kind) as (fa, da), _opened(b, file_kind) as (fb, db):
        diffs = _tensor_diffs((fa, da), (fb, db), run, a, use_numpy=ctx.use_numpy, known=known)
        values = tuple(
            ValueDiff(k, _text(x), _text(y), d)
            for k, x, y, d in metrics.differences(_values(fa), _values(fb))
        )
    same = all(t.identical for t in diffs) and not values
    return OutputComparison(
        rel, kind, same, tensors=tuple(diffs), values=values, values_compared=len(fa.values)
    )


def _values(tfile: formats.TensorFile) -> dict[str, Any]:
    """A file's other values (metadata, a checkpoint's numbers), decoded from their JSON."""
    from envsnap.errors import InputError
    from envsnap.formats.capture import json_value

    out = {}
    for key, text in tfile.values:
        try:
            out[key] = json_value(text, key)
        except InputError:
            out[key] = text
    return out


def _converted(
    a: Path, b: Path, run: int, scratch: Path, convert: Converter | None
) -> tuple[Path, Path]:
    """Both checkpoints as safetensors files, written by an interpreter that has torch."""
    if convert is None:
        raise Unreadable("no interpreter with torch here to read it (weights_only=True)")
    out_a, out_b = scratch / "run1.safetensors", scratch / f"run{run}.safetensors"
    scratch.mkdir(parents=True, exist_ok=True)
    answers = convert([(str(a), str(out_a)), (str(b), str(out_b))])
    for src in (a, b):
        why = answers.get(str(src), "the converter gave no answer")
        if why != "ok":
            raise Unreadable(f"torch.load(weights_only=True) refused it: {why}")
    return out_a, out_b


def _only(name: str, present: Path | None, run: int) -> TensorDiff:
    where = "run 1" if present is not None else f"run {run}"
    return TensorDiff(name, "", (), False, note=f"only in {where}")


def _name(name: str, path: Path) -> str:
    return name or path.stem


def _tensor_diffs(
    a: tuple[formats.TensorFile, Any],
    b: tuple[formats.TensorFile, Any],
    run: int,
    path: Path,
    *,
    use_numpy: bool | None,
    known: Scan | None = None,
) -> list[TensorDiff]:
    """Each tensor of run 1's file *a* (parsed, bytes) against run *run*'s *b*, by name."""
    (fa, da), (fb, db) = a, b
    by_name = {t.name: t for t in fb.tensors}
    out = []
    for ta in fa.tensors:
        tb = by_name.pop(ta.name, None)
        name = _name(ta.name, path)
        if tb is None:
            out.append(TensorDiff(name, ta.dtype.name, ta.shape, False, note="only in run 1"))
        elif ta.dtype != tb.dtype or ta.shape != tb.shape or ta.order != tb.order:
            note = (
                f"{ta.dtype.name} {list(ta.shape)} in run 1, "
                f"{tb.dtype.name} {list(tb.shape)} in run {run}"
            )
            out.append(TensorDiff(name, ta.dtype.name, ta.shape, False, note=note))
        elif (
            known is not None
            and ta.offset == tb.offset
            and known.equal_between(ta.offset, ta.offset + ta.nbytes)
        ):
            out.append(TensorDiff(name, ta.dtype.name, ta.shape, True))
        else:
            s = tensors.compare(
                da, db, ta.dtype, ta.count, at=(ta.offset, tb.offset), use_numpy=use_numpy
            )
            first = None if s.first is None else tensors.unravel(s.first, ta.shape, ta.order)
            out.append(
                TensorDiff(
                    name,
                    ta.dtype.name,
                    ta.shape,
                    s.differing == 0,
                    s.differing,
                    s.max_abs,
                    s.max_rel,
                    s.max_ulps,
                    first,
                )
            )
    for tb in by_name.values():
        out.append(TensorDiff(tb.name, tb.dtype.name, tb.shape, False, note=f"only in run {run}"))
    return out


def _merge(pairs: list[OutputComparison]) -> OutputComparison:
    """Run 1 against each other run, as one comparison: each tensor at its worst."""
    if len(pairs) == 1:
        return pairs[0]
    first = pairs[0]
    worst: dict[str, TensorDiff] = {}
    for pair in pairs:
        for t in pair.tensors:
            old = worst.get(t.name)
            if old is None or (old.identical and not t.identical) or t.differing > old.differing:
                worst[t.name] = t
    values: dict[str, ValueDiff] = {}
    for pair in pairs:
        for v in pair.values:
            values.setdefault(v.key, v)
    notes = list(dict.fromkeys(p.note for p in pairs if p.note))
    return OutputComparison(
        first.path,
        first.kind,
        all(p.identical for p in pairs),
        tensors=tuple(worst.values()),
        values=tuple(values.values()),
        values_compared=max(p.values_compared for p in pairs),
        note="; ".join(notes),
    )
