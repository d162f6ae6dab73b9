#!/usr/bin/env bash
# One shard of a corpus, as a Kubernetes Indexed Job pod or a Slurm array
# task runs it: `kgx extract --shard auto` into this shard's own store,
# then `kgx push --graphs documents` of that store into the SPARQL server.
# The entity graph needs every shard's names: kgx-finish.sh makes it.
#
# Environment (the scheduler's index and count are read by kgx itself:
# JOB_COMPLETION_INDEX + KGX_SHARD_COUNT, or SLURM_ARRAY_TASK_ID/_MIN/_COUNT):
#   KGX_CORPUS      input files or directories (space-separated)      required
#   KGX_SHARD_ROOT  directory holding one store per shard (shared)    required
#   KGX_ID_ROOT     where the corpus is mounted (ids relative to it)  default: none
#   KGX_ENDPOINT    the server's query URL; empty: extract only       default: empty
#   KGX_BIN         the kgx executable                                default: kgx
#   KGX_EXTRACT_ARGS / KGX_PUSH_ARGS  more flags                      default: none
#   credentials for the server: KGX_ENDPOINT_AUTH (see kgx push --help)
set -euo pipefail
: "${KGX_CORPUS:?set KGX_CORPUS}" "${KGX_SHARD_ROOT:?set KGX_SHARD_ROOT}"
kgx=${KGX_BIN:-kgx}
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  index=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} ))
elif [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  index=$JOB_COMPLETION_INDEX
else
  echo "kgx-shard: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set" >&2
  exit 2
fi
store="$KGX_SHARD_ROOT/shard-$index"
id_root=()
[ -n "${KGX_ID_ROOT:-}" ] && id_root=(--id-root "$KGX_ID_ROOT")
# shellcheck disable=SC2086  # KGX_CORPUS and the *_ARGS are word lists
status=0
"$kgx" extract --quiet --shard auto --store "$store" "${id_root[@]}" ${KGX_EXTRACT_ARGS:-} $KGX_CORPUS || status=$?
# 3: the run finished but some documents were unusable (listed in the run log); the rest is pushed.
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
  exit "$status"
fi
if [ -n "${KGX_ENDPOINT:-}" ]; then
  # shellcheck disable=SC2086
  "$kgx" push --quiet --store "$store" --endpoint "$KGX_ENDPOINT" --graphs documents ${KGX_PUSH_ARGS:-}
fi
exit "$status"
