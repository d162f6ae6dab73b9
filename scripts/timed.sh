#!/usr/bin/env bash
# Runs a command as a named stage and says how long it took:
#   scripts/timed.sh NAME COMMAND [ARGS...]
# prints `stage NAME: ok in N s` (or `failed (exit C) in N s`) and exits
# with the command's status, so `make setup` / `make test` show each
# stage's time in CI's log.
set -uo pipefail
name=$1
shift
start=$(date +%s)
"$@"
status=$?
elapsed=$(( $(date +%s) - start ))
if [ "$status" -eq 0 ]; then
  echo "stage $name: ok in ${elapsed} s"
else
  echo "stage $name: failed (exit $status) in ${elapsed} s"
fi
exit "$status"
