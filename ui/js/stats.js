// stats.js - the Statistics page: one row per slot from
// GET /api/stats/global (a summary since the slot's last reset, the
// all-time count and a per-day series for the chart), Reset through
// POST /api/slots/{id}/reset_stats, and T_sync through /api/settings.
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toast, toastError, pulse, fmtMs, fmtCost, fmtDate, initTopbar } from './ui.js';
import { sparkline } from './chart.js';
import { mediaPath } from './media.js';

const DAYS = 14;
const DAY_MS = 86400000;

// The 14 UTC days ending today, as the from/to of the query.
function range() {
	const today = new Date();
	today.setUTCHours(0, 0, 0, 0);
	const from = new Date(today.getTime() - (DAYS - 1) * DAY_MS);
	const to = new Date(today.getTime() + DAY_MS);
	return 'from=' + from.toISOString().slice(0, 10) + '&to=' + to.toISOString().slice(0, 10);
}

function thumb(s) {
	if (!s.template_media_id)
		return el('span', { class: 'thumb none', 'aria-hidden': 'true' });
	const img = el('img', { class: 'thumb', alt: 'Template of ' + (s.name || s.slot_id) });
	imageUrl(mediaPath(s.slot_id, s.template_media_id)).then((u) => { img.src = u; },
	    () => { img.src = 'img/missing.svg'; });
	return img;
}

async function reset(s, btn) {
	if (!confirm('Reset the statistics of ' + (s.name || s.slot_id) + '? The history is kept.'))
		return;
	btn.disabled = true;
	try {
		await api('POST', 'slots/' + enc(s.slot_id) + '/reset_stats', {});
		toast('Statistics of ' + (s.name || s.slot_id) + ' reset', 'success');
		await load();
	} catch (e) {
		toastError(e, 'Reset failed');
		btn.disabled = false;
	}
}

function row(s) {
	const name = s.name || s.slot_id;
	const series = (s.series || []).map((p) => ({ requests: p.requests || 0, ms: p.p95_response_ms || 0 }));
	const btn = el('button', { type: 'button', class: 'btn small', text: 'Reset',
	    'aria-label': 'Reset statistics of ' + name });
	btn.addEventListener('click', () => reset(s, btn));
	const errCls = s.error_pct > 10 ? 'num bad' : 'num';
	// data-label: the column's name on a phone, where rows become cards.
	const td = (label, cls, content) => el('td', { class: cls, 'data-label': label },
	    content instanceof Node ? content : String(content));
	return el('tr', { 'data-slot': s.slot_id },
	    el('td', { class: 'wide' }, el('a', { href: 'slot.html?id=' + enc(s.slot_id), text: name })),
	    el('td', {}, thumb(s)),
	    td('Processed', 'num', s.processings ?? 0),
	    td('Requests', 'num', s.requests ?? 0),
	    td('p95', 'num', s.requests ? fmtMs(s.p95_response_ms) : '—'),
	    td('Errors', errCls, s.requests ? Number(s.error_pct).toFixed(1) + ' %' : '—'),
	    td('Last cost', 'num', fmtCost(s.last_cost)),
	    td('Spent', 'num', fmtCost(s.spent)),
	    td('Reset on', '', fmtDate(s.last_reset_at, false)),
	    el('td', {}, btn),
	    td('All time', 'num', s.processings_total ?? 0),
	    el('td', { class: 'wide' }, sparkline(series)));
}

async function load() {
	const tbody = $('#stats tbody');
	try {
		const r = await api('GET', 'stats/global?group_by=day&page_size=50&sort_by=slot_id&sort_order=asc&' + range());
		const rows = r.data || [];
		tbody.replaceChildren(...rows.map(row));
		if (!rows.length)
			tbody.append(el('tr', {}, el('td', { colspan: 12, class: 'empty', text: 'No slots yet.' })));
	} catch (e) {
		toastError(e, 'Loading the statistics failed');
	}
}

async function loadTsync() {
	try {
		const s = await api('GET', 'settings');
		$('#t_sync_response_sec').value = s.t_sync_response_sec ?? 50;
		$('#t_sync_response_sec').dispatchEvent(new Event('input'));
	} catch (e) {
		toastError(e, 'Loading T_sync failed');
	}
}

async function saveTsync(ev) {
	ev.preventDefault();
	pulse($('#tsync-form'));
	try {
		await api('PUT', 'settings', { t_sync_response_sec: Number($('#t_sync_response_sec').value) });
		toast('Booth wait saved: ' + $('#t_sync_response_sec').value + ' s', 'success');
	} catch (e) {
		toastError(e, 'Not saved');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		const r = $('#t_sync_response_sec');
		r.addEventListener('input', () => { $('#tsync-out').textContent = r.value + ' s'; });
		$('#tsync-form').addEventListener('submit', saveTsync);
		load();
		loadTsync();
	});
}
