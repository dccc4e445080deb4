#!/usr/bin/env bash
# Rebuilds everything derived from the protos: ts-proto code and the descriptor sets the gateway
# reads its routes from. With an argument, writes under that directory instead of the checkout
# (the staleness test compares the two).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.}
buf=./node_modules/.bin/buf
"$buf" generate --template buf.gen.yaml -o "$out"
"$buf" build proto --as-file-descriptor-set -o "$out/generated/ghostd.binpb"
"$buf" generate --template test/fixtures/buf.gen.yaml -o "$out"
"$buf" build test/fixtures/proto --as-file-descriptor-set -o "$out/test/fixtures/generated/library.binpb"
