// Video generation (/v1/videos/…): needs a Bearer token. Submit, then follow the task on its job
// page (live) or ask for its contract status once; tasks sent from this tab are remembered in it.
import {get, post} from './api.js';
import {errorBox, fill, h, localTime} from './dom.js';
import {busy, field, showError} from './forms.js';
import {dataTable, pill} from './table.js';

const TOKEN_KEY = 'montage.videoToken';
const TASKS_KEY = 'montage.videoTasks';
const TONE = {pending: 'gray', processing: 'blue', completed: 'green', failed: 'red'};

const remembered = () => JSON.parse(sessionStorage.getItem(TASKS_KEY) || '[]');

export async function render(main) {
  const token = h('input', {name: 'token', type: 'password', autocomplete: 'off',
    value: sessionStorage.getItem(TOKEN_KEY) || ''});
  const prompt = h('textarea', {name: 'prompt', rows: 3, required: true, placeholder: 'A paper boat drifting down a rainy street'});
  const model = h('input', {name: 'model', placeholder: 'default'});
  const ratio = h('input', {name: 'ratio', placeholder: '16:9'});
  const resolution = h('input', {name: 'resolution', placeholder: '720p'});
  const seconds = h('input', {name: 'duration', type: 'number', min: 1, step: 1, placeholder: '5'});
  const pictures = 'image/png,image/jpeg,image/webp,image/bmp,image/gif';
  const first = h('input', {name: 'image_file_1', type: 'file', accept: pictures});
  const last = h('input', {name: 'image_file_2', type: 'file', accept: pictures});
  const slot = h('div', {class: 'form-error'});
  const list = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'stack', 'data-form': 'video'},
    field('API token', token, 'A montage API key; empty: the dashboard\'s key (none needed in dev mode).'),
    field('Prompt', prompt),
    h('div', {class: 'grid2'}, field('Model', model), field('Ratio', ratio), field('Resolution', resolution),
      field('Duration (seconds)', seconds)),
    h('div', {class: 'grid2'},
      field('First frame (optional)', first, 'The video starts exactly on this picture.'),
      field('Last frame (optional)', last, 'And ends on this one. PNG, JPEG, WebP, BMP or GIF, 10 MB at most.')),
    slot, h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, 'Generate')));
  const auth = () => (token.value.trim() ? {authorization: `Bearer ${token.value.trim()}`} : {});

  function drawList(statuses = {}) {
    const tasks = remembered();
    fill(list, tasks.length ? dataTable([
      {label: 'Task', cell: (t) => h('a', {href: `/ui/jobs/${t.task_id}`}, h('code', {}, t.task_id))},
      {label: 'Prompt', cell: (t) => t.prompt},
      {label: 'Submitted', cell: (t) => localTime(new Date(t.created * 1000).toISOString())},
      {label: 'Status', cell: (t) => statusCell(statuses[t.task_id])},
      {label: '', cell: (t) => h('button', {type: 'button', class: 'btn small', onclick: () => check(t.task_id)}, 'Check status')},
    ], tasks, {caption: 'Video tasks from this tab'}) : h('p', {class: 'empty'}, 'No video tasks from this tab yet.'));
  }
  const statuses = {};
  async function check(id) {
    try {
      statuses[id] = await get(`/v1/videos/tasks/${id}`, auth());
    } catch (err) {
      statuses[id] = {error: err};
    }
    drawList(statuses);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, token.value.trim());
    const body = {prompt: prompt.value};
    for (const [k, input] of [['model', model], ['ratio', ratio], ['resolution', resolution]]) {
      if (input.value.trim()) body[k] = input.value.trim();
    }
    if (seconds.value) body.duration = Number(seconds.value);
    busy(form, async () => {
      try {
        const created = await post('/v1/videos/generations', withFrames(body, first, last), auth());
        sessionStorage.setItem(TASKS_KEY, JSON.stringify([{...created, prompt: body.prompt}, ...remembered()].slice(0, 50)));
        fill(slot);
        drawList(statuses);
      } catch (err) {
        showError(form, slot, err, 'Could not submit');
      }
    });
  });

  fill(main, h('div', {class: 'page-head'}, h('h1', {}, 'Video generation')),
    h('section', {class: 'panel'}, form),
    h('section', {class: 'panel', 'aria-labelledby': 'video-tasks'}, h('h2', {id: 'video-tasks'}, 'Your tasks'),
      h('p', {class: 'muted small'}, 'Open a task for its live progress, or check its status as the API reports it.'), list));
  drawList();
  return null;
}

/** The body as JSON, or as multipart with the chosen frame pictures (the API takes both). */
function withFrames(body, ...inputs) {
  const files = inputs.filter((input) => input.files[0]);
  if (!files.length) return body;
  const data = new FormData();
  for (const [k, v] of Object.entries(body)) data.append(k, String(v));
  for (const input of files) data.append(input.name, input.files[0]);
  return data;
}

function statusCell(s) {
  if (!s) return h('span', {class: 'muted'}, '—');
  if (s.error instanceof Error) return errorBox(s.error, 'Error');
  return h('div', {}, pill(s.status, TONE[s.status] || 'gray'), ` ${s.progress ?? ''}%`,
    s.result ? h('div', {}, h('a', {href: s.result.url}, 'Download video')) : null,
    s.error ? h('div', {class: 'small'}, `${s.error_code || ''} ${s.error}`) : null);
}
