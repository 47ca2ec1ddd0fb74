#!/usr/bin/env node
// Checks editors/vim/syntax/grid.vim against the assertion files of the VS Code grammar
// (editors/vscode/test/*.test.grid): each asserted TextMate scope is mapped to the Vim
// syntax group that must be on the Vim syntax stack at those columns (and negative
// assertions to groups that must not). Also checks that ftdetect/grid.vim sets the
// filetype, and that indent/grid.vim re-indents the examples as they are written.
// Needs `vim` (8.2 or later, +syntax); no other dependency.
//
//   node editors/vim/test/run.js [files...]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const VIM_DIR = path.resolve(__dirname, '..');
const TEST_DIR = path.resolve(__dirname, '../../vscode/test');

// TextMate scope prefix -> Vim groups (the longest prefix wins; unmapped scopes are skipped).
const MAP = [
  ['comment.line.double-slash', ['gridComment']],
  ['comment.block', ['gridBlockComment']],
  ['string.quoted.double', ['gridString']],
  ['constant.character.escape', ['gridEscape']],
  ['constant.other.date', ['gridDate']],
  ['constant.other.time', ['gridClock']],
  ['constant.numeric.magnitude', ['gridMagnitude']],
  ['constant.numeric', ['gridNumber']],
  ['keyword.other.unit', ['gridUnit']],
  ['keyword.control', ['gridItem']],
  ['keyword.other', ['gridKeyword']],
  ['keyword.operator', ['gridOperator']],
  ['storage.type', ['gridType']],
  ['invalid.illegal', ['gridError']],
  ['support.function', ['gridFunction']],
  ['constant.language.boolean', ['gridBoolean']],
  ['constant.language.period', ['gridPeriod']],
  ['constant.language', ['gridConstant']],
  ['variable.other.property', ['gridProperty']],
  ['variable.parameter', ['gridParameter', 'gridParamName']],
  ['variable.language.self', ['gridSelf']],
  ['support.variable.observation', ['gridObservation']],
  ['entity.name', ['gridDefinition']],
];
const groupsOf = (scope) => {
  let best = null;
  for (const [prefix, groups] of MAP) {
    if ((scope === prefix || scope.startsWith(prefix + '.')) && (!best || prefix.length > best[0].length)) best = [prefix, groups];
  }
  return best ? best[1] : null;
};

/** Parses a vscode-tmgrammar-test file: source lines and assertions per source line. */
function parse(text) {
  const lines = text.split(/\r\n|\n/);
  const source = [];
  const asserts = []; // {line, from, to, scopes, not, at}
  lines.slice(1).forEach((l, i) => {
    const rest = l.slice(2);
    if (l.startsWith('//') && /^\s*(\^|<~*-+)/.test(rest)) {
      const [pos, ...what] = rest.trim().split(/\s+(?=[\w-])/);
      const spec = what.join(' ');
      const [plus, minus = ''] = spec.split(/(?:^|\s)-(?:\s|$)/);
      const scopes = plus.split(/\s+/).filter(Boolean);
      const not = minus.split(/\s+/).filter(Boolean);
      let from;
      let to;
      if (pos.startsWith('<')) {
        const m = /^<(~*)(-+)$/.exec(pos);
        from = m[1].length;
        to = from + m[2].length;
      } else {
        from = l.indexOf('^');
        to = from + /\^+/.exec(l.slice(from))[0].length;
      }
      asserts.push({ line: source.length - 1, from, to, scopes, not, at: i + 2 });
    } else {
      source.push(l);
    }
  });
  return { source, asserts };
}

/** Vim syntax stacks: stacks[line][byteCol] = [group names]. */
function vimStacks(source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grid-vim-'));
  const file = path.join(dir, 'case.grid');
  const out = path.join(dir, 'out.json');
  fs.writeFileSync(file, source.join('\n') + '\n');
  const script = path.join(dir, 'dump.vim');
  fs.writeFileSync(script, [
    'let s:res = {"filetype": &filetype, "syntax": get(b:, "current_syntax", ""), "errmsg": v:errmsg, "lines": []}',
    'for l in range(1, line("$"))',
    '  let s:row = []',
    '  for c in range(1, len(getline(l)))',
    '    call add(s:row, map(synstack(l, c), "synIDattr(v:val, \'name\')"))',
    '  endfor',
    '  call add(s:res.lines, s:row)',
    'endfor',
    `call writefile([json_encode(s:res)], '${out}')`,
    'qa!',
  ].join('\n'));
  execFileSync('vim', ['-Nu', 'NONE', '-i', 'NONE', '-n', '-es',
    '-c', 'set encoding=utf-8', '-c', `set rtp^=${VIM_DIR}`, '-c', 'filetype on', '-c', 'syntax on',
    '-c', `edit ${file}`, '-c', `source ${script}`], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  return res;
}

const files = process.argv.slice(2).length ? process.argv.slice(2)
  : fs.readdirSync(TEST_DIR).filter((f) => f.endsWith('.test.grid')).sort().map((f) => path.join(TEST_DIR, f));
let failed = 0;
let passed = 0;
for (const f of files) {
  const { source, asserts } = parse(fs.readFileSync(f, 'utf8'));
  const res = vimStacks(source);
  const errors = [];
  if (res.filetype !== 'grid') errors.push(`filetype is '${res.filetype}', not 'grid' (ftdetect/grid.vim)`);
  if (res.syntax !== 'grid') errors.push(`b:current_syntax is '${res.syntax}' (syntax/grid.vim not loaded)`);
  if (res.errmsg) errors.push(`Vim error: ${res.errmsg}`);
  let checked = 0;
  for (const a of asserts) {
    const text = source[a.line];
    const byte = (i) => Buffer.byteLength(text.slice(0, i));
    const stacks = [];
    for (let i = a.from; i < a.to && i < text.length; i++) {
      if (i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) < 0xdc00) continue;
      stacks.push([i, res.lines[a.line][byte(i)] || []]);
    }
    const need = a.scopes.map(groupsOf).filter(Boolean);
    const forbid = a.not.map(groupsOf).filter(Boolean).flat();
    if (!need.length && !forbid.length) continue;
    checked++;
    for (const [i, stack] of stacks) {
      const missing = need.filter((gs) => !gs.some((g) => stack.includes(g)));
      const bad = forbid.filter((g) => stack.includes(g));
      if (missing.length || bad.length) {
        errors.push(`${path.basename(f)}:${a.at}: col ${i + 1} of \`${text.trim()}\`: `
          + (missing.length ? `expected ${missing.map((g) => g.join('|')).join(', ')}` : '')
          + (bad.length ? ` unexpected ${bad.join(', ')}` : '') + ` (Vim: [${stack.join(', ')}])`);
        break;
      }
    }
  }
  if (errors.length) {
    failed++;
    console.log(`✖ vim ${path.relative(process.cwd(), f)}: ${errors.length} failure(s)`);
    for (const e of errors.slice(0, 40)) console.log(`  ${e}`);
  } else {
    passed++;
    console.log(`✓ vim ${path.relative(process.cwd(), f)}: ${checked} assertions`);
  }
}
// Indentation (indent/grid.vim): re-indenting a flattened example gives the example back.
const ROOT = path.resolve(__dirname, '../../..');
const indentCases = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.grid')).sort()
  .map((f) => path.join(ROOT, 'examples', f)).concat([path.join(ROOT, 'stdlib/std.grid')]);
for (const f of process.argv.slice(2).length ? [] : indentCases) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grid-vim-'));
  const flat = path.join(dir, 'flat.grid');
  const want = fs.readFileSync(f, 'utf8');
  fs.writeFileSync(flat, want.replace(/^[ \t]+/gm, ''));
  execFileSync('vim', ['-Nu', 'NONE', '-i', 'NONE', '-n', '-es', '-c', `set rtp^=${VIM_DIR}`,
    '-c', 'filetype plugin indent on', '-c', 'syntax on', '-c', `edit ${flat}`, '-c', 'normal! gg=G',
    '-c', 'wq'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  const got = fs.readFileSync(flat, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  const name = path.relative(ROOT, f);
  if (got === want) {
    passed++;
    console.log(`✓ vim indent ${name}`);
  } else {
    failed++;
    const a = want.split('\n');
    const b = got.split('\n');
    const n = a.findIndex((l, i) => l !== b[i]);
    console.log(`✖ vim indent ${name}: line ${n + 1} is \`${b[n]}\`, expected \`${a[n]}\``);
  }
}

console.log(`vim: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
