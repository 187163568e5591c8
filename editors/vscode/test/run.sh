#!/usr/bin/env bash
# Tests of the VS Code extension: installs the pinned dev dependencies from package-lock.json,
# runs the TextMate grammar tests (test/*.flow, with vscode-tmgrammar-test) and type-checks the
# language client (src/extension.ts). Needs Node 20+ and npm; run from anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm ci --no-audit --no-fund
npm test
npm run --silent typecheck
