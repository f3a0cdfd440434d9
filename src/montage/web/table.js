// A table that turns into cards on a phone (each cell labelled by its column), and a small
// page frame for the facade pages (heading, a list that can be reloaded, a form).
import {errorBox, fill, h} from './dom.js';

/** columns: [{label, cell: (row) => node|string}]; rows: any list. */
export function dataTable(columns, rows, {caption, rowAttrs = () => ({})} = {}) {
  return h('table', {class: 'data'},
    caption ? h('caption', {class: 'sr-only'}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', rowAttrs(row),
      columns.map((c) => h('td', {'data-label': c.label}, c.cell(row)))))));
}

/** A coloured word: tone is one of gray, blue, amber, green, red. */
export function pill(word, tone) {
  return h('span', {class: `badge tone-${tone}`, 'data-status': word}, h('span', {class: 'dot', 'aria-hidden': 'true'}), word);
}

/**
 * Load a list into `area` with `fetchRows()` and draw it with `draw(rows)`; returns the
 * reload function. Errors show in place.
 */
export function listLoader(area, fetchRows, draw) {
  let token = 0;
  return async function reload() {
    const mine = ++token;
    area.setAttribute('aria-busy', 'true');
    try {
      const rows = await fetchRows();
      if (mine === token) fill(area, draw(rows));
    } catch (err) {
      if (mine === token) fill(area, errorBox(err, 'Could not load'));
    }
    area.setAttribute('aria-busy', 'false');
  };
}
