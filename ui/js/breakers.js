// breakers.js - the Settings page's "Provider circuit breakers" section:
// per provider the state of each model's circuit (closed, open until a
// time, or half-open with one probe out) and the settings that trip it,
// from GET /api/settings provider_breaker, saved with PUT /api/settings
// {provider_breaker}.  A value equal to the default is sent as null, so it
// keeps following the default.  Applied at once, without a restart.
import { api, requireLogin } from './api.js';
import { $, el, toast, toastError, pulse } from './ui.js';

const FIELDS = [
	['failures', 'Failures in a row', 1, 1000, '5xx, 429, network, timeout'],
	['p95_ms', 'p95 call time, ms', 0, 3600000, '0 = off'],
	['window', 'Over the last calls', 1, 1000, ''],
	['cooldown_sec', 'Cool-down, s', 1, 86400, ''],
	['max_cooldown_sec', 'Longest cool-down, s', 1, 86400, 'a failed probe doubles it'],
];

let defaults = {};

function circuitText(c) {
	const model = c.model === '' ? 'default model' : c.model;
	if (c.state === 'open')
		return `${model}: open until ${new Date(c.open_until).toLocaleTimeString()}` +
		    ` (${c.reason}); photos get their fallback at once`;
	if (c.state === 'half_open')
		return `${model}: half-open, one probe photo out`;
	return `${model}: closed`;
}

function providerFields([provider, b]) {
	defaults[provider] = b.defaults || {};
	const circuits = b.circuits || [];
	return el('fieldset', { class: 'breaker-provider' },
	    el('legend', { text: provider }),
	    el('ul', { class: 'breaker-circuits', id: `breaker-${provider}-circuits` },
		...(circuits.length ? circuits.map((c) => el('li', {
		    class: `circuit-${c.state}`, 'data-state': c.state, text: circuitText(c) })) :
		    [el('li', { class: 'circuit-closed', 'data-state': 'closed',
			text: 'closed: no failures seen' })])),
	    el('div', { class: 'quota-row' }, ...FIELDS.map(([name, label, min, max, note]) => {
		const id = `breaker-${provider}-${name}`;
		return el('div', {},
		    el('label', { for: id }, label, ' ',
			el('span', { class: 'hint',
			    text: `(default ${defaults[provider][name]}${note ? '; ' + note : ''})` })),
		    el('input', { id, type: 'number', min: String(min), max: String(max), step: '1',
			inputmode: 'numeric', required: 'true', value: String(b[name]),
			'data-provider': provider, 'data-name': name }));
	    })));
}

async function load() {
	let s;
	try {
		s = await api('GET', 'settings');
	} catch (e) {
		toastError(e, 'Loading the circuit breakers failed');
		return;
	}
	const b = Object.entries(s.provider_breaker || {});
	$('#breaker-list').replaceChildren(...(b.length ? b.map(providerFields) :
	    [el('p', { class: 'hint', text: 'No providers.' })]));
}

function collect() {
	const out = {};
	for (const i of document.querySelectorAll('#breaker-list input')) {
		const v = Number(i.value);
		if (i.value.trim() === '' || !Number.isInteger(v) || v < Number(i.min) || v > Number(i.max)) {
			i.setAttribute('aria-invalid', 'true');
			i.focus();
			toast(`${i.dataset.provider}: a whole number from ${i.min} to ${i.max}`, 'error');
			return null;
		}
		i.removeAttribute('aria-invalid');
		const p = i.dataset.provider;
		out[p] = out[p] || {};
		out[p][i.dataset.name] = v === defaults[p][i.dataset.name] ? null : v;
	}
	return out;
}

async function save(ev) {
	ev.preventDefault();
	const breakers = collect();
	if (!breakers)
		return;
	pulse($('#breakers'));
	$('#save-breakers').disabled = true;
	try {
		await api('PUT', 'settings', { provider_breaker: breakers });
		toast('Circuit breakers saved: applied now', 'success');
		await load();
	} catch (e) {
		toastError(e, 'Circuit breakers not saved');
	} finally {
		$('#save-breakers').disabled = false;
	}
}

if (requireLogin()) {
	$('#breakers').addEventListener('submit', save);
	load();
}
