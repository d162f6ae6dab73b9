#!/usr/bin/env bash
# Virtuoso's bulk path for big loads: the N-Quads files under DIR (one per
# shard: `kgx export --format nquads --output DIR/shard-I.nq`, or .nq.gz)
# registered with ld_dir and loaded by rdf_loader_run, then a checkpoint.
# DIR must be listed in the server's DirsAllowed (virtuoso.ini) and seen by
# the server at the same path. Bulk loading adds quads: load into graphs the
# server does not hold yet (a first load); later changes go through
# `kgx push`, which replaces graphs.
#
# Usage: virtuoso-bulk-load.sh DIR
# Environment: VIRTUOSO_ISQL (default isql-vt), VIRTUOSO_HOST (127.0.0.1),
# VIRTUOSO_PORT (isql port, 1111), VIRTUOSO_USER (dba), VIRTUOSO_PASSWORD (dba),
# LOADERS (rdf_loader_run processes side by side, 1; about one per 2.5 cores).
set -euo pipefail
dir=$(cd "${1:?usage: virtuoso-bulk-load.sh DIR}" && pwd)
isql=${VIRTUOSO_ISQL:-isql-vt}
server="${VIRTUOSO_HOST:-127.0.0.1}:${VIRTUOSO_PORT:-1111}"
user=${VIRTUOSO_USER:-dba}
password=${VIRTUOSO_PASSWORD:-dba}
loaders=${LOADERS:-1}
sql() { "$isql" "$server" "$user" "$password" "exec=$1" >/dev/null; }
started=$(date +%s.%N)
# The graph argument is for triples files only; N-Quads carry their graphs.
sql "ld_dir('$dir', '*.nq', 'urn:kgx:unused'); ld_dir('$dir', '*.nq.gz', 'urn:kgx:unused');"
pids=()
for _ in $(seq "$loaders"); do
  sql "rdf_loader_run();" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
sql "checkpoint;"
# A file that failed to load has ll_error set: report it and fail.
errors=$("$isql" "$server" "$user" "$password" \
  "exec=SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_file LIKE '$dir/%' AND ll_error IS NOT NULL;" | grep -c "^$dir/" || true)
if [ "$errors" -ne 0 ]; then
  "$isql" "$server" "$user" "$password" "exec=SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;" >&2
  exit 1
fi
echo "virtuoso-bulk-load: loaded $(find "$dir" -maxdepth 1 -name '*.nq*' | wc -l) files from $dir in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s"
