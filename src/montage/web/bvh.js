// BVH motion capture: a parser, forward kinematics, and a skeleton player on a canvas.
// Reads any well-formed BVH (joint names, channel orders and counts as the file says), the way
// montage's Python reader does: a joint's translation is its OFFSET plus its position channels,
// its rotation the product of its rotation channels in file order.
import {h} from './dom.js';

export function parseBvh(text) {
  const tokens = text.split(/\s+/).filter(Boolean);
  let pos = 0;
  const next = () => {
    if (pos >= tokens.length) throw new Error('BVH: unexpected end of file');
    return tokens[pos++];
  };
  const expect = (word) => {
    const token = next();
    if (token.toUpperCase() !== word.toUpperCase()) throw new Error(`BVH: expected ${word}, found ${token}`);
  };
  const numbers = (n) => Array.from({length: n}, () => {
    const v = Number(next());
    if (!Number.isFinite(v)) throw new Error('BVH: bad number');
    return v;
  });
  const joints = [];
  let channelCount = 0;

  function joint(name, parent) {
    expect('{');
    expect('OFFSET');
    const j = {name, parent, offset: numbers(3), channels: [], start: channelCount, end: null};
    joints.push(j);
    const index = joints.length - 1;
    let word = next();
    if (word.toUpperCase() === 'CHANNELS') {
      const count = Number(next());
      for (let i = 0; i < count; i += 1) j.channels.push(next());
      channelCount += count;
      word = next();
    }
    while (word !== '}') {
      if (word.toUpperCase() === 'JOINT') joint(next(), index);
      else if (word.toUpperCase() === 'END') {
        next();
        expect('{');
        expect('OFFSET');
        j.end = numbers(3);
        expect('}');
      } else throw new Error(`BVH: unexpected ${word} in joint ${name}`);
      word = next();
    }
  }

  expect('HIERARCHY');
  expect('ROOT');
  joint(next(), null);
  expect('MOTION');
  expect('Frames:');
  const frames = Number(next());
  expect('Frame');
  expect('Time:');
  const frameTime = Number(next());
  const values = new Float32Array(tokens.length - pos);
  for (let i = 0; pos < tokens.length; i += 1) values[i] = Number(tokens[pos++]);
  if (values.length !== frames * channelCount) {
    throw new Error(`BVH: expected ${frames}×${channelCount} motion values, found ${values.length}`);
  }
  if (!(frameTime > 0)) throw new Error('BVH: frame time must be positive');
  return {joints, frames, frameTime, channelCount, values};
}

function multiply(a, b) {
  const out = new Array(9);
  for (let r = 0; r < 3; r += 1) {
    for (let c = 0; c < 3; c += 1) {
      out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
    }
  }
  return out;
}

function axisRotation(axis, degrees) {
  const t = (degrees * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  if (axis === 'x') return [1, 0, 0, 0, c, -s, 0, s, c];
  if (axis === 'y') return [c, 0, s, 0, 1, 0, -s, 0, c];
  return [c, -s, 0, s, c, 0, 0, 0, 1];
}

const apply = (m, v) => [
  m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
  m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
  m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
];

/**
 * World positions of every joint and end site at one frame: {points: [[x,y,z]…], bones: [[a,b]…]}
 * where a bone joins point a (the parent) to point b.
 */
export function pose(bvh, frame) {
  const base = frame * bvh.channelCount;
  const rot = [];
  const world = [];
  const points = [];
  const pointOf = [];
  const bones = [];
  bvh.joints.forEach((j, i) => {
    const t = [...j.offset];
    let r = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    j.channels.forEach((channel, k) => {
      const value = bvh.values[base + j.start + k];
      const axis = channel[0].toLowerCase();
      if (channel.slice(1).toLowerCase() === 'position') t['xyz'.indexOf(axis)] += value;
      else r = multiply(r, axisRotation(axis, value));
    });
    if (j.parent === null) {
      world[i] = t;
      rot[i] = r;
    } else {
      const p = apply(rot[j.parent], t);
      world[i] = [world[j.parent][0] + p[0], world[j.parent][1] + p[1], world[j.parent][2] + p[2]];
      rot[i] = multiply(rot[j.parent], r);
    }
    pointOf[i] = points.length;
    points.push(world[i]);
    if (j.parent !== null) bones.push([pointOf[j.parent], pointOf[i]]);
    if (j.end) {
      const e = apply(rot[i], j.end);
      points.push([world[i][0] + e[0], world[i][1] + e[1], world[i][2] + e[2]]);
      bones.push([pointOf[i], points.length - 1]);
    }
  });
  return {points, bones};
}

const YAW = (30 * Math.PI) / 180;
const project = ([x, y, z]) => [x * Math.cos(YAW) + z * Math.sin(YAW), y, -x * Math.sin(YAW) + z * Math.cos(YAW)];

/** Bounds of the projected skeleton over (a sample of) every frame, so the view never jumps. */
function bounds(bvh) {
  const box = {minX: Infinity, maxX: -Infinity, minY: Infinity, maxY: -Infinity};
  const step = Math.max(1, Math.floor(bvh.frames / 60));
  for (let f = 0; f < bvh.frames; f += step) {
    for (const p of pose(bvh, f).points) {
      const [x, y] = project(p);
      box.minX = Math.min(box.minX, x);
      box.maxX = Math.max(box.maxX, x);
      box.minY = Math.min(box.minY, y);
      box.maxY = Math.max(box.maxY, y);
    }
  }
  return box;
}

function draw(ctx, bvh, frame, box) {
  const {width, height} = ctx.canvas;
  const pad = 24;
  const scale = Math.min((width - 2 * pad) / (box.maxX - box.minX || 1), (height - 2 * pad) / (box.maxY - box.minY || 1));
  const cx = width / 2 - ((box.minX + box.maxX) / 2) * scale;
  const floor = height - pad;
  const screen = (p) => {
    const [x, y, z] = project(p);
    return [cx + x * scale, floor - (y - box.minY) * scale, z];
  };
  const style = getComputedStyle(ctx.canvas);
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = style.getPropertyValue('--grid').trim() || '#ccc';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad / 2, floor);
  ctx.lineTo(width - pad / 2, floor);
  ctx.stroke();
  const {points, bones} = pose(bvh, frame);
  const s = points.map(screen);
  ctx.lineCap = 'round';
  ctx.strokeStyle = style.getPropertyValue('--bone').trim() || '#2563eb';
  ctx.lineWidth = Math.max(2, scale * 2.2);
  ctx.beginPath();
  for (const [a, b] of bones) {
    ctx.moveTo(s[a][0], s[a][1]);
    ctx.lineTo(s[b][0], s[b][1]);
  }
  ctx.stroke();
  ctx.fillStyle = style.getPropertyValue('--joint').trim() || '#111';
  for (const [x, y] of s) {
    ctx.beginPath();
    ctx.arc(x, y, Math.max(2, scale * 1.6), 0, Math.PI * 2);
    ctx.fill();
  }
}

/**
 * A player for the BVH file at `url`: loads when scrolled into view, animates at the file's
 * frame rate while visible, with play/pause and a frame slider (keyboard: arrows step frames).
 */
export function bvhPlayer(url, label = 'Skeleton animation') {
  const canvas = h('canvas', {width: 480, height: 320, role: 'img', 'aria-label': label, class: 'bvh-canvas'});
  const button = h('button', {type: 'button', class: 'btn small', disabled: true}, 'Pause');
  const slider = h('input', {type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'Frame', disabled: true});
  const info = h('span', {class: 'muted small'}, 'loading…');
  const el = h('div', {class: 'bvh', 'data-bvh': url}, canvas, h('div', {class: 'bvh-controls'}, button, slider, info));
  const reduced = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  let bvh = null;
  let box = null;
  let playing = !reduced;
  let visible = false;
  let raf = 0;
  let started = 0;
  let startFrame = 0;
  const ctx = canvas.getContext('2d');

  const show = (frame) => {
    slider.value = String(frame);
    el.dataset.frame = String(frame);
    draw(ctx, bvh, frame, box);
  };
  const tick = (now) => {
    raf = 0;
    if (!bvh || !playing || !visible || !el.isConnected) return;
    const frame = (startFrame + Math.floor((now - started) / (bvh.frameTime * 1000))) % bvh.frames;
    show(frame);
    raf = requestAnimationFrame(tick);
  };
  const run = () => {
    if (!raf && bvh && playing && visible) {
      started = performance.now();
      startFrame = Number(slider.value);
      raf = requestAnimationFrame(tick);
    }
  };
  button.addEventListener('click', () => {
    playing = !playing;
    button.textContent = playing ? 'Pause' : 'Play';
    if (playing) {
      run();
    } else {
      cancelAnimationFrame(raf);
      raf = 0;
    }
  });
  slider.addEventListener('input', () => {
    startFrame = Number(slider.value);
    started = performance.now();
    if (bvh) show(startFrame);
  });

  async function load() {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bvh = parseBvh(await res.text());
      box = bounds(bvh);
      slider.max = String(Math.max(0, bvh.frames - 1));
      slider.disabled = false;
      button.disabled = false;
      button.textContent = playing ? 'Pause' : 'Play';
      info.textContent = `${bvh.joints.length} joints · ${bvh.frames} frames · ${(1 / bvh.frameTime).toFixed(0)} fps`;
      el.dataset.loaded = 'true';
      el.dataset.joints = String(bvh.joints.length);
      show(0);
      run();
    } catch (err) {
      info.textContent = `Cannot show this motion: ${err.message}`;
      el.dataset.error = err.message;
    }
  }

  const observer = new IntersectionObserver((entries) => {
    visible = entries.some((e) => e.isIntersecting);
    if (visible && !bvh && !el.dataset.error && !el.dataset.loading) {
      el.dataset.loading = 'true';
      load();
    }
    run();
  });
  observer.observe(el);
  return el;
}
