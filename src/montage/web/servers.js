// Processing servers (/servers…): the registry, a health probe, editing (URL, batch size,
// enabled, status), registering and deleting. Kept current by the all-jobs stream (a batch
// taking or freeing a server) and, since health probes are not events, a fetch every
// REFRESH_MS while the page is shown.
import {api, follow, get, post} from './api.js';
import {age, confirmAction, debounce, fill, h, toast} from './dom.js';
import {busy, field, showError} from './forms.js';
import {dataTable, listLoader, pill} from './table.js';

const TONE = {online: 'green', offline: 'gray', busy: 'blue', maintenance: 'amber'};
export const SERVER_STATUSES = ['online', 'offline', 'busy', 'maintenance'];
const REFRESH_MS = 10_000;

export async function render(main) {
  const area = h('div', {'aria-live': 'polite'});
  const reload = listLoader(area, () => get('/servers'), (servers) => (servers.length
    ? dataTable([
      {label: 'Name', cell: (s) => h('strong', {}, s.name)},
      {label: 'URL', cell: (s) => h('code', {class: 'wrap'}, s.url)},
      {label: 'Type', cell: (s) => s.type},
      {label: 'Status', cell: (s) => h('div', {}, pill(s.status, TONE[s.status] || 'gray'),
        s.current_task_id ? h('div', {class: 'sub'}, 'task ', h('code', {}, s.current_task_id.slice(0, 8))) : null)},
      {label: 'Enabled', cell: (s) => (s.enabled ? 'yes' : 'no')},
      {label: 'Batch size', cell: (s) => String(s.batch_size)},
      {label: 'Health', cell: (s) => health(s)},
      {label: 'Actions', cell: (s) => h('div', {class: 'row'},
        h('button', {type: 'button', class: 'btn small', onclick: () => probe(s)}, 'Check health'),
        h('button', {type: 'button', class: 'btn small', 'data-action': 'edit', onclick: () => edit(s, reload)}, 'Edit'),
        h('button', {type: 'button', class: 'btn small danger', onclick: () => remove(s)}, 'Delete'))},
    ], servers, {caption: 'Processing servers', rowAttrs: (s) => ({'data-server': s.name})})
    : h('p', {class: 'empty'}, 'No servers registered. montage runs every pipeline on its own built-in generators; ',
      'register a ComfyUI or montage HTTP worker to run stages there.')));

  async function probe(s) {
    try {
      const r = await get(`/servers/${encodeURIComponent(s.name)}/health`);
      toast(`${s.name}: ${r.status}${r.error ? ` — ${r.error}` : ''}`, r.status === 'healthy' ? 'ok' : 'error');
    } catch (err) {
      toast(`${s.name}: ${err.message}`, 'error');
    }
    reload();
  }

  async function remove(s) {
    if (!(await confirmAction(`Delete ${s.name}?`, 'It is removed from the registry; stages no longer run on it.', 'Delete'))) return;
    try {
      await api('DELETE', `/servers/${encodeURIComponent(s.name)}`);
      toast(`${s.name} deleted`, 'ok');
    } catch (err) {
      toast(err.message, 'error');
    }
    reload();
  }

  fill(main, h('div', {class: 'page-head'}, h('h1', {}, 'Servers')),
    h('section', {class: 'panel'}, area),
    h('section', {class: 'panel', 'aria-labelledby': 'register-title'},
      h('h2', {id: 'register-title'}, 'Register a server'), registerForm(reload)));
  await reload();
  const soon = debounce(reload, 600);
  const stop = follow('/api/v1/events', {status: soon, done: soon, failed: soon, canceled: soon});
  const timer = setInterval(() => { if (!document.hidden && !document.querySelector('dialog[open]')) reload(); }, REFRESH_MS);
  return () => { stop(); soon.cancel(); clearInterval(timer); };
}

function health(s) {
  if (!s.health) return h('span', {class: 'muted'}, 'not probed yet');
  const when = s.last_checked_at ? `${s.last_checked_at}Z` : null;
  return h('div', {}, pill(s.health, s.health === 'healthy' ? 'green' : 'red'),
    when ? h('div', {class: 'sub'}, h('time', {datetime: when, title: when}, age(when))) : null);
}

/** Change a server's URL, batch size, enabled and status, in a dialog. */
function edit(s, reload) {
  const url = h('input', {name: 'url', type: 'url', required: true, value: s.url});
  const size = h('input', {name: 'batch_size', type: 'number', min: 1, value: s.batch_size});
  const enabled = h('input', {type: 'checkbox', name: 'enabled', checked: s.enabled, id: 'edit-enabled'});
  const status = h('select', {name: 'status'}, SERVER_STATUSES.map((v) => h('option', {value: v, selected: v === s.status}, v)));
  const slot = h('div', {class: 'form-error'});
  const cancel = h('button', {type: 'button', class: 'btn', onclick: () => dialog.close()}, 'Cancel');
  const form = h('form', {class: 'stack', 'data-form': 'server-edit'},
    h('h2', {id: 'edit-title'}, `Edit ${s.name}`),
    h('div', {class: 'grid2'}, field('URL', url), field('Batch size', size, 'How many stages may run on it at once.')),
    field('Status', status, 'maintenance takes it out of rotation; a health probe moves online and offline.'),
    h('label', {class: 'check', for: 'edit-enabled'}, enabled, ' Enabled (a disabled server gets no work)'),
    slot, h('div', {class: 'row end'}, cancel, h('button', {type: 'submit', class: 'btn primary'}, 'Save')));
  const dialog = h('dialog', {class: 'confirm wide', 'aria-labelledby': 'edit-title'}, form);
  const path = `/servers/${encodeURIComponent(s.name)}`;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await api('PUT', path, {url: url.value.trim(), batch_size: Number(size.value), enabled: enabled.checked});
        if (status.value !== s.status) await api('PUT', `${path}/status`, status.value);
        toast(`${s.name} saved`, 'ok');
        dialog.close();
        reload();
      } catch (err) {
        showError(form, slot, err, 'Could not save');
      }
    });
  });
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  url.focus();
}

function registerForm(reload) {
  const name = h('input', {name: 'name', required: true, placeholder: 'server1'});
  const url = h('input', {name: 'url', type: 'url', required: true, placeholder: 'http://localhost:8001'});
  const type = h('select', {name: 'type'}, ['local', 'comfyui', 'http'].map((t) => h('option', {value: t}, t)));
  const size = h('input', {name: 'batch_size', type: 'number', min: 1, value: 1});
  const enabled = h('input', {type: 'checkbox', name: 'enabled', checked: true, id: 'server-enabled'});
  const slot = h('div', {class: 'form-error'});
  const form = h('form', {class: 'stack', 'data-form': 'server'},
    h('div', {class: 'grid2'}, field('Name', name), field('URL', url), field('Type', type),
      field('Batch size', size, 'How many stages may run on it at once.')),
    h('label', {class: 'check', for: 'server-enabled'}, enabled, ' Enabled'),
    slot, h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, 'Register')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await post('/servers/register', {name: name.value.trim(), url: url.value.trim(), type: type.value,
          batch_size: Number(size.value), enabled: enabled.checked});
        toast(`${name.value} registered`, 'ok');
        form.reset();
        fill(slot);
        reload();
      } catch (err) {
        showError(form, slot, err, 'Could not register');
      }
    });
  });
  return form;
}
