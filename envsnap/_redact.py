"""The words door: what may be recorded or shown of a URL, a line of text or a variable.

A capture is a public artifact (committed, attached to papers, baked into images), and every line
envsnap prints may be pasted into an issue, so anything that can authenticate a person is removed
here, the one place that knows how, and nothing else in envsnap takes a URL's userinfo apart
(`tests/test_doors_words.py` reads every module to keep it so):

- `url`: a URL or git remote as it may be recorded. It loses its ``user:password@`` in every
  form (``https://…``, ``https:/…``, scp-style ``user:token@host:path``, IPv6 hosts, a bad port),
  path ``;parameters``, a conda channel's ``/t/<token>/``, every query parameter but
  `SAFE_QUERY` and every fragment component but `SAFE_FRAGMENT` (``#sha256=…``, ``#egg=…``):
  signed links (``X-Amz-Signature``), ``?token=`` and ``;jsessionid=`` never reach a file or a
  terminal. The user ``git`` of an ssh address (``git@host:org/repo``, ``ssh://git@host/…``)
  names no one and stays: it is how ssh clones.
- `text`: a line for a terminal (an error from git, pip, Docker or MLflow included): every URL and
  ``user:token@`` in it redacted as `url` does, ``Authorization:``/``password=``/``TOKEN=``
  values withheld, and control, C1, bidi and zero-width characters shown as escapes.
- `request`: the URL to send without its userinfo, and the credentials for a header.
- `locate`: the host, port and path of a URL or git remote (None for a folder on this machine),
  for callers that ask where a remote is rather than what it says.
- `command_line`: a command's arguments as they may be recorded: each through `text`, and the
  value of an option named like a credential (``--key=…``, ``--token …``) withheld.
- `envvar`: an allow-listed variable keeps its value only when the value has the shape that
  variable takes (a number, ``:4096:8``, a list of known flags...); otherwise `WITHHELD`.

`url` and `envvar` say whether something was withheld, so that a capture can say so once, naming
the field and never the value. `text` is for free text that is printed (a third-party library's
error): every URL in it goes through `url`, the secrets named go, and control characters are
escaped.
"""

from __future__ import annotations

import re

from ._record import Record, record
from ._regex import lazy

__all__ = [
    "SAFE_FRAGMENT",
    "SAFE_QUERY",
    "WITHHELD",
    "Location",
    "command_line",
    "envvar",
    "locate",
    "request",
    "shaped",
    "text",
    "url",
]

WITHHELD = "<withheld>"
SAFE_QUERY = frozenset({"subdirectory"})
SAFE_FRAGMENT = frozenset(
    {"sha256", "sha384", "sha512", "sha224", "sha1", "md5", "egg", "subdirectory"}
)
_SSH_USER = "git"
# scheme ":" slashes authority rest. A scheme counts when two slashes follow it, or when it is
# one that URLs of envsnap's world use (then `https:/user:TOKEN@host` is a URL too, as curl
# reads it); otherwise, as git reads it, `oauth2:TOKEN@host:org/repo` and `localhost:/srv/r`
# are scp-style addresses whose first colon ends the host.
_URL = lazy(r"(?s)([A-Za-z][A-Za-z0-9+.-]+):([/\\]*)(.*)")
_KNOWN = frozenset(
    {
        "http", "https", "ssh", "git", "ftp", "ftps", "sftp", "file", "tcp", "unix", "ws",
        "wss", "s3", "gs", "hdfs", "redis", "mysql", "postgres", "postgresql", "mongodb",
    }
)  # fmt: skip
_SPLIT = lazy(r"[&;]")
_PARAMS = lazy(r";[^/\\]*")
_CONDA_TOKEN = lazy(r"/t/(?!<TOKEN>)[A-Za-z0-9-]+(?=/|$)")


@record
class Location(Record):
    """Where a URL or git remote points: ``scheme`` is ``""`` for scp-style ``host:path``."""

    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: str
    path: str


@record
class _Parts(Record):
    """A URL cut where envsnap needs it: ``prefix`` (scheme, colon, slashes; "" for scp-style
    and bare addresses), ``userinfo`` (None when there is none), ``hostport``, ``rest``."""

    prefix: str
    scheme: str
    userinfo: str | None
    hostport: str
    rest: str


def _split(text: str) -> _Parts | None:
    """*text* cut into its parts; None for a local path (nothing before a slash to take)."""
    m = _URL.match(text)
    scheme = m[1].lower() if m else ""
    if m and (len(m[2]) >= 2 or scheme in _KNOWN or "+" in scheme):
        prefix_end = m.start(3)
        if scheme.rpartition("+")[2] == "file" and m[2] != "//":
            return _Parts(text[:prefix_end], scheme, None, "", m[3])  # file:/x, file:///x
        after = m[3]
    elif text[:1] in ("/", "\\", ".", "~"):
        return None
    else:  # scp-style `[user[:token]@]host:path` or a bare `user:token@host`
        scheme, prefix_end, after = "", 0, text
    cut = len(after)
    for sep in "/\\?#":
        at = after.find(sep)
        if at != -1 and at < cut:
            cut = at
    authority, rest = after[:cut], after[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at and not scheme and ":" not in authority:
        return None  # a relative path such as `docs/x` (no host)
    return _Parts(text[:prefix_end], scheme, userinfo if at else None, hostport, rest)


def _keep(component: str, safe: frozenset[str]) -> tuple[str, bool]:
    """The ``&``/``;``-separated ``key=value`` items of *component* whose key is in *safe*."""
    if not component:
        return "", False
    items = [i for i in _SPLIT.split(component) if i]
    kept = [i for i in items if i.partition("=")[0] in safe]
    return "&".join(kept), len(kept) != len(items)


def _safe_user(parts: _Parts) -> bool:
    """True for the ``git`` user, without a password, of an ssh or scp-style address."""
    return parts.userinfo == _SSH_USER and (parts.scheme == "" or parts.scheme.endswith("ssh"))


def _clean_rest(rest: str, scheme: str) -> tuple[str, bool]:
    """*rest* (path, query, fragment) without path parameters and authenticating parts."""
    path, _, fragment = rest.partition("#")
    path, _, query = path.partition("?")
    cut = False
    if scheme.rpartition("+")[2] != "file":
        if ";" in path:
            path, cut = _PARAMS.sub("", path), True
        if "/t/" in path:  # an anaconda.org-style channel token, as conda finds it
            path, tokens = _CONDA_TOKEN.subn("/t/<TOKEN>", path)
            cut = cut or tokens > 0
    query, q_cut = _keep(query, SAFE_QUERY)
    fragment, f_cut = _keep(fragment, SAFE_FRAGMENT)
    out = path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")
    return out, cut or q_cut or f_cut


def _encode_controls(value: str) -> str:
    """*value* with the characters a URL may not hold raw (controls, bidi...) percent-encoded."""
    if value.isprintable():
        return value
    return "".join(
        c if _printable(c) else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in value
    )


def url(text: str) -> tuple[str, bool]:
    """(*text* as it may be recorded, whether anything was withheld from it).

    A URL or git remote of any form; a local path is kept as it is. Never raises.
    """
    if not any(c in text for c in "@?;[") and "/t/" not in text and text.isprintable():
        # The common cases, checked in C: nothing to take out, or only a hash fragment.
        if "#" not in text:
            return text, False
        fragment = text.partition("#")[2]
        if all(i.partition("=")[0] in SAFE_FRAGMENT for i in fragment.split("&")):
            return text, False
    parts = _split(text)
    if parts is None:
        return _encode_controls(text), False
    withheld = False
    host = parts.hostport
    if host.startswith("[") and "]" not in host:
        return WITHHELD, True  # an unparsable IPv6 literal: keep nothing of it
    if parts.userinfo is not None and not _safe_user(parts):
        withheld = True
        userinfo = ""
    else:
        userinfo = "" if parts.userinfo is None else parts.userinfo + "@"
    rest, cut = _clean_rest(parts.rest, parts.scheme)
    if not (withheld or cut):
        return _encode_controls(text), False
    return _encode_controls(parts.prefix + userinfo + host + rest), True


def request(address: str) -> tuple[str, tuple[str, str] | None]:
    """(*address* to send, without its userinfo; (user, password) for a Basic header, or None).

    The query stays: a token there is how some indexes authenticate, and it goes on the wire
    only (what is recorded goes through `url`).
    """
    from urllib.parse import unquote

    parts = _split(address)
    if parts is None or parts.userinfo is None:
        return address, None
    user, _, password = parts.userinfo.partition(":")
    return parts.prefix + parts.hostport + parts.rest, (unquote(user), unquote(password))


def locate(address: str) -> Location | None:
    """Where the URL or git remote *address* points, None for a folder on this machine: a path,
    a ``file:`` URL, a Windows drive (``C:/…``)."""
    address = address.strip()
    if re.match(r"[A-Za-z]:(?:[/\\]|$)", address):
        return None
    parts = _split(address)
    if parts is None or parts.scheme.rpartition("+")[2] == "file":
        return None
    hostport = parts.hostport
    if not parts.scheme:  # scp-style: host:path, the path after the first colon
        host, _, path = hostport.partition(":")
        return Location(scheme="", host=host.lower(), port="", path=path + parts.rest)
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    path = parts.rest.partition("?")[0].partition("#")[0]
    return Location(scheme=parts.scheme, host=host.lower(), port=port, path=path)


# What `text` looks for in free text. A URL runs to whitespace or a quote; a few characters
# that end sentences or enclose URLs are not part of it.
# A secret shorter than this is too likely to be an ordinary word of the message.
_MIN_SECRET = 4
_IN_TEXT_URL = lazy(r"""[A-Za-z][A-Za-z0-9+.-]+:[/\\]+[^\s'"<>`]+""")
_TRAILING = ".,;:!?)]}"
# `user:secret@host` without a scheme (scp-style git remotes, DOCKER_HOST without tcp://...);
# not an image reference's `name:tag@sha256:…`.
_IN_TEXT_USERINFO = lazy(
    r"""(?<![\w.+%/:@-])[\w.+%-]+:[^\s@/'"`<>]+@(?=[\w\[])(?!sha(?:224|256|384|512):)"""
)
_IN_TEXT_SECRET = lazy(
    r"""(?i)(\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:basic|bearer|token)\s+)?"""
    r"""|\b(?:bearer|basic)\s+(?=[A-Za-z0-9._~+/-]{8,}=*)"""
    r"""|\b[\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)\s*=\s*)"""
    r"""(?!<withheld>|(?:basic|bearer|token)\s)[^\s'"&;,)]+"""
)


def _in_text_url(match: re.Match[str]) -> str:
    found = match[0]
    tail = ""
    while found and found[-1] in _TRAILING and not (found[-1] == "]" and "[" in found):
        found, tail = found[:-1], found[-1] + tail
    return url(found)[0] + tail


def text(line: str, most: int | None = None, *, secrets: tuple[str, ...] = ()) -> str:
    """*line* safe to show: credentials in it redacted (and each of *secrets*, a token or a host
    name known to the caller, as `WITHHELD`), then (cut to *most* characters, with ``...``)
    controls, C1, bidi and zero-width characters escaped (``\\x1b``, ``\\u202e``).

    Idempotent, so a line may pass through it twice.
    """
    if _may_hold_credentials(line):
        line = _IN_TEXT_URL.sub(_in_text_url, line)
        line = _IN_TEXT_USERINFO.sub("", line)
        line = _IN_TEXT_SECRET.sub(lambda m: m[1] + WITHHELD, line)
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True):
        line = line.replace(secret, WITHHELD)
    if most is not None and len(line) > most:
        line = line[:most] + "..."
    if line.isprintable():
        return line  # the common case, checked in C
    return "".join(c if _printable(c) else _escape(c) for c in line)


def _may_hold_credentials(line: str) -> bool:
    """False only when none of the three patterns of `text` can match *line*: then they are not
    compiled (about a millisecond, the largest part of printing `check`'s one line).

    Each pattern needs one of these: a URL ``:/`` or ``:\\``; a userinfo ``@``; a secret ``=``,
    an ``Authorization:`` header or a ``Bearer``/``Basic`` word. The patterns ignore case the
    Unicode way (a dotless i is an ``i`` to them), so a line that is not ASCII always goes through.
    """
    if not line.isascii() or any(c in line for c in "@=") or ":/" in line or ":\\" in line:
        return True
    low = line.lower()
    return "bearer" in low or "basic" in low or (":" in line and "authorization" in low)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _printable(char: str) -> bool:
    """False for C0/C1 controls, DEL, format characters (bidi overrides, zero-width joiners,
    BOM), line/paragraph separators, surrogates and unassigned code points: shown raw, any of
    them could move the cursor, ring the bell, retitle a window or reorder what a line says.
    Spaces other than U+0020 (no-break, ideographic) are visible and kept."""
    if char.isprintable():
        return True
    import unicodedata

    return unicodedata.category(char) == "Zs"


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
    {"token", "secret", "password", "passwd", "pass", "key", "apikey", "auth", "credential",
     "credentials"}
)  # fmt: skip


def _secret_option(arg: str) -> bool:
    name = arg.lstrip("-").partition("=")[0].lower()
    return arg.startswith("-") and bool(_SECRET_WORDS & set(re.split(r"[-_.]", name)))


def command_line(argv: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """*argv* as it may be recorded: each argument through `text` (URLs, ``user:token@``,
    ``password=…`` and control characters), and the value of an option named like a credential
    (``--api-key=…``, ``--token VALUE``) withheld."""
    out: list[str] = []
    after_secret = False
    for arg in argv:
        if after_secret and not arg.startswith("-"):
            out.append(WITHHELD)
            after_secret = False
            continue
        after_secret = False
        if _secret_option(arg):
            name, eq, _ = arg.partition("=")
            out.append(text(name) + eq + (WITHHELD if eq else ""))
            after_secret = not eq
            continue
        out.append(text(arg))
    return tuple(out)
