#!/usr/bin/env bash
# Install the Debian packages montage needs, if any is missing. Safe to run again.
# chromium: the dashboard's browser tests (tests/e2e/test_ui.py) and bench/ui.py run it headless.
# fonts-noto-color-emoji: emoji on slides and watermarks, in colour (without it they are drawn as "?").
set -euo pipefail
packages=(fonts-noto-cjk fonts-dejavu-core fonts-noto-color-emoji chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: please install ${missing[*]} with your package manager" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "system-deps: installing ${missing[*]}"
# Wait for another apt run (another `make setup`, unattended upgrades) instead of failing at once.
LOCK_WAIT=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${LOCK_WAIT[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${LOCK_WAIT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
