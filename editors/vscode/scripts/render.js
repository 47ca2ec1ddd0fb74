#!/usr/bin/env node
// Renders a .grid file to HTML with the TextMate grammar, tokenized by vscode-textmate (the
// tokenizer VS Code uses) and coloured with a Dark+-like theme. Used for the screenshot in
// docs/editors.md (scripts/screenshot.sh):
//   node scripts/render.js ../../examples/community16.grid /tmp/community16.html
// Needs the devDependencies (npm ci).
'use strict';
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const [file, out] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/render.js FILE.grid [OUT.html]');
  process.exit(2);
}

const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const grammarPath = path.join(__dirname, '../syntaxes/grid.tmLanguage.json');
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
});

// Scope prefix -> CSS, in the spirit of VS Code's "Dark+"; the longest matching prefix of the
// innermost scope that has one wins.
const THEME = {
  'comment': 'color:#6A9955;font-style:italic',
  'string': 'color:#CE9178',
  'constant.character.escape': 'color:#D7BA7D',
  'constant.numeric': 'color:#B5CEA8',
  'keyword.other.unit': 'color:#4EC9B0',
  'constant.other': 'color:#D7BA7D',
  'constant.language': 'color:#4FC1FF',
  'keyword.control': 'color:#C586C0',
  'keyword.other': 'color:#569CD6',
  'keyword.operator': 'color:#D4D4D4',
  'storage.type': 'color:#569CD6',
  'entity.name': 'color:#DCDCAA;font-weight:bold',
  'support.function': 'color:#DCDCAA',
  'support.variable': 'color:#4FC1FF',
  'variable.language': 'color:#569CD6',
  'variable': 'color:#9CDCFE',
  'punctuation': 'color:#A0A0A0',
  'invalid': 'color:#F44747;text-decoration:underline wavy',
};
const styleOf = (scopes) => {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let best = null;
    for (const prefix of Object.keys(THEME)) {
      if ((scopes[i] === prefix || scopes[i].startsWith(prefix + '.')) && (!best || prefix.length > best.length)) best = prefix;
    }
    if (best) return THEME[best];
  }
  return 'color:#D4D4D4';
};
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

registry.loadGrammar('source.grid').then((grammar) => {
  const lines = fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
  let state = vsctm.INITIAL;
  const rows = lines.map((line, n) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    const code = r.tokens
      .map((t) => `<span style="${styleOf(t.scopes)}">${esc(line.substring(t.startIndex, t.endIndex))}</span>`)
      .join('');
    return `<span class="ln">${String(n + 1).padStart(3)}</span>  ${code}`;
  });
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(path.basename(file))}</title><style>
body{margin:0;background:#1E1E1E}
.title{font:13px "DejaVu Sans",sans-serif;color:#CCC;background:#252526;padding:8px 16px;border-bottom:1px solid #333}
pre{margin:0;padding:12px 16px;font:14px/1.45 "DejaVu Sans Mono",monospace;color:#D4D4D4}
.ln{color:#6E7681}
</style></head><body>
<div class="title">${esc(path.basename(file))} — gridc TextMate grammar (editors/vscode)</div>
<pre>${rows.join('\n')}</pre>
</body></html>
`;
  if (out) fs.writeFileSync(out, html);
  else process.stdout.write(html);
});
