// The job list: live status, stage and progress of every row over one SSE stream
// (GET /api/v1/events), filters by status and pipeline, pages of 20.
import {navigate} from './app.js';
import {follow, get, post} from './api.js';
import {age, confirmAction, debounce, errorBox, fill, h, progressBar, setProgress, shortId, toast} from './dom.js';
import {EXAMPLES} from './examples.js';
import {LOOK, STATUSES, badge} from './status.js';

export const PAGE_SIZE = 20;
const LIVE_KINDS = ['status', 'stage', 'progress', 'approval', 'done', 'failed', 'canceled'];

/** A line that says what a job is about: its prompt, its document's title, or its pipeline. */
export function jobTitle(job) {
  const input = job.input || {};
  if (typeof input.prompt === 'string' && input.prompt.trim()) return clip(input.prompt);
  if (typeof input.content === 'string') {
    const heading = input.content.split('\n').find((line) => line.trim());
    if (heading) return clip(heading.replace(/^#+\s*/, ''));
  }
  if (input.payload && typeof input.payload === 'object') {
    const first = Object.values(input.payload).find((v) => typeof v === 'string');
    if (first) return clip(first);
  }
  if (typeof input.text === 'string' && input.text.trim()) return clip(input.text);
  return job.pipeline;
}

function clip(text) {
  const line = text.trim().split('\n')[0];
  return line.length > 90 ? `${line.slice(0, 88)}…` : line;
}

function listUrl(state) {
  const q = new URLSearchParams();
  if (state.status) q.set('status', state.status);
  if (state.pipeline) q.set('pipeline', state.pipeline);
  if (state.page > 1) q.set('page', String(state.page));
  const s = q.toString();
  return s ? `/ui?${s}` : '/ui';
}

export async function render(main, {query}) {
  const state = {
    status: STATUSES.includes(query.get('status')) ? query.get('status') : '',
    pipeline: query.get('pipeline') || '',
    page: Math.max(1, Number.parseInt(query.get('page'), 10) || 1),
  };
  const rows = new Map();
  let firstPaint = true;
  let stopped = false;

  const live = h('span', {class: 'live', 'data-state': 'connecting'}, 'connecting…');
  const statusSelect = h('select', {name: 'status', id: 'filter-status'},
    h('option', {value: ''}, 'Any status'),
    STATUSES.map((s) => h('option', {value: s, selected: s === state.status}, `${LOOK[s].word} · ${LOOK[s].english}`)));
  const pipelineSelect = h('select', {name: 'pipeline', id: 'filter-pipeline'},
    h('option', {value: ''}, 'Any pipeline'),
    state.pipeline ? h('option', {value: state.pipeline, selected: true}, state.pipeline) : null);
  const area = h('div', {class: 'list-area', 'aria-live': 'polite', 'aria-busy': 'true'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});

  fill(main,
    h('div', {class: 'page-head'}, h('h1', {}, 'Jobs'), live,
      h('a', {class: 'btn primary', href: '/ui/submit'}, '+ New job')),
    h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'filter-status'}, 'Status'), statusSelect,
      h('label', {for: 'filter-pipeline'}, 'Pipeline'), pipelineSelect,
      h('a', {href: '/ui', class: 'clear', hidden: !(state.status || state.pipeline)}, 'Clear filters')),
    area, pager);

  const onFilter = () => {
    state.status = statusSelect.value;
    state.pipeline = pipelineSelect.value;
    state.page = 1;
    history.replaceState(null, '', listUrl(state));
    main.querySelector('.clear').hidden = !(state.status || state.pipeline);
    load();
  };
  statusSelect.addEventListener('change', onFilter);
  pipelineSelect.addEventListener('change', onFilter);

  async function load() {
    area.setAttribute('aria-busy', 'true');
    const q = new URLSearchParams({limit: String(PAGE_SIZE), offset: String((state.page - 1) * PAGE_SIZE)});
    if (state.status) q.set('status', state.status);
    if (state.pipeline) q.set('pipeline', state.pipeline);
    try {
      const page = await firstList(`/api/v1/jobs?${q}`) || await get(`/api/v1/jobs?${q}`);
      if (stopped) return;
      draw(page);
    } catch (err) {
      fill(area, errorBox(err, 'Could not load jobs'));
    }
    area.setAttribute('aria-busy', 'false');
  }
  const reload = debounce(load, 300);

  function draw(page) {
    rows.clear();
    if (page.total === 0 && !state.status && !state.pipeline) {
      fill(area, emptyState());
      fill(pager);
    } else if (page.jobs.length === 0) {
      fill(area, h('p', {class: 'empty'}, 'No jobs match these filters. ', h('a', {href: '/ui'}, 'Show all jobs')));
      fill(pager);
    } else {
      const body = h('tbody', {}, page.jobs.map((job) => row(job)));
      fill(area, h('table', {class: 'jobs'},
        h('caption', {class: 'sr-only'}, 'Jobs, newest first'),
        h('thead', {}, h('tr', {}, ['Status', 'Job', 'Stage', 'Progress', 'Age', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
        body));
      drawPager(page);
    }
    if (firstPaint) {
      firstPaint = false;
      performance.mark('montage:jobs-rendered');
      document.body.dataset.jobsRendered = 'true';
    }
  }

  function row(job) {
    const bar = progressBar(job.progress, `Progress of ${shortId(job.id)}`);
    const pct = h('span', {class: 'pct'}, `${Math.round(job.progress)}%`);
    const stage = h('td', {'data-label': 'Stage', class: 'stage-cell'}, h('code', {}, job.stage || '—'));
    const status = h('td', {'data-label': 'Status'}, badge(job.status, job.pipeline, job.stage));
    const problem = h('div', {class: 'row-error'});
    const actions = h('td', {'data-label': 'Actions', class: 'row-actions'});
    const tr = h('tr', {'data-job-id': job.id, 'data-status': job.status},
      status,
      h('td', {'data-label': 'Job', class: 'job-cell'},
        h('a', {href: `/ui/jobs/${job.id}`, class: 'job-link'}, jobTitle(job)),
        h('div', {class: 'sub'}, h('span', {class: 'pipeline'}, job.pipeline), ' · ', h('code', {}, shortId(job.id))),
        problem),
      stage,
      h('td', {'data-label': 'Progress'}, h('div', {class: 'progress-cell'}, bar, pct)),
      h('td', {'data-label': 'Age'}, h('time', {datetime: job.created_at, title: job.created_at}, age(job.created_at))),
      actions);
    rows.set(job.id, {job, tr, bar, pct, stage, status, problem, actions});
    drawOutcome(rows.get(job.id));
    return tr;
  }

  /** The contract's guidance per status: done → files and details; failed → the reason and Retry. */
  function drawOutcome({job, problem, actions}) {
    const error = job.status === 'FAILED' && job.error ? job.error : null;
    fill(problem, error ? [h('code', {}, error.code || 'FAILED'), ` ${error.message || ''}`] : null);
    if (job.status === 'SUCCEEDED') {
      fill(actions, h('a', {class: 'btn small', href: `/ui/jobs/${job.id}#files`, 'data-action': 'files'}, 'Download'),
        h('a', {class: 'btn small', href: `/ui/jobs/${job.id}`}, 'Details'));
    } else if (job.status === 'FAILED') {
      fill(actions, h('button', {type: 'button', class: 'btn small primary', 'data-action': 'retry', onclick: async (e) => {
        if (!(await confirmAction('Retry this job?', 'It runs again from the stage that stopped; finished stages keep their results.',
          'Retry', 'primary'))) return;
        e.target.disabled = true;
        try {
          await post(`/api/v1/jobs/${job.id}/retry`);
          toast('Retry: done', 'ok');
        } catch (err) {
          toast(`Retry failed: ${err.message}`, 'error');
          e.target.disabled = false;
        }
      }}, 'Retry'), h('a', {class: 'btn small', href: `/ui/jobs/${job.id}`}, 'Details'));
    } else {
      fill(actions, h('a', {class: 'btn small', href: `/ui/jobs/${job.id}`}, 'Details'));
    }
  }

  function drawPager(page) {
    const first = page.offset + 1;
    const last = page.offset + page.jobs.length;
    const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
    const link = (label, to, rel) => (to < 1 || to > pages
      ? h('span', {class: 'btn', 'aria-disabled': 'true'}, label)
      : h('a', {class: 'btn', rel, href: listUrl({...state, page: to}), onclick: (e) => {
        e.preventDefault();
        state.page = to;
        history.pushState(null, '', listUrl(state));
        load();
      }}, label));
    fill(pager, link('← Newer', state.page - 1, 'prev'),
      h('span', {class: 'count'}, `${first}–${last} of ${page.total} · page ${state.page} of ${pages}`),
      link('Older →', state.page + 1, 'next'));
  }

  function onEvent(e) {
    const entry = rows.get(e.job_id);
    if (!entry) {
      if (e.kind === 'status' && state.page === 1) reload();  // a new job, or one entering the filter
      return;
    }
    const {job} = entry;
    if (e.status) job.status = e.status;
    if (e.stage) job.stage = e.stage;
    if (typeof e.progress === 'number') job.progress = e.progress;
    if (e.kind === 'done') { job.status = 'SUCCEEDED'; job.progress = 100; }
    if (e.kind === 'failed') job.error = {code: e.payload?.code, message: e.payload?.detail || e.message};
    entry.tr.dataset.status = job.status;
    drawOutcome(entry);
    fill(entry.status, badge(job.status, job.pipeline, job.stage));
    fill(entry.stage, h('code', {}, job.stage || '—'));
    setProgress(entry.bar, job.progress);
    entry.pct.textContent = `${Math.round(job.progress)}%`;
    if (state.status && job.status !== state.status) reload();
  }

  function emptyState() {
    return h('section', {class: 'welcome', 'aria-labelledby': 'welcome-title'},
      h('h2', {id: 'welcome-title'}, 'No jobs yet — try one'),
      h('p', {class: 'muted'}, 'Each runs on this machine with built-in generators, in well under a minute. ',
        'The first one stops and waits for your approval.'),
      exampleCards());
  }

  const handlers = Object.fromEntries(LIVE_KINDS.map((k) => [k, onEvent]));
  const stop = follow('/api/v1/events', handlers, (s) => {
    live.dataset.state = s;
    live.textContent = s === 'live' ? 'live' : 'reconnecting…';
  });
  const clock = setInterval(() => {
    for (const t of main.querySelectorAll('time[datetime]')) t.textContent = age(t.getAttribute('datetime'));
  }, 30_000);

  get('/api/v1/pipelines').then(({pipelines}) => {
    const names = pipelines.map((p) => p.name);
    fill(pipelineSelect, h('option', {value: ''}, 'Any pipeline'),
      names.map((n) => h('option', {value: n, selected: n === state.pipeline}, n)));
  }).catch(() => {});
  await load();

  return () => {
    stopped = true;
    stop();
    reload.cancel();
    clearInterval(clock);
  };
}

/** The list request index.html started before the modules loaded, if it asked for `url` (used once). */
async function firstList(url) {
  const early = window.montageFirstList;
  window.montageFirstList = null;
  if (!early || early.url !== url) return null;
  try {
    const res = await early.response;
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

/** The seed examples as cards with one button each; used on the empty list and the submit page. */
export function exampleCards() {
  return h('ul', {class: 'examples'}, EXAMPLES.map((ex) => {
    const result = h('div', {class: 'result'});
    const button = h('button', {type: 'button', class: 'btn primary', 'data-example': ex.id}, 'Run this example');
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Submitting…';
      try {
        const id = await ex.submit();
        navigate(`/ui/jobs/${id}`);
      } catch (err) {
        fill(result, errorBox(err, 'Could not submit'));
        button.disabled = false;
        button.textContent = 'Run this example';
      }
    });
    return h('li', {class: 'card example'}, h('h3', {}, ex.title), h('p', {}, ex.summary), button, result);
  }));
}
