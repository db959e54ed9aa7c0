#!/bin/sh
# Builds what the scaling check needs on a machine without the repo or npm (issue 20): the benches
# and the replica entry bundled by esbuild, classic-level with its prebuilt binaries, and this
# machine's Node compressed. Into packages/node/.device/ (ignored by git; name it in `carry`).
set -eu
cd "$(dirname "$0")/../.."
out=.device
rm -rf "$out" && mkdir -p "$out"
banner="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
for entry in node.bench ingest.bench replica-process; do
  npx esbuild "bench/$entry.ts" --bundle --platform=node --format=esm --conditions=@bftx/source \
    --external:classic-level --banner:js="$banner" --outfile="$out/$entry.mjs" --log-level=warning
done
git log --oneline -1 > "$out/build.txt" 2>/dev/null || true
# A variant to compare on the same machine (VARIANT: another checkout of the repo, with its
# node_modules): its replica entry only, run by the same bench harness (run.sh, "variant").
if [ -n "${VARIANT:-}" ]; then
  (cd "$VARIANT/packages/node" && npx esbuild bench/replica-process.ts --bundle --platform=node --format=esm --conditions=@bftx/source \
    --external:classic-level --banner:js="$banner" --outfile="$OLDPWD/$out/variant-replica.mjs" --log-level=warning)
  git -C "$VARIANT" log --oneline -1 > "$out/variant.txt"
fi
# Installed outside the workspace (inside it npm would install into the repo's own tree).
tmp=$(mktemp -d)
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund classic-level@3.0.0 >/dev/null)
mv "$tmp/node_modules" "$out/node_modules" && rm -rf "$tmp"
xz -6 -c "$(command -v node)" > "$out/node.xz"
cp bench/device/run.sh bench/device/profile-breakdown.mjs "$out/"
du -sh "$out"
