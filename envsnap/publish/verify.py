"""`report --verify`: is the image image.toml records really in its registry, by digest?

A capture's image.toml says where an image was pushed (``repo@sha256:…``); anyone can write
that line. The report ticks "example environment" only when the manifest was fetched here by
that digest, as the OCI Distribution Specification's pull does: ``GET /v2/<name>/manifests/
<digest>`` with the manifest media types accepted, anonymous Bearer tokens when the registry
asks (the Docker registry token flow: ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``),
and the sha256 of the bytes received compared with the digest. Plain HTTP is used only for a
registry on this machine (as Docker treats 127.0.0.0/8 as an insecure registry by default).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .._record import Record, record
from .._regex import lazy

__all__ = ["Verified", "manifest", "registry_url"]

TIMEOUT_S = 30.0
MAX_MANIFEST = 4 * 1024 * 1024
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_DOCKER_HUB = "registry-1.docker.io"
_CHALLENGE = lazy(r'([A-Za-z]+)="([^"]*)"')


@record
class Verified(Record):
    """Whether the manifest was found by digest (*ok*), and else why not."""

    ok: bool
    reason: str = ""


def registry_url(repository: str) -> tuple[str, str]:
    """(base URL of the registry, repository name on it) for a Docker repository name:
    ``host[:port]/path`` names its registry when the first part has a dot, a port or is
    ``localhost``; anything else is on Docker Hub (``library/`` for official images)."""
    from .markdown import on_this_machine

    first, slash, rest = repository.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host = first
        name = rest
    else:
        host = _DOCKER_HUB
        name = repository if "/" in repository else f"library/{repository}"
    hostname = host.rpartition(":")[0] if host.count(":") == 1 else host
    scheme = "http" if on_this_machine(hostname.strip("[]")) else "https"
    return f"{scheme}://{host}", name


def manifest(reference: str, *, timeout: float = TIMEOUT_S) -> Verified:
    """Fetch the manifest of *reference* (``repo@sha256:…``) by its digest and check the bytes."""
    from ..formats.image import split_digest

    parts = split_digest(reference)
    if parts is None:
        return Verified(False, "not an image reference with a sha256 digest")
    repository, digest = parts
    base, name = registry_url(repository)
    try:
        status, body = _fetch(f"{base}/v2/{name}/manifests/{digest}", base, timeout)
    except OSError as exc:
        return Verified(False, f"cannot reach {base} ({getattr(exc, 'reason', exc)})")
    if status != 200:
        why = {401: "the registry asks for credentials", 404: f"no manifest {digest} in {name}"}
        return Verified(False, f"{base}: {why.get(status, f'HTTP {status}')}")
    got = "sha256:" + hashlib.sha256(body).hexdigest()
    if got != digest:
        return Verified(False, f"the manifest {base} sent has digest {got}, not {digest}")
    return Verified(True)


def _fetch(url: str, base: str, timeout: float) -> tuple[int, bytes]:
    """(status, body) of the manifest at *url*, with an anonymous token when one is asked for."""
    status, headers, body = _get(url, {"Accept": ACCEPT}, timeout)
    if status == 401:
        token = _token(headers.get("www-authenticate", ""), base, timeout)
        if token is not None:
            auth = {"Accept": ACCEPT, "Authorization": f"Bearer {token}"}
            status, headers, body = _get(url, auth, timeout)
    return status, body


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-case headers, body of at most `MAX_MANIFEST` bytes) of a GET."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={**headers, "User-Agent": "envsnap"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https)
            body = resp.read(MAX_MANIFEST + 1)
            status, got = resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, b""
    if len(body) > MAX_MANIFEST:
        raise OSError(f"a manifest over {MAX_MANIFEST >> 20} MiB")
    return status, {k.lower(): v for k, v in got.items()}, body


def _token(challenge: str, base: str, timeout: float) -> str | None:
    """An anonymous pull token from the realm of a ``Bearer`` challenge, or None."""
    from urllib.parse import urlencode

    scheme, _, params = challenge.partition(" ")
    if scheme.lower() != "bearer":
        return None
    fields = dict(_CHALLENGE.findall(params))
    realm = fields.pop("realm", "")
    if not realm.startswith(("https://", base + "/")):
        return None  # a token only over TLS, or from the registry on this machine itself
    status, _, body = _get(f"{realm}?{urlencode(fields)}", {}, timeout)
    if status != 200:
        return None
    from ..errors import InputError
    from ..formats.capture import json_value  # bounded: a registry's answer is untrusted too

    try:
        answer: Any = json_value(body, realm)
    except InputError:
        return None
    token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
    return token if isinstance(token, str) else None
