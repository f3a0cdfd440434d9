// The approval panel: what the waiting stage produced, rendered for review, and the decision
// (approve with an optional comment; reject with a required reason — the stage runs again with it).
import {post, withKey} from './api.js';
import {errorBox, fill, h, localTime, toast} from './dom.js';
import {jsonView} from './markdown.js';
import {artifactCard, fileUrl} from './preview.js';

/** The newest artifact of a role in a stage (a rerun writes plan.v2.json next to plan.json). */
const newest = (list, role) => list.filter((a) => a.role === role).at(-1);

async function fetchJson(a) {
  const res = await fetch(fileUrl(a));
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${a.path}`);
  return res.json();
}

function planView(plan) {
  return h('div', {class: 'review-plan'},
    h('h3', {}, plan.title || 'Plan'),
    h('p', {class: 'muted'}, [plan.style && `Style: ${plan.style}`, plan.language && `Language: ${plan.language}`,
      plan.target_duration_s && `About ${Math.round(plan.target_duration_s)} s`].filter(Boolean).join(' · ')),
    h('ol', {class: 'sections'}, (plan.sections || []).map((s) => h('li', {},
      h('strong', {}, s.heading || `Section ${s.index}`),
      s.estimated_seconds ? h('span', {class: 'muted small'}, ` · ${s.estimated_seconds} s`) : null,
      h('ul', {}, (s.key_points || []).map((p) => h('li', {}, p)))))),
    (plan.warnings || []).length ? h('p', {class: 'warn'}, `Warnings: ${plan.warnings.join('; ')}`) : null,
    plan.feedback ? h('p', {class: 'muted'}, `Made with your feedback: “${plan.feedback}”`) : null,
    h('details', {}, h('summary', {}, 'The plan as JSON'), jsonView(plan)));
}

function narrationView(narration, job) {
  return h('div', {class: 'review-narration'},
    h('p', {class: 'muted'}, `${narration.voice ? `Voice ${narration.engine} ${narration.voice}` : ''}`
      + ` · ${Math.round(narration.total_duration_s || 0)} s in all`),
    h('ol', {class: 'scripts'}, (narration.slides || []).map((s) => h('li', {},
      h('strong', {}, s.title || `Slide ${s.index}`), h('span', {class: 'muted small'}, ` · ${s.duration_s} s`),
      h('p', {lang: narration.language || undefined}, s.script),
      s.audio ? h('audio', {controls: true, preload: 'none', src: withKey(`/assets/${job.id}/${s.audio}`),
        'aria-label': `Narration of slide ${s.index}`}) : null))),
    narration.feedback ? h('p', {class: 'muted'}, `Made with your feedback: “${narration.feedback}”`) : null);
}

function pagesView(pages, stageFiles) {
  const byPath = new Map(stageFiles.map((a) => [a.path, a]));
  return h('ol', {class: 'thumbs'}, (pages.slides || []).map((s) => {
    const a = byPath.get(s.image);
    const src = a ? fileUrl(a) : null;
    return h('li', {},
      src ? h('a', {href: src, target: '_blank', rel: 'noopener'},
        h('img', {src, alt: `Slide ${s.index}: ${s.title || ''}`, loading: 'lazy'})) : null,
      h('span', {class: 'small'}, `${s.index}. ${s.title || ''}`));
  }));
}

/** Role of the file that best shows a stage's work → how to render it. */
const REVIEWERS = [
  ['plan', (data) => planView(data)],
  ['narration', (data, job) => narrationView(data, job)],
  ['pages', (data, job, files) => pagesView(data, files)],
];

function reviewBody(job, stageFiles) {
  for (const [role, view] of REVIEWERS) {
    const file = newest(stageFiles, role);
    if (!file) continue;
    const box = h('div', {class: 'review', 'data-review': role}, h('p', {class: 'muted'}, 'loading…'));
    fetchJson(file).then((data) => fill(box, view(data, job, stageFiles)))
      .catch((err) => fill(box, errorBox({message: err.message}, 'Cannot load')));
    return box;
  }
  if (!stageFiles.length) return h('p', {class: 'muted'}, 'This stage wrote no files; its log is below.');
  return h('div', {class: 'artifact-grid'}, stageFiles.map((a) => artifactCard(a, stageFiles)));
}

function decisionForms(job, stage, onDecided) {
  const approveError = h('div');
  const rejectError = h('div');
  const comment = h('textarea', {id: 'approve-comment', name: 'comment', rows: 2, maxlength: 10000});
  const reason = h('textarea', {id: 'reject-reason', name: 'reason', rows: 2, maxlength: 10000, required: true,
    'aria-describedby': 'reject-hint'});
  const send = async (form, action, body, errorSlot) => {
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await post(`/api/v1/jobs/${job.id}/${action}`, body);
      toast(action === 'approve' ? `${stage} approved` : `${stage} rejected: it runs again`, 'ok');
      onDecided();
    } catch (err) {
      fill(errorSlot, errorBox(err, `Could not ${action}`));
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  const approve = h('form', {class: 'decide approve', 'aria-label': `Approve ${stage}`},
    h('label', {for: 'approve-comment'}, 'Comment ', h('span', {class: 'muted'}, '(optional)')), comment,
    h('button', {type: 'submit', class: 'btn success', 'data-action': 'approve'}, `Approve ${stage}`), approveError);
  approve.addEventListener('submit', (e) => {
    e.preventDefault();
    send(approve, 'approve', {stage, comment: comment.value.trim() || null}, approveError);
  });
  const reject = h('form', {class: 'decide reject', 'aria-label': `Reject ${stage}`, novalidate: true},
    h('label', {for: 'reject-reason'}, 'Reason ', h('span', {class: 'muted'}, '(required)')), reason,
    h('p', {id: 'reject-hint', class: 'hint small'}, 'Say what to change: the stage runs again with this as feedback.'),
    h('button', {type: 'submit', class: 'btn danger', 'data-action': 'reject'}, `Reject ${stage}`), rejectError);
  reject.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      reason.setAttribute('aria-invalid', 'true');
      fill(rejectError, h('p', {class: 'field-error', role: 'alert'}, 'A reason is required to reject.'));
      reason.focus();
      return;
    }
    reason.removeAttribute('aria-invalid');
    send(reject, 'reject', {stage, reason: reason.value.trim()}, rejectError);
  });
  return h('div', {class: 'decisions'}, approve, reject);
}

/** The panel for a job waiting at `job.stage`. */
export function approvalPanel(job, artifacts, approvals, onDecided) {
  const stage = job.stage;
  const stageFiles = artifacts.filter((a) => a.stage === stage);
  const earlier = approvals.filter((a) => a.stage === stage);
  return h('section', {class: 'panel approval', 'aria-labelledby': 'approval-title', 'data-stage': stage},
    h('h2', {id: 'approval-title'}, `Waiting for your approval: ${stage}`),
    h('p', {class: 'muted'}, 'Review what this stage produced. Approve to go on, or reject with a reason to have it made again.'),
    earlier.length ? h('ul', {class: 'history small'}, earlier.map((a) => h('li', {},
      h('strong', {}, a.decision === 'REJECTED' ? 'Rejected' : 'Approved'), ` ${localTime(a.created_at)}`,
      a.reason ? ` — “${a.reason}”` : '', a.comment ? ` (${a.comment})` : ''))) : null,
    reviewBody(job, stageFiles),
    decisionForms(job, stage, onDecided));
}
