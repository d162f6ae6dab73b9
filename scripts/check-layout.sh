#!/usr/bin/env bash
# Architecture checks that the compiler does not make:
# - clap (flags, derives such as ValueEnum) lives only in src/commands/ and
#   src/main.rs: the library takes options structs, never a flag type;
# - no source line is longer than 140 characters (rustfmt.toml's width;
#   rustfmt leaves long string literals alone).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if leaks=$(grep -rnE '\bclap::|\buse clap\b|ValueEnum|#\[(arg|command|clap|group|value)\(' src --include='*.rs' | grep -vE '^src/(commands/|main\.rs:)'); then
  echo "check-layout: clap outside src/commands/ and src/main.rs:" >&2
  echo "$leaks" >&2
  status=1
fi
if long=$(git ls-files -co --exclude-standard '*.rs' | xargs awk 'length > 140 { print FILENAME ":" FNR ": " length " characters" }') && [ -n "$long" ]; then
  echo "check-layout: lines over 140 characters:" >&2
  echo "$long" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check-layout: ok"
exit "$status"
