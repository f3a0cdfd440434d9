// A small Markdown renderer (headings, paragraphs, lists, quotes, code, tables, emphasis, links)
// and a JSON view. Both build DOM nodes from text, never HTML strings, so no input can inject markup.
import {h} from './dom.js';

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*)|(\[[^\]]+\]\([^)\s]+\))/;

function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) { out.push(rest); break; }
    if (m.index) out.push(rest.slice(0, m.index));
    const token = m[0];
    if (m[1]) out.push(h('code', {}, token.slice(1, -1)));
    else if (m[2]) out.push(h('strong', {}, inline(token.slice(2, -2))));
    else if (m[3]) out.push(h('em', {}, inline(token.slice(1, -1))));
    else {
      const [, label, href] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      out.push(/^(https?:|\/|#)/.test(href) ? h('a', {href, rel: 'noopener'}, inline(label)) : `${label} (${href})`);
    }
    rest = rest.slice(m.index + token.length);
  }
  return out;
}

const cells = (line) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());

const BLOCKS = [
  {test: (l) => /^```/.test(l), read: fence},
  {test: (l) => /^#{1,6}\s/.test(l), read: heading},
  {test: (l) => /^(-{3,}|\*{3,})\s*$/.test(l), read: (lines, i) => [h('hr'), i + 1]},
  {test: (l) => /^>\s?/.test(l), read: quote},
  {test: (l) => /^\s*([-*+]|\d+[.)])\s+/.test(l), read: list},
  {test: (l, next) => /\|/.test(l) && next !== undefined && /^\s*\|?\s*:?-{3,}/.test(next), read: table},
];

function fence(lines, i) {
  const body = [];
  let j = i + 1;
  while (j < lines.length && !/^```/.test(lines[j])) body.push(lines[j++]);
  return [h('pre', {}, h('code', {}, body.join('\n'))), j + 1];
}

function heading(lines, i) {
  const [, hashes, text] = /^(#{1,6})\s+(.*)$/.exec(lines[i]);
  return [h(`h${Math.min(6, hashes.length + 1)}`, {}, inline(text)), i + 1];
}

function quote(lines, i) {
  const body = [];
  let j = i;
  while (j < lines.length && /^>\s?/.test(lines[j])) body.push(lines[j++].replace(/^>\s?/, ''));
  return [h('blockquote', {}, renderMarkdown(body.join('\n'))), j];
}

function list(lines, i) {
  const ordered = /^\s*\d+[.)]\s/.test(lines[i]);
  const items = [];
  let j = i;
  while (j < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[j])) {
    items.push(h('li', {}, inline(lines[j].replace(/^\s*([-*+]|\d+[.)])\s+/, ''))));
    j += 1;
  }
  return [h(ordered ? 'ol' : 'ul', {}, items), j];
}

function table(lines, i) {
  const head = cells(lines[i]);
  const rows = [];
  let j = i + 2;
  while (j < lines.length && /\|/.test(lines[j]) && lines[j].trim()) rows.push(cells(lines[j++]));
  return [h('div', {class: 'table-wrap'}, h('table', {},
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {scope: 'col'}, inline(c))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, inline(c)))))))), j];
}

/** Markdown text → a document fragment. */
export function renderMarkdown(text) {
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) out.push(h('p', {}, inline(para.join(' '))));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const block = BLOCKS.find((b) => b.test(line, lines[i + 1]));
    if (block) {
      flush();
      const [node, next] = block.read(lines, i);
      out.push(node);
      i = next;
    } else {
      if (line.trim()) para.push(line.trim());
      else flush();
      i += 1;
    }
  }
  flush();
  const frag = document.createDocumentFragment();
  frag.append(...out);
  return frag;
}

/** A JSON value, indented, with keys, strings and numbers coloured by CSS. */
export function jsonView(value) {
  const pre = h('pre', {class: 'json'});
  const put = (v, indent) => {
    const pad = '  '.repeat(indent);
    if (Array.isArray(v)) {
      if (!v.length) return pre.append('[]');
      pre.append('[\n');
      v.forEach((item, k) => {
        pre.append(`${pad}  `);
        put(item, indent + 1);
        pre.append(k < v.length - 1 ? ',\n' : '\n');
      });
      pre.append(`${pad}]`);
    } else if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (!keys.length) return pre.append('{}');
      pre.append('{\n');
      keys.forEach((key, k) => {
        pre.append(`${pad}  `, h('span', {class: 'k'}, JSON.stringify(key)), ': ');
        put(v[key], indent + 1);
        pre.append(k < keys.length - 1 ? ',\n' : '\n');
      });
      pre.append(`${pad}}`);
    } else {
      const kind = v === null ? 'n' : typeof v === 'string' ? 's' : typeof v === 'number' ? 'd' : 'b';
      pre.append(h('span', {class: kind}, JSON.stringify(v)));
    }
    return null;
  };
  put(value, 0);
  return pre;
}
