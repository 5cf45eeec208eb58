"""The Docker Engine API adapter: build a context with the classic builder, run a container.

The `docker` SDK is an optional extra (``envsnap-ml[docker]``), imported only when a build starts.
Builds use host networking and never pull: base images are the daemon's own (see ``images/``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from envsnap.errors import BuildError, EnvsnapError

from .._record import replace
from .._redact import text
from .events import BuildEvent, Done, Output, StepFailed, parse_stream
from .push import PushEvent, PushFailed, parse_push_stream

__all__ = ["DEFAULT_HOST", "DockerEngine", "daemon_host"]

DEFAULT_HOST = "unix:///var/run/docker.sock"
# The longest a build step may stay silent: pip installing a multi-GB wheel prints nothing.
BUILD_TIMEOUT_S = 3600
NO_BUILD_HINT = "start it or set DOCKER_HOST, or use --no-build to render the context only"


def daemon_host() -> str:
    """The daemon address the SDK will try: DOCKER_HOST, else the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason in an exception chain, for a one-line message."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and item.strerror:
            return str(item.strerror)
        if isinstance(item, BaseException):
            todo.extend([*item.args, item.__cause__, item.__context__])
    return type(exc).__name__


def _unreachable(host: str, exc: BaseException) -> EnvsnapError:
    reason = _reason(exc)
    return EnvsnapError(f"cannot reach the Docker daemon at {host} ({reason}); {NO_BUILD_HINT}")


def _probe_unix_socket(host: str) -> None:
    """Fail fast, with the OS's reason, when a unix:// daemon socket does not answer.

    The SDK would report the same thing less clearly (and leave the socket open).
    """
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError as exc:
            raise _unreachable(host, exc) from None


def _repository(ref: str) -> str:
    """The repository of an image reference: no digest, no tag (``a:5000/b:1`` → ``a:5000/b``)."""
    name = ref.split("@", 1)[0]
    head, sep, tag = name.rpartition(":")
    return head if sep and "/" not in tag else name


def _digest_for(base: str, digests: list[str]) -> str:
    """The RepoDigest of *base*'s repository (an image pushed to several has one each); else
    the first one, else empty."""
    repo = _repository(base)
    return next((d for d in digests if _repository(d) == repo), digests[0] if digests else "")


class DockerEngine:
    """Builds and runs through one Docker daemon, connected on first use.

    Use it as a context manager (or call `close`) to release the connection.
    """

    def __init__(self, host: str | None = None):
        self.host = host or daemon_host()
        self._api: Any = None

    def __enter__(self) -> DockerEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection to the daemon, if one was opened."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def ready(self) -> None:
        """Connect to the daemon now; `EnvsnapError` (exit 2) when it cannot be reached."""
        self.api()

    def api(self) -> Any:
        """The low-level `docker.APIClient`; `EnvsnapError` (exit 2) when it cannot connect."""
        if self._api is not None:
            return self._api
        try:
            import docker
        except ImportError:
            raise EnvsnapError(
                f"cannot use the Docker daemon at {self.host}: the docker SDK is not installed "
                "(pip install docker), or use --no-build to render the context only"
            ) from None
        _probe_unix_socket(self.host)
        kwargs = docker.utils.kwargs_from_env()
        kwargs["base_url"] = self.host
        try:
            self._api = docker.APIClient(version="auto", timeout=BUILD_TIMEOUT_S, **kwargs)
        except docker.errors.DockerException as exc:
            raise _unreachable(self.host, exc) from None
        return self._api

    def build(
        self,
        context_dir: Path,
        *,
        tag: str | None,
        verbose: bool = False,
        no_cache: bool = False,
        network: bool = True,
    ) -> Iterator[BuildEvent]:
        """Build *context_dir* (its Dockerfile) and yield events, ending with `Done`.

        Steps, cache hits and `Done` are always yielded; `Output` lines only when *verbose*
        (the last lines are kept either way for the `StepFailed` error of a failing step).
        *no_cache* runs every step again, as `docker build --no-cache` does. The steps run
        with the host's network (a proxy on loopback works), or with none when not *network*
        (``docker build --network none``).
        """
        api = self.api()
        import docker
        import requests

        try:
            stream = api.build(
                path=str(context_dir),
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                network_mode="host" if network else "none",
                pull=False,
                nocache=no_cache,
            )
            yield from self._events(stream, verbose=verbose)
        except requests.exceptions.ConnectionError as exc:
            raise _unreachable(self.host, exc) from None
        except docker.errors.APIError as exc:
            raise BuildError(f"docker build of {context_dir} failed: {exc.explanation}") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise BuildError(f"docker build of {context_dir} failed: {_reason(exc)}") from None

    def _events(self, stream: Iterator[Any], *, verbose: bool) -> Iterator[BuildEvent]:
        try:
            for event in parse_stream(stream):
                if isinstance(event, Done):
                    yield self._pin_base(event)
                elif verbose or not isinstance(event, Output):
                    yield event
        except StepFailed:
            for _ in stream:  # read to the end, so that the connection is released
                pass
            raise

    def _pin_base(self, done: Done) -> Done:
        """Fill in the digest (or local image ID) of the base image the daemon used."""
        if not done.base_image_id:
            return done
        info = self.api().inspect_image(done.base_image_id)
        digests = info.get("RepoDigests") or []
        tags = info.get("RepoTags") or []
        base = done.base_image
        if "$" in base and tags:  # FROM ${ARG}: name the image the argument resolved to
            base = tags[0]
        return replace(
            done,
            base_image=base,
            base_image_id=str(info["Id"]),
            base_digest=_digest_for(base, [str(d) for d in digests]) or str(info["Id"]),
        )

    def push(self, image: str, repository: str, tag: str) -> Iterator[PushEvent]:
        """Tag *image* as *repository*:*tag* and push it; yield events ending with `Pushed`.

        Credentials are what the docker CLI would use: the SDK reads the Docker client config
        (``$DOCKER_CONFIG/config.json``: ``auths``, ``credsStore``, ``credHelpers``) and sends
        them to the daemon in a header; envsnap never sees or writes them.
        """
        api = self.api()
        import docker
        import requests

        try:
            api.tag(image, repository, tag=tag)
            stream = api.push(repository, tag=tag, stream=True, decode=True)
            yield from parse_push_stream(stream, repository, tag)
        except requests.exceptions.ConnectionError as exc:
            raise _unreachable(self.host, exc) from None
        except docker.errors.APIError as exc:
            message = text(str(exc.explanation or exc), most=500)
            raise PushFailed(f"docker push {repository}:{tag} failed: {message}") from None

    def has_image(self, ref: str) -> bool:
        """True when the daemon holds image *ref*; `EnvsnapError` when it cannot be asked."""
        import docker

        try:
            self.api().inspect_image(ref)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise EnvsnapError(f"{ref}: {text(str(exc.explanation or exc), most=500)}") from None
        return True

    def run(
        self,
        image: str,
        cmd: Sequence[str],
        *,
        mounts: Mapping[str, str] | None = None,
        read_only: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        network: str = "host",
        working_dir: str | None = None,
        user: str | None = None,
        timeout: float = 600,
    ) -> tuple[int, str]:
        """Run *cmd* in a new container of *image*; return its exit code and combined output.

        *mounts* maps host directories to container paths (read-write bind mounts), *read_only*
        likewise, read-only. The container is removed afterwards, whatever happened; one still
        running after *timeout* seconds is killed and `TimeoutError` raised.
        """
        import requests

        api = self.api()
        binds = {
            str(Path(h).resolve()): {"bind": c, "mode": mode}
            for table, mode in ((mounts or {}, "rw"), (read_only or {}, "ro"))
            for h, c in table.items()
        }
        container = api.create_container(
            image,
            command=list(cmd),
            environment=dict(environment or {}),
            volumes=sorted(b["bind"] for b in binds.values()),
            working_dir=working_dir,
            user=user,
            host_config=api.create_host_config(binds=binds, network_mode=network),
        )
        try:
            api.start(container)
            try:
                code = int(api.wait(container, timeout=timeout)["StatusCode"])
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                raise TimeoutError(f"still running after {timeout:g} s") from None
            output = api.logs(container, stdout=True, stderr=True).decode("utf-8", "replace")
        finally:
            api.remove_container(container, force=True)
        return code, output
