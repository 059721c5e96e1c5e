// spendcaps.js - daily spend caps (issue 16): on the slot page the
// "Daily spend cap" card (the slot's cap, today's spend, Save), on the
// Settings page the providers' caps, on the Statistics page the list of
// capped slots and providers at 80 % or more.
// From GET /api/settings spend_caps (cap_usd, spent_usd, test_usd, ratio
// per slot and provider; the day is the UTC day), saved with PUT
// /api/settings {spend_caps: {slots|providers: {id: usd|null}}}; ingestd applies a
// change to the next photo, without a restart.
import { api, enc, requireLogin } from './api.js';
import { $, el, fmtCost, toast, toastError } from './ui.js';

const WARN = 0.8;
const slot = new URLSearchParams(location.search).get('id');

// 0.8 from the server may read as 0.7999…: whole percents with a tolerance.
const pct = (c) => Math.floor(c.ratio * 100 + 1e-6) + ' %';

// One warning sentence for a cap at WARN or more, else null.
function warning(kind, id, c) {
	if (c.ratio + 1e-9 < WARN)
		return null;
	const reached = c.ratio >= 1;
	return el('p', { class: 'warn', role: 'alert', 'data-scope': kind, 'data-id': id },
	    `${kind === 'slot' ? 'Slot' : 'Provider'} ${id}: ${fmtCost(c.spent_usd)} of its `,
	    `${fmtCost(c.cap_usd)} daily cap spent (${pct(c)}). `,
	    reached ? 'Cap reached: photos get the slot\'s fallback instead of the AI until 00:00 UTC or a higher cap.' :
	    'At 100 % photos get the slot\'s fallback instead of the AI.');
}

async function caps() {
	return (await api('GET', 'settings')).spend_caps || { slots: {}, providers: {} };
}

function showSlot(sc) {
	const c = sc.slots[slot];
	$('#spend-cap').value = c ? String(c.cap_usd) : '';
	$('#spend-cap-status').textContent = c ?
	    `Today (UTC): ${fmtCost(c.spent_usd)} spent of ${fmtCost(c.cap_usd)} (${pct(c)}), ` +
	    `${fmtCost(c.test_usd)} of it by test runs.` : 'No cap: this slot may spend without limit.';
	const w = c ? warning('slot', slot, c) : null;
	$('#spend-cap-warning').replaceChildren(...(w ? [w] : []));
}

async function loadSlot() {
	try {
		// No such slot, or another operator's: slot.js says so; no card.
		await api('GET', 'slots/' + enc(slot));
	} catch (e) {
		if (e.status === 404 || e.status === 403) {
			$('#spend-cap-form').remove();
			return;
		}
	}
	try {
		showSlot(await caps());
	} catch (e) {
		toastError(e, 'Loading the spend cap failed');
	}
}

// An input's cap: a number, null when empty, undefined (and flagged) when invalid.
function capOf(input) {
	const text = input.value.trim();
	const v = Number(text);
	if (text !== '' && (!Number.isFinite(v) || v < 0 || v > 1000000)) {
		input.setAttribute('aria-invalid', 'true');
		input.focus();
		toast('The cap is an amount in USD from 0 to 1000000, or empty for none', 'error');
		return undefined;
	}
	input.removeAttribute('aria-invalid');
	return text === '' ? null : v;
}

async function saveSlot(ev) {
	ev.preventDefault();
	const v = capOf($('#spend-cap'));
	if (v === undefined)
		return;
	const text = v === null ? '' : String(v);
	try {
		await api('PUT', 'settings', { spend_caps: { slots: { [slot]: v } } });
		toast(text === '' ? 'Spend cap removed' : 'Spend cap saved: applied to the next photo', 'success');
		await loadSlot();
	} catch (e) {
		toastError(e, 'Saving the spend cap failed');
	}
}

async function loadOverview() {
	try {
		const sc = await caps();
		const list = [...Object.entries(sc.slots).map(([id, c]) => warning('slot', id, c)),
		    ...Object.entries(sc.providers).map(([id, c]) => warning('provider', id, c))]
		    .filter(Boolean);
		$('#spend-warnings').replaceChildren(...list);
	} catch (e) {
		toastError(e, 'Loading the spend caps failed');
	}
}

async function loadProviders() {
	try {
		const s = await api('GET', 'settings');
		const sc = s.spend_caps || { providers: {} };
		$('#provider-cap-warnings').replaceChildren(...Object.entries(sc.providers)
		    .map(([id, c]) => warning('provider', id, c)).filter(Boolean));
		$('#provider-cap-list').replaceChildren(...Object.keys(s.provider_quotas || {}).map((p) => {
			const c = sc.providers[p];
			const id = 'cap-' + p;
			return el('div', {},
			    el('label', { for: id }, p + ' ', el('span', { class: 'hint',
				text: c ? `(today ${fmtCost(c.spent_usd)}, ${pct(c)})` : '(USD per day)' })),
			    el('input', { id, type: 'number', min: '0', max: '1000000', step: 'any',
				inputmode: 'decimal', value: c ? String(c.cap_usd) : '', 'data-provider': p }));
		}));
	} catch (e) {
		toastError(e, 'Loading the spend caps failed');
	}
}

async function saveProviders(ev) {
	ev.preventDefault();
	const caps = {};
	for (const i of document.querySelectorAll('#provider-cap-list input')) {
		const v = capOf(i);
		if (v === undefined)
			return;
		caps[i.dataset.provider] = v;
	}
	try {
		await api('PUT', 'settings', { spend_caps: { providers: caps } });
		toast('Spend caps saved: applied to the next photo', 'success');
		await loadProviders();
	} catch (e) {
		toastError(e, 'Saving the spend caps failed');
	}
}

if (requireLogin()) {
	if ($('#spend-cap-form') && slot) {
		$('#spend-cap-form').addEventListener('submit', saveSlot);
		loadSlot();
	}
	if ($('#spend-warnings'))
		loadOverview();
	if ($('#provider-caps')) {
		$('#provider-caps').addEventListener('submit', saveProviders);
		loadProviders();
	}
}
