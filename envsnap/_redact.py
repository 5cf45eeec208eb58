"""The one redaction policy: what may be recorded of a URL or an allow-listed variable.

A capture is a public artifact (committed, attached to papers, baked into images), so anything
that can authenticate a person is removed where data enters envsnap, not where it is printed:

- a URL loses its ``user:password@`` (except the plain ``git@`` user of an ssh URL, which names
  no one), every query parameter but `SAFE_QUERY` and every fragment component but
  `SAFE_FRAGMENT` (``#sha256=…``, ``#egg=…``, ``subdirectory=…``): signed links
  (``X-Amz-Signature``), ``?token=`` and ``?access_token=`` never reach a file or a terminal;
- an allow-listed variable keeps its value only when the value has the shape that variable takes
  (a number, ``:4096:8``, a list of known flags...); otherwise `WITHHELD` is recorded instead.

`url` and `envvar` say whether something was withheld, so that a capture can say so once, naming
the field and never the value.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SAFE_FRAGMENT",
    "SAFE_QUERY",
    "WITHHELD",
    "command_line",
    "envvar",
    "shaped",
    "strip_userinfo",
    "url",
]

WITHHELD = "<withheld>"
SAFE_QUERY = frozenset({"subdirectory"})
SAFE_FRAGMENT = frozenset(
    {"sha256", "sha384", "sha512", "sha224", "sha1", "md5", "egg", "subdirectory"}
)
_SSH_USER = "git"


def strip_userinfo(text: str) -> str:
    """*text* without ``user:password@`` (what goes on the wire keeps its query)."""
    parts = urlsplit(text)
    if "@" not in parts.netloc:
        return text
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _keep(component: str, safe: frozenset[str]) -> tuple[str, bool]:
    """The ``&``-separated ``key=value`` items of *component* whose key is in *safe*."""
    if not component:
        return "", False
    items = [i for i in component.split("&") if i]
    kept = [i for i in items if i.partition("=")[0] in safe]
    return "&".join(kept), len(kept) != len(items)


def url(text: str) -> tuple[str, bool]:
    """(*text* as it may be recorded, whether anything was withheld from it)."""
    try:
        parts = urlsplit(text)
    except ValueError:  # an unparsable URL (bad IPv6 literal...): keep nothing of it
        return WITHHELD, True
    netloc = parts.netloc
    withheld = False
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        ssh = parts.scheme.endswith("ssh") and user == _SSH_USER
        if not ssh:
            netloc, withheld = host, True
    query, q_cut = _keep(parts.query, SAFE_QUERY)
    fragment, f_cut = _keep(parts.fragment, SAFE_FRAGMENT)
    withheld = withheld or q_cut or f_cut
    if not withheld:
        return text, False
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment)), True


# The shape each allow-listed variable's value takes; a value that does not fit is withheld.
_INT = r"-?[0-9]{1,9}"
_FLAG = r"(?i:0|1|true|false|yes|no|on|off)"
_WORD = r"[A-Za-z0-9_]{1,64}"
_WORDS = r"[A-Za-z0-9_^]{1,32}(?:[, ][A-Za-z0-9_^]{1,32}){0,32}"
_SHAPES: dict[str, str] = {
    "PYTHONHASHSEED": rf"{_INT}|random",
    "CUBLAS_WORKSPACE_CONFIG": r"(?::[0-9]{1,9}:[0-9]{1,9}){1,8}",
    "XLA_FLAGS": r"--xla_[a-z0-9_]{1,80}(?:=[A-Za-z0-9_.,+-]{1,64})?"
    r"(?: +--xla_[a-z0-9_]{1,80}(?:=[A-Za-z0-9_.,+-]{1,64})?){0,64}",
    "PYTORCH_CUDA_ALLOC_CONF": r"[a-z_]{1,40}:[A-Za-z0-9_.]{1,32}"
    r"(?:,[a-z_]{1,40}:[A-Za-z0-9_.]{1,32}){0,16}",
    "XLA_PYTHON_CLIENT_MEM_FRACTION": r"[0-9]{0,3}(?:\.[0-9]{1,6})?",
    "OMP_NUM_THREADS": r"[0-9]{1,6}(?:,[0-9]{1,6}){0,8}",
    "KMP_AFFINITY": r"[A-Za-z0-9_,=.\[\]-]{1,128}",
    "MKL_CBWR": r"[A-Za-z0-9_,]{1,64}",
    "NPY_DISABLE_CPU_FEATURES": _WORDS,
    "NPY_ENABLE_CPU_FEATURES": _WORDS,
    "NCCL_ALGO": _WORDS,
    "NCCL_PROTO": _WORDS,
    "NCCL_TOPO_FILE": r"[A-Za-z0-9_./-]{1,200}",
    "CUDA_VISIBLE_DEVICES": r"-?[A-Za-z0-9/-]{0,64}(?:,[A-Za-z0-9/-]{1,64}){0,64}",
}
for _name in (
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NCCL_MIN_NCHANNELS",
    "NCCL_MAX_NCHANNELS",
    "TF_CPP_MIN_LOG_LEVEL",
):
    _SHAPES[_name] = _INT
for _name in (
    "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "TORCH_CUDNN_V8_API_DISABLED",
    "TORCH_DETERMINISTIC",
    "CUDNN_DETERMINISTIC",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_CUDNN_USE_AUTOTUNE",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "JAX_ENABLE_X64",
    "OMP_DYNAMIC",
    "OPENBLAS_VERBOSE",
    "NCCL_NVLS_ENABLE",
    "NCCL_IB_DISABLE",
    "NCCL_P2P_DISABLE",
    "CUDA_LAUNCH_BLOCKING",
    "CUDA_FORCE_PTX_JIT",
    "CUDA_CACHE_DISABLE",
    "PYTORCH_NVML_BASED_CUDA_CHECK",
    "TORCHINDUCTOR_FX_GRAPH_CACHE",
    "TOKENIZERS_PARALLELISM",
):
    _SHAPES[_name] = _FLAG


def shaped(name: str, value: str) -> bool:
    """True when *value* has the shape the allow-listed variable *name* takes."""
    # Compiled on use (re caches it): a capture sees a few of these variables, not all of them.
    # Every other allow-listed variable takes one word (AVX2, LAZY, ...).
    return re.fullmatch(_SHAPES.get(name, _WORD), value) is not None


def envvar(name: str, value: str) -> tuple[str, bool]:
    """(*value* as it may be recorded, whether it was withheld)."""
    if shaped(name, value):
        return value, False
    return WITHHELD, True


# An option whose name holds one of these words carries a credential: its value is withheld.
_SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "pass",
        "key",
        "apikey",
        "auth",
        "credential",
        "credentials",
    }
)


def _secret_option(arg: str) -> bool:
    name = arg.lstrip("-").partition("=")[0].lower()
    return arg.startswith("-") and bool(_SECRET_WORDS & set(re.split(r"[-_.]", name)))


def command_line(argv: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """*argv* as it may be recorded: URLs through `url`, the value of an option named like a
    credential (``--api-key=…``, ``--token …``) withheld."""
    out: list[str] = []
    after_secret = False
    for arg in argv:
        if after_secret and not arg.startswith("-"):
            out.append(WITHHELD)
            after_secret = False
            continue
        after_secret = False
        if _secret_option(arg):
            if "=" in arg:
                out.append(arg.partition("=")[0] + "=" + WITHHELD)
            else:
                out.append(arg)
                after_secret = True
            continue
        out.append(url(arg)[0] if "://" in arg else arg)
    return tuple(out)
