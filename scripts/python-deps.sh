# Sourced by .ci/run (and runnable alone): the pinned Python environment the AWM bridge and verifiers run in.
# Creates a venv at $AW_PYENV (default ~/.cache/agentworld/pyenv) from awm/python/requirements.txt and
# exports AW_PYTHON (not AGENTWORLD_*: those are configuration overrides); reinstalls only when the requirements
# change.
AW_PYENV="${AW_PYENV:-$HOME/.cache/agentworld/pyenv}"
_aw_req="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/awm/python/requirements.txt"
_aw_stamp="$AW_PYENV/.requirements.sha256"
if [ ! -x "$AW_PYENV/bin/python" ] || [ "$(sha256sum "$_aw_req" | cut -d' ' -f1)" != "$(cat "$_aw_stamp" 2>/dev/null)" ]; then
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing python3-venv (needed for the AWM bridge's Python environment)" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
  fi
  echo "creating the AWM bridge's Python environment in $AW_PYENV" >&2
  python3 -m venv "$AW_PYENV"
  "$AW_PYENV/bin/pip" install -q --disable-pip-version-check -r "$_aw_req"
  sha256sum "$_aw_req" | cut -d' ' -f1 > "$_aw_stamp"
fi
export AW_PYTHON="$AW_PYENV/bin/python"
unset _aw_req _aw_stamp
