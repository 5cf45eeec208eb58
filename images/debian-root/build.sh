#!/usr/bin/env bash
# Build a minimal Debian root filesystem with debootstrap and import it as a local Docker image.
#
# Usage: images/debian-root/build.sh [CODENAME]      (default: bookworm)
# Result: the image envsnap-local/debian:<CODENAME>-minbase, holding only what CPython's
# extension modules link against (the package set of the official python:*-slim images).
# Skips the work when the image exists already (FORCE=1 rebuilds). No registry is needed:
# packages come from the Debian mirror (MIRROR, default http://deb.debian.org/debian).
set -euo pipefail

codename="${1:-bookworm}"
tag="envsnap-local/debian:${codename}-minbase"
mirror="${MIRROR:-http://deb.debian.org/debian}"
# The shared libraries CPython's stdlib modules load (ssl, ctypes, zlib, bz2, lzma, sqlite3,
# readline, curses, uuid, pyexpat, crypt, nis), plus CA certificates and /etc/services. Unlike
# the official images, no tzdata: its 1,300 files make every container creation slower on the
# vfs storage driver (which copies the whole tree twice per container); EXTRA_PACKAGES=tzdata
# adds it back.
packages="ca-certificates,netbase,libssl3,libffi8,zlib1g,libbz2-1.0,liblzma5,libsqlite3-0"
packages+=",libreadline8,libncursesw6,libtinfo6,libuuid1,libexpat1,libgdbm6,libnsl2,libcrypt1"
packages+="${EXTRA_PACKAGES:+,${EXTRA_PACKAGES}}"

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "debian-root: $tag exists, skipping"
    exit 0
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/envsnap-rootfs.XXXXXX")"
trap 'rm -rf "$root"' EXIT

echo "debian-root: debootstrap $codename into $root"
exclude=tzdata
[[ ",${EXTRA_PACKAGES:-}," != *,tzdata,* ]] || exclude=""
debootstrap --variant=minbase --include="$packages" ${exclude:+--exclude="$exclude"} \
    "$codename" "$root" "$mirror" \
    >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What an image does not need: apt's caches and lists, docs, man pages, locales, logs.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log \
    "$root"/var/cache/debconf/*-old "$root"/tmp/* "$root"/root/.bash_history
# The same apt sources line as the official images, so `apt-get update` works in derived images.
printf 'deb %s %s main\n' "$mirror" "$codename" >"$root/etc/apt/sources.list"

echo "debian-root: importing as $tag"
tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    - "$tag" >/dev/null
echo "debian-root: built $tag"
