// settings.js - GET/PUT /api/settings (ingest password, write-only
// provider keys shown masked, T_sync, result retention),
// POST /api/settings/clear_media_cache and GET /api/login_history.
import { api, requireLogin } from './api.js';
import { $, el, toast, toastError, pulse, fmtDate, initTopbar } from './ui.js';

let loaded = {};

// provider_keys: {provider: {configured, masked, environment}}; never the key.
function keyField([provider, k]) {
	const id = 'key-' + provider;
	const state = k.configured ? 'set: ' + k.masked :
	    k.environment ? 'from the server environment' : 'not set';
	return el('div', {},
	    el('label', { for: id }, provider, ' ', el('span', { class: 'hint', text: state })),
	    el('input', { id, type: 'password', autocomplete: 'off', spellcheck: 'false',
		'data-provider': provider,
		placeholder: k.configured ? 'Enter a new key to replace ' + k.masked : 'Paste the API key' }));
}

function bindRange(id, outId, unit) {
	const r = $('#' + id);
	const show = () => { $('#' + outId).textContent = r.value + ' ' + unit; };
	r.addEventListener('input', show);
	return show;
}

async function load() {
	try {
		loaded = await api('GET', 'settings');
	} catch (e) {
		toastError(e, 'Loading the settings failed');
		return;
	}
	$('#ingest_password').value = loaded.ingest_password || '';
	// The local provider runs on this server without a key (SPEC.md §3).
	const keys = Object.entries(loaded.provider_keys || {}).filter(([id]) => id !== 'local');
	$('#keys').replaceChildren(...(keys.length ? keys.map(keyField) :
	    [el('p', { class: 'hint', text: 'No provider needs a key.' })]));
	$('#result_ttl_days').value = loaded.result_ttl_days ?? 3;
	$('#t_sync_response_sec').value = loaded.t_sync_response_sec ?? 50;
	for (const f of ['result_ttl_days', 't_sync_response_sec'])
		$('#' + f).dispatchEvent(new Event('input'));
}

async function save(ev) {
	ev.preventDefault();
	const pw = $('#ingest_password');
	if (!pw.value) {
		pw.setAttribute('aria-invalid', 'true');
		pw.focus();
		toast('The ingest password cannot be empty', 'error');
		return;
	}
	pw.removeAttribute('aria-invalid');
	const body = {
		result_ttl_days: Number($('#result_ttl_days').value),
		t_sync_response_sec: Number($('#t_sync_response_sec').value),
	};
	if (pw.value !== loaded.ingest_password)
		body.ingest_password = pw.value;
	const keys = {};
	for (const i of document.querySelectorAll('#keys input'))
		if (i.value.trim())
			keys[i.dataset.provider] = i.value.trim();
	if (Object.keys(keys).length)
		body.provider_keys = keys;
	pulse($('#settings'));
	$('#save').disabled = true;
	try {
		await api('PUT', 'settings', body);
		toast('Settings saved', 'success');
		await load();
	} catch (e) {
		toastError(e, 'Not saved');
	} finally {
		$('#save').disabled = false;
	}
}

async function clearCache() {
	if (!confirm('Delete every stored processed photo now? This cannot be undone.'))
		return;
	try {
		const r = await api('POST', 'settings/clear_media_cache', {});
		const n = r.deleted_results;
		toast('Media cache cleared: ' + n + (n === 1 ? ' result' : ' results') + ' deleted', 'success');
	} catch (e) {
		toastError(e, 'Clearing failed');
	}
}

// "Chrome 156 · Linux" out of a user agent; the whole string is the title.
function shortAgent(ua) {
	if (!ua)
		return '—';
	const b = ua.match(/(Edg|OPR|Firefox|HeadlessChrome|Chrome|Version)\/(\d+)/);
	const os = ua.match(/Windows|Android|iPhone|iPad|Mac OS X|Linux/);
	const name = b ? (b[1] === 'Version' ? 'Safari' : b[1] === 'Edg' ? 'Edge' : b[1]) + ' ' + b[2] : '';
	return [name, os ? os[0] : ''].filter(Boolean).join(' · ') || ua.slice(0, 40);
}

async function loadHistory() {
	const tbody = $('#history tbody');
	try {
		const r = await api('GET', 'login_history?limit=20');
		tbody.replaceChildren(...(r.data || []).map((h) => el('tr', {},
		    el('td', { text: fmtDate(h.time || h.created_at) }),
		    el('td', { text: h.username || '—' }),
		    el('td', { class: h.success ? 'ok' : 'bad',
			text: h.success ? 'success' : h.throttled ? 'throttled' : 'failed' }),
		    el('td', { text: h.ip || '—' }),
		    el('td', { text: shortAgent(h.user_agent), title: h.user_agent || '' }))));
	} catch (e) {
		toastError(e, 'Loading the login history failed');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		bindRange('result_ttl_days', 'ttl-out', 'd');
		bindRange('t_sync_response_sec', 'tsync-out', 's');
		$('#show-pw').addEventListener('click', (ev) => {
			const pw = $('#ingest_password');
			const show = pw.type === 'password';
			pw.type = show ? 'text' : 'password';
			ev.currentTarget.textContent = show ? 'Hide' : 'Show';
			ev.currentTarget.setAttribute('aria-pressed', String(show));
		});
		$('#settings').addEventListener('submit', save);
		$('#clear-cache').addEventListener('click', clearCache);
		load();
		loadHistory();
	});
}
