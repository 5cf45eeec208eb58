"""The reproducibility report as Markdown: the ML Reproducibility Scale's five sections, two of
them (Code, Environment) filled from a capture's facts between markers.

`render_sections` is pure: facts → {section name: Markdown body}. `new_report` is the whole
template for a first run; `update` replaces only what lies between each section's
``<!-- envsnap:begin NAME -->`` and ``<!-- envsnap:end NAME -->`` lines and keeps every other
byte of the author's file (line endings included). Every string from a capture is hostile: it
passes through the words door (`envsnap._redact.text`: credentials out, controls, C1, bidi and
line breaks as visible escapes), is backslash-escaped for Markdown (HTML included) with GitHub's
autolinks broken (``https\\://``, ``www\\.``, ``a\\@b``), is shown as inline code only when
made of plain characters, and in a command block only inside a fence longer than any backtick
run in it; link targets are percent-encoded.

A box is ticked only for what the capture proves on this machine: a remote on this machine (a
folder, ``file:``, ``C:/…``, ``localhost``, a loopback address) is no repository others can
clone, and a pushed image counts only when ``report --verify`` fetched its manifest by digest.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from envsnap._redact import locate
from envsnap._redact import text as shown
from envsnap.errors import InputError

from .._regex import lazy

__all__ = [
    "SECTIONS",
    "begin_marker",
    "code",
    "end_marker",
    "md",
    "new_report",
    "render_sections",
    "update",
]

SECTIONS = ("code", "environment")
_MOST = 8  # unpinned packages named in the report (--json lists them all)
# The characters that can start Markdown or HTML syntax in the middle of a line (GitHub's `$`
# math and `~` strikethrough included); a capture's string never starts a line here.
_PUNCT = lazy(r"([\\`*_\[\]<>&|~$])")
# What GitHub turns into a link by itself (extended autolinks): a backslash before the ``:`` of
# ``http://``, the ``.`` of ``www.`` and every ``@`` leaves the text as it reads, unlinked.
_AUTOLINK = lazy(r"(?i)(:)(?=//)|(?<![A-Za-z0-9])(www)(\.)|(@)")
# What a code span may show as it is: names, versions, digests, VAR=value (nothing a Markdown
# or HTML reader could take for syntax if the span were lost).
_SAFE_CODE = lazy(r"^[A-Za-z0-9._/:@+=,~%^ -]+$")


def begin_marker(name: str) -> str:
    """The line that opens section *name*."""
    return f"<!-- envsnap:begin {name} -->"


def end_marker(name: str) -> str:
    """The line that closes section *name*."""
    return f"<!-- envsnap:end {name} -->"


def _literal(text: str) -> str:
    """*text* through the words door, then the characters that could open Markdown or HTML
    syntax (``<`` and ``&`` included) backslash-escaped (text never starts a line, so ``#``,
    ``-``, ``1.`` stay plain, and a line break is an escape: it cannot start one)."""
    return _PUNCT.sub(r"\\\1", shown(text))


def _unlinked(match: re.Match[str]) -> str:
    return "\\" + match[0] if match[1] or match[4] else f"{match[2]}\\{match[3]}"


def md(text: str) -> str:
    """*text* as literal Markdown text inside a line (`_literal`), with GitHub's autolinks
    (``https://…``, ``www.…``, ``a@b``) broken."""
    return _AUTOLINK.sub(_unlinked, _literal(text))


def code(text: str) -> str:
    """*text* as an inline code span when it is made of plain characters, else as `md`."""
    return f"`{text}`" if _SAFE_CODE.match(text) else md(text)


def _link(label: str, target: str) -> str:
    """A link whose label is literal text and whose target is percent-encoded."""
    return f"[{_literal(label)}]({quote(target, safe='/:@%+,;=~-._')})"


def _box(ticked: bool, text: str) -> str:
    return f"- [{'x' if ticked else ' '}] {text}"


def _fence(body: str, lang: str = "sh") -> list[str]:
    """A fenced code block inside a list item: its fence longer than any backtick run in *body*
    and every line indented, so that no line of *body* (a path may hold a line break) can close
    the block or the item."""
    body = shown(body)  # one line: a CR or LF in a path is an escape, never a line break
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["  " + line for line in [f"{fence}{lang}", body, fence]]


def _repro_line(facts: dict[str, Any], rel: str) -> str:
    """The Scale's "running the code several times yields the same output", ticked only from
    a passing verdict recorded by `envsnap repro` with this capture's lock."""
    text = "running the code several times yields the same output"
    repro = facts.get("repro")
    if repro is None:
        return _box(
            False,
            f"{text}: not checked; run `envsnap repro -- COMMAND` (it records repro.toml in "
            "the capture)",
        )
    link = _link(repro["file"], rel + repro["file"])
    if not repro["lock_matches"]:
        return _box(
            False,
            f"{text}: {link} was recorded with another environment than this capture's "
            "lock; run `envsnap repro` again",
        )
    return _box(bool(repro["reproducible"]), f"{text}: {link}: {md(repro['summary'])}")


def _code_section(facts: dict[str, Any], rel: str = "") -> list[str]:
    return [*_version_control(facts), _repro_line(facts, rel)]


def _version_control(facts: dict[str, Any]) -> list[str]:
    project = facts.get("code")
    if project is None:
        return [
            _box(
                False,
                "the code's repository and commit: not captured (capture again with "
                "envsnap 0.2 or later, in the project's folder or with `--project PATH`)",
            )
        ]
    if project["status"] != "ok":
        reason = md(project["reason"] or "unknown")
        return [_box(False, f"the code is in version control: no ({reason})")]
    lines = []
    branch = f", branch {code(project['branch'])}" if project["branch"] else " (detached HEAD)"
    commit = project["commit"]
    lines.append(
        _box(bool(commit), f"the code is in version control: git, commit {code(commit)}{branch}")
        if commit
        else _box(False, "the code is in version control: git, but no commit yet")
    )
    lines.append(_remote_line(project["remote"]))
    if project["dirty"]:
        digest = project["diff_sha256"]
        lines.append(
            _box(
                False,
                "the commit is the exact code that ran: **no**, the working tree had "
                f"{project['changed_files']} changed or untracked file(s)"
                + (f" (diff digest `sha256:{digest}`)" if digest else "")
                + "; commit them and capture again",
            )
        )
    else:
        lines.append(
            _box(bool(commit), "the commit is the exact code that ran: the tree was clean")
        )
    return lines


def _remote_line(remote: str) -> str:
    """The "repository others can clone" box: ticked for a remote on another machine only."""
    if not remote:
        return _box(False, "the repository others can clone: no remote is configured")
    where = locate(remote)
    if where is None:
        # A folder on this machine is no repository a reader can clone.
        return _box(
            False,
            f"the repository others can clone: the remote {code(remote)} is a folder on this "
            "machine; push the code where readers can clone it",
        )
    if on_this_machine(where.host):
        return _box(
            False,
            f"the repository others can clone: the remote {code(remote)} is on this machine "
            f"({md(where.host or 'no host')}); push the code where readers can clone it",
        )
    if where.scheme in ("https", "http"):
        return _box(True, f"the repository others can clone: {_link(remote, remote)}")
    return _box(True, f"the repository others can clone: {code(remote)}")


def on_this_machine(host: str) -> bool:
    """True for a host that names this machine: empty, ``localhost`` (and ``*.localhost``,
    RFC 6761), a loopback or unspecified address in any spelling (``127.1``, ``::1``,
    ``::ffff:127.0.0.1``, ``0x7f.1``)."""
    import ipaddress
    import socket

    host = host.lower().rstrip(".")
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        if ":" in host or not re.fullmatch(r"[0-9a-fx.]+", host):
            return False
        try:  # the shorthand forms inet_aton reads, as curl and git do
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _lock_line(env: dict[str, Any], rel: str) -> str:
    links = " and ".join(
        f"{_link(f['file'], rel + f['file'])} ({md(f['format'])})"
        for f in env["lock_files"]
        if f["file"] != "conda-lock.yml"
    )
    n, hashed = env["packages"], env["hashed"]
    pinned = f"all {n} pinned by hash" if env["all_hashed"] else f"{hashed} of {n} pinned by hash"
    line = f"software package documentation: {links}: {n} packages, {pinned}"
    if env["not_pinned"]:
        shown = env["not_pinned"]
        more = f" and {len(shown) - _MOST} more" if len(shown) > _MOST else ""
        line += f" (not pinned: {md(', '.join(shown[:_MOST]))}{more})"
    for f in env["lock_files"]:
        if f["file"] == "conda-lock.yml":
            line += (
                f"; conda packages in {_link(f['file'], rel + f['file'])}: "
                f"{f['hashed']} of {f['packages']} with a checksum"
            )
    return _box(env["all_hashed"], line)


def _image_lines(env: dict[str, Any]) -> list[str]:
    image = env["image"]
    rebuild = env["rebuild"]
    if image and image["pushed_digest"] and image["lock_matches"]:
        pushed = code(image["pushed_digest"])
        if image.get("verified"):
            head = _box(
                True,
                f"example environment: the image {pushed} (its manifest fetched by digest from "
                "the registry); run it:",
            )
        else:
            why = image.get("verify_error") or ""
            note = (
                f"not found by digest in its registry: {md(why)}"
                if why
                else "not verified: `envsnap report --verify` fetches its manifest by digest"
            )
            head = _box(
                False,
                f"example environment: the image {pushed}, recorded by the capture ({note}); "
                "run it:",
            )
        return [head, "", *_fence(image["run"])]
    note = "no image pushed yet"
    if image and image["pushed_digest"]:
        note = "the pushed image was built from another lock than this capture's"
    elif image:
        note = "an image was built but not pushed to a registry"
    lines = [_box(False, f"example environment: {note}; build it from the capture with"), ""]
    lines += _fence(rebuild + " --push REGISTRY/NAME:TAG")
    return lines


def _environment_section(facts: dict[str, Any], rel: str) -> list[str]:
    env = facts["environment"]
    hw = env["hardware"]
    lines = [_lock_line(env, rel), *_image_lines(env)]
    lines.append(
        _box(
            hw["captured"], f"the hardware needed to run the project properly: {md(hw['summary'])}"
        )
    )
    lines.append("")
    lines.append(f"Python: {md(env['python'])} on {md(env['os'])}.")
    if env["frameworks"]:
        builds = ", ".join(
            md(f"{f['name']} {f['version']}") + (md(f" (CUDA {f['cuda']})") if f["cuda"] else "")
            for f in env["frameworks"]
        )
        lines += ["", f"Frameworks: {builds}."]
    det = env["determinism"]
    settings = ", ".join(code(f"{k}={v}") for k, v in sorted(det["set"].items()))
    lines += ["", f"Determinism settings in the captured run: {settings or 'none'}."]
    if det["missing"]:
        missing = ", ".join(code(f"{m['var']}={m['value']}") for m in det["missing"])
        lines.append(f"Not set, though a deterministic run needs them: {missing}.")
    num = env["numerics"]
    if num is None:
        lines += ["", "Numerics: not measured (no numerics.toml in the capture)."]
    else:
        lines += [
            "",
            f"Numerics: {num['probes']} probe(s) of battery {md(num['battery_version'])}, "
            f"digest `sha256:{num['digest']}`.",
        ]
    return lines


def render_sections(facts: dict[str, Any], rel: str = "") -> dict[str, str]:
    """Section name → Markdown body (without markers). *rel* is the capture folder as seen from
    the report's folder, ending in ``/`` (empty when they are the same)."""
    return {
        "code": "\n".join(_code_section(facts, rel)),
        "environment": "\n".join(_environment_section(facts, rel)),
    }


_TEMPLATE = """\
# Reproducibility report

This report follows the ML Reproducibility Scale's five parts: code, configuration, data,
environment and evaluation. The parts between `envsnap:begin` and `envsnap:end` markers are
written by `envsnap report` from the capture; running it again updates only those and keeps
everything else in this file as you wrote it. Fill in the rest.

## \u2b50 Code

{code}

## \u2b50\u2b50 Configuration

- [ ] configuration files: {{links to the configuration files of each experiment}}
- [ ] the command that runs each experiment with its configuration: {{command}}

## \u2b50\u2b50\u2b50 Data

- [ ] the data, versioned: {{link to each data set, with its version or checksum}}
- [ ] how the data was processed: {{link to the processing code or pipeline}}

## \u2b50\u2b50\u2b50\u2b50 Environment

{environment}

## \u2b50\u2b50\u2b50\u2b50\u2b50 Evaluation

- [ ] the evaluation code: {{link to the script that computes the reported metrics}}
- [ ] the results it should produce: {{the metrics, with their variance over seeds}}
- [ ] trained models: {{link to the model weights}}
"""


def _block(name: str, body: str) -> str:
    return "\n".join([begin_marker(name), body, end_marker(name)])


def new_report(sections: dict[str, str]) -> str:
    """The whole report for a first run: the template with the generated sections in place."""
    return _TEMPLATE.format(**{name: _block(name, sections[name]) for name in SECTIONS})


def _find_line(text: str, line: str, source: str) -> list[int]:
    """Offsets of the lines of *text* that are exactly *line* (a trailing CR allowed)."""
    found = []
    for m in re.finditer(re.escape(line) + r"\r?$", text, flags=re.MULTILINE):
        if m.start() == 0 or text[m.start() - 1] == "\n":
            found.append(m.start())
    if len(found) > 1:
        raise InputError(f"{source}: the marker {line} appears {len(found)} times; keep one")
    return found


def update(text: str, sections: dict[str, str], source: str) -> str:
    """*text* with each section's body replaced between its markers; a section whose markers
    are gone is appended at the end. Everything outside the markers is kept byte for byte."""
    for name in SECTIONS:
        begins = _find_line(text, begin_marker(name), source)
        ends = _find_line(text, end_marker(name), source)
        if not begins and not ends:
            sep = "" if not text or text.endswith("\n") else "\n"
            text += f"{sep}\n{_block(name, sections[name])}\n"
            continue
        if not begins or not ends or ends[0] < begins[0]:
            raise InputError(
                f"{source}: the {name} section's markers are incomplete or out of order",
                hint=f"keep the lines {begin_marker(name)} and {end_marker(name)}, in that order",
            )
        start = text.index("\n", begins[0]) + 1
        newline = "\r\n" if text[start - 2 : start] == "\r\n" else "\n"
        body = sections[name].replace("\n", newline)
        text = text[:start] + body + newline + text[ends[0] :]
    return text
