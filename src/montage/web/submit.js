// Submit a job: Markdown → video (Rematrix /jobs), prompt → media (/api/jobs), or any core
// pipeline (/api/v1/jobs). Video generations and task-manager tasks have their own pages.
import {navigate} from './app.js';
import {get, post} from './api.js';
import {fill, h} from './dom.js';
import {SEED_DOC} from './examples.js';
import {busy, field, parseJsonField, showError} from './forms.js';
import {exampleCards} from './jobs.js';

const FORMS = [
  {id: 'doc-video', label: 'Markdown → video', build: docVideoForm},
  {id: 'media', label: 'Prompt → media', build: mediaForm},
  {id: 'core', label: 'Any pipeline', build: coreForm},
];
const OTHER = [{href: '/ui/videos', label: 'Video generation'}, {href: '/ui/tasks', label: 'Task'}];

export async function render(main, {params}) {
  const current = FORMS.find((f) => f.id === params.form) || FORMS[0];
  fill(main,
    h('div', {class: 'page-head'}, h('h1', {}, 'Submit a job')),
    h('nav', {class: 'tabs', 'aria-label': 'Kind of job'},
      FORMS.map((f) => h('a', {href: `/ui/submit/${f.id}`, 'aria-current': f === current ? 'page' : false}, f.label)),
      OTHER.map((o) => h('a', {href: o.href}, `${o.label} ↗`))),
    h('section', {class: 'panel'}, await current.build()),
    h('section', {class: 'panel', 'aria-labelledby': 'examples-title'},
      h('h2', {id: 'examples-title'}, 'Or run an example from the API contracts'), exampleCards()));
  return null;
}

function submitRow(label) {
  const slot = h('div', {class: 'form-error'});
  return [slot, h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary'}, label))];
}

function docVideoForm() {
  const content = h('textarea', {name: 'content', rows: 12, required: true, spellcheck: 'false',
    placeholder: '# Title\n\n## A section\nSome text…'});
  const file = h('input', {type: 'file', name: 'file', accept: '.md,.markdown,.txt,text/markdown,text/plain'});
  file.addEventListener('change', async () => {
    if (file.files[0]) content.value = await file.files[0].text();
  });
  const style = h('input', {name: 'style', type: 'text', maxlength: 200, placeholder: 'Google 风格'});
  const language = h('select', {name: 'language'},
    [['', 'Detect from the text'], ['zh-CN', '中文（简体） zh-CN'], ['zh-TW', '中文（繁體） zh-TW'],
      ['en-US', 'English (US) en-US'], ['en-GB', 'English (UK) en-GB']].map(([v, t]) => h('option', {value: v}, t)));
  const start = h('input', {type: 'checkbox', name: 'start', checked: true, id: 'doc-start'});
  const [slot, buttons] = submitRow('Create job');
  const form = h('form', {class: 'stack', 'data-form': 'doc-video'},
    h('p', {class: 'muted'}, 'A narrated slide video from a Markdown document. It stops for your approval of the plan, ',
      'the narration and the slides.'),
    field('Markdown file', file, 'Or paste the text below.'),
    field('Markdown', content),
    h('button', {type: 'button', class: 'btn small', onclick: () => { content.value = SEED_DOC; style.value = 'Google 风格'; language.value = 'zh-CN'; }},
      'Fill in the example (深度学习入门)'),
    h('div', {class: 'grid2'}, field('Style', style), field('Language', language)),
    h('label', {class: 'check', for: 'doc-start'}, start, ' Start right away (otherwise it waits as PENDING)'),
    slot, buttons);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const {jobId} = await post('/jobs', {content: content.value, style: style.value.trim() || null,
          language: language.value || null});
        if (start.checked) await post(`/jobs/${jobId}/run`);
        navigate(`/ui/jobs/${jobId}`);
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}

const TARGETS = ['scene', 'motion', 'music', 'preview', 'export'];

function mediaForm() {
  const prompt = h('textarea', {name: 'prompt', rows: 3, required: true, maxlength: 4000,
    placeholder: 'A warrior dashes forward and slashes the enemy, epic orchestral music'});
  const targets = h('fieldset', {class: 'targets'}, h('legend', {}, 'Targets'),
    TARGETS.map((t) => h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'targets', value: t,
      checked: ['scene', 'motion', 'music'].includes(t)}), ` ${t}`)));
  const dur = h('input', {name: 'duration_s', type: 'number', min: 0.1, step: 0.1, value: 8});
  const style = h('input', {name: 'style', type: 'text', maxlength: 200, placeholder: 'cinematic'});
  const mood = h('input', {name: 'mood', type: 'text', maxlength: 200, placeholder: 'epic'});
  const exportVideo = h('input', {type: 'checkbox', name: 'export_video', checked: true, id: 'media-export'});
  const [slot, buttons] = submitRow('Create job');
  const form = h('form', {class: 'stack', 'data-form': 'media'},
    h('p', {class: 'muted'}, 'A scene picture, a skeleton motion, music, and a preview and export video, from a prompt.'),
    field('Prompt', prompt), targets,
    h('div', {class: 'grid3'}, field('Duration (seconds)', dur), field('Style', style), field('Mood', mood)),
    h('label', {class: 'check', for: 'media-export'}, exportVideo, ' Export a video'),
    slot, buttons);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const options = {
      targets: [...form.querySelectorAll('input[name=targets]:checked')].map((i) => i.value),
      duration_s: Number(dur.value), export_video: exportVideo.checked,
    };
    if (style.value.trim()) options.style = style.value.trim();
    if (mood.value.trim()) options.mood = mood.value.trim();
    busy(form, async () => {
      try {
        const {job_id: jobId} = await post('/api/jobs', {prompt: prompt.value, options});
        navigate(`/ui/jobs/${jobId}`);
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}

const INPUT_EXAMPLES = {demo: {text: 'hello', seconds: 1}, steps: {text: 'hello', seconds: 1}, noop: {}};

async function coreForm() {
  const {pipelines} = await get('/api/v1/pipelines');
  const pipeline = h('select', {name: 'pipeline'}, pipelines.map((p) => h('option', {value: p.name}, p.name)));
  const about = h('p', {class: 'hint small', 'aria-live': 'polite'});
  const input = h('textarea', {name: 'input', rows: 6, spellcheck: 'false', class: 'mono'});
  const priority = h('select', {name: 'priority'},
    ['normal', 'low', 'high', 'critical'].map((p) => h('option', {value: p}, p)));
  const timeout = h('input', {name: 'timeout_s', type: 'number', min: 1, step: 1, placeholder: 'none'});
  const schedule = h('input', {name: 'schedule_for', type: 'datetime-local'});
  const start = h('input', {type: 'checkbox', name: 'start', checked: true, id: 'core-start'});
  const describe = () => {
    const p = pipelines.find((x) => x.name === pipeline.value);
    fill(about, p.description, ' Stages: ', p.stages.map((s) => `${s.name}${s.approval ? ' (approval)' : ''}`).join(' → '));
    input.value = JSON.stringify(INPUT_EXAMPLES[p.name] || {}, null, 2);
  };
  pipeline.value = pipelines.some((p) => p.name === 'demo') ? 'demo' : pipelines[0].name;
  pipeline.addEventListener('change', describe);
  describe();
  const [slot, buttons] = submitRow('Submit');
  const form = h('form', {class: 'stack', 'data-form': 'core'},
    h('p', {class: 'muted'}, 'Any pipeline through the core API, with its input as JSON.'),
    field('Pipeline', pipeline), about, field('Input (JSON)', input),
    h('div', {class: 'grid3'}, field('Priority', priority), field('Timeout (seconds)', timeout),
      field('Start no earlier than', schedule)),
    h('label', {class: 'check', for: 'core-start'}, start, ' Start right away'),
    slot, buttons);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const body = {pipeline: pipeline.value, input: parseJsonField(input), priority: priority.value,
          start: start.checked};
        if (timeout.value) body.timeout_s = Number(timeout.value);
        if (schedule.value) body.schedule_for = new Date(schedule.value).toISOString();
        const job = await post('/api/v1/jobs', body);
        navigate(`/ui/jobs/${job.id}`);
      } catch (err) {
        showError(form, slot, err);
      }
    });
  });
  return form;
}
