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

# The HTTP surfaces' OpenAPI documents, built by the gateway's own code from the descriptor set just
# written (the documents `GET /openapi.json` answers, pretty-printed), then the typed client's types
# from them. The builder is compiled on its own: the rest of the tree may not build until the
# types it needs are generated.
build=dist/generate
./node_modules/.bin/tsc cli/write-openapi.ts --outDir "$build" --rootDir . --target ES2022 --module node16 \
  --moduleResolution node16 --esModuleInterop --resolveJsonModule --skipLibCheck --strict --types node
version=$(node -p 'require("./package.json").version')
node "$build/cli/write-openapi.js" "$out/generated/ghostd.binpb" "$version" "$out/generated/openapi"
for surface in terminal-api host-api; do
  ./node_modules/.bin/openapi-typescript "$out/generated/openapi/$surface.json" -o "$out/generated/openapi/$surface.ts" --silent
done
