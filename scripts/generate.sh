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

# The standard services beside the contract: health and server reflection. Their .proto files come
# from the npm packages that ship them, staged under the names clients ask reflection for.
grpc=$(mktemp -d)
trap 'rm -rf "$grpc"' EXIT
mkdir -p "$grpc/grpc/health/v1" "$grpc/grpc/reflection/v1" "$grpc/grpc/reflection/v1alpha"
cp node_modules/grpc-health-check/proto/health/v1/health.proto "$grpc/grpc/health/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto "$grpc/grpc/reflection/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto "$grpc/grpc/reflection/v1alpha/"
"$buf" generate "$grpc" --template buf.gen.grpc.yaml --path "$grpc/grpc/reflection/v1" -o "$out"
"$buf" build "$grpc" --as-file-descriptor-set -o "$out/generated/grpc.binpb"
