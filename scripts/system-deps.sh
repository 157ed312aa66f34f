#!/usr/bin/env bash
# Installs the Debian packages framemark's tests and benchmarks use, when missing.
# chromium: the web page is tested in a real headless browser.
# opencv-doc: ships real camera footage (vtest.avi, ...) for the robustness benchmark.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/doc/opencv-doc ] || need+=(opencv-doc)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]}; install them with apt-get (needs root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
