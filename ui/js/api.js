// api.js - every call of the UI to /api (SPEC.md §7): the Bearer token
// kept in sessionStorage, JSON in and out, errors as ApiError carrying the
// {"error":{code,message,details}} body; a 401 sends the user to login.
// Paths are relative ("api/..."), so no host is ever hard-coded.

const TOKEN_KEY = 'photobridge.token';

export const token = {
	get: () => sessionStorage.getItem(TOKEN_KEY),
	set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
	clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
	constructor(status, code, message, details) {
		super(message);
		this.status = status;
		this.code = code;
		this.details = details || {};
	}
}

// The login page, remembering where to come back to.
export function toLogin(reason) {
	const here = location.pathname.split('/').pop() + location.search;
	const q = new URLSearchParams({ next: here });
	if (reason) q.set('reason', reason);
	location.replace('index.html?' + q);
}

// Pages other than login call this first.
export function requireLogin() {
	if (!token.get()) {
		toLogin();
		return false;
	}
	return true;
}

// api(method, path, body?, {blob, noRedirect, cache}) -> parsed JSON, Blob or null.
// cache: a fetch cache mode; 'default' lets the browser keep immutable images.
export async function api(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	const t = token.get();
	let payload;

	if (t) headers.Authorization = 'Bearer ' + t;
	if (body instanceof FormData) {
		payload = body;
	} else if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		payload = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch('api/' + path, { method, headers, body: payload,
		    cache: opts.cache || 'no-store', signal: opts.signal });
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', 'Network error: the server cannot be reached');
	}
	if (res.status === 401 && !opts.noRedirect) {
		token.clear();
		toLogin('expired');
		throw new ApiError(401, 'unauthorized', 'Your session has ended; please log in again');
	}
	if (res.ok && opts.blob)
		return res.blob();
	if (res.status === 204)
		return null;
	const text = await res.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch (e) {
		data = null;
	}
	if (!res.ok) {
		const err = (data && data.error) || {};
		const e = new ApiError(res.status, err.code || 'http_' + res.status,
		    err.message || res.statusText || 'Server error', err.details);
		e.retryAfter = res.headers.get('Retry-After');
		throw e;
	}
	return data;
}

// An image behind the Bearer token as an object URL for <img src>.
// Gallery images are immutable: cached: true lets the browser keep them.
export async function imageUrl(path, cached = false) {
	const blob = await api('GET', path, undefined, { blob: true, cache: cached ? 'default' : undefined });
	return URL.createObjectURL(blob);
}

export const enc = encodeURIComponent;
