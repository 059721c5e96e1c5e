// job-webhooks.js - the job page's "Webhook deliveries" table: each event
// of the job sent to its slot's webhook (GET /api/jobs/{id} .webhooks,
// sql/015) and every delivery attempt: when, HTTP status or error, time.
import { $, el, fmtMs, fmtDate } from './ui.js';

function attemptRow(w, d) {
	const ok = d.http_status >= 200 && d.http_status < 300;
	const outcome = d.finished_at === null && d.error === null ? 'sending' : ok ? 'delivered' : 'failed';
	return el('tr', { 'data-event': w.id, 'data-attempt': d.attempt, 'data-outcome': outcome },
	    el('td', { text: w.type }),
	    el('td', { class: 'num', text: String(d.attempt) }),
	    el('td', { text: fmtDate(d.started_at) }),
	    el('td', {}, el('span', { class: 'state ' + (ok ? 'succeeded' : outcome === 'sending' ? 'running' : 'failed'),
		text: outcome })),
	    el('td', { text: d.http_status === null ? '—' : String(d.http_status) }),
	    el('td', { class: 'job-error', text: d.error || '' }),
	    el('td', { class: 'num', text: d.duration_ms === null ? '—' : fmtMs(d.duration_ms) }));
}

function eventLine(w) {
	const what = w.state === 'pending' ? 'pending, next try ' + fmtDate(w.next_at) : w.state;
	return el('li', { 'data-event': w.id, 'data-state': w.state },
	    el('code', { text: w.type }), ' ', el('span', { class: 'state ' +
		(w.state === 'delivered' ? 'succeeded' : w.state === 'abandoned' ? 'failed' : 'running'), text: what }),
	    ' · event id ', el('code', { text: w.id }));
}

// Renders job.webhooks; true while an event still waits for delivery.
export function renderWebhooks(job) {
	const hooks = job.webhooks || [];
	$('#webhooks').hidden = hooks.length === 0;
	$('#webhook-events').replaceChildren(...hooks.map(eventLine));
	$('#webhook-attempts tbody').replaceChildren(...hooks.flatMap(w => w.deliveries.map(d => attemptRow(w, d))));
	return hooks.some(w => w.state === 'pending');
}
