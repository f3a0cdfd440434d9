// Building DOM nodes and formatting values: the few helpers every page uses.

/**
 * h('a', {href: '/ui', class: 'brand', onclick: fn}, 'text', child, [more]) → element.
 * Props: class, text, html is never accepted (everything is text, so no markup injection);
 * on* functions become listeners; dataset/aria via data-* and aria-* keys; booleans set or drop.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) {
      if (tag === 'input') el.setAttribute('value', value);  // the default, so form.reset() returns to it
      el.value = value;
    } else if (key === 'checked') el.defaultChecked = el.checked = Boolean(value);
    else if (key === 'selected') el.defaultSelected = el.selected = Boolean(value);
    else if (key === 'disabled') el.disabled = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const UNITS = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];

/** "3 min", "2 h", "5 s" — the largest unit, one number. */
export function shortSpan(seconds) {
  const s = Math.max(0, Math.round(seconds));
  for (const [unit, size] of UNITS) if (s >= size) return `${Math.floor(s / size)} ${unit}`;
  return '0 s';
}

/** "12.3 s", "4 min 05 s" — a stage's running time. */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function age(iso, now = Date.now()) {
  return iso ? `${shortSpan((now - Date.parse(iso)) / 1000)} ago` : '';
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i === 0 || v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function localTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

export function shortId(id) {
  return id && id.startsWith('job_') ? id.slice(4, 12) : String(id).slice(0, 8);
}

/** A progress bar with its value as text for screen readers. */
export function progressBar(value, label = 'Progress') {
  const pct = Math.max(0, Math.min(100, Number(value) || 0));
  const bar = h('div', {class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0,
    'aria-valuemax': 100, 'aria-valuenow': Math.round(pct)}, h('span', {style: `width:${pct}%`}));
  return bar;
}

export function setProgress(bar, value) {
  const pct = Math.max(0, Math.min(100, Number(value) || 0));
  bar.setAttribute('aria-valuenow', String(Math.round(pct)));
  bar.firstElementChild.style.width = `${pct}%`;
}

/** A short message at the bottom of the screen, read out by screen readers. */
export function toast(message, tone = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', {class: `toast tone-${tone}`}, message);
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}

/**
 * Ask before doing something that cannot be undone. Resolves true when confirmed.
 * A native <dialog>: focus moves into it, Escape closes it, Tab stays inside.
 */
export function confirmAction(title, message, confirmLabel, tone = 'danger') {
  return new Promise((resolve) => {
    const dialog = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-title'},
      h('form', {method: 'dialog'},
        h('h2', {id: 'confirm-title'}, title),
        h('p', {}, message),
        h('div', {class: 'row end'},
          h('button', {value: 'no', class: 'btn'}, 'Keep it'),
          h('button', {value: 'yes', class: `btn ${tone}`, 'data-confirm': 'yes'}, confirmLabel))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'yes');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[data-confirm]').focus();
  });
}

/** An error panel: code, message and details as the server sent them. */
export function errorBox(error, title = 'Error') {
  if (!error) return null;
  const details = error.details && Object.keys(error.details).length ? error.details : null;
  return h('div', {class: 'error-box', role: 'alert'},
    h('strong', {}, title, error.code ? ': ' : '', error.code ? h('code', {}, error.code) : null),
    h('p', {}, error.message || String(error)),
    details ? h('details', {}, h('summary', {}, 'Details'), h('pre', {}, JSON.stringify(details, null, 2))) : null);
}

/** Keep a function from running more than once per `ms`, running the last call at the end. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
