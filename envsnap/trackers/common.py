"""What the tracker integrations share besides the view: the result of a log, the import of an
optional tracker library, one redacted line for a tracker library's error, and a capture
written back into a folder from a run's files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envsnap._record import Record, record
from envsnap.errors import EnvsnapError, InputError

from .view import CAPTURE_FILES, View

__all__ = ["LogResult", "failure", "need", "restore", "withheld_words"]

# Variables whose value authenticates someone to a tracker or its artifact store.
SECRET_VARIABLES = (
    "WANDB_API_KEY",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "DATABRICKS_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
)
# Variables naming a tracker server: its host and user are withheld from what is printed.
ENDPOINT_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "WANDB_BASE_URL")
_MAX_ERROR = 400


@record
class LogResult(Record):
    """What a ``log_capture`` did: the run, the files attached, the keys the run now holds (under
    the tracker's own names), the view they came from and, for a run kept on this machine (an
    offline W&B run, a local Aim repository), where it is."""

    tracker: str  # "MLflow", "W&B", "Aim"
    run_id: str  # MLflow run id, W&B run path (ENTITY/PROJECT/ID; the ID offline), Aim run hash
    files: tuple[str, ...]
    keys: dict[str, Any]
    view: View
    location: str = ""


def need(module: str, what: str, install: str) -> Any:
    """The tracker library *module*, or an `EnvsnapError` that says how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise EnvsnapError(
            f"{what} is not installed in this environment", hint=f"pip install {install}"
        ) from None


def _basic(user: str, secret: str) -> str:
    """The HTTP Basic credentials of *user* and *secret* (a server may echo its header)."""
    import base64

    return base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def withheld_words(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The tokens, host names, user names and query values of this process's tracker settings
    (and their HTTP Basic forms), and *extra*."""
    from urllib.parse import parse_qsl

    from envsnap._redact import locate, request

    env = os.environ
    words = [env.get(name, "") for name in SECRET_VARIABLES]
    if env.get("WANDB_API_KEY"):
        words.append(_basic("api", env["WANDB_API_KEY"]))  # how wandb sends its key
    if env.get("MLFLOW_TRACKING_USERNAME") and env.get("MLFLOW_TRACKING_PASSWORD"):
        user = env["MLFLOW_TRACKING_USERNAME"]
        words += [user, _basic(user, env["MLFLOW_TRACKING_PASSWORD"])]
    for name in ENDPOINT_VARIABLES:
        value = env.get(name, "")
        if "://" not in value:
            continue
        where = locate(value)
        if where is None:
            continue
        bare, credentials = request(value)
        user, password = credentials or ("", "")
        words += [where.host, user, password, _basic(user, password) if user else ""]
        # a query token travels too (MLflow appends its API paths to the whole URI)
        query, _, fragment = bare.partition("?")[2].partition("#")
        words += [v for _, v in parse_qsl(query + "&" + fragment)]
    return tuple(w for w in (*words, *extra) if w)


def failure(
    tracker: str, exc: BaseException, *, hint: str | None = None, extra: tuple[str, ...] = ()
) -> EnvsnapError:
    """One line for a tracker library's *exc*: URLs without credentials, no token or host of
    the tracker settings (nor *extra*), no control character."""
    from envsnap._redact import text

    message = getattr(exc, "message", None)
    detail = message if isinstance(message, str) else str(exc)
    line = text(detail or type(exc).__name__, secrets=withheld_words(extra))
    return EnvsnapError(f"{tracker}: {line[:_MAX_ERROR]}", hint=hint)


def restore(contents: Mapping[str, str], dest: str | os.PathLike[str]) -> Path:
    """Write the capture files *contents* (file name -> text; names outside `CAPTURE_FILES` are
    refused) into the new folder *dest*; return it."""
    from envsnap._io import write_atomic

    out = Path(dest)
    bad = sorted(set(contents) - set(CAPTURE_FILES))
    if bad:
        raise InputError(f"not a capture file: {bad[0]!r:.80}")
    out.mkdir(parents=True)
    for name in CAPTURE_FILES:
        if name in contents:
            write_atomic(out / name, contents[name])
    return out
