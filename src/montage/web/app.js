// The dashboard's shell: the navigation, and a router from /ui/… addresses to page modules.
//
// To add a page: write a module exporting `render(main, {params, query}) → cleanup?` and add
// one line to PAGES. Pages load on first visit (dynamic import), so the first screen fetches
// only the job list's code.
import {apiKey, setApiKey} from './api.js';
import {fill, h} from './dom.js';

const PAGES = [
  {path: '/ui', nav: 'Jobs', load: () => import('./jobs.js')},
  {path: '/ui/jobs/:id', load: () => import('./job.js'), section: '/ui'},
  {path: '/ui/submit', nav: 'Submit', load: () => import('./submit.js')},
  {path: '/ui/submit/:form', load: () => import('./submit.js'), section: '/ui/submit'},
  {path: '/ui/videos', nav: 'Videos', load: () => import('./videos.js')},
  {path: '/ui/tasks', nav: 'Tasks', load: () => import('./tasks.js')},
  {path: '/ui/servers', nav: 'Servers', load: () => import('./servers.js')},
  {path: '/ui/workflows', nav: 'Workflows', load: () => import('./workflows.js')},
  {path: '/ui/batch', nav: 'Batch', load: () => import('./batch.js')},
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = null;
let firstRoute = true;

function match(pathname) {
  const path = pathname.replace(/\/+$/, '') || '/ui';
  for (const page of PAGES) {
    const names = [];
    const pattern = page.path.replace(/:(\w+)/g, (_, name) => { names.push(name); return '([^/]+)'; });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])]));
      return {page, params};
    }
  }
  return null;
}

function drawNav(current) {
  const links = PAGES.filter((p) => p.nav).map((p) => h('a', {
    href: p.path, 'aria-current': p.path === current ? 'page' : false,
  }, p.nav));
  const key = h('button', {type: 'button', class: 'btn small', title: 'The API key this dashboard sends',
    onclick: () => {
      const value = prompt('montage API key (empty: none, as in dev mode). Kept in this browser.', apiKey());
      if (value !== null) { setApiKey(value); route(); }
    }}, apiKey() ? 'API key ✓' : 'API key');
  fill(nav, links, h('a', {href: '/docs', class: 'external'}, 'API docs'), key);
}

async function route() {
  if (cleanup) {
    try { cleanup(); } catch (err) { console.error(err); }
    cleanup = null;
  }
  const found = match(location.pathname);
  drawNav(found ? (found.page.section || found.page.path) : null);
  closeMenu();
  if (!found) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at this address. ', h('a', {href: '/ui'}, 'Back to jobs')));
    return;
  }
  const query = new URLSearchParams(location.search);
  try {
    const module = await found.page.load();
    main.replaceChildren();
    cleanup = (await module.render(main, {params: found.params, query})) || null;
  } catch (err) {
    console.error(err);
    fill(main, h('h1', {}, 'Something went wrong'), h('p', {class: 'error-box', role: 'alert'}, String(err.message || err)));
  }
  if (!firstRoute) main.focus({preventScroll: true});
  firstRoute = false;
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target) target.scrollIntoView();  // e.g. a job's #files, from the list's Download
}

/** Go to a dashboard address without reloading the page. */
export function navigate(url, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.scrollTo(0, 0);
  return route();
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/ui' || url.pathname.startsWith('/ui/'))
      || url.pathname.startsWith('/ui/static/')) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', route);

const toggle = document.querySelector('.menu-toggle');
function closeMenu() {
  toggle.setAttribute('aria-expanded', 'false');
  nav.classList.remove('open');
}
toggle.addEventListener('click', () => {
  const open = toggle.getAttribute('aria-expanded') !== 'true';
  toggle.setAttribute('aria-expanded', String(open));
  nav.classList.toggle('open', open);
});

route();
