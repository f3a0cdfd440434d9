// Batch runs (/batch…): every batch task's latest state, live (its items are jobs: the all-jobs
// stream says when to fetch the list again), and starting a batch over folders.
import {follow, get, post} from './api.js';
import {debounce, fill, h, progressBar, toast} from './dom.js';
import {busy, field, showError} from './forms.js';
import {dataTable, listLoader, pill} from './table.js';

const TONE = {pending: 'gray', running: 'blue', completed: 'green', failed: 'red', cancelled: 'gray'};
const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

export async function render(main) {
  const area = h('div', {'aria-live': 'polite'});
  const reload = listLoader(area, () => get('/batch/tasks?limit=100'), (rows) => (rows.length
    ? dataTable([
      {label: 'Status', cell: (t) => pill(t.status, TONE[t.status] || 'gray')},
      {label: 'Task', cell: (t) => h('code', {}, t.task_id)},
      {label: 'Server', cell: (t) => t.server_name || ''},
      {label: 'Progress', cell: (t) => h('div', {class: 'progress-cell'}, progressBar(t.progress * 100),
        h('span', {class: 'pct'}, `${Math.round(t.progress * 100)}%`))},
      {label: 'Message', cell: (t) => (t.error ? h('span', {class: 'stage-error'}, t.error) : t.message || '')},
      {label: 'Updated', cell: (t) => t.updated_at || ''},
    ], rows, {caption: 'Batch tasks'}) : h('p', {class: 'empty'}, 'No batch tasks yet.')));
  fill(main, h('div', {class: 'page-head'}, h('h1', {}, 'Batch'),
    h('button', {type: 'button', class: 'btn', onclick: () => reload()}, 'Reload')),
  h('section', {class: 'panel'}, area),
  h('section', {class: 'panel', 'aria-labelledby': 'new-batch'}, h('h2', {id: 'new-batch'}, 'Start a batch'), batchForm(reload)));
  await reload();
  const soon = debounce(reload, 500);
  const stop = follow('/api/v1/events', {status: soon, done: soon, failed: soon, canceled: soon});
  return () => { stop(); soon.cancel(); };
}

function batchForm(reload) {
  const workflow = h('input', {name: 'workflow_name', required: true, placeholder: 'workflow1'});
  const server = h('input', {name: 'selected_server', required: true, placeholder: 'server1'});
  const folders = h('textarea', {name: 'target_folders', rows: 2, required: true, placeholder: '/path/to/folders'});
  const keywords = h('input', {name: 'folder_keywords', placeholder: 'keyword1, keyword2'});
  const output = h('input', {name: 'output_root', required: true, placeholder: '/path/to/output'});
  const slot = h('div', {class: 'form-error'});
  const form = h('form', {class: 'stack', 'data-form': 'batch'},
    h('p', {class: 'muted'}, 'Runs the workflow once per sub-folder whose name contains a keyword, on the server.'),
    h('div', {class: 'grid2'}, field('Workflow', workflow), field('Server', server)),
    field('Folders (one a line)', folders), field('Keywords (comma-separated)', keywords),
    field('Output folder', output), slot,
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, 'Start batch')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const r = await post('/batch/process', {workflow_name: workflow.value.trim(), selected_server: server.value.trim(),
          target_folders: lines(folders.value), folder_keywords: keywords.value.split(',').map((k) => k.trim()).filter(Boolean),
          output_root: output.value.trim()});
        fill(slot);
        toast(`${r.message} (${r.task_id})`, 'ok');
        reload();
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}
