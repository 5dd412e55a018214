#!/bin/sh
# Entrypoint of a bento image: serve the bundled bento in the foreground on 0.0.0.0.
# `exec` replaces this shell, so the server is PID 1 and the SIGTERM of `docker stop` reaches it directly:
# in-flight requests finish, shutdown hooks run, and the container exits with code 0.
set -eu
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    # `docker run IMAGE some-command ...` runs that command instead (debugging, one-off jobs).
    exec "$@"
fi
# `docker run IMAGE --some-option` passes the options on to `bento serve`.
# The grace period stays inside `docker stop`'s default 10 s, so in-flight requests finish before a SIGKILL.
exec bento serve /home/bento/bento --host 0.0.0.0 --port "${BENTO_PORT:-3000}" \
    --timeout-graceful-shutdown "${BENTO_GRACEFUL_TIMEOUT:-8}" "$@"
