"""The hint of a failed build names the flag that fixes it, read from the build's last lines."""

from __future__ import annotations

from envsnap.rebuild.failure import failure_hint
from envsnap.render import make_plan
from envsnap.render.plan import Plan
from tests.fakes import samples

CERT = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: "
    "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
    "certificate (_ssl.c:1006)'))': /simple/demo/",
    "ERROR: No matching distribution found for demo==1.0",
)


def plan(wheelhouse: bool) -> Plan:
    return make_plan(samples.cpu_env(), lock_digest=samples.LOCK_DIGEST, wheelhouse=wheelhouse)


def test_an_untrusted_ca_in_the_build_names_both_ways_out() -> None:
    hint = failure_hint(CERT, plan(False))
    assert hint is not None
    assert "without --fetch-in-build" in hint and "--ca-cert FILE" in hint
    hermetic = failure_hint(CERT, plan(True))  # a base that downloads (uv, micromamba)
    assert hermetic is not None and "--ca-cert FILE" in hermetic
    assert "--fetch-in-build" not in hermetic


def test_no_route_and_a_missing_build_requirement() -> None:
    gone = ("Failed to establish a new connection: [Errno 101] Network is unreachable",)
    assert "without --fetch-in-build" in (failure_hint(gone, plan(False)) or "")
    missing = ("ERROR: No matching distribution found for cmake>=3.15",)
    hint = failure_hint(missing, plan(True))
    assert hint is not None and "backend adds at build time" in hint
    assert failure_hint(("something else broke",), plan(True)) is None
