// Processing servers (/servers…): the registry, a health probe, registering and deleting.
import {api, get, post} from './api.js';
import {confirmAction, fill, h, localTime, toast} from './dom.js';
import {busy, field, showError} from './forms.js';
import {dataTable, listLoader, pill} from './table.js';

const TONE = {online: 'green', offline: 'gray', busy: 'blue', maintenance: 'amber'};

export async function render(main) {
  const area = h('div', {'aria-live': 'polite'});
  const reload = listLoader(area, () => get('/servers'), (servers) => (servers.length
    ? dataTable([
      {label: 'Name', cell: (s) => h('strong', {}, s.name)},
      {label: 'URL', cell: (s) => h('code', {class: 'wrap'}, s.url)},
      {label: 'Type', cell: (s) => s.type},
      {label: 'Status', cell: (s) => pill(s.status, TONE[s.status] || 'gray')},
      {label: 'Enabled', cell: (s) => (s.enabled ? 'yes' : 'no')},
      {label: 'Batch size', cell: (s) => String(s.batch_size)},
      {label: 'Checked', cell: (s) => (s.last_checked_at ? localTime(`${s.last_checked_at}Z`) : 'never')},
      {label: 'Actions', cell: (s) => h('div', {class: 'row'},
        h('button', {type: 'button', class: 'btn small', onclick: () => probe(s)}, 'Check health'),
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
  return null;
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
