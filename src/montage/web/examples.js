// The contracts' own examples, as one-click submissions for a first run.
import {post} from './api.js';

export const SEED_DOC = `# 深度学习入门

## 基础概念
深度学习是机器学习的一个分支...

## 神经网络
神经网络的基本结构包括...`;

export const EXAMPLES = [
  {
    id: 'doc-video',
    title: 'Markdown → narrated video',
    summary: '深度学习入门 — the Rematrix contract\'s example: stops for your approval at PLAN, NARRATION and PAGES.',
    body: {content: SEED_DOC, style: 'Google 风格', language: 'zh-CN'},
    async submit() {
      const {jobId} = await post('/jobs', this.body);
      await post(`/jobs/${jobId}/run`);
      return jobId;
    },
  },
  {
    id: 'media-a',
    title: 'Motion + music (use case A)',
    summary: 'A fighter performs a fast combo, upbeat electronic music — a BVH skeleton and a WAV, 8 s.',
    body: {prompt: 'A fighter performs a fast combo, upbeat electronic music',
      options: {targets: ['motion', 'music'], duration_s: 8}},
    async submit() {
      return (await post('/api/jobs', this.body)).job_id;
    },
  },
  {
    id: 'media-b',
    title: 'Scene + motion + music (use case B)',
    summary: 'A cyberpunk dojo in heavy rain, samurai training, epic music — 12 s, no video export.',
    body: {prompt: 'A cyberpunk dojo in heavy rain, samurai training, epic music',
      options: {targets: ['scene', 'motion', 'music'], duration_s: 12, export_video: false}},
    async submit() {
      return (await post('/api/jobs', this.body)).job_id;
    },
  },
];
