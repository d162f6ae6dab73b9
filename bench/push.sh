#!/usr/bin/env bash
# Push throughput (quads/s) into real SPARQL servers next to the embedded
# store's load rate, on one store, in one script:
#   baseline  `kgx merge` of the store into a fresh store (Oxigraph's bulk loader, embedded)
#   push      `kgx push --method update|gsp` into a fresh Oxigraph server and a
#             fresh Virtuoso 7 (Digest endpoint), each from an empty push log
#   bulk      Virtuoso's ld_dir + rdf_loader_run of `kgx export --format nquads`
# Each rate is printed with its ratio to the baseline.
#
# Usage: bench/push.sh [STORE]   (default: a store of samples/, built here)
# Needs: target/release/kgx, .venv/bin/oxigraph (make venv), virtuoso-t (make system-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
kgx=${KGX:-target/release/kgx}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
store=${1:-}
if [ -z "$store" ]; then
  store=$work/samples
  "$kgx" extract --quiet --device cpu --store "$store" samples/wiki_films.csv samples/wiki_people.jsonl \
    samples/oie2016_dev_excerpt.txt || [ $? -eq 3 ]
fi
quads=$("$kgx" query --store "$store" --format tsv -e 'SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }' | tail -1 | cut -f1 | tr -d '"')
graphs=$("$kgx" query --store "$store" --format tsv -e 'SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }' | tail -1 | cut -f1 | tr -d '"')
echo "store $store: $quads quads in $graphs graphs"
now() { date +%s.%N; }
rate() { awk -v q="$quads" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", q / (b - a) }'; }
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$1?query=ASK%7B%7D" && return 0
    sleep 0.2
  done
  echo "bench/push.sh: $1 did not answer" >&2
  exit 1
}
start_oxigraph() {
  local p; p=$(port)
  .venv/bin/oxigraph serve --location "$work/ox-$1" --bind "127.0.0.1:$p" --union-default-graph >"$work/ox-$1.log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$p/query"
  wait_ready "$url"
}
start_virtuoso() {
  local http isql; http=$(port); isql=$(port)
  d=$work/virt-$1
  mkdir -p "$d/load"
  cat >"$d/virtuoso.ini" <<INI
[Database]
DatabaseFile = $d/virtuoso.db
ErrorLogFile = $d/virtuoso.log
LockFile = $d/virtuoso.lck
TransactionFile = $d/virtuoso.trx
xa_persistent_file = $d/virtuoso.pxa
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = $d/virtuoso-temp.db
TransactionFile = $d/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:$isql
DisableUnixSocket = 1
NumberOfBuffers = 170000
MaxDirtyBuffers = 130000
DirsAllowed = ., $d
[HTTPServer]
ServerPort = 127.0.0.1:$http
ServerRoot = $d
ServerThreads = 8
[SPARQL]
ResultSetMaxRows = 10000000
INI
  (cd "$d" && exec virtuoso-t +foreground +configfile "$d/virtuoso.ini") >/dev/null 2>&1 &
  pids+=($!)
  wait_ready "http://127.0.0.1:$http/sparql"
  url="http://127.0.0.1:$http/sparql-auth" isql_port=$isql dir=$d
}
t0=$(now); "$kgx" merge --quiet --store "$work/embedded" "$store"; t1=$(now)
base=$(rate "$t0" "$t1")
printf '%-34s %9s quads/s  %6s\n' "embedded (kgx merge, bulk loader)" "$base" "1.00"
report() { printf '%-34s %9s quads/s  %6.2f\n' "$1" "$2" "$(awk -v r="$2" -v b="$base" 'BEGIN { print r / b }')"; }
for method in update gsp; do
  start_oxigraph "$method"
  t0=$(now); "$kgx" push --quiet --store "$store" --endpoint "$url" --method "$method"; t1=$(now)
  report "oxigraph push --method $method" "$(rate "$t0" "$t1")"
  start_virtuoso "$method"
  t0=$(now); KGX_ENDPOINT_AUTH=digest:dba:dba "$kgx" push --quiet --store "$store" --endpoint "$url" --method "$method"; t1=$(now)
  report "virtuoso push --method $method" "$(rate "$t0" "$t1")"
done
start_virtuoso bulk
t0=$(now)
"$kgx" export --store "$store" --format nquads --output "$d/load/store.nq"
VIRTUOSO_PORT=$isql_port deploy/virtuoso-bulk-load.sh "$d/load" >/dev/null
t1=$(now)
report "virtuoso export + ld_dir bulk load" "$(rate "$t0" "$t1")"
