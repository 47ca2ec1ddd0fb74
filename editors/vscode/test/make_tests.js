#!/usr/bin/env node
// Writes the vscode-tmgrammar-test assertion files test/*.test.grid:
//   - one per examples/*.grid and one for stdlib/std.grid (a copy of the file),
//   - tricky.test.grid from test/cases/tricky.grid,
//   - vocabulary.test.grid: every keyword and unit atom of grammar/grid.pest.
// After every source line come `// ^^^ scope` lines for each token on it.
//
// The expected scopes are NOT read from the TextMate grammar: they come from the small
// lexer below, written from the lexical rules of grammar/grid.pest (keywords and units are
// read from it), so the grammar is checked against an independent description of the
// language. The same files drive the Vim check (editors/vim/test/run.js).
//
//   node test/make_tests.js           # (re)write the files
//   node test/make_tests.js --check   # exit 1 if a file is missing or stale (CI)
'use strict';
const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '../../..');

// ------------------------------------------------------------------ vocabulary
/** Rules of a pest grammar: name -> body text (between the outer braces). */
function pestRules(text) {
  const rules = new Map();
  const head = /^([A-Za-z_]\w*)\s*=\s*[_@$!]?\{/gm;
  let m;
  while ((m = head.exec(text))) {
    let depth = 1;
    let i = head.lastIndex;
    const start = i;
    while (i < text.length && depth > 0) {
      const c = text[i];
      if (c === '"') {
        i++;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      } else if (c === '/' && text[i + 1] === '/') {
        while (i < text.length && text[i] !== '\n') i++;
      } else if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
    rules.set(m[1], text.slice(start, i - 1));
  }
  return rules;
}
const literals = (body) => [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]);

const pest = pestRules(fs.readFileSync(path.join(ROOT, 'grammar/grid.pest'), 'utf8'));
const KEYWORDS = [...pest.keys()].filter((k) => k.startsWith('kw_')).map((k) => literals(pest.get(k))[0]);
const UNITS = literals(pest.get('unit_atom'));
if (KEYWORDS.length < 30 || !UNITS.includes('kWh')) throw new Error('could not read grammar/grid.pest');
// Item keywords (src/syntax/split.rs) and `as` are keyword.control; the others keyword.other.
const CONTROL = new Set(['gridc', 'import', 'as', 'profile', 'tariff', 'template', 'network', 'agents', 'reward', 'experiment']);
// Words of the language that are not pest keywords (src/check/*).
const PROPS = new Set(['capacity', 'power', 'efficiency', 'charge_efficiency', 'discharge_efficiency', 'soc', 'start',
  'limit', 'overload_penalty', 'step', 'episode', 'optimum', 'seeds', 'budget', 'algorithms', 'baselines',
  'mix', 'individual', 'social']);
const FUNCS = new Set(['uniform', 'normal', 'choice', 'bill', 'cost', 'count', 'peak', 'marginal', 'externality', 'next', 'broadcast', 'neighbours', 'neighbors']);
const CONSTS = new Set(['none', 'step', 'linear', 'lp', 'mappo', 'ippo', 'maddpg', 'no_battery', 'greedy', 'tou_rule',
  'broadcast', 'neighbours', 'neighbors']);
const OBSERVATIONS = ['time.hour', 'time.weekday', 'time.day', 'price.import', 'price.export', 'carbon.intensity',
  'community.net.last', 'community.peak.today'];

const S = {
  lineComment: 'comment.line.double-slash.grid', blockComment: 'comment.block.grid',
  string: 'string.quoted.double.grid', escape: 'constant.character.escape.grid',
  date: 'constant.other.date.grid', clock: 'constant.other.time.grid',
  number: 'constant.numeric.grid', magnitude: 'constant.numeric.magnitude.grid', unit: 'keyword.other.unit.grid',
  control: 'keyword.control.grid', keyword: 'keyword.other.grid', type: 'storage.type.grid',
  range: 'keyword.operator.range.grid', arrow: 'keyword.operator.arrow.grid',
  assign: 'keyword.operator.assignment.grid', arith: 'keyword.operator.arithmetic.grid',
  separator: 'punctuation.separator.grid', invalid: 'invalid.illegal.grid',
  function: 'support.function.grid', constant: 'constant.language.grid', boolean: 'constant.language.boolean.grid',
  period: 'constant.language.period.grid', property: 'variable.other.property.grid', parameter: 'variable.parameter.grid',
  self: 'variable.language.self.grid', observation: 'support.variable.observation.grid',
  profile: 'entity.name.variable.profile.grid', namespace: 'entity.name.namespace.grid',
  asset: 'entity.name.variable.asset.grid', instance: 'entity.name.variable.instance.grid',
  templateName: 'entity.name.type.template.grid',
};
const defScope = (kw) => ({
  profile: S.profile, template: S.templateName, network: 'entity.name.type.network.grid',
  experiment: 'entity.name.type.experiment.grid', tariff: 'entity.name.type.tariff.grid',
  bus: 'entity.name.variable.bus.grid', feeder: 'entity.name.variable.feeder.grid',
  load: S.asset, solar: S.asset, battery: S.asset, as: S.namespace,
})[kw];
const BRACKETS = {
  '{': 'punctuation.section.block.begin.grid', '}': 'punctuation.section.block.end.grid',
  '[': 'punctuation.section.brackets.begin.grid', ']': 'punctuation.section.brackets.end.grid',
  '(': 'punctuation.section.parens.begin.grid', ')': 'punctuation.section.parens.end.grid',
};
// A word that must not be scoped as a keyword, property or constant where it is a path segment.
const NOT_WORD = [S.control, S.keyword, S.property, S.constant];

// ------------------------------------------------------------------ lexer (grammar/grid.pest)
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const isIdentChar = (c) => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** unit = unit_term (ws* unit_op ws* unit_term)*, unit_term = unit_atom ("^" unit_pow)?; returns its end or -1. */
function unitEnd(line, i) {
  const term = (j) => {
    const atom = UNITS.find((u) => line.startsWith(u, j));
    if (atom === undefined || isIdentChar(line[j + atom.length])) return -1; // PEG: first alternative only
    j += atom.length;
    const pow = /^\^-?\d/.exec(line.slice(j));
    return pow ? j + pow[0].length : j;
  };
  let end = term(i);
  if (end < 0) return -1;
  for (;;) {
    const op = /^[ \t]*[/*·][ \t]*/.exec(line.slice(end));
    const next = op ? term(end + op[0].length) : -1;
    if (next < 0) return end;
    end = next;
  }
}

/** Tokens of a whole file: {line, start, end, kind, text, ...}. */
function lex(lines) {
  const toks = [];
  let inBlock = false;
  // Template headers: `template NAME (` ... `)`, where `name: unit` gives a parameter type.
  let header = 0; // paren depth inside a template header, 0 outside
  lines.forEach((line, ln) => {
    let i = 0;
    const push = (kind, start, end, extra = {}) => toks.push({ line: ln, start, end, kind, text: line.slice(start, end), ...extra });
    const sig = () => toks.filter((t) => t.kind !== 'comment');
    while (i < line.length) {
      if (inBlock) {
        const close = line.indexOf('*/', i);
        const end = close < 0 ? line.length : close + 2;
        push('comment', i, end, { scope: S.blockComment });
        inBlock = close < 0;
        i = end;
        continue;
      }
      const c = line[i];
      const rest = line.slice(i);
      let m;
      if (c === ' ' || c === '\t') { i++; continue; }
      if (rest.startsWith('//')) { push('comment', i, line.length, { scope: S.lineComment }); break; }
      if (rest.startsWith('/*')) { inBlock = true; continue; }
      if (c === '"') {
        let j = i + 1;
        const escapes = [];
        while (j < line.length && line[j] !== '"') {
          if (line[j] === '\\' && j + 1 < line.length) { escapes.push([j, j + 2]); j += 2; } else j++;
        }
        j = Math.min(j + 1, line.length);
        push('string', i, j, { escapes });
        i = j;
        continue;
      }
      if ((m = /^\d{4}-\d{2}-\d{2}/.exec(rest)) && !isIdentChar(line[i + m[0].length])) { push('date', i, i + m[0].length); i += m[0].length; continue; }
      if ((m = /^\d{1,2}:\d{2}/.exec(rest)) && !isIdentChar(line[i + m[0].length])) { push('clock', i, i + m[0].length); i += m[0].length; continue; }
      if ((m = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(rest))) {
        const numEnd = i + m[0].length;
        let end = numEnd;
        let magnitude = null;
        if (/[kM]/.test(line[end] || '') && !isIdentChar(line[end + 1])) { magnitude = [end, end + 1]; end++; }
        let unit = null;
        const ws = /^[ \t]*/.exec(line.slice(end))[0].length;
        const u = unitEnd(line, end + ws);
        if (u >= 0) { unit = [end + ws, u]; end = u; }
        push('number', i, end, { numEnd, magnitude, unit });
        i = end;
        continue;
      }
      {
        const s = sig();
        const p1 = s[s.length - 1];
        const p2 = s[s.length - 2];
        const afterColon = p1 && p1.text === ':' && p2 && p2.kind === 'ident' && p2.line === ln;
        // `unit: kW/kWp` and template parameter types `annual: kWh`, `n: number`.
        if (afterColon && ((p2.text === 'unit' && !p2.dotted) || header === 1)) {
          const u = unitEnd(line, i);
          if (u >= 0) { push('unit', i, u); i = u; continue; }
          if (header === 1 && /^number(?![A-Za-z0-9_])/.test(rest)) { push('type', i, i + 6); i += 6; continue; }
        }
      }
      if ((m = IDENT.exec(rest))) {
        push('ident', i, i + m[0].length, { dotted: line[i - 1] === '.' || (line[i + m[0].length] === '.' && line[i + m[0].length + 1] !== '.') });
        i += m[0].length;
        continue;
      }
      if ((m = /^(\.\.|=>|[-+*/=·])/.exec(rest))) {
        push('op', i, i + m[0].length);
        i += m[0].length;
        continue;
      }
      if ('{}[]()'.includes(c)) {
        const s = sig();
        if (c === '(' && header > 0) header++;
        else if (c === '(' && s.length >= 2 && s[s.length - 2].text === 'template' && s[s.length - 1].kind === 'ident') header = 1;
        else if (c === '(' && s.length >= 4 && s[s.length - 4].text === 'template' && s[s.length - 1].kind === 'ident') header = 1; // dotted name
        else if (c === ')' && header > 0) header--;
        push('bracket', i, i + 1);
        i++;
        continue;
      }
      if (',;:.'.includes(c)) { push('punct', i, i + 1); i++; continue; }
      push('invalid', i, i + [...rest][0].length);
      i += [...rest][0].length;
    }
  });
  return toks;
}

// ------------------------------------------------------------------ expected scopes
function expectations(lines) {
  const toks = lex(lines);
  const out = lines.map(() => []); // per line: {start, end, scopes, not}
  const want = (t, start, end, scope, not = []) => out[t.line].push({ start, end, scopes: scope ? [scope] : [], not });
  const done = new Set(); // token indexes already asserted
  let depth = 0; // brace depth
  let item = null; // the top-level item keyword we are in

  // A dotted path starting at token k: [first, last] token indexes.
  const pathAt = (k) => {
    let j = k;
    while (toks[j + 2] && toks[j + 1].kind === 'punct' && toks[j + 1].text === '.' && toks[j + 2].kind === 'ident'
      && toks[j + 1].start === toks[j].end && toks[j + 2].start === toks[j + 1].end) j += 2;
    return [k, j];
  };
  const sameLine = (a, b) => toks[a] && toks[b] && toks[a].line === toks[b].line;
  const next = (k) => toks[k + 1] && toks[k + 1].kind !== 'comment' && toks[k + 1].line === toks[k].line ? toks[k + 1] : null;
  const stmtStart = (k) => {
    const prev = toks.slice(0, k).filter((t) => t.kind !== 'comment').pop();
    return !prev || prev.line !== toks[k].line || ['{', ';'].includes(prev.text);
  };

  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.kind === 'bracket') {
      if (t.text === '{') depth++;
      if (t.text === '}') depth = Math.max(0, depth - 1);
    }
    if (done.has(k)) continue;
    switch (t.kind) {
      case 'comment': want(t, t.start, t.end, t.scope); break;
      case 'string':
        want(t, t.start, t.end, S.string, [S.lineComment, S.blockComment]);
        for (const [a, b] of t.escapes) want(t, a, b, S.escape);
        break;
      case 'date': want(t, t.start, t.end, S.date); break;
      case 'clock': want(t, t.start, t.end, S.clock); break;
      case 'number':
        want(t, t.start, t.numEnd, S.number);
        if (t.magnitude) want(t, t.magnitude[0], t.magnitude[1], S.magnitude);
        if (t.unit) want(t, t.unit[0], t.unit[1], S.unit);
        break;
      case 'unit': want(t, t.start, t.end, S.unit); break;
      case 'type': want(t, t.start, t.end, S.type); break;
      case 'op':
        want(t, t.start, t.end, { '..': S.range, '=>': S.arrow, '=': S.assign }[t.text] || S.arith);
        break;
      case 'bracket': want(t, t.start, t.end, BRACKETS[t.text]); break;
      case 'punct': if (t.text !== '.') want(t, t.start, t.end, S.separator); break;
      case 'invalid': want(t, t.start, t.end, S.invalid); break;
      case 'ident': ident(k); break;
      default: throw new Error(t.kind);
    }
  }

  function ident(k) {
    const t = toks[k];
    const w = t.text;
    const [first, last] = pathAt(k);
    const path = toks.slice(first, last + 1).filter((x) => x.kind === 'ident');
    const mark = (a, b, scope) => { want(t, toks[a].start, toks[b].end, scope); for (let j = a; j <= b; j++) done.add(j); };
    const after = next(last);
    if (path.length === 1) {
      if (KEYWORDS.includes(w)) {
        if (depth === 0 && CONTROL.has(w) && w !== 'as') item = w;
        want(t, t.start, t.end, CONTROL.has(w) ? S.control : S.keyword);
        done.add(k);
        const n = next(k);
        if (!n || n.kind !== 'ident') return;
        const [nf, nl] = pathAt(k + 1);
        if (['profile', 'template', 'network', 'experiment'].includes(w)) mark(nf, nl, defScope(w));
        else if (w === 'tariff' && depth === 0) mark(nf, nl, defScope(w));
        else if (['bus', 'feeder', 'load', 'solar', 'battery', 'as'].includes(w)) mark(k + 1, k + 1, defScope(w));
        else if (w === 'per' && n.text === 'day' && nl === k + 1) mark(k + 1, k + 1, S.period);
        return;
      }
      // An instance: TEMPLATE NAME[count]? on FEEDER, at the start of a statement in a network.
      if (item === 'network' && depth === 1 && stmtStart(k)) {
        const inst = instanceAt(first, last);
        if (inst) { mark(first, last, S.templateName); mark(inst, inst, S.instance); return; }
      }
      if (FUNCS.has(w) && after && after.text === '(') return want(t, t.start, t.end, S.function);
      if (after && after.text === ':' && !(toks[last + 2] && toks[last + 2].text === ':' && toks[last + 2].start === after.end)) {
        return want(t, t.start, t.end, S.parameter);
      }
      if (PROPS.has(w) && stmtStart(k) && after) {
        const gap = after.start > t.end;
        const valueNext = (after.text === '=' && after.kind === 'op') || (gap && !/^[;,)}\]/=]/.test(after.text));
        if (valueNext) return want(t, t.start, t.end, S.property);
      }
      if (w === 'true' || w === 'false') return want(t, t.start, t.end, S.boolean);
      if (CONSTS.has(w)) return want(t, t.start, t.end, S.constant);
      if (w === 'self') return want(t, t.start, t.end, S.self);
      // A plain name that merely starts like a unit or contains a keyword (`kWhx`, `ks`, `input`).
      if (UNITS.some((u) => w.startsWith(u)) || KEYWORDS.some((kw) => w.includes(kw))) {
        want(t, t.start, t.end, null, [S.unit, S.control, S.keyword]);
      }
      return;
    }
    // A dotted path (k is its first segment).
    for (let j = first; j <= last; j++) done.add(j);
    if (item === 'network' && depth === 1 && stmtStart(k)) {
      const inst = instanceAt(first, last);
      if (inst) { mark(first, last, S.templateName); mark(inst, inst, S.instance); return; }
    }
    const texts = path.map((x) => x.text);
    let from = 0; // first segment not yet scoped
    if (texts[0] === 'self') { want(t, path[0].start, path[0].end, S.self); from = 1; }
    const obs = OBSERVATIONS.find((o) => {
      const n = o.split('.').length;
      return texts.slice(0, n).join('.') === o && (texts.length === n || texts[n] === 'next');
    });
    if (obs) {
      const n = obs.split('.').length;
      want(t, path[0].start, path[n - 1].end, S.observation, [S.control, S.keyword]);
      from = n;
    } else {
      const tail = texts.slice(-2).join('.');
      if (texts.length >= 3 && (tail === 'flow.last' || tail === 'net.last')) {
        want(t, path[texts.length - 2].start, path[texts.length - 1].end, S.observation);
      } else if (texts[texts.length - 1] === 'soc') {
        want(t, path[texts.length - 1].start, path[texts.length - 1].end, S.observation);
      }
    }
    path.forEach((p, i) => {
      if (i < from) return;
      if (FUNCS.has(p.text) && i === path.length - 1 && after && after.text === '(') {
        want(t, p.start, p.end, S.function);
      } else if (KEYWORDS.includes(p.text) || PROPS.has(p.text) || CONSTS.has(p.text)) {
        want(t, p.start, p.end, null, NOT_WORD);
      }
    });
  }

  // `TEMPLATE NAME [n]? on`: the NAME token index, or null.
  function instanceAt(first, last) {
    let j = last + 1;
    if (!sameLine(last, j) || toks[j].kind !== 'ident' || KEYWORDS.includes(toks[first].text)) return null;
    const name = j++;
    if (toks[j] && toks[j].text === '[' && toks[j + 1] && toks[j + 1].kind === 'number' && toks[j + 2] && toks[j + 2].text === ']') j += 3;
    return sameLine(name, j) && toks[j].text === 'on' ? name : null;
  }
  return out;
}

// ------------------------------------------------------------------ assertion files
function assertionLine({ start, end, scopes, not }) {
  const what = [scopes.join(' '), not.length ? `- ${not.join(' ')}` : ''].filter(Boolean).join(' ');
  if (start < 2) return `// <${'~'.repeat(start)}${'-'.repeat(end - start)} ${what}`;
  return `//${' '.repeat(start - 2)}${'^'.repeat(end - start)} ${what}`;
}

function render(title, source) {
  const lines = source.replace(/\n$/, '').split('\n');
  const exp = expectations(lines);
  const out = [`// SYNTAX TEST "source.grid" "${title}"`];
  lines.forEach((line, n) => {
    out.push(line);
    for (const a of exp[n]) out.push(assertionLine(a));
  });
  return out.join('\n') + '\n';
}

function vocabulary() {
  const lines = ['// Every keyword (kw_* rules) and unit atom (unit_atom) of grammar/grid.pest.'];
  for (const k of KEYWORDS) lines.push(`  ${k}`);
  for (const u of UNITS) lines.push(`  x = 1 ${u}; x = 2${u}; x = 3 ${u}/h; unit: ${u}`);
  for (const u of UNITS) lines.push(`template t(a: ${u}, b: h/${u}, n: number) {}`);
  return lines.join('\n');
}

const files = [];
for (const f of fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.grid')).sort()) {
  files.push([`${f.replace(/\.grid$/, '')}.test.grid`, `examples/${f}`, fs.readFileSync(path.join(ROOT, 'examples', f), 'utf8')]);
}
files.push(['std.test.grid', 'stdlib/std.grid', fs.readFileSync(path.join(ROOT, 'stdlib/std.grid'), 'utf8')]);
files.push(['tricky.test.grid', 'editors/vscode/test/cases/tricky.grid', fs.readFileSync(path.join(HERE, 'cases/tricky.grid'), 'utf8')]);
files.push(['vocabulary.test.grid', 'grammar/grid.pest', vocabulary()]);

const check = process.argv.includes('--check');
let stale = 0;
for (const [name, from, source] of files) {
  const text = render(`${from}, generated by test/make_tests.js`, source);
  const file = path.join(HERE, name);
  if (check) {
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (old !== text) {
      stale++;
      console.error(`test/${name} is ${old === null ? 'missing' : 'stale'} (source: ${from}); run: node test/make_tests.js`);
    }
  } else {
    fs.writeFileSync(file, text);
    console.log(`wrote test/${name}`);
  }
}
if (check) {
  for (const f of fs.readdirSync(HERE).filter((f) => f.endsWith('.test.grid'))) {
    if (!files.some(([name]) => name === f)) { stale++; console.error(`test/${f} is not generated by test/make_tests.js; remove it`); }
  }
  if (stale) process.exit(1);
  console.log(`${files.length} assertion files up to date`);
}
