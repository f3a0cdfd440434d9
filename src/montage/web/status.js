// How a status looks: one table, following the web-media contract's UI guidance
// (grey 排队中, blue while working with a progress bar, green 已完成, red 失败 with the reason
// and a retry button, grey 已取消). Waiting for a person is amber: the contracts have no colour for it.
import {h} from './dom.js';

export const STATUSES = ['CREATED', 'QUEUED', 'RUNNING', 'WAITING_APPROVAL', 'SUCCEEDED', 'FAILED', 'CANCELED'];
export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export const LOOK = {
  CREATED: {word: '待启动', english: 'Created', tone: 'gray'},
  QUEUED: {word: '排队中', english: 'Queued', tone: 'gray'},
  RUNNING: {word: '运行中', english: 'Running', tone: 'blue'},
  WAITING_APPROVAL: {word: '待审批', english: 'Waiting for approval', tone: 'amber'},
  SUCCEEDED: {word: '已完成', english: 'Succeeded', tone: 'green'},
  FAILED: {word: '失败', english: 'Failed', tone: 'red'},
  CANCELED: {word: '已取消', english: 'Canceled', tone: 'gray'},
};

/** The media contract's words while one of its stages runs. */
const MEDIA_STAGE_WORD = {
  plan: '解析中', scene: '生成场景中', motion: '生成动作中', music: '生成音乐中',
  preview: '合成预览中', export: '导出视频中',
};

export function statusWord(status, pipeline, stage) {
  if (status === 'RUNNING' && pipeline === 'media' && MEDIA_STAGE_WORD[stage]) return MEDIA_STAGE_WORD[stage];
  return (LOOK[status] || {word: status}).word;
}

/** A coloured badge: the contract's word, the core status in its title and data-status. */
export function badge(status, pipeline, stage) {
  const look = LOOK[status] || {english: status, tone: 'gray'};
  return h('span', {class: `badge tone-${look.tone}`, 'data-status': status, title: `${status} — ${look.english}`},
    h('span', {class: 'dot', 'aria-hidden': 'true'}), statusWord(status, pipeline, stage),
    h('span', {class: 'sr-only'}, ` (${look.english})`));
}

export function updateBadge(el, status, pipeline, stage) {
  el.replaceWith(badge(status, pipeline, stage));
}

/** Stage states reuse the job colours. */
export const STAGE_TONE = {
  PENDING: 'gray', RUNNING: 'blue', WAITING_APPROVAL: 'amber', SUCCEEDED: 'green', FAILED: 'red',
  CANCELED: 'gray', SKIPPED: 'gray',
};
