// A preview of each artifact by its type, with its download link.
import {withKey} from './api.js';
import {bvhPlayer} from './bvh.js';
import {bytes, errorBox, h} from './dom.js';
import {jsonView, renderMarkdown} from './markdown.js';

const TEXT_LIMIT = 512 * 1024;

/** The artifact's address, changed whenever its content is (files are rewritten in place on a rerun). */
export function fileUrl(a) {
  return withKey(a.sha256 ? `${a.url}?v=${a.sha256.slice(0, 12)}` : a.url);
}

export function kindOf(a) {
  const path = a.path.toLowerCase();
  const mime = (a.mime || '').toLowerCase();
  if (path.endsWith('.bvh')) return 'bvh';
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  if (mime.includes('json') || path.endsWith('.json')) return 'json';
  if (mime.includes('markdown') || path.endsWith('.md')) return 'markdown';
  if (mime.startsWith('text/') || /\.(srt|vtt|txt|log|csv)$/.test(path)) return 'text';
  return 'file';
}

/** Fetch a text file and show it with `show(text)`; errors appear in place. */
export function loadText(a, show) {
  const box = h('div', {class: 'loaded-text'}, h('p', {class: 'muted small'}, 'loading…'));
  if (a.bytes > TEXT_LIMIT) {
    box.replaceChildren(h('p', {class: 'muted small'}, `Too large to preview (${bytes(a.bytes)}); download it instead.`));
    return box;
  }
  fetch(fileUrl(a)).then(async (res) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    box.replaceChildren(show(await res.text()));
  }).catch((err) => box.replaceChildren(errorBox({message: err.message}, 'Cannot load')));
  return box;
}

function showJson(text) {
  try {
    return jsonView(JSON.parse(text));
  } catch {
    return h('pre', {}, text);
  }
}

const VIEWS = {
  image: (a) => h('a', {href: fileUrl(a), class: 'thumb', target: '_blank', rel: 'noopener'},
    h('img', {src: fileUrl(a), alt: `${a.role}: ${a.path}`, loading: 'lazy', decoding: 'async'})),
  audio: (a) => h('audio', {controls: true, preload: 'none', src: fileUrl(a), 'aria-label': `${a.role}: ${a.path}`}),
  video: (a, all) => {
    const track = all.find((x) => x.path.endsWith('.vtt'));
    return h('video', {controls: true, preload: 'metadata', playsinline: true, src: fileUrl(a),
      'aria-label': `${a.role}: ${a.path}`},
    track ? h('track', {kind: 'subtitles', src: fileUrl(track), label: 'Subtitles', default: true}) : null);
  },
  bvh: (a) => bvhPlayer(fileUrl(a), `Skeleton animation from ${a.path}`),
  json: (a) => lazy('Show JSON', () => loadText(a, showJson)),
  markdown: (a) => lazy('Show document', () => loadText(a, (t) => h('div', {class: 'markdown'}, renderMarkdown(t)))),
  text: (a) => lazy('Show text', () => loadText(a, (t) => h('pre', {}, t))),
  file: () => null,
};

/** A <details> whose content is built (and fetched) only when first opened. */
function lazy(label, build) {
  const details = h('details', {class: 'lazy'}, h('summary', {}, label));
  details.addEventListener('toggle', () => {
    if (details.open && details.children.length === 1) details.append(build());
  });
  return details;
}

/** A card: the preview, the file's name, role, size and a download link. */
export function artifactCard(a, all = []) {
  const kind = kindOf(a);
  const name = a.path.split('/').pop();
  return h('figure', {class: `artifact kind-${kind}`, 'data-path': a.path, 'data-kind': kind},
    VIEWS[kind](a, all),
    h('figcaption', {},
      h('span', {class: 'name', title: a.path}, name),
      h('span', {class: 'muted small'}, `${a.role} · ${bytes(a.bytes)}`),
      h('a', {href: a.url, download: name, class: 'download', 'aria-label': `Download ${a.path}`}, 'Download')));
}
