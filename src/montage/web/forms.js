// Form pieces shared by the submit pages: labelled fields, and showing a server error on its field.
import {errorBox, fill, h} from './dom.js';

let counter = 0;

/** A label, the control and an optional hint, tied together by ids. */
export function field(label, control, hint) {
  counter += 1;
  const id = control.id || `f${counter}`;
  control.id = id;
  const hintEl = hint ? h('p', {class: 'hint small', id: `${id}-hint`}, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, hintEl);
}

/** Show an error under the form, and mark the field it names (by name, last path segment first). */
export function showError(form, slot, err, title = 'Could not submit') {
  for (const bad of form.querySelectorAll('[aria-invalid]')) bad.removeAttribute('aria-invalid');
  fill(slot, errorBox(err, title));
  const path = String(err.field || '').split('.');
  const target = path.map((_, i) => path.slice(i).join('.')).concat(path.at(-1))
    .map((name) => name && form.querySelector(`[name="${CSS.escape(name)}"]`)).find(Boolean);
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    target.focus();
  }
}

/** Disable a form's buttons while `work` runs. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** Parse a JSON textarea, or throw an error that names it. */
export function parseJsonField(textarea) {
  const text = textarea.value.trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    const error = new Error(`${textarea.name} is not valid JSON: ${err.message}`);
    error.field = textarea.name;
    throw error;
  }
}
