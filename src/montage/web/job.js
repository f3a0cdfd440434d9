// One job: status and progress, actions, errors, the approval panel, the stage timeline with
// durations, live log lines, and every artifact previewed. Live over the job's own SSE stream
// (GET /api/v1/jobs/{id}/events), resumed from the last event seen.
import {ApiError, follow, get, post} from './api.js';
import {approvalPanel} from './approval.js';
import {confirmAction, debounce, duration, errorBox, fill, h, localTime, progressBar, setProgress, shortId, toast}
  from './dom.js';
import {jobTitle} from './jobs.js';
import {renderMarkdown} from './markdown.js';
import {artifactCard, kindOf} from './preview.js';
import {STAGE_TONE, TERMINAL, badge} from './status.js';

const EVENT_KINDS = ['status', 'stage', 'progress', 'log', 'asset', 'approval', 'done', 'failed', 'canceled'];
const LOG_LIMIT = 500;
const RESULT_ROLES = ['video', 'export', 'preview'];

export async function render(main, {params}) {
  const id = params.id;
  let job;
  let approvals = [];
  try {
    [job, {approvals}] = await Promise.all([get(`/api/v1/jobs/${id}`), get(`/api/v1/jobs/${id}/approvals`)]);
  } catch (err) {
    const missing = err instanceof ApiError && err.status === 404;
    fill(main, h('nav', {class: 'crumbs'}, h('a', {href: '/ui'}, 'Jobs')),
      h('h1', {}, missing ? 'No such job' : 'Could not load the job'), errorBox(err, missing ? 'Not found' : 'Error'));
    return null;
  }

  const el = {
    title: h('h1', {}),
    badge: h('span', {}),
    meta: h('p', {class: 'meta muted'}),
    bar: progressBar(job.progress, 'Job progress'),
    pct: h('span', {class: 'pct'}),
    message: h('span', {class: 'message'}),
    actions: h('div', {class: 'actions'}),
    error: h('div', {}),
    result: h('div', {}),
    approval: h('div', {}),
    timeline: h('ol', {class: 'timeline', 'aria-label': 'Stages'}),
    log: h('ol', {class: 'log', 'aria-label': 'Log'}),
    artifacts: h('div', {class: 'artifact-groups'}),
    input: h('div', {}),
    webhooks: h('div', {}),
  };
  let approvalKey = null;
  let artifactKey = null;
  let lastEventId = 0;
  let stopStream = null;
  let stopped = false;

  fill(main,
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '/ui'}, 'Jobs'), ' / ', h('code', {}, shortId(id))),
    h('div', {class: 'page-head job-head'}, el.title, el.badge),
    el.meta,
    h('div', {class: 'job-progress'}, el.bar, el.pct, el.message),
    el.actions, el.error, el.result, el.approval,
    h('div', {class: 'columns'},
      h('section', {class: 'panel', 'aria-labelledby': 'stages-title'}, h('h2', {id: 'stages-title'}, 'Stages'), el.timeline),
      h('section', {class: 'panel', 'aria-labelledby': 'log-title'}, h('h2', {id: 'log-title'}, 'Log'), el.log)),
    h('section', {class: 'panel', id: 'files', 'aria-labelledby': 'files-title'},
      h('div', {class: 'row between'}, h('h2', {id: 'files-title'}, 'Files'),
        h('a', {href: job.manifest_url, class: 'small', download: 'manifest.json'}, 'manifest.json')),
      el.artifacts),
    el.webhooks,
    el.input);

  function draw() {
    main.dataset.status = job.status;
    el.title.textContent = jobTitle(job);
    fill(el.badge, badge(job.status, job.pipeline, job.stage));
    fill(el.meta, h('span', {class: 'pipeline'}, job.pipeline), ` · ${job.id} · created ${localTime(job.created_at)}`,
      job.attempts > 1 ? ` · attempt ${job.attempts}` : '', job.ended_at ? ` · ended ${localTime(job.ended_at)}` : '');
    setProgress(el.bar, job.progress);
    el.pct.textContent = `${Math.round(job.progress)}%`;
    el.message.textContent = job.message || '';
    drawActions();
    fill(el.error, job.status === 'CANCELED'
      ? h('p', {class: 'note'}, 'Canceled. The record and its files stay; Retry runs it again from the stage that stopped.')
      : errorBox(job.error, 'Failed'));
    drawApproval();
    drawTimeline();
    drawArtifacts();
  }

  function drawActions() {
    const buttons = [];
    if (job.status === 'CREATED') buttons.push(actionButton('Start', 'primary', 'start', null));
    if (!TERMINAL.has(job.status)) {
      buttons.push(actionButton('Cancel job', 'danger', 'cancel',
        ['Cancel this job?', 'The running stage stops and no later stage runs. You can retry it afterwards.', 'Cancel job']));
    }
    if (job.status === 'FAILED' || job.status === 'CANCELED') {
      buttons.push(actionButton('Retry', 'primary', 'retry',
        ['Retry this job?', 'It runs again from the stage that stopped; finished stages keep their results.', 'Retry'],
        'primary'));
    }
    fill(el.actions, buttons);
  }

  function actionButton(label, tone, action, ask, askTone = 'danger') {
    return h('button', {type: 'button', class: `btn ${tone}`, 'data-action': action, onclick: async (e) => {
      if (ask && !(await confirmAction(ask[0], ask[1], ask[2], askTone))) return;
      e.target.disabled = true;
      try {
        await post(`/api/v1/jobs/${id}/${action}`);
        toast(`${label}: done`, 'ok');
        if (action !== 'cancel') openStream();
        refresh();
      } catch (err) {
        toast(`${label} failed: ${err.message}`, 'error');
        e.target.disabled = false;
      }
    }}, label);
  }

  function drawApproval() {
    const files = (job.artifacts || []).filter((a) => a.stage === job.stage);
    const key = job.status === 'WAITING_APPROVAL' ? `${job.stage}:${files.map((a) => a.sha256).join()}` : null;
    if (key === approvalKey) return;
    approvalKey = key;
    fill(el.approval, key ? approvalPanel(job, job.artifacts || [], approvals, refresh) : null);
  }

  function drawTimeline() {
    const now = Date.now();
    fill(el.timeline, job.stages.map((s) => {
      const started = s.started_at ? Date.parse(s.started_at) : null;
      const ended = s.ended_at ? Date.parse(s.ended_at) : null;
      const took = started ? (ended || (s.status === 'RUNNING' ? now : null)) : null;
      return h('li', {class: `stage tone-${STAGE_TONE[s.status] || 'gray'}`, 'data-stage': s.name, 'data-status': s.status},
        h('span', {class: 'marker', 'aria-hidden': 'true'}),
        h('div', {class: 'stage-body'},
          h('div', {class: 'row between'},
            h('strong', {}, s.name, s.approval ? h('span', {class: 'gate', title: 'A person approves this stage'}, 'approval') : null),
            h('span', {class: 'duration', 'data-started': s.status === 'RUNNING' ? s.started_at : null},
              took ? duration(took - started) : '')),
          h('div', {class: 'small muted'}, s.status.toLowerCase().replace('_', ' '),
            s.attempts > 1 ? ` · attempt ${s.attempts}` : '', s.revision ? ` · revision ${s.revision + 1}` : '',
            ` · ${s.generator}`),
          s.error ? h('div', {class: 'small stage-error'}, h('code', {}, s.error.code), ` ${s.error.message}`) : null));
    }));
  }

  function drawArtifacts() {
    const all = job.artifacts || [];
    const key = all.map((a) => `${a.path}:${a.sha256}`).join('|');
    if (key === artifactKey) return;
    artifactKey = key;
    const order = job.stages.map((s) => s.name);
    const stages = [...new Set(all.map((a) => a.stage))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    fill(el.artifacts, all.length ? stages.map((stage) => h('div', {class: 'artifact-group'},
      h('h3', {}, stage),
      h('div', {class: 'artifact-grid'}, all.filter((a) => a.stage === stage).map((a) => artifactCard(a, all)))))
      : h('p', {class: 'muted'}, 'No files yet.'));
    const result = RESULT_ROLES.map((r) => all.filter((a) => a.role === r && kindOf(a) === 'video').at(-1)).find(Boolean);
    fill(el.result, job.status === 'SUCCEEDED' && result ? h('section', {class: 'panel result', 'aria-labelledby': 'result-title'},
      h('h2', {id: 'result-title'}, 'Result'), artifactCard(result, all)) : null);
  }

  async function drawWebhooks() {  // only for a job submitted with a webhook_url (docs/auth.md)
    let data;
    try {
      data = await get(`/api/v1/jobs/${id}/webhooks`);
    } catch {
      return;
    }
    if (stopped || !data.webhook) return;
    const rows = data.deliveries.map((d) => h('tr', {'data-status': d.status}, h('td', {}, d.type), h('td', {}, d.status),
      h('td', {}, String(d.attempts)), h('td', {}, d.response_status ? String(d.response_status) : (d.error || '')),
      h('td', {}, localTime(d.updated_at))));
    fill(el.webhooks, h('section', {class: 'panel', 'aria-labelledby': 'hooks-title'},
      h('h2', {id: 'hooks-title'}, 'Webhook deliveries'),
      h('p', {class: 'muted small'}, `${data.webhook.url} · ${data.webhook.events.join(', ')}`),
      rows.length ? h('table', {class: 'webhooks'},
        h('thead', {}, h('tr', {}, ['Event', 'Status', 'Attempts', 'Answer', 'Last try'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows)) : h('p', {class: 'muted'}, 'No deliveries yet.')));
  }

  function drawInput() {
    const input = job.input || {};
    const body = typeof input.content === 'string'
      ? [h('div', {class: 'markdown'}, renderMarkdown(input.content)),
        h('p', {class: 'muted small'}, [input.style && `Style: ${input.style}`, input.language && `Language: ${input.language}`]
          .filter(Boolean).join(' · '))]
      : h('pre', {}, JSON.stringify(input, null, 2));
    fill(el.input, h('details', {class: 'panel input'}, h('summary', {}, 'Input'), body));
  }

  function logLine(e) {
    const text = describe(e);
    if (!text) return;
    const atBottom = el.log.scrollTop + el.log.clientHeight >= el.log.scrollHeight - 8;
    const level = e.kind === 'failed' || (e.payload && e.payload.level === 'error') ? 'error'
      : e.kind === 'approval' || e.kind === 'done' ? 'note' : 'info';
    el.log.append(h('li', {class: `level-${level}`, 'data-kind': e.kind},
      h('time', {datetime: e.ts}, e.ts ? new Date(e.ts).toLocaleTimeString() : ''),
      e.stage ? h('span', {class: 'stage-tag'}, e.stage) : null, h('span', {}, text)));
    while (el.log.children.length > LOG_LIMIT) el.log.firstElementChild.remove();
    if (atBottom) el.log.scrollTop = el.log.scrollHeight;
  }

  const refresh = debounce(async () => {
    try {
      const [fresh, a] = await Promise.all([get(`/api/v1/jobs/${id}`), get(`/api/v1/jobs/${id}/approvals`)]);
      if (stopped) return;
      job = fresh;
      approvals = a.approvals;
      draw();
      drawWebhooks();
      if (TERMINAL.has(job.status) && stopStream) {  // nothing more will come until a retry
        stopStream();
        stopStream = null;
      }
    } catch (err) {
      toast(`Could not refresh: ${err.message}`, 'error');
    }
  }, 150);

  function onEvent(e, eventId) {
    lastEventId = Math.max(lastEventId, eventId);
    logLine(e);
    if (e.kind === 'progress') {
      job.progress = e.progress;
      setProgress(el.bar, e.progress);
      el.pct.textContent = `${Math.round(e.progress)}%`;
      if (e.message) el.message.textContent = e.message;
    } else {
      refresh();
    }
  }

  function openStream() {
    if (stopStream) stopStream();
    const handlers = Object.fromEntries(EVENT_KINDS.map((k) => [k, onEvent]));
    stopStream = follow(`/api/v1/jobs/${id}/events?last_event_id=${lastEventId}`, handlers);
  }

  const clock = setInterval(() => {
    for (const span of el.timeline.querySelectorAll('.duration[data-started]')) {
      span.textContent = duration(Date.now() - Date.parse(span.dataset.started));
    }
  }, 1000);

  draw();
  drawInput();
  drawWebhooks();
  openStream();
  return () => {
    stopped = true;
    refresh.cancel();
    clearInterval(clock);
    if (stopStream) stopStream();
  };
}

/** A log line for an event, or null for ones the log leaves out (progress ticks). */
function describe(e) {
  const p = e.payload || {};
  switch (e.kind) {
    case 'progress': return null;
    case 'log': return p.text || e.message;
    case 'asset': return `${p.role || 'file'} ready: ${(p.path || '').split('/').slice(3).join('/')}`;
    case 'approval': return `${e.stage} ${String(p.decision || '').toLowerCase()}${p.reason ? ` — “${p.reason}”` : ''}`
      + `${p.comment ? ` (${p.comment})` : ''}`;
    case 'failed': return `failed: ${p.code || ''} ${p.detail || e.message}`;
    case 'status': return `${e.status}${e.message && e.message !== e.status.toLowerCase() ? ` — ${e.message}` : ''}`;
    default: return e.message || e.kind;
  }
}
