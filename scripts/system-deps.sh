#!/usr/bin/env bash
# Installs the Debian packages framemark's tests and benchmarks use, when missing.
#   scripts/system-deps.sh test   chromium (the web page is tested in a real headless browser)
#   scripts/system-deps.sh bench  + opencv-doc (ships real camera footage for the benchmarks)
set -euo pipefail
what=${1:-test}
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "$what" = bench ]; then
  [ -d /usr/share/doc/opencv-doc ] || need+=(opencv-doc)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]}; install them with apt-get (needs root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
