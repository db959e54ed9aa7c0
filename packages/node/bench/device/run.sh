#!/bin/sh
# The scaling check on a many-core machine (issue 20), from packages/node/.device/ as build.sh left
# it: Node decompressed, then one replica's ingest with 0, 1, 2, 4, ... workers, then the cluster
# bench (4 replica processes) with each replica's share of the cores as workers. Results to $OUT.
set -u
cd "$(dirname "$0")"
OUT=${OUT:-./out}; mkdir -p "$OUT"
if [ ! -x ./node ]; then (xz -dc node.xz > node 2>/dev/null || python3 -c "import lzma,sys; sys.stdout.buffer.write(lzma.open('node.xz').read())" > node) && chmod +x node; fi
./node --version
cores=$(nproc)
# 0, 1, 2, 4, 8, ... below the core count, the cores less one, and all of them.
workers=$( (w=1; echo 0; while [ $w -lt "$cores" ]; do echo $w; w=$((w * 2)); done; echo $((cores - 1)); echo "$cores") | sort -n -u | paste -sd, -)
BFTX_INGEST_WORKERS=$workers ./node ingest.bench.mjs 2>&1 | tee "$OUT/ingest.txt"
BFTX_BENCH_REPLICA_ENTRY=$PWD/replica-process.mjs BFTX_BENCH_ATTESTATIONS=on BFTX_BENCH_STEP_S=${STEP_S:-5} \
  ./node node.bench.mjs 2>&1 | tee "$OUT/cluster.txt"
