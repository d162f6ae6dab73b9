#!/usr/bin/env bash
# After every shard (kgx-shard.sh) finished: merge the shard stores into one
# (`kgx merge`: documents, run logs, the entity graph rebuilt from all
# names) and push that store's entity graph to the server (its document
# graphs are there already, pushed by the shards).
#
# Environment: KGX_SHARD_ROOT (required), KGX_MERGED (default
# $KGX_SHARD_ROOT/merged), KGX_ENDPOINT (empty: merge only), KGX_BIN,
# KGX_PUSH_ARGS, KGX_ENDPOINT_AUTH.
set -euo pipefail
: "${KGX_SHARD_ROOT:?set KGX_SHARD_ROOT}"
kgx=${KGX_BIN:-kgx}
merged=${KGX_MERGED:-$KGX_SHARD_ROOT/merged}
shopt -s nullglob
shards=("$KGX_SHARD_ROOT"/shard-*)
if [ ${#shards[@]} -eq 0 ]; then
  echo "kgx-finish: no shard stores under $KGX_SHARD_ROOT" >&2
  exit 2
fi
"$kgx" merge --quiet --store "$merged" "${shards[@]}"
if [ -n "${KGX_ENDPOINT:-}" ]; then
  # shellcheck disable=SC2086
  "$kgx" push --quiet --store "$merged" --endpoint "$KGX_ENDPOINT" --graphs entities ${KGX_PUSH_ARGS:-}
fi
