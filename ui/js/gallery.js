// gallery.js - GET /api/gallery?slot_id= (recent successful results with
// thumbnails), POST /api/gallery/share {minutes} for a public link, and
// the slot's results.tar download.
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toast, toastError, copyField, fmtDate, initTopbar } from './ui.js';

const slotNames = {};

async function loadSlots() {
	try {
		const r = await api('GET', 'slots');
		const sel = $('#slot-filter');
		for (const s of r.data || [])
			slotNames[s.id] = s.name || s.id;
		for (const s of r.data || [])
			sel.append(el('option', { value: s.id, text: (s.name || s.id) + (s.name ? ' (' + s.id + ')' : '') }));
		const want = new URLSearchParams(location.search).get('slot_id');
		if (want)
			sel.value = want;
	} catch (e) {
		toastError(e, 'Loading the slots failed');
	}
}

// The API's "/api/jobs/..." URLs as paths for api().
const apiPath = (url) => url.replace(/^\/?api\//, '');

// A job of the gallery: {id, slot_id, finished_at, result_url, thumbnail_url}.
function item(it) {
	const when = fmtDate(it.finished_at);
	const img = el('img', { alt: 'Result of ' + when, class: 'fade-in' });
	imageUrl(apiPath(it.thumbnail_url || it.result_url)).then((u) => { img.src = u; },
	    () => { img.src = 'img/missing.svg'; });
	const link = el('a', { href: '#', 'aria-label': 'Download the result of ' + when }, img);
	link.addEventListener('click', async (ev) => {
		ev.preventDefault();
		try {
			const u = await imageUrl(apiPath(it.result_url));
			const a = el('a', { href: u, download: 'result-' + it.id });
			document.body.append(a);
			a.click();
			a.remove();
		} catch (e) {
			toastError(e, 'Download failed');
		}
	});
	return el('figure', { 'data-job': it.id }, link,
	    el('figcaption', {}, slotNames[it.slot_id] || it.slot_id, ' · ', when));
}

async function load() {
	const box = $('#gallery');
	const slot = $('#slot-filter').value;
	$('#download-btn').hidden = !slot;
	box.setAttribute('aria-busy', 'true');
	try {
		const r = await api('GET', 'gallery' + (slot ? '?slot_id=' + enc(slot) : ''));
		const items = r.data;
		box.replaceChildren(...items.map(item));
		if (!items.length)
			box.append(el('p', { class: 'empty', text: 'No processed photos yet.' }));
	} catch (e) {
		toastError(e, 'Loading the gallery failed');
	} finally {
		box.setAttribute('aria-busy', 'false');
	}
}

async function share() {
	const body = { minutes: Number($('#share-minutes').value) };
	const slot = $('#slot-filter').value;
	if (slot)
		body.slot_id = slot;
	try {
		const r = await api('POST', 'gallery/share', body);
		const url = new URL(r.url, location.href).href;
		const out = $('#share-out');
		out.replaceChildren(el('label', { text: 'Public link, valid until ' + fmtDate(r.expires_at) }),
		    copyField(url, 'public gallery link'),
		    el('p', {}, el('a', { href: url, target: '_blank', rel: 'noopener', id: 'share-link', text: 'Open the shared gallery' })));
		out.hidden = false;
		toast('Share link created', 'success');
	} catch (e) {
		toastError(e, 'Sharing failed');
	}
}

async function download() {
	const slot = $('#slot-filter').value;
	try {
		const blob = await api('GET', 'slots/' + enc(slot) + '/results.tar', undefined, { blob: true });
		const a = el('a', { href: URL.createObjectURL(blob), download: slot + '-results.tar' });
		document.body.append(a);
		a.click();
		a.remove();
	} catch (e) {
		toastError(e, 'Download failed');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', async () => {
		initTopbar();
		$('#slot-filter').addEventListener('change', load);
		$('#share-btn').addEventListener('click', share);
		$('#download-btn').addEventListener('click', download);
		await loadSlots();
		load();
	});
}
