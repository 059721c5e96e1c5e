// jobs.js - the Jobs page: GET /api/jobs filtered by slot, status, kind
// and time range (from/to), newest first, a page at a time; the filters
// live in the page's URL so a link (a slot page's "All jobs") opens them.
// Failed jobs show their provider error and a Retry button; queued or
// running ones a Cancel button.
import { api, requireLogin, enc } from './api.js';
import { $, el, toastError, fmtMs, fmtCost, fmtDate, initTopbar } from './ui.js';
import { canRetry, canCancel, jobAction } from './jobactions.js';

const PAGE_SIZE = 25;
const FILTERS = ['slot_id', 'status', 'kind', 'from', 'to'];
let names = {};		/* slot id -> name */

const params = () => new URLSearchParams(location.search);

// datetime-local (local time) <-> the API's ISO 8601 UTC.
const toIso = (v) => (v ? new Date(v).toISOString() : '');
function toLocal(iso) {
	const d = new Date(iso);
	if (!iso || isNaN(d))
		return '';
	const p = (n) => String(n).padStart(2, '0');
	return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' +
	    p(d.getHours()) + ':' + p(d.getMinutes());
}

function actionButton(job, verb) {
	return el('button', { type: 'button', class: 'btn small' + (verb === 'cancel' ? ' danger' : ''),
	    text: verb === 'retry' ? 'Retry' : 'Cancel', 'data-action': verb,
	    'aria-label': (verb === 'retry' ? 'Retry' : 'Cancel') + ' job of ' + fmtDate(job.created_at),
	    onclick: async (ev) => {
		ev.target.disabled = true;
		if (await jobAction(job, verb))
			load();
		else
			ev.target.disabled = false;
	    } });
}

function row(j) {
	const err = j.error && j.state !== 'succeeded' ? j.error.message || j.error.code : '';
	return el('tr', { 'data-job': j.id, 'data-state': j.state },
	    el('td', {}, el('a', { href: 'job.html?id=' + enc(j.id), text: fmtDate(j.created_at) })),
	    el('td', {}, el('a', { href: 'slot.html?id=' + enc(j.slot_id), text: names[j.slot_id] || j.slot_id })),
	    el('td', {}, el('span', { class: 'badge ' + (j.kind === 'test' ? 'test' : 'booth'),
		text: j.kind === 'test' ? 'Test' : 'Booth' })),
	    el('td', {}, el('span', { class: 'state ' + j.state, text: j.state })),
	    el('td', { class: 'job-error', title: err, text: err }),
	    el('td', { class: 'num', text: j.attempt + ' / ' + j.max_attempts }),
	    el('td', { class: 'num', text: fmtMs(j.duration_ms) }),
	    el('td', { class: 'num', text: fmtCost(j.cost) }),
	    el('td', {}, canRetry(j) ? actionButton(j, 'retry') : canCancel(j) ? actionButton(j, 'cancel') : ''));
}

async function load() {
	const q = params();
	const page = Math.max(1, parseInt(q.get('page') || '1', 10) || 1);
	const call = new URLSearchParams({ page, page_size: PAGE_SIZE });
	for (const f of FILTERS)
		if (q.get(f))
			call.set(f, q.get(f));
	const body = $('#jobs tbody');
	body.setAttribute('aria-busy', 'true');
	try {
		const r = await api('GET', 'jobs?' + call);
		body.replaceChildren(...r.data.map(row));
		if (!r.data.length)
			body.append(el('tr', {}, el('td', { colspan: 9, class: 'empty', text: 'No jobs match these filters.' })));
		const pages = Math.max(1, Math.ceil(r.meta.total / PAGE_SIZE));
		$('#page-info').textContent = 'Page ' + page + ' of ' + pages + ' · ' + r.meta.total + ' jobs';
		$('#prev').disabled = page <= 1;
		$('#next').disabled = page >= pages;
	} catch (e) {
		toastError(e, 'Loading the jobs failed');
	} finally {
		body.setAttribute('aria-busy', 'false');
	}
}

function go(changes) {
	const q = params();
	for (const [k, v] of Object.entries(changes))
		if (v === '' || v === null || v === undefined)
			q.delete(k);
		else
			q.set(k, v);
	history.pushState(null, '', '?' + q);
	showFilters();
	load();
}

function showFilters() {
	const q = params();
	$('#f-slot').value = q.get('slot_id') || '';
	$('#f-status').value = q.get('status') || '';
	$('#f-kind').value = q.get('kind') || '';
	$('#f-from').value = toLocal(q.get('from'));
	$('#f-to').value = toLocal(q.get('to'));
}

async function loadSlots() {
	try {
		const r = await api('GET', 'slots');
		names = Object.fromEntries(r.data.map((s) => [s.id, s.name || s.id]));
		$('#f-slot').append(...r.data.map((s) => el('option', { value: s.id,
		    text: s.id + (s.name ? ' · ' + s.name : '') })));
	} catch (e) {
		toastError(e, 'Loading the slots failed');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', async () => {
		initTopbar();
		$('#job-filters').addEventListener('submit', (ev) => {
			ev.preventDefault();
			go({ slot_id: $('#f-slot').value, status: $('#f-status').value, kind: $('#f-kind').value,
			    from: toIso($('#f-from').value), to: toIso($('#f-to').value), page: '' });
		});
		$('#f-clear').addEventListener('click', (ev) => {
			ev.preventDefault();
			go(Object.fromEntries([...FILTERS, 'page'].map((f) => [f, ''])));
		});
		const step = (d) => go({ page: Math.max(1, (parseInt(params().get('page') || '1', 10) || 1) + d) });
		$('#prev').addEventListener('click', () => step(-1));
		$('#next').addEventListener('click', () => step(1));
		window.addEventListener('popstate', () => { showFilters(); load(); });
		await loadSlots();
		showFilters();
		load();
	});
}
