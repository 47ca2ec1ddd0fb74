// Renders a .grid file to HTML with the TextMate grammar (the same tokenizer VS Code uses),
// for the screenshot in docs/editors.md:
//   node scripts/render.js ../../examples/community16.grid > /tmp/community16.html
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const wasm = fs.readFileSync(path.join(__dirname, '../node_modules/vscode-oniguruma/release/onig.wasm')).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (p) => new oniguruma.OnigScanner(p),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(path.join(__dirname, '../syntaxes/grid.tmLanguage.json'), 'utf8'), 'grid.tmLanguage.json'),
});

// A dark theme in the spirit of VS Code's "Dark+".
const colors = [
  ['comment', '#6A9955'], ['string', '#CE9178'], ['constant.character.escape', '#D7BA7D'],
  ['keyword.other.unit', '#4EC9B0'], ['constant.numeric', '#B5CEA8'], ['constant.other', '#D7BA7D'],
  ['keyword.control', '#C586C0'], ['keyword.operator', '#D4D4D4'], ['keyword', '#569CD6'],
  ['entity.name.type', '#4EC9B0'], ['entity.name', '#9CDCFE'], ['support.function', '#DCDCAA'],
  ['constant.language', '#569CD6'], ['variable.other.property', '#9CDCFE'], ['invalid', '#F44747'],
];
const colorOf = (scopes) => {
  for (let i = scopes.length - 1; i >= 0; i--) {
    for (const [prefix, c] of colors) if (scopes[i].startsWith(prefix)) return c;
  }
  return '#D4D4D4';
};
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

registry.loadGrammar('source.grid').then((grammar) => {
  const file = process.argv[2];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let state = vsctm.INITIAL;
  const out = [];
  lines.forEach((line, n) => {
    const r = grammar.tokenizeLine(line, state);
    let html = `<span class="ln">${String(n + 1).padStart(3)}</span>  `;
    for (const t of r.tokens) {
      html += `<span style="color:${colorOf(t.scopes)}">${esc(line.substring(t.startIndex, t.endIndex))}</span>`;
    }
    out.push(html);
    state = r.ruleStack;
  });
  console.log(`<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#1E1E1E}pre{margin:0;padding:16px 20px;font:14px/1.45 "DejaVu Sans Mono",monospace;color:#D4D4D4}
.ln{color:#6E7681}.title{font:13px sans-serif;color:#BBB;background:#2D2D2D;padding:8px 20px}
</style></head><body><div class="title">${esc(path.basename(file))} — gridc TextMate grammar</div><pre>${out.join('\n')}</pre></body></html>`);
});
