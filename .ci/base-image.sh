#!/usr/bin/env bash
# Build the local base image the container tests use (Docker Hub is not reachable from CI):
# a minimal Debian bookworm root with python3, python3-venv and ca-certificates, made with
# debootstrap and imported as ${BASE_IMAGE:-bento-test-base:bookworm}. Skipped when the image exists.
set -euo pipefail

image="${BASE_IMAGE:-bento-test-base:bookworm}"

# The Debian mirror: DEBIAN_MIRROR, else the one this host's apt already uses for its main archive
# (deb822 `URIs:` or one-line `deb URL SUITE`), else debootstrap's own default (no argument).
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
    done | head -n 1
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
    done | head -n 1
}
mirror="${DEBIAN_MIRROR:-$(host_mirror | head -n 1)}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image: $image already present"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "base image: installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    for attempt in $(seq 1 30); do
        apt-get install -y -q --no-install-recommends debootstrap >/tmp/apt-debootstrap.log 2>&1 && break
        apt-get update -q >/dev/null 2>&1 || true
        echo "apt-get install debootstrap failed (attempt $attempt), retrying in 10s" >&2
        sleep 10
    done
    command -v debootstrap >/dev/null || { cat /tmp/apt-debootstrap.log >&2; exit 1; }
fi

root="$(mktemp -d /var/tmp/bento-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base image: debootstrap bookworm into $root (mirror: ${mirror:-debootstrap's default})"
start=$SECONDS
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" ${mirror:+"$mirror"} >"$root.log" 2>&1 || { tail -n 40 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# Keep the image small and free of host state: no apt lists/caches, docs or man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/tmp/* \
    "$root"/var/log/*
# The image is a plain filesystem; give it a sane default environment and command.
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$image" >/dev/null
echo "base image: $image built in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
