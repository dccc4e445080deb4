#!/usr/bin/env bash
# Guards the contract's evolution: buf breaking against the contract as it was one commit before
# HEAD (or GHOSTD_BREAKING_AGAINST, any git ref). Where that commit has no contract yet, or the
# clone is too shallow to have it, there is nothing to compare and it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
against=${GHOSTD_BREAKING_AGAINST:-HEAD~1}
if ! git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
  echo "buf breaking: no commit $against here (first commit or shallow clone); nothing to compare"
  exit 0
fi
if ! git cat-file -e "$against:buf.yaml" 2>/dev/null; then
  echo "buf breaking: $against has no buf.yaml; nothing to compare"
  exit 0
fi
./node_modules/.bin/buf breaking --against ".git#ref=$(git rev-parse "$against")"
echo "buf breaking: no breaking change against $against"
