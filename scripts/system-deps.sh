#!/usr/bin/env bash
# What the browser, PostgreSQL, Redis suites and the benchmark need from Debian: Chromium, a CJK font,
# PostgreSQL, Redis and wrk.
# Installs what is missing when run as root with apt; otherwise says in one line what to install.
set -euo pipefail

missing=()
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)

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
  # Likewise Redis: the tests start throwaway servers on free ports.
  if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v service >/dev/null; then
    service redis-server stop >/dev/null 2>&1 || true
  fi
else
  echo "Missing system packages for the browser/PostgreSQL/Redis suites: sudo apt-get install ${missing[*]}"
fi
