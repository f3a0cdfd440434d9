// Task-manager tasks (/api/v1/tasks…): the list, live through the all-jobs stream (a task is a
// job), cancel and retry, and creating one.
import {api, follow, get, post} from './api.js';
import {age, debounce, fill, h, progressBar, shortId, toast} from './dom.js';
import {busy, field, parseJsonField, showError} from './forms.js';
import {dataTable, listLoader, pill} from './table.js';
import {overview} from './taskstats.js';

// Heartbeats are not events: the overview is fetched again this often while the page is shown.
const HEARTBEAT_REFRESH_MS = 10_000;

const WORDS = ['queued', 'processing', 'completed', 'failed', 'canceled'];
const TONE = {queued: 'gray', processing: 'blue', completed: 'green', failed: 'red', canceled: 'gray'};
const TYPES = ['noop', 'health_check', 'document_processing', 'batch_processing', 'knowledge_indexing',
  'embedding_generation', 'vector_storage'];
const PAYLOADS = {noop: {}, health_check: {url: `${location.origin}/health`},
  document_processing: {file_path: '/path/to/file.md'}};

export async function render(main, {query}) {
  const state = {status: WORDS.includes(query.get('status')) ? query.get('status') : '', page: 1};
  const area = h('div', {'aria-live': 'polite'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  let visible = new Set();
  const statusSelect = h('select', {id: 'task-status'}, h('option', {value: ''}, 'Any status'),
    WORDS.map((w) => h('option', {value: w, selected: w === state.status}, w)));
  const reload = listLoader(area, async () => {
    const q = new URLSearchParams({page: String(state.page), page_size: '20'});
    if (state.status) q.set('status', state.status);
    return get(`/api/v1/tasks?${q}`);
  }, ({tasks, pagination}) => {
    visible = new Set(tasks.map((t) => t.id));
    drawPager(pagination);
    return tasks.length ? dataTable([
      {label: 'Status', cell: (t) => pill(t.status, TONE[t.status])},
      {label: 'Task', cell: (t) => h('div', {}, h('a', {href: `/ui/jobs/${t.id}`}, t.task_type),
        h('div', {class: 'sub'}, h('code', {}, shortId(t.id)), ` · kb ${t.kb_id}`))},
      {label: 'Priority', cell: (t) => t.priority},
      {label: 'Progress', cell: (t) => h('div', {class: 'progress-cell'}, progressBar(t.progress), h('span', {class: 'pct'}, `${t.progress}%`))},
      {label: 'Error', cell: (t) => (t.error_code ? h('span', {}, h('code', {}, t.error_code), ` ${t.error_message}`) : '')},
      {label: 'Age', cell: (t) => age(t.created_at)},
      {label: 'Actions', cell: (t) => actions(t)},
    ], tasks, {caption: 'Tasks', rowAttrs: (t) => ({'data-task': t.id})}) : h('p', {class: 'empty'}, 'No tasks.');
  });

  function drawPager(p) {
    const go = (to) => () => { state.page = to; reload(); };
    fill(pager,
      h('button', {type: 'button', class: 'btn', disabled: p.page <= 1, onclick: go(p.page - 1)}, '← Newer'),
      h('span', {class: 'count'}, `${p.total} tasks · page ${p.page} of ${Math.max(1, p.total_pages)}`),
      h('button', {type: 'button', class: 'btn', disabled: p.page >= p.total_pages, onclick: go(p.page + 1)}, 'Older →'));
  }

  function actions(t) {
    const act = (label, call) => h('button', {type: 'button', class: 'btn small', onclick: async () => {
      try {
        await call();
        toast(`${label}: done`, 'ok');
      } catch (err) {
        toast(err.message, 'error');
      }
      reload();
    }}, label);
    if (t.status === 'queued' || t.status === 'processing') return act('Cancel', () => api('DELETE', `/api/v1/tasks/${t.id}`));
    if (t.status === 'failed' || t.status === 'canceled') return act('Retry', () => post(`/api/v1/tasks/${t.id}/retry`));
    return '';
  }

  statusSelect.addEventListener('change', () => {
    state.status = statusSelect.value;
    state.page = 1;
    history.replaceState(null, '', state.status ? `/ui/tasks?status=${state.status}` : '/ui/tasks');
    reload();
  });
  const soon = debounce(reload, 400);
  const figures = overview();
  const soonFigures = debounce(figures.reload, 800);
  const onEvent = (e) => {
    if (visible.has(e.job_id) || (e.kind === 'status' && state.page === 1)) soon();
    if (e.kind !== 'progress') soonFigures();
  };
  const timer = setInterval(() => { if (!document.hidden) figures.reload(); }, HEARTBEAT_REFRESH_MS);
  const stop = follow('/api/v1/events', Object.fromEntries(
    ['status', 'progress', 'done', 'failed', 'canceled'].map((k) => [k, onEvent])));

  fill(main, h('div', {class: 'page-head'}, h('h1', {}, 'Tasks')),
    figures.panel,
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'task-status'}, 'Status'), statusSelect),
    h('section', {class: 'panel'}, area, pager),
    h('section', {class: 'panel', 'aria-labelledby': 'new-task'}, h('h2', {id: 'new-task'}, 'Create a task'), taskForm(reload)));
  await Promise.all([reload(), figures.reload()]);
  return () => { stop(); soon.cancel(); soonFigures.cancel(); clearInterval(timer); };
}

function taskForm(reload) {
  const type = h('select', {name: 'task_type'}, TYPES.map((t) => h('option', {value: t}, t)));
  const kb = h('input', {name: 'kb_id', required: true, value: 'kb-demo'});
  const priority = h('select', {name: 'priority'}, ['normal', 'low', 'high', 'critical'].map((p) => h('option', {value: p}, p)));
  const payload = h('textarea', {name: 'payload', rows: 4, class: 'mono', spellcheck: 'false'});
  const setPayload = () => { payload.value = JSON.stringify(PAYLOADS[type.value] || {}, null, 2); };
  type.addEventListener('change', setPayload);
  setPayload();
  const slot = h('div', {class: 'form-error'});
  const form = h('form', {class: 'stack', 'data-form': 'task'},
    h('div', {class: 'grid3'}, field('Type', type), field('Knowledge base', kb), field('Priority', priority)),
    field('Payload (JSON)', payload), slot,
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, 'Create task')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await post('/api/v1/tasks', {task_type: type.value, kb_id: kb.value.trim(), priority: priority.value,
          payload: parseJsonField(payload)});
        fill(slot);
        toast('Task created', 'ok');
        reload();
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}
