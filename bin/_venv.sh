# Shared by bin/serve and bin/test: a virtualenv in .venv with the project installed.
ensure_venv() {
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  local stamp=.venv/.installed-$(cksum pyproject.toml | cut -d' ' -f1)${1:+-$1}
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".${1:+[$1]}"
    touch "$stamp"
  fi
}
