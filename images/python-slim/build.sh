#!/usr/bin/env bash
# Build python:<X.Y.Z>-slim-<codename> locally from the host's CPython (no registry needed).
#
# Usage: images/python-slim/build.sh [PYTHON]   (default: $PYTHON or python3)
# The image holds the exact interpreter PYTHON runs (same version, same build, same prefix),
# without its tests, idlelib, tkinter, bytecode caches, static library, or any site-package
# other than pip and setuptools. Skips the work when the tag exists already (FORCE=1 rebuilds).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-${PYTHON:-python3}}"
# The Debian release of this host (the interpreter's glibc must match), else bookworm.
codename="${CODENAME:-$(. /etc/os-release 2>/dev/null && [[ "${ID:-}" == debian ]] && echo "${VERSION_CODENAME:-}")}"
codename="${codename:-bookworm}"

read -r version prefix stdlib < <("$python" -c \
    'import sys, sysconfig; print("%d.%d.%d" % sys.version_info[:3], sys.base_prefix, sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix}))')
case "$prefix" in
    / | /usr | /usr/local)
        # The whole prefix is copied: that must be the interpreter's own tree, not a shared one.
        echo "python-slim: $python lives in the shared prefix $prefix; set PYTHON to a" \
            "self-contained build (pyenv, uv python install)" >&2
        exit 1 ;;
esac
tag="python:${version}-slim-${codename}"
base="envsnap-local/debian:${codename}-minbase"

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "python-slim: $tag exists, skipping"
    exit 0
fi
"$here/../debian-root/build.sh" "$codename"

ctx="$(mktemp -d "${TMPDIR:-/tmp}/envsnap-python-slim.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$ctx/Dockerfile"
dest="$ctx/rootfs$prefix"
mkdir -p "$dest" "$ctx/rootfs/usr/local/bin"

echo "python-slim: copying $prefix (CPython $version) without tests, caches and site-packages"
site="${stdlib#"$prefix"/}/site-packages"
# The interpreter minus bloat. The exclusions follow the official images' cleanup.
tar -C "$prefix" -c \
    --exclude="./$site" --exclude='__pycache__' --exclude='*.pyc' --exclude='libpython*.a' \
    --exclude="./${stdlib#"$prefix"/}/test" --exclude='./lib/python*/*/test' \
    --exclude='./lib/python*/*/tests' --exclude='idle_test' --exclude='idlelib' \
    --exclude='tkinter' --exclude='turtledemo' --exclude='_tkinter*.so' \
    --exclude='./bin' --exclude='./share' . | tar -C "$dest" -x
# Only the interpreter's own commands: host-installed console scripts would name host packages.
mkdir -p "$dest/bin" "$dest/$site"
(cd "$prefix/bin" && cp -a python* pip* pydoc* 2to3* "$dest/bin/")
# Only what ensurepip installs (pip, setuptools): the image must hold no host package.
(cd "$prefix/$site" && tar -c --exclude='__pycache__' \
    pip pip-*.dist-info setuptools setuptools-*.dist-info pkg_resources _distutils_hack \
    distutils-precedence.pth 2>/dev/null | tar -C "$dest/$site" -x) || true
test -d "$dest/$site/pip" || { echo "python-slim: pip missing from $prefix/$site" >&2; exit 1; }
for name in python3 python pip3 pip pydoc3 2to3 "python${version%.*}" "pip${version%.*}"; do
    if [[ -e "$dest/bin/$name" ]]; then ln -s "$prefix/bin/$name" "$ctx/rootfs/usr/local/bin/$name"; fi
done
[[ -e "$ctx/rootfs/usr/local/bin/python" ]] || ln -s python3 "$ctx/rootfs/usr/local/bin/python"
# Python lives under /root (the pyenv prefix): let a non-root USER in a derived image run it.
mkdir -p "$ctx/rootfs/root" && chmod 0755 "$ctx/rootfs/root"

echo "python-slim: building $tag ($(du -sh "$ctx/rootfs" | cut -f1) added to $base)"
# The classic builder, as envsnap uses; its stderr (a deprecation notice) shows only on failure.
DOCKER_BUILDKIT=0 docker build -q --network host --build-arg "BASE=$base" \
    --build-arg "PYTHON_VERSION=$version" -t "$tag" "$ctx" >/dev/null 2>"$ctx.err" \
    || { cat "$ctx.err" >&2; rm -f "$ctx.err"; exit 1; }
rm -f "$ctx.err"
docker run --rm --network none "$tag" python3 -c \
    'import ssl, ctypes, sqlite3, lzma, bz2, zlib, readline, uuid, pyexpat, curses, venv, ensurepip; print("python-slim: ok", __import__("sys").version.split()[0])'
echo "python-slim: built $tag"
