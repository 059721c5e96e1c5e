// job.js - one job's page: GET /api/jobs/{id} (state, error, attempts with
// provider status, error, duration and cost; webhook deliveries in
// job-webhooks.js), its result and its original
// photo while they are stored (GET .../result, .../original), Retry or
// Cancel (POST .../retry, .../cancel).  Refreshes while the job runs.
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toastError, fmtMs, fmtCost, fmtDate, initTopbar } from './ui.js';
import { canRetry, canCancel, jobAction } from './jobactions.js';
import { renderWebhooks } from './job-webhooks.js';

const jobId = new URLSearchParams(location.search).get('id') || '';
const REFRESH_MS = 1500;
const HOOK_REFRESH_MS = 5000;	/* a webhook event still being delivered */
let job = null;
let timer = null;
let shownImages = '';
let hooksPending = false;

function fact(term, ...value) {
	return [el('dt', { text: term }), el('dd', {}, ...value)];
}

function attemptRow(a) {
	return el('tr', { 'data-attempt': a.attempt, 'data-outcome': a.outcome || 'running' },
	    el('td', { class: 'num', text: String(a.attempt) }),
	    el('td', { text: fmtDate(a.started_at) }),
	    el('td', {}, el('span', { class: 'state ' + (a.outcome || 'running'),
		text: a.outcome === 'retry' ? 'failed, retried' : a.outcome || 'running' })),
	    el('td', { text: a.provider_status || (a.outcome === 'succeeded' ? 'OK' : '—') }),
	    el('td', { class: 'job-error', text: a.error ? (a.error.message || a.error.code) : '' }),
	    el('td', { class: 'num', text: fmtMs(a.duration_ms) }),
	    el('td', { class: 'num', text: fmtCost(a.cost) }));
}

async function figure(path, caption, id) {
	try {
		return el('figure', { class: 'compare-item' },
		    el('img', { src: await imageUrl(path), alt: caption, id, class: 'fade-in' }),
		    el('figcaption', { text: caption }));
	} catch (e) {
		return el('figure', { class: 'compare-item gone' },
		    el('img', { src: 'img/missing.svg', alt: '', id }),
		    el('figcaption', { text: caption + ': ' + e.message }));
	}
}

async function showImages() {
	const key = (job.original_url ? 'o' : '') + (job.result_url ? 'r' : '');
	if (key === shownImages)
		return;
	shownImages = key;
	const box = $('#job-images');
	const parts = [];
	if (job.original_url)
		parts.push(await figure('jobs/' + enc(job.id) + '/original', 'Original photo', 'original-img'));
	if (job.result_url)
		parts.push(await figure('jobs/' + enc(job.id) + '/result', 'Result', 'result-img'));
	box.replaceChildren(...(parts.length ? parts : [el('p', { class: 'hint',
	    text: 'Nothing stored: originals are deleted 60 s after the job ends, results after the retention of the Settings page.' })]));
}

function render() {
	const err = job.error && job.state !== 'succeeded' ? job.error : null;
	document.title = 'Job ' + job.state + ' · photobridge';
	$('#job-title').textContent = (job.kind === 'test' ? 'Test run' : 'Booth photo') + ' · ' + job.state;
	$('#job-sub').replaceChildren(el('a', { href: 'slot.html?id=' + enc(job.slot_id), text: job.slot_id }),
	    ' · ' + job.provider_id + ' · ' + job.operation_id + ' · ',
	    el('span', { class: 'badge ' + (job.kind === 'test' ? 'test' : 'booth'), text: job.kind === 'test' ? 'Test' : 'Booth' }));
	$('#job-facts').replaceChildren(
	    ...fact('Status', el('span', { class: 'state ' + job.state, id: 'job-state', text: job.state })),
	    ...(err ? fact('Error', el('span', { id: 'job-error', text: err.message || '' }),
		' ', el('code', { text: err.code })) : []),
	    ...fact('Created', fmtDate(job.created_at)),
	    ...fact('Finished', fmtDate(job.finished_at)),
	    ...fact('Duration', fmtMs(job.duration_ms)),
	    ...fact('Attempts', job.attempt + ' of ' + job.max_attempts),
	    ...fact('Cost', fmtCost(job.cost)),
	    ...fact('Job id', el('code', { text: job.id })),
	    ...(job.req_id ? fact('Request id', el('code', { text: job.req_id }), ' (grep req=… in the logs)') : []));
	$('#retry-btn').hidden = !canRetry(job);
	$('#cancel-btn').hidden = !canCancel(job);
	const rows = (job.attempts || []).map(attemptRow);
	$('#attempts tbody').replaceChildren(...(rows.length ? rows :
	    [el('tr', {}, el('td', { colspan: 7, class: 'empty', text: 'No attempt yet: the job is waiting for its turn.' }))]));
	$('#back').href = 'jobs.html?slot_id=' + enc(job.slot_id);
	hooksPending = renderWebhooks(job);
	showImages();
}

async function load() {
	clearTimeout(timer);
	try {
		job = await api('GET', 'jobs/' + enc(jobId));
	} catch (e) {
		$('#job-title').textContent = e.status === 404 || e.status === 403 ? 'Job not available' : 'Job';
		$('#job-sub').textContent = e.status === 404 ? 'There is no job ' + jobId + '.' :
		    e.status === 403 ? 'This job belongs to another operator.' : 'Could not load the job: ' + e.message;
		$('#job-actions').hidden = true;
		if (e.status !== 404 && e.status !== 403)
			toastError(e, 'Loading the job failed');
		return;
	}
	render();
	if (job.state === 'queued' || job.state === 'running')
		timer = setTimeout(load, REFRESH_MS);
	else if (hooksPending)
		timer = setTimeout(load, HOOK_REFRESH_MS);
}

async function act(verb) {
	const btn = verb === 'retry' ? $('#retry-btn') : $('#cancel-btn');
	btn.disabled = true;
	const j = await jobAction(job, verb);
	btn.disabled = false;
	if (j) {
		job = j;
		render();
		load();
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		$('#retry-btn').addEventListener('click', () => act('retry'));
		$('#cancel-btn').addEventListener('click', () => act('cancel'));
		load();
	});
}
