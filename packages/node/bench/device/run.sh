#!/bin/sh
# The scaling check on a many-core machine (issue 20), from packages/node/.device/ as build.sh left
# it: Node decompressed, then one replica's ingest with 0, 1, 2, 4, ... workers, then the cluster
# bench (4 replica processes, one run per protocol) with each replica's share of the cores as
# workers, then one HotStuff step at its sustained rate with a CPU profile per replica thread,
# summarised by profile-breakdown.mjs. Results to $OUT: ingest.txt, cluster-<protocol>.txt,
# profile.txt. Each phase has a time limit so that what ran comes back within one device call.
set -u
cd "$(dirname "$0")"
OUT=${OUT:-./out}; mkdir -p "$OUT"
if [ ! -x ./node ]; then (xz -dc node.xz > node 2>/dev/null || python3 -c "import lzma,sys; sys.stdout.buffer.write(lzma.open('node.xz').read())" > node) && chmod +x node; fi
./node --version
cores=$(nproc)
echo "cores $cores; $(grep -m1 'model name' /proc/cpuinfo)" | tee "$OUT/machine.txt"
# 0, 1, 2, 4, 8, ... below the core count, the cores less one, and all of them.
workers=$( (w=1; echo 0; while [ $w -lt "$cores" ]; do echo $w; w=$((w * 2)); done; echo $((cores - 1)); echo "$cores") | sort -n -u | paste -sd, -)
BFTX_INGEST_WORKERS=${INGEST_WORKERS:-$workers} timeout "${INGEST_S:-100}" ./node ingest.bench.mjs > "$OUT/ingest.txt" 2>&1; tail -3 "$OUT/ingest.txt"
export BFTX_BENCH_REPLICA_ENTRY="$PWD/replica-process.mjs" BFTX_BENCH_ATTESTATIONS=on BFTX_BENCH_STEP_S=${STEP_S:-5}
export BFTX_BENCH_RATES=${RATES:-2000,4000,5000,6000,7000,8000,9000,10000,11000,12000,14000,16000,20000}
for p in ${PROTOCOLS:-hotstuff pbft streamlet}; do
  BFTX_BENCH_PROTOCOLS=$p timeout "${CLUSTER_S:-120}" ./node node.bench.mjs > "$OUT/cluster-$p.txt" 2>&1; grep 'max sustained' "$OUT/cluster-$p.txt"
  pkill -f replica-process.mjs 2>/dev/null; sleep 1 # what a phase cut off by its limit left running
done
# A variant's replica (build.sh VARIANT=...), HotStuff, interleaved with this build's: B A B.
if [ -f variant-replica.mjs ]; then
  for entry in variant-replica.mjs replica-process.mjs variant-replica.mjs; do
    if [ "$entry" = variant-replica.mjs ]; then label=$(cat variant.txt 2>/dev/null); else label=$(cat build.txt 2>/dev/null); fi
    echo "== $entry: $label" >> "$OUT/variant.txt"
    BFTX_BENCH_REPLICA_ENTRY="$PWD/$entry" BFTX_BENCH_PROTOCOLS=hotstuff timeout "${CLUSTER_S:-120}" ./node node.bench.mjs >> "$OUT/variant.txt" 2>&1
    pkill -f "$entry" 2>/dev/null; sleep 1
  done
  grep -E 'max sustained|^==' "$OUT/variant.txt"
fi
# The profile: one HotStuff step at the rate it sustained above (or PROFILE_RATE).
rate=${PROFILE_RATE:-$(tail -1 "$OUT/cluster-hotstuff.txt" | ./node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).protocols.hotstuff.on[0].maxSustainedPerS||4000)}catch{console.log(4000)}})')}
rm -rf /tmp/bftx-prof && mkdir -p /tmp/bftx-prof
BFTX_BENCH_PROTOCOLS=hotstuff BFTX_BENCH_RATES=$rate BFTX_BENCH_REPLICA_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/bftx-prof' \
  timeout "${PROFILE_S:-60}" ./node node.bench.mjs > "$OUT/profile-run.txt" 2>&1
{ echo "HotStuff at $rate orders/s offered (warm-up at half of it included), a profile per replica thread:"; grep 'offered' "$OUT/profile-run.txt"; ./node profile-breakdown.mjs /tmp/bftx-prof replica-process.mjs; } > "$OUT/profile.txt" 2>&1
cat "$OUT/profile.txt" | head -25
