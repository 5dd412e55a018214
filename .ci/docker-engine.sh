#!/usr/bin/env bash
# Make a Docker engine reachable for the container tests (idempotent).
# - an engine already answering `docker info` (local socket or DOCKER_HOST) is used as is;
# - otherwise Debian's Docker engine package is installed if missing and dockerd is started in the background,
#   logging to ${DOCKERD_LOG:-/var/log/dockerd.log}.
# Needs root on a Debian machine (the CI machine is one).
set -euo pipefail

log="${DOCKERD_LOG:-/var/log/dockerd.log}"

engine_up() { docker info >/dev/null 2>&1; }

apt_install() {
    # Another process may hold the apt/dpkg lock for a while: wait and retry rather than fail.
    local attempt
    export DEBIAN_FRONTEND=noninteractive
    for attempt in $(seq 1 30); do
        if apt-get install -y -q --no-install-recommends "$@" >/tmp/apt-install.log 2>&1; then
            return 0
        fi
        if grep -qiE 'unable to locate|has no installation candidate' /tmp/apt-install.log; then
            apt-get update -q >/dev/null 2>&1 || true
        fi
        echo "apt-get install $* failed (attempt $attempt), retrying in 10s:" >&2
        tail -n 3 /tmp/apt-install.log >&2
        sleep 10
    done
    cat /tmp/apt-install.log >&2
    return 1
}

swarm_up() {
    # `bento deploy --target swarm` (tests/deploy) needs swarm mode; one node advertising loopback.
    local state
    state="$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)"
    if [ "$state" = "active" ]; then
        echo "docker swarm: already active"
    elif docker swarm init --advertise-addr 127.0.0.1 >/dev/null; then
        echo "docker swarm: initialised (single node, 127.0.0.1)"
    else
        echo "docker swarm: init failed; the swarm tests will fail" >&2
        return 1
    fi
}

if command -v docker >/dev/null 2>&1 && engine_up; then
    echo "docker engine: already running ($(docker version --format '{{.Server.Version}}'))"
    swarm_up || true
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker engine: installing Debian's Docker engine package"
    apt-get update -q >/dev/null 2>&1 || true
    apt_install docker.io
fi

if ! engine_up; then
    echo "docker engine: starting dockerd (log: $log)"
    mkdir -p "$(dirname "$log")"
    # setsid + nohup: the daemon outlives this script and the CI step that ran it.
    setsid nohup dockerd >>"$log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        engine_up && break
        sleep 1
    done
fi

if ! engine_up; then
    echo "docker engine: dockerd did not come up within 60s; last log lines:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
fi
echo "docker engine: running ($(docker version --format '{{.Server.Version}}'))"
swarm_up || true
