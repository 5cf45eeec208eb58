"""Hashes for index installs: look each installed version up on the indexes pip is configured with.

Sources are tried in pip's order (index-url, extra-index-urls, find-links); the first one that has
the installed wheel (matched by the tags in ``WHEEL``) wins, else the first with any file of that
version. Every file of the version on that source is recorded, so the lock serves other platforms.
Remote answers are cached per (index, name, version) (`envsnap._cache`), so an unchanged
environment re-captures with no network; ``offline`` uses only the cache and local folders.
"""

from __future__ import annotations

import os
from _thread import LockType, allocate_lock  # threading itself: only for look-ups
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import _cache
from .._io import cache_home, file_sha256, index_cache_key
from .._record import Record, record
from .._redact import request
from .._redact import url as redact_url
from .._regex import lazy
from .._text import some
from ..model import ArtifactFile, ModelError, Package, replace
from . import simpleapi
from .pipconfig import PipConfig, ssl_context

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Locked", "cache_dir_default", "lock_hashes"]

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
WORKERS = 12
_SHA256 = lazy(r"[0-9a-f]{64}")


@record
class Locked(Record):
    """The packages with their index files filled in, and the names still without a hash."""

    packages: tuple[Package, ...]
    unhashed: tuple[str, ...]
    withheld: tuple[str, ...] = ()  # "pip.index-url" etc.: a source URL that lost credentials


class _Unavailable(Exception):
    """A source could not answer (network error, unreadable file)."""


class _NeedsNetwork(Exception):
    """The answer is neither cached nor local."""


@record
class _Source(Record):
    url: str  # as recorded in the lock: no credentials
    fetch: str  # as requested: may carry user:password@
    kind: str  # "index" or "find-links"
    local: str | None  # a folder or file on this machine, for file:// and path sources


def cache_dir_default() -> Path:
    """``<cache home>/index`` (`envsnap._io.cache_home`)."""
    return cache_home() / "index"


def lock_hashes(
    packages: Sequence[Package],
    *,
    offline: bool,
    progress: Callable[[str], None],
    config: PipConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Locked:
    """Fill in `index`, `installed_file` and `files` of every ``source == "index"`` package.

    Never raises for network trouble: a package that no source could pin is listed in
    `Locked.unhashed` (and a progress message says why).
    """
    if config is None:
        from . import pipconfig

        config = pipconfig.load()
    ctx = _Context(config, Path(cache_dir) if cache_dir else cache_dir_default(), progress)
    todo = [p for p in packages if p.source == "index"]
    if todo:
        where = ", ".join(s.url for s in ctx.sources) or "no index"
        progress(f"looking up {len(todo)} package(s) on {where}{' (offline)' if offline else ''}")
    # Cache and local folders first, in this thread: an unchanged environment needs no
    # network, no threads and no TLS set-up.
    done: dict[str, Package] = {}
    remote: list[Package] = []
    for pkg in todo:
        try:
            done[pkg.name] = ctx.lock_one(pkg, network=False)
        except _NeedsNetwork:
            remote.append(pkg)
    if remote and not offline:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(WORKERS, len(remote))) as pool:
            done.update(zip([p.name for p in remote], pool.map(ctx.lock_one, remote)))
    for url, (why, names) in sorted(ctx.failed.items()):
        progress(f"{url}: {why}; not pinned: {', '.join(sorted(names))}")
    result = tuple(done.get(p.name, p) for p in packages)
    unhashed = tuple(p.name for p in result if not p.pin.pinned)
    if offline and unhashed:
        progress(f"offline: {len(unhashed)} package(s) not pinned by hash: {some(unhashed)}")
    withheld = tuple(sorted({f"pip.{s.kind}" for s in ctx.sources if redact_url(s.fetch)[1]}))
    return Locked(packages=result, unhashed=unhashed, withheld=withheld)


def _lockable_files(files: Iterable[ArtifactFile]) -> tuple[ArtifactFile, ...]:
    """Hashed files only, and one sdist (PEP 751 has room for one; prefer .tar.gz)."""
    hashed = [f for f in files if f.sha256]
    sdists = sorted(
        (f for f in hashed if not f.name.endswith(".whl")),
        key=lambda f: (not f.name.endswith(".tar.gz"), f.name),
    )
    keep = [f for f in hashed if f.name.endswith(".whl")] + sdists[:1]
    return tuple(sorted(keep, key=lambda f: f.name))


class _Context:
    def __init__(self, config: PipConfig, cache: Path, progress: Callable[[str], None]) -> None:
        self.config, self.cache, self.say = config, cache, progress
        self.sources = _sources(config)
        self._ssl: Any = None
        self._lock = allocate_lock()
        self.failed: dict[str, tuple[str, list[str]]] = {}  # source -> (why, packages)
        self._dead: dict[str, str] = {}  # sources that failed once are not asked again
        self._listings: dict[Path, list[str]] = {}
        self._pages: dict[str, list[ArtifactFile]] = {}  # find-links pages, fetched once
        self._gates: dict[str, LockType] = {}

    def lock_one(self, pkg: Package, *, network: bool = True) -> Package:
        want = {t for line in pkg.wheel_tags for t in simpleapi.tags_of(line)}
        fallback: tuple[_Source, tuple[ArtifactFile, ...]] | None = None
        for src in self.sources:
            try:
                files = self.files_on(src, pkg.name, pkg.version, network=network)
            except _Unavailable as exc:
                with self._lock:
                    self.failed.setdefault(src.url, (str(exc), []))[1].append(pkg.name)
                return pkg
            files = _lockable_files(files)
            if not files:
                continue
            chosen = simpleapi.installed_file(files, want)
            if chosen is not None and chosen.endswith(".whl"):
                return replace(pkg, index=src.url, installed_file=chosen, files=files)
            if fallback is None:
                fallback = (src, files)
        if fallback is None:
            return pkg
        src, files = fallback
        return replace(
            pkg, index=src.url, installed_file=simpleapi.installed_file(files, want), files=files
        )

    def files_on(
        self, src: _Source, name: str, version: str, *, network: bool
    ) -> tuple[ArtifactFile, ...]:
        """Every file of *name* *version* on *src* (empty: not there)."""
        if src.local is None:
            return self._remote(src, name, version, network=network)
        try:
            return self._local(src, name, version)
        except OSError as exc:
            raise _Unavailable(f"cannot read ({exc.strerror or exc})") from None

    def _local(self, src: _Source, name: str, version: str) -> tuple[ArtifactFile, ...]:
        if src.local is not None and src.kind == "find-links" and Path(src.local).is_dir():
            return self._folder(src, Path(src.local), name, version, flat=True)
        if src.local is not None and src.kind == "index":
            project = Path(src.local) / name
            if not (project / "index.html").is_file():
                if project.is_dir():
                    return self._folder(src, project, name, version, flat=False)
                return ()
            page = project / "index.html"
            return self._html(src, page, project.as_uri() + "/", name, version, sizes=True)
        if src.local is not None and Path(src.local).is_file():  # a find-links HTML page
            page = Path(src.local)
            return self._html(src, page, page.as_uri(), name, version, sizes=False)
        return ()

    def _html(
        self, src: _Source, page: Path, base: str, name: str, version: str, *, sizes: bool
    ) -> tuple[ArtifactFile, ...]:
        """Files of *name* *version* on a local HTML page, cached against its (size, mtime).

        Parsing a big page (and importing html.parser) each capture would cost more than
        the rest of a warm look-up. With *sizes*, local files get their size (as found then).
        """
        st = page.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        key = index_cache_key(f"{src.url}#{page}", name, version)
        old = self._cache_get(key)
        if old is not None and old.get("stamp") == stamp:
            try:
                return _cached_files(old.get("files", []))
            except (ModelError, TypeError):
                pass  # a damaged entry: read the page again
        text = page.read_text(encoding="utf-8", errors="replace")
        files = simpleapi.select_version(simpleapi.parse_html_page(text, base), name, version)
        if sizes:
            files = _with_local_sizes(files)
        self._cache_put(key, {"stamp": stamp, "files": [f.to_dict() for f in files]})
        return files

    def _remote(
        self, src: _Source, name: str, version: str, *, network: bool
    ) -> tuple[ArtifactFile, ...]:
        key = index_cache_key(src.url, name, version)
        cached = self._cache_get(key)
        if cached is not None:
            try:
                return _cached_files(cached.get("files", []))
            except (ModelError, TypeError):
                pass  # a damaged entry: ask the source again
        if not network:
            raise _NeedsNetwork
        if src.url in self._dead:
            raise _Unavailable(self._dead[src.url])
        page = src.fetch.rstrip("/") + f"/{name}/" if src.kind == "index" else src.fetch
        files = simpleapi.select_version(self._page(src, page), name, version)
        self._cache_put(key, {"files": [f.to_dict() for f in files]})
        return files

    def _page(self, src: _Source, page: str) -> list[ArtifactFile]:
        """Fetch and parse one page; a find-links page is fetched once for all packages."""
        with self._lock:
            gate = self._gates.setdefault(page, allocate_lock())
        with gate:
            if page in self._pages:
                return self._pages[page]
            try:
                found = _fetch(page, self.ssl(), self.config.timeout)
            except _Unavailable as exc:
                self._dead.setdefault(src.url, str(exc))
                raise
            files: list[ArtifactFile] = []
            if found is not None:
                ctype, body, final = found
                json_page = ctype.endswith("json")
                parse = simpleapi.parse_json_page if json_page else simpleapi.parse_html_page
                files = parse(body, final)
            if src.kind == "find-links":
                self._pages[page] = files
            return files

    def _folder(
        self, src: _Source, folder: Path, name: str, version: str, *, flat: bool
    ) -> tuple[ArtifactFile, ...]:
        """Files of a local folder, hashed once and cached against (size, mtime)."""
        names = self._listing(folder)
        listed = simpleapi.select_version([ArtifactFile(name=n) for n in names], name, version)
        key = index_cache_key(src.url + ("" if flat else f"/{name}"), name, version)
        old = {
            f["name"]: f
            for f in (self._cache_get(key) or {}).get("files", [])
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        }
        out, entries = [], []
        for art in listed:
            st = (folder / art.name).stat()
            stamp = [st.st_size, st.st_mtime_ns]
            prev = old.get(art.name)
            sha = prev.get("sha256") if prev and prev.get("stamp") == stamp else None
            if not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
                sha = file_sha256(folder / art.name)
            out.append(
                ArtifactFile(
                    name=art.name, url=(folder / art.name).as_uri(), sha256=sha, size=st.st_size
                )
            )
            entries.append({"name": art.name, "sha256": sha, "stamp": stamp})
        if entries and [e for e in entries if old.get(e["name"]) != e]:
            self._cache_put(key, {"files": entries})
        return tuple(out)

    def _listing(self, folder: Path) -> list[str]:
        with self._lock:
            if folder not in self._listings:
                try:
                    found = sorted(e.name for e in os.scandir(folder) if e.is_file())
                except OSError:
                    found = []
                self._listings[folder] = found
            return self._listings[folder]

    def ssl(self) -> Any:
        with self._lock:
            if self._ssl is None:
                import ssl

                cert = self.config.cert
                try:
                    self._ssl = ssl_context(cert)
                except (OSError, ssl.SSLError) as exc:
                    self.say(f"cert {cert}: {exc}; using the system certificates")
                    self._ssl = ssl.create_default_context()
            return self._ssl

    def _cache_get(self, key: str) -> dict[str, Any] | None:
        data = _cache.load(_cache.entry(self.cache, key, fan_out=True))
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            return None  # a damaged entry is looked up again and rewritten
        return data

    def _cache_put(self, key: str, data: dict[str, Any]) -> None:
        why = _cache.store(_cache.entry(self.cache, key, fan_out=True), data)
        if why is not None:
            self.say(f"cannot write the hash cache {self.cache}: {why}")


_FILE_KEYS = frozenset(("name", "url", "path", "sha256", "size", "upload-time"))


def _cached_file(data: Any) -> ArtifactFile:
    """An `ArtifactFile` from the cache: built directly when it is plainly well formed.

    ``ArtifactFile.from_dict`` (which checks and names every field) is ~10x slower, and a warm
    capture reads a thousand of these; anything unusual still goes through it.
    """
    if type(data) is dict and _FILE_KEYS.issuperset(data):
        name, size = data.get("name"), data.get("size")
        url, path, sha = data.get("url"), data.get("path"), data.get("sha256")
        moment = data.get("upload-time")
        if (
            type(name) is str
            and (size is None or type(size) is int)
            and (url is None or type(url) is str)
            and (path is None or type(path) is str)
            and (sha is None or type(sha) is str)
            and (moment is None or type(moment) is str)
        ):
            return ArtifactFile(
                name=name, url=url, path=path, sha256=sha, size=size, upload_time=moment
            )
    return ArtifactFile.from_dict(data)


def _cached_files(entries: Any) -> tuple[ArtifactFile, ...]:
    """The files of a cache entry; `ModelError` (a miss) when any is damaged."""
    files = tuple(_cached_file(f) for f in entries)
    if any(f.sha256 is not None and not _SHA256.fullmatch(f.sha256) for f in files):
        raise ModelError("sha256: not a hex digest")  # looked up again and rewritten
    return files


def _with_local_sizes(files: Iterable[ArtifactFile]) -> tuple[ArtifactFile, ...]:
    out = []
    for f in files:
        size = f.size
        if size is None and f.url and f.url.startswith("file:"):
            try:
                size = Path(unquote(urlsplit(f.url).path)).stat().st_size
            except OSError:
                size = None
        out.append(replace(f, size=size))
    return tuple(out)


def _sources(config: PipConfig) -> tuple[_Source, ...]:
    out = []
    for url in config.indexes:
        local = unquote(urlsplit(url).path) if url.startswith("file:") else None
        out.append(_Source(redact_url(url.rstrip("/"))[0], url, "index", local))
    for link in config.find_links:
        if urlsplit(link).scheme in ("http", "https"):
            out.append(_Source(redact_url(link)[0], link, "find-links", None))
            continue
        path = unquote(urlsplit(link).path) if link.startswith("file:") else link
        resolved = Path(path).expanduser().absolute()
        out.append(_Source(resolved.as_uri(), link, "find-links", str(resolved)))
    return tuple(out)


def _fetch(url: str, context: Any, timeout: float) -> tuple[str, str, str] | None:
    """GET a simple-API page: (content type, text, final URL), or None for 404/410."""
    import base64
    import urllib.error
    import urllib.request

    url, credentials = request(url)  # the query stays: a token there is how some authenticate
    headers = {"Accept": ACCEPT, "User-Agent": "envsnap"}
    if credentials is not None:
        user = ":".join(credentials)
        headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _Unavailable(f"unsupported URL scheme {parts.scheme!r}")
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 (http/https only)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:  # noqa: S310
            body = resp.read()
            ctype = resp.headers.get_content_type()
            charset = resp.headers.get_content_charset() or "utf-8"
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise _Unavailable(f"HTTP {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise _Unavailable(str(getattr(exc, "reason", exc))) from None
    return ctype, body.decode(charset, errors="replace"), final
