#!/usr/bin/env bash
# What the browser and PostgreSQL suites need from Debian: Chromium, a CJK font, PostgreSQL.
# Installs what is missing when run as root with apt; otherwise says in one line what to install.
set -euo pipefail

missing=()
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts a cluster of its own; the tests start throwaway ones instead.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h | while read -r version name _; do pg_ctlcluster "$version" "$name" stop || true; done
  fi
else
  echo "Missing system packages for the browser/PostgreSQL suites: sudo apt-get install ${missing[*]}"
fi
