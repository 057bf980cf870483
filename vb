#!/usr/bin/env bash
# Village Brain's one entry point. The first run sets up a virtual environment in .venv with
# Village Brain and its test tools installed; later runs reuse it.
#   ./vb serve --demo     run everything, with a simulated village
#   ./vb test             lint and run the whole test suite (installs the test services it needs)
#   ./vb ...              any other village-brain command, e.g. ./vb simulate --help
set -euo pipefail
cd "$(dirname "$0")"
venv="${VILLAGE_BRAIN_VENV:-.venv}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "vb: please run as root: $*" >&2; exit 1
  fi
}

setup() {
  if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
      echo "vb: python3 cannot make a virtual environment; installing python3-venv" >&2
      as_root apt-get install -y -q python3-venv >/dev/null
      rm -rf "$venv" && python3 -m venv "$venv"
    fi
  fi
  # Reinstall only when the dependencies change.
  local stamp="$venv/.installed-$(sha1sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "vb: installing Village Brain into $venv (first run only)" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
    rm -f "$venv"/.installed-* && touch "$stamp"
  fi
}

setup
case "${1:-}" in
  test)
    shift
    "$venv/bin/ruff" check village_brain tests bench
    "$venv/bin/ruff" format --check -q village_brain tests bench
    if [ $# -gt 0 ]; then exec "$venv/bin/pytest" "$@"; fi
    # The whole suite; then the long bursts, walks and screenshots (marked soak), then the
    # county-scale suites on private RabbitMQ nodes and PostgreSQL (marked cluster).
    "$venv/bin/pytest" -m "not soak and not cluster"
    "$venv/bin/pytest" -m soak
    exec "$venv/bin/pytest" -m cluster
    ;;
  "")
    exec "$venv/bin/village-brain" --help
    ;;
  *)
    exec "$venv/bin/village-brain" "$@"
    ;;
esac
