// gallery.js - the live gallery: GET /api/gallery pages (cursor, "Load
// more"), filters by slot, day and source, and one long-poll at a time
// (GET /api/gallery/wait) that brings new results within a second or two.
// Thumbnails and results are immutable, so the browser keeps them
// (imageUrl(..., true)); the lightbox is lightbox.js, sharing share-panel.js.
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toastError, fmtDate, initTopbar } from './ui.js';
import { openLightbox } from './lightbox.js';
import { initShares } from './share-panel.js';

const PAGE = 48;
const state = { items: [], next: null, newest: null, gen: 0, waiting: null };

// The query of the current filters; the day is the browser's local day.
function filters() {
	const q = new URLSearchParams();
	const slot = $('#slot-filter').value, kind = $('#kind-filter').value, day = $('#day-filter').value;
	if (slot) q.set('slot_id', slot);
	if (kind) q.set('kind', kind);
	if (day) {
		const from = new Date(day + 'T00:00:00');
		const to = new Date(from);
		to.setDate(to.getDate() + 1);
		q.set('from', from.toISOString());
		q.set('to', to.toISOString());
	}
	return q;
}

// Live only when the newest results can still change: no day, or today.
function isLive() {
	const day = $('#day-filter').value;
	if (!day)
		return true;
	const d = new Date(), pad = (n) => String(n).padStart(2, '0');
	return day === d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
}

const label = (it) => it.kind === 'test' ? 'Test' : 'Booth';

function figure(it) {
	const when = fmtDate(it.finished_at);
	const img = el('img', { alt: label(it) + ' photo of ' + (it.slot_name || it.slot_id) + ', ' + when,
	    width: String(it.thumbnail_width), height: String(it.thumbnail_height), class: 'fade-in' });
	imageUrl(it.thumbnail_url.replace(/^\/api\//, ''), true).then((u) => { img.src = u; },
	    () => { img.src = 'img/missing.svg'; });
	const open = el('button', { type: 'button', class: 'thumb-btn',
	    'aria-label': 'Open ' + label(it).toLowerCase() + ' photo of ' + when }, img);
	open.addEventListener('click', () => openLightbox(state.items, state.items.indexOf(it)));
	return el('figure', { 'data-job': it.id }, open,
	    el('figcaption', {}, el('span', { class: 'badge ' + (it.kind === 'test' ? 'test' : 'booth'), text: label(it) }),
	        ' ', it.slot_name || it.slot_id, el('br'), el('time', { datetime: it.finished_at, text: when })));
}

function showCount() {
	$('#count-out').textContent = state.items.length + ' photo' + (state.items.length === 1 ? '' : 's') +
	    ' shown' + (state.next ? '' : ' (all)');
	$('#more-btn').hidden = !state.next;
	const box = $('#gallery');
	const empty = $('#gallery .empty');
	if (!state.items.length && !empty)
		box.append(el('p', { class: 'empty', text: 'No processed photos yet.' }));
	else if (state.items.length && empty)
		empty.remove();
}

async function load() {
	const gen = ++state.gen;
	const box = $('#gallery');
	$('#download-btn').hidden = !$('#slot-filter').value;
	box.setAttribute('aria-busy', 'true');
	stopWait();
	try {
		const q = filters();
		q.set('limit', PAGE);
		const r = await api('GET', 'gallery?' + q);
		if (gen !== state.gen)
			return;
		state.items = r.data;
		state.next = r.meta.next_cursor;
		state.newest = r.meta.newest;
		box.replaceChildren(...state.items.map(figure));
		showCount();
		if (isLive())
			waitLoop(gen);
	} catch (e) {
		toastError(e, 'Loading the gallery failed');
	} finally {
		box.setAttribute('aria-busy', 'false');
	}
}

async function more() {
	const btn = $('#more-btn');
	btn.disabled = true;
	try {
		const q = filters();
		q.set('limit', PAGE);
		q.set('before', state.next);
		const gen = state.gen;
		const r = await api('GET', 'gallery?' + q);
		if (gen !== state.gen)
			return;
		state.items.push(...r.data);
		state.next = r.meta.next_cursor;
		$('#gallery').append(...r.data.map(figure));
		showCount();
	} catch (e) {
		toastError(e, 'Loading more failed');
	} finally {
		btn.disabled = false;
	}
}

function stopWait() {
	if (state.waiting)
		state.waiting.abort();
	state.waiting = null;
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// One request open at a time per page; the server answers when something
// new is stored or after 25 s, and a refusal (429) or error backs off.
async function waitLoop(gen) {
	const live = $('#live-state');
	live.textContent = 'Live: new photos appear here.';
	while (gen === state.gen) {
		const ctl = new AbortController();
		state.waiting = ctl;
		try {
			const q = filters();
			q.delete('from');
			q.delete('to');
			q.set('after', state.newest);
			const r = await api('GET', 'gallery/wait?' + q, undefined, { signal: ctl.signal });
			if (gen !== state.gen)
				return;
			if (r.data.length) {
				const fresh = r.data.filter((it) => !state.items.some((o) => o.id === it.id));
				state.items.unshift(...fresh);
				$('#gallery').prepend(...fresh.map(figure));
				showCount();
			}
			state.newest = r.meta.newest;
			live.textContent = 'Live: new photos appear here.';
		} catch (e) {
			if (e.name === 'AbortError' || gen !== state.gen)
				return;
			live.textContent = e.status === 429 ? 'Live updates paused: too many open gallery pages.' :
			    'Live updates paused: reconnecting…';
			await sleep(e.status === 429 ? 1000 * Number(e.retryAfter || 5) : 5000);
		}
	}
}

async function loadSlots() {
	try {
		const r = await api('GET', 'slots');
		const sel = $('#slot-filter');
		for (const s of r.data || [])
			sel.append(el('option', { value: s.id, text: (s.name || s.id) + (s.name ? ' (' + s.id + ')' : '') }));
		const want = new URLSearchParams(location.search).get('slot_id');
		if (want)
			sel.value = want;
	} catch (e) {
		toastError(e, 'Loading the slots failed');
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
		for (const id of ['#slot-filter', '#kind-filter', '#day-filter'])
			$(id).addEventListener('change', load);
		$('#filters').addEventListener('submit', (ev) => ev.preventDefault());
		$('#more-btn').addEventListener('click', more);
		$('#download-btn').addEventListener('click', download);
		await loadSlots();
		initShares(() => $('#slot-filter').value);
		load();
	});
	window.addEventListener('pagehide', stopWait);
}
