// slots.js - the main page: GET /api/slots, one row per slot with its
// name (link to the slot page), state, and ingest URL with Copy (and a
// warning when that URL is a loopback address the booth cannot reach).
import { api, requireLogin } from './api.js';
import { $, el, copyField, initTopbar, toastError } from './ui.js';
import { ingestUrl, loopbackWarning } from './ingest-url.js';

function slotRow(s) {
	const title = s.name || s.id;
	const meta = s.is_configured ?
	    el('span', { class: 'badge', text: (s.provider_id || '') + ' · ' + (s.operation_id || '') }) :
	    el('span', { class: 'badge free', text: 'free' });
	return el('li', { class: 'slot-item', 'data-slot': s.id },
	    el('div', {},
		el('a', { class: 'slot-name', href: 'slot.html?id=' + encodeURIComponent(s.id), text: title }),
		el('span', { class: 'slot-meta' }, s.name ? s.id + ' ' : '', meta)),
	    copyField(ingestUrl(s), 'ingest URL of ' + title));
}

function applyFilter() {
	const q = $('#filter').value.trim().toLowerCase();
	for (const li of document.querySelectorAll('.slot-item'))
		li.hidden = q !== '' && !li.textContent.toLowerCase().includes(q);
}

async function load() {
	const list = $('#slot-list');
	try {
		const r = await api('GET', 'slots');
		list.replaceChildren(...r.data.map(slotRow));
		$('#url-warning').replaceChildren(r.data.length ? loopbackWarning(ingestUrl(r.data[0])) || '' : '');
		if (!r.data.length)
			list.append(el('li', { class: 'empty', text: 'No slots: run pbctl init.' }));
	} catch (e) {
		toastError(e, 'Loading the slots failed');
	} finally {
		list.setAttribute('aria-busy', 'false');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		$('#filter').addEventListener('input', applyFilter);
		load();
	});
}
