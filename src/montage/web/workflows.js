// Workflows (/workflows…): versioned pipeline definitions, their versions (listed, and a new one
// made from any), their status, and creating one.
import {api, get, post} from './api.js';
import {fill, h, toast} from './dom.js';
import {busy, field, parseJsonField, showError} from './forms.js';
import {jsonView} from './markdown.js';
import {dataTable, listLoader, pill} from './table.js';

const TONE = {normal: 'green', hidden: 'gray', archived: 'amber'};
const MOVES = {normal: [['hide', 'Hide'], ['archive', 'Archive']], hidden: [['show', 'Show']],
  archived: [['activate', 'Activate']]};

export async function render(main, {query}) {
  const showHidden = query.get('status') === 'hidden';
  const area = h('div', {'aria-live': 'polite'});
  const reload = listLoader(area, () => get(`/workflows${showHidden ? '?status=hidden' : ''}`), (rows) => (rows.length
    ? dataTable([
      {label: 'Name', cell: (w) => h('div', {}, h('strong', {}, w.name), h('div', {class: 'sub'}, w.description || ''))},
      {label: 'Version', cell: (w) => versions(w, reload)},
      {label: 'Scenario', cell: (w) => w.scenario || ''},
      {label: 'Status', cell: (w) => pill(w.status, TONE[w.status] || 'gray')},
      {label: 'Config', cell: (w) => h('details', {}, h('summary', {}, 'Show'), jsonView({
        workflow_config: w.workflow_config, node_config: w.node_config, input_mapping: w.input_mapping,
        output_mapping: w.output_mapping, parameters: w.parameters}))},
      {label: 'Actions', cell: (w) => h('div', {class: 'row'}, (MOVES[w.status] || []).map(([move, label]) =>
        h('button', {type: 'button', class: 'btn small', onclick: async () => {
          try {
            await api('PUT', `/workflows/${w.id}/${move}`);
          } catch (err) {
            toast(err.message, 'error');
          }
          reload();
        }}, label)))},
    ], rows, {caption: 'Workflows', rowAttrs: (w) => ({'data-workflow': w.name, 'data-version': w.version})})
    : h('p', {class: 'empty'}, 'No workflows.')));
  fill(main, h('div', {class: 'page-head'}, h('h1', {}, 'Workflows'),
    h('a', {href: showHidden ? '/ui/workflows' : '/ui/workflows?status=hidden'}, showHidden ? 'Show visible' : 'Show hidden')),
  h('section', {class: 'panel'}, area),
  h('section', {class: 'panel', 'aria-labelledby': 'new-workflow'}, h('h2', {id: 'new-workflow'}, 'Create a workflow'),
    workflowForm(reload)));
  await reload();
  return null;
}

/** The version, and a disclosure that lists every version of the name and makes a new one. */
function versions(w, reload) {
  const list = h('div', {'aria-live': 'polite'});
  const details = h('details', {class: 'versions', 'data-versions': w.id}, h('summary', {}, w.version), list);
  details.addEventListener('toggle', async () => {
    if (!details.open) return;
    fill(list, h('p', {class: 'muted small'}, 'Loading…'));
    try {
      const all = await get(`/workflows/${w.id}/versions`);
      fill(list, h('ol', {class: 'version-list'}, all.map((v) => h('li', {'data-version': v.version},
        h('strong', {}, v.version), ' ', pill(v.status, TONE[v.status] || 'gray'),
        v.parent_id !== null ? h('span', {class: 'sub'}, ` from #${v.parent_id}`) : null,
        h('div', {class: 'sub'}, `#${v.id} · ${v.updated_at}`)))),
      h('button', {type: 'button', class: 'btn small', 'data-action': 'new-version', onclick: async () => {
        try {
          const made = await post(`/workflows/${w.id}/versions`, {});
          toast(`${made.name} ${made.version} created from ${w.version}`, 'ok');
        } catch (err) {
          toast(err.message, 'error');
        }
        reload();
      }}, `New version from ${w.version}`));
    } catch (err) {
      fill(list, h('p', {class: 'stage-error'}, err.message));
    }
  });
  return details;
}

function workflowForm(reload) {
  const name = h('input', {name: 'name', required: true, placeholder: '测试工作流'});
  const version = h('input', {name: 'version', placeholder: '1.0.0'});
  const scenario = h('input', {name: 'scenario', placeholder: '图像处理'});
  const description = h('input', {name: 'description'});
  const config = h('textarea', {name: 'workflow_config', rows: 5, class: 'mono', spellcheck: 'false'},
    JSON.stringify({nodes: []}, null, 2));
  const slot = h('div', {class: 'form-error'});
  const form = h('form', {class: 'stack', 'data-form': 'workflow'},
    h('div', {class: 'grid2'}, field('Name', name), field('Version', version), field('Scenario', scenario),
      field('Description', description)),
    field('Workflow config (JSON)', config), slot,
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, 'Create workflow')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const body = {name: name.value.trim(), workflow_config: parseJsonField(config)};
        for (const [k, input] of [['version', version], ['scenario', scenario], ['description', description]]) {
          if (input.value.trim()) body[k] = input.value.trim();
        }
        await post('/workflows/', body);
        fill(slot);
        toast('Workflow created', 'ok');
        reload();
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}
