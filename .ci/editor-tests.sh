#!/usr/bin/env bash
# Editor grammar tests (called by .ci/run):
#  1. the assertion files editors/vscode/test/*.test.grid are up to date with examples/,
#     stdlib/std.grid, test/cases/ and grammar/grid.pest (test/make_tests.js --check);
#  2. vscode-tmgrammar-test, installed locally from the committed package-lock.json
#     (editors/vscode/node_modules), runs them against the TextMate grammar;
#  3. editors/vim/test/run.js runs the same assertions against the Vim syntax file
#     (installs Debian's `vim` when missing and running as root).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../editors/vscode"
command -v npm >/dev/null || { echo "npm not found: install Node.js (>= 18) and npm" >&2; exit 1; }

npm ci --no-audit --no-fund --loglevel=error
node test/make_tests.js --check
npx --no-install vscode-tmgrammar-test -g syntaxes/grid.tmLanguage.json 'test/*.test.grid'

if ! command -v vim >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing vim for the Vim syntax test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vim >/dev/null) \
    || echo "warning: could not install vim" >&2
fi
if command -v vim >/dev/null; then
  node ../vim/test/run.js
else
  echo "warning: vim not found, Vim syntax test skipped" >&2
fi
