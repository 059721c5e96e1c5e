// quotas.js - the Settings page's "Provider quotas" section: per provider
// the calls per minute and per day and the jobs run at once, from
// GET /api/settings provider_quotas, saved with PUT /api/settings
// {provider_quotas}.  A value equal to the catalogue's is sent as null, so
// it keeps following configs/providers.json.  jobd and ingestd apply a
// change at once, without a restart.
import { api, requireLogin } from './api.js';
import { $, el, toast, toastError, pulse } from './ui.js';

const FIELDS = [
	['per_minute', 'Calls per minute', 0, 1000000, '0 = unlimited'],
	['per_day', 'Calls per day', 0, 100000000, '0 = unlimited'],
	['max_parallel_jobs', 'Jobs at once', 1, 1000, ''],
];

let defaults = {};

function providerFields([provider, q]) {
	defaults[provider] = q.defaults || {};
	return el('fieldset', { class: 'quota-provider' },
	    el('legend', { text: provider }),
	    el('div', { class: 'quota-row' }, ...FIELDS.map(([name, label, min, max, note]) => {
		const id = `quota-${provider}-${name}`;
		const def = q.defaults ? q.defaults[name] : undefined;
		return el('div', {},
		    el('label', { for: id }, label, ' ',
			el('span', { class: 'hint', text: `(default ${def}${note ? '; ' + note : ''})` })),
		    el('input', { id, type: 'number', min: String(min), max: String(max), step: '1',
			inputmode: 'numeric', required: 'true', value: String(q[name]),
			'data-provider': provider, 'data-name': name }));
	    })));
}

async function load() {
	let s;
	try {
		s = await api('GET', 'settings');
	} catch (e) {
		toastError(e, 'Loading the quotas failed');
		return;
	}
	const q = Object.entries(s.provider_quotas || {});
	$('#quota-list').replaceChildren(...(q.length ? q.map(providerFields) :
	    [el('p', { class: 'hint', text: 'No providers.' })]));
}

function collect() {
	const out = {};
	for (const i of document.querySelectorAll('#quota-list input')) {
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
	const quotas = collect();
	if (!quotas)
		return;
	pulse($('#quotas'));
	$('#save-quotas').disabled = true;
	try {
		await api('PUT', 'settings', { provider_quotas: quotas });
		toast('Quotas saved: applied now', 'success');
		await load();
	} catch (e) {
		toastError(e, 'Quotas not saved');
	} finally {
		$('#save-quotas').disabled = false;
	}
}

if (requireLogin()) {
	$('#quotas').addEventListener('submit', save);
	load();
}
