#!/usr/bin/env bash
# Editor grammar tests: installs vscode-tmgrammar-test locally (editors/vscode/node_modules,
# from the committed package-lock.json) and runs the assertion files in editors/vscode/test/.
set -euo pipefail
cd "$(dirname "$0")/../editors/vscode"
command -v npm >/dev/null || { echo "npm not found: install Node.js and npm" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npx --no-install vscode-tmgrammar-test -g syntaxes/grid.tmLanguage.json 'test/*.test.grid'
