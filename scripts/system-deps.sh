#!/usr/bin/env bash
# Installs the system packages the build needs: Debian's libclang-dev (bindgen
# for Oxigraph's RocksDB) and a C++ compiler; and Virtuoso 7, which the
# tests start; Chromium for the HTML view's test. Idempotent; uses sudo when not root.
set -euo pipefail
need=()
# bindgen loads libclang.so itself (libclang-cpp, present on some images, is not enough).
if ! dpkg -s libclang-dev >/dev/null 2>&1 && ! ls /usr/lib/llvm-*/lib/libclang.so /usr/lib/x86_64-linux-gnu/libclang.so >/dev/null 2>&1; then
  need+=(libclang-dev)
fi
command -v c++ >/dev/null 2>&1 || need+=(g++)
# Virtuoso 7 (virtuoso-t, isql-vt): a real SPARQL server for the endpoint tests (tests/cli/servers.rs).
command -v virtuoso-t >/dev/null 2>&1 && command -v isql-vt >/dev/null 2>&1 || need+=(virtuoso-opensource-7-bin)
# Headless Chromium and its WebDriver: the HTML view's browser test (tests/html_view.py).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "system-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
command -v cargo >/dev/null 2>&1 || { echo "system-deps: cargo not found: install Rust 1.92+ (rustup)" >&2; exit 1; }
echo "system-deps: ok"
