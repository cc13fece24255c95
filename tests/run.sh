#!/usr/bin/env bash
# Runs pytest (arguments passed through) inside a private D-Bus session with an unlocked keyring.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .venv/bin/python ]; then py="$PWD/.venv/bin/python"; else py=python; fi

if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "run.sh: no dbus-run-session/gnome-keyring-daemon; running without a Secret Service" >&2
  exec "$py" -m pytest "$@"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/run"
# A throwaway home and runtime dir: the developer's real keyring and config stay untouched.
export HOME="$tmp" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
  XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run"
# The daemon's output goes to /dev/null so it never holds the caller's stdout open.
dbus-run-session -- sh -c '
  echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec "$0" -m pytest "$@"
' "$py" "$@"
