// Talking to the server: JSON requests, every facade's error shape read into one, SSE streams.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The name of the field the server complained about, if it said. */
  get field() {
    return this.details.field || null;
  }
}

/** One facade's error body → ApiError. Each contract words errors its own way. */
function readError(status, body) {
  if (body && typeof body === 'object') {
    const e = body.error;
    if (e && typeof e === 'object') return new ApiError(status, e.code, e.message, e.details || {});
    if (typeof e === 'string' && body.code) {  // task manager: {error, message, code, details}
      return new ApiError(status, body.code, body.message || e, body.details || {});
    }
    if (typeof e === 'string') {  // video API: {error, field?, allowed?}
      return new ApiError(status, null, e, {field: body.field, allowed: body.allowed});
    }
    if (Array.isArray(body.detail)) {  // FastAPI: [{loc, msg, type}]
      const first = body.detail[0] || {};
      const field = (first.loc || []).filter((p) => p !== 'body').join('.');
      const message = body.detail.map((d) => `${(d.loc || []).filter((p) => p !== 'body').join('.')}: ${d.msg}`);
      return new ApiError(status, first.type || 'VALIDATION_ERROR', message.join('; '), {field});
    }
    if (typeof body.detail === 'string') return new ApiError(status, null, body.detail);
  }
  return new ApiError(status, null, typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`);
}

// The API key this dashboard uses when the server requires one (docs/auth.md); absent in dev mode.
const KEY_ITEM = 'montage.apiKey';
export const apiKey = () => localStorage.getItem(KEY_ITEM) || '';
export function setApiKey(value) {
  if (value) localStorage.setItem(KEY_ITEM, value.trim());
  else localStorage.removeItem(KEY_ITEM);
}

/** `url` with the key as `access_token`, for what cannot send headers (EventSource, <img>, <video>). */
export function withKey(url) {
  const key = apiKey();
  if (!key) return url;
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(key)}`;
}

/**
 * fetch + JSON. `body` may be an object (sent as JSON) or FormData. Throws ApiError
 * with the server's code and message for any answer that is not 2xx.
 */
export async function api(method, path, body, headers = {}) {
  const auth = apiKey() ? {authorization: `Bearer ${apiKey()}`} : {};
  const init = {method, headers: {accept: 'application/json', ...auth, ...headers}};
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `The server did not answer (${err.message}).`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const error = readError(res.status, data);
    if (res.status === 401) {  // keys are on: say where the dashboard takes one
      error.message = `${error.message} — this server needs an API key: use the "API key" button in the menu.`;
    }
    throw error;
  }
  return data;
}

export const get = (path, headers) => api('GET', path, undefined, headers);
export const post = (path, body, headers) => api('POST', path, body, headers);

/**
 * Follow a server-sent event stream. `handlers` maps event names to functions of the parsed
 * data and the event id. Resumes with Last-Event-ID after a dropped connection (the browser
 * sends it); `onState` hears 'live' / 'reconnecting'. Returns a function that closes it.
 */
export function follow(url, handlers, onState = () => {}) {
  const source = new EventSource(withKey(url));
  source.onopen = () => onState('live');
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      handler(data, Number(event.lastEventId) || 0);
    });
  }
  return () => source.close();
}
