// The task manager's overview on the Tasks page: counts by status, queue depth by priority, and
// the workers with their heartbeats (/api/v1/stats/system, /api/v1/queues/info?priority=…).
import {get} from './api.js';
import {age, errorBox, fill, h} from './dom.js';
import {dataTable, pill} from './table.js';

export const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const WORKER_TONE = {idle: 'green', busy: 'blue', offline: 'gray'};

/** {panel, reload}: reload fetches the figures and redraws them. */
export function overview() {
  const body = h('div', {'aria-live': 'polite'});
  const panel = h('section', {class: 'panel', 'aria-labelledby': 'overview-title', 'data-overview': ''},
    h('h2', {id: 'overview-title'}, 'Overview'), body);
  let token = 0;

  async function reload() {
    const mine = ++token;
    body.setAttribute('aria-busy', 'true');
    try {
      const [system, ...queues] = await Promise.all([get('/api/v1/stats/system'),
        ...PRIORITIES.map((p) => get(`/api/v1/queues/info?priority=${p}`))]);
      if (mine === token) fill(body, draw(system, queues));
    } catch (err) {
      if (mine === token) fill(body, errorBox(err, 'Could not load the figures'));
    }
    body.setAttribute('aria-busy', 'false');
  }
  return {panel, reload};
}

function tile(label, value, key) {
  return h('div', {class: 'tile', 'data-figure': key}, h('div', {class: 'value'}, String(value)), h('div', {class: 'label'}, label));
}

function draw(system, queues) {
  const t = system.task_stats;
  const seconds = (v) => (v ? `${v.toFixed(v < 10 ? 2 : 1)} s` : '—');
  return [
    h('div', {class: 'tiles'},
      tile('tasks', t.total_tasks, 'total'), tile('queued', t.queued_tasks, 'queued'),
      tile('processing', t.processing_tasks, 'processing'), tile('completed', t.completed_tasks, 'completed'),
      tile('failed', t.failed_tasks, 'failed'), tile('canceled', t.canceled_tasks, 'canceled'),
      tile('success rate', `${t.success_rate}%`, 'success_rate'), tile('mean run time', seconds(t.avg_process_time), 'avg')),
    h('h3', {}, 'Waiting, by priority'),
    h('div', {class: 'tiles queues'}, queues.map((q) => tile(q.priority, q.queue_size, `queue-${q.priority}`)),
      tile('all', system.queue_size, 'queue-all')),
    h('h3', {}, `Workers · ${system.active_workers} active (${system.busy_workers} busy, ${system.idle_workers} idle)`),
    system.workers.length ? dataTable([
      {label: 'Worker', cell: (w) => h('div', {}, h('code', {}, w.id), h('div', {class: 'sub'}, `${w.role} · ${w.hostname} · pid ${w.pid}`))},
      {label: 'Status', cell: (w) => pill(w.status, WORKER_TONE[w.status] || 'gray')},
      {label: 'Heartbeat', cell: (w) => h('time', {datetime: w.last_heartbeat, title: w.last_heartbeat},
        age(w.last_heartbeat))},
      {label: 'Running', cell: (w) => (w.current_task_id ? h('a', {href: `/ui/jobs/${w.current_task_id}`}, h('code', {}, w.current_task_id)) : '—')},
      {label: 'Done', cell: (w) => `${w.tasks_succeeded} ok · ${w.tasks_failed} failed · ${w.tasks_processed} in all`},
    ], system.workers, {caption: 'Workers', rowAttrs: (w) => ({'data-worker': w.id})})
      : h('p', {class: 'empty'}, 'No worker has sent a heartbeat.'),
  ];
}
