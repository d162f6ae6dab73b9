#!/usr/bin/env bash
# kgx over N nodes with Slurm: one array task a shard, then a dependent job
# that merges the shard stores and pushes the entity graph.
#   bash deploy/slurm-array.sh   (submits the array, then the finish job after it;
#                                 edit the settings first)
# Settings: the corpus and shard root on a shared filesystem, the server,
# and the credentials in the submitting shell's KGX_ENDPOINT_AUTH (exported
# to the jobs). See deploy/README.md for sizes and rates.
#SBATCH --job-name=kgx-shards
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=kgx-shard-%a.log
set -euo pipefail
export KGX_CORPUS=${KGX_CORPUS:-/shared/corpus}
export KGX_ID_ROOT=${KGX_ID_ROOT:-/shared}
export KGX_SHARD_ROOT=${KGX_SHARD_ROOT:-/shared/kgx-shards}
export KGX_ENDPOINT=${KGX_ENDPOINT:-http://virtuoso.example:8890/sparql-auth}
export KGX_EXTRACT_ARGS=${KGX_EXTRACT_ARGS:-"--threads ${SLURM_CPUS_PER_TASK:-4}"}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # Run by hand (not yet inside the array): submit the array, then the finish job after it.
  export KGX_DEPLOY=$here
  array=$(sbatch --parsable --export=ALL "$0")
  sbatch --dependency="afterok:$array" --job-name=kgx-finish --cpus-per-task=2 --mem=4G --time=02:00:00 \
    --output=kgx-finish.log --export=ALL --wrap="$here/kgx-finish.sh"
  exit 0
fi
# Slurm's own scripts run from a spool copy: find the deploy folder by KGX_DEPLOY when set.
exec "${KGX_DEPLOY:-$here}/kgx-shard.sh"
