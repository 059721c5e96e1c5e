// slot.js - one slot's page: GET /api/providers and /api/slots/{id}, the
// form generated from the operation's schema, template uploads, a test
// run (POST /api/slots/{id}/test, then GET /api/jobs/{id} until it ends,
// then its result), and Save (PUT /api/slots/{id} with the version read).
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toast, toastError, pulse, copyText, fmtMs, fmtCost, initTopbar } from './ui.js';
import { buildForm } from './schema-form.js';
import { dropZone } from './dropzone.js';
import { mediaPath, templateUpload } from './media.js';

const slotId = new URLSearchParams(location.search).get('id') || '';
const POLL_MS = 1000;

let providers = [];
let slot = null;
let form = null;		/* buildForm() of the current operation */
let testZone = null;

const provider = () => providers.find((p) => p.id === $('#provider').value);
const operation = () => (provider()?.operations || []).find((o) => o.id === $('#operation').value);
const maxBytes = () => (provider()?.ingest?.max_file_size_mb || 20) * 1048576;

// A *_media_id field: a drop zone whose file is uploaded as the slot's
// template at once; the media id goes into the settings on Save.
function mediaField(name, label, required, value) {
	let id = value || '';
	const z = dropZone({ id: 'm-' + name, label, maxBytes: maxBytes(),
	    hint: 'Sent to the AI with every photo of this slot',
	    onFile: async (file) => {
		id = await templateUpload(slotId, file);
		toast(label + ' uploaded', 'success', 2500);
	    },
	    onRemove: () => { id = ''; } });
	if (value)
		imageUrl(mediaPath(slotId, value)).then((u) => z.show(u, label),
		    () => z.show('img/missing.svg', label + ' (no longer stored)'));
	const head = el('span', {}, label,
	    required ? el('span', { class: 'hint', text: ' (required)' }) : '');
	return { node: el('div', {}, el('p', { class: 'label-row' }, head), z.node),
	    read: () => id || undefined, focus: z.node.querySelector('.drop') };
}

function fillProviders() {
	const sel = $('#provider');
	sel.replaceChildren(el('option', { value: '', text: '— choose a provider —' }),
	    ...providers.map((p) => el('option', { value: p.id, text: p.title || p.name || p.id })));
	sel.value = slot.provider_id || '';
}

function fillOperations(keep) {
	const sel = $('#operation');
	const ops = provider()?.operations || [];
	sel.replaceChildren(...ops.map((o) => el('option', { value: o.id, text: o.title || o.name || o.id })));
	sel.disabled = ops.length === 0;
	if (keep && ops.some((o) => o.id === keep))
		sel.value = keep;
}

function renderFields(values) {
	const op = operation();
	$('#op-desc').textContent = op?.description || '';
	const p = provider();
	$('#model-line').textContent = p ? (p.title || p.name) + (p.model ? ' · ' + p.model : '') +
	    (op ? ' · ' + (op.title || op.name) : '') : 'Not configured yet: choose a provider';
	if (!op) {
		form = null;
		$('#fields').replaceChildren();
		return;
	}
	form = buildForm(op.settings_schema || {}, values, mediaField);
	$('#fields').replaceChildren(form.node);
}

// The body of PUT /api/slots/{id}, also sent with a test of unsaved settings.
function draft() {
	return {
		name: $('#name').value.trim(),
		provider_id: $('#provider').value || null,
		operation_id: $('#operation').value || null,
		settings_json: form ? form.read() : {},
		version: slot.version,
	};
}

function markErrors(e) {
	for (const n of document.querySelectorAll('[aria-invalid="true"]'))
		n.removeAttribute('aria-invalid');
	const f = e.details && e.details.field;
	if (!f || !form)
		return;
	const key = String(f).replace(/^\/?(settings_json|settings)[./]/, '').replace(/\//g, '.');
	const w = form.fields[key] || form.fields[key.split('.').pop()];
	const target = w?.focus || (key === 'name' ? $('#name') : null);
	if (target) {
		target.setAttribute('aria-invalid', 'true');
		target.focus();
	}
}

async function save() {
	const btn = $('#save-btn');
	pulse($('#upload-form'));
	btn.disabled = true;
	try {
		const r = await api('PUT', 'slots/' + enc(slotId), draft());
		slot.version = r.version;
		slot.name = $('#name').value.trim();
		$('#slot-title').textContent = slot.name || slotId;
		markErrors({});
		toast('Saved', 'success');
	} catch (e) {
		markErrors(e);
		if (e.status === 409)
			toast('This slot was changed elsewhere: reload the page to see the new settings', 'error', 8000);
		else
			toastError(e, 'Not saved');
	} finally {
		btn.disabled = false;
	}
}

function showResult(url, job, elapsed) {
	const took = job.duration_ms ?? elapsed;
	$('#test-result').replaceChildren(el('p', { class: 'label-row', text: 'Result' }),
	    el('img', { src: url, alt: 'Test result', class: 'fade-in', id: 'result-img' }),
	    el('p', { class: 'hint', id: 'result-meta' }, 'Done in ' + fmtMs(took),
		job.cost !== undefined && job.cost !== null ? ' · cost ' + fmtCost(job.cost) : '',
		' · ', el('a', { href: url, download: 'test-result', text: 'Download' })));
}

async function poll(jobId, started) {
	const state = $('#test-state');
	for (;;) {
		const job = await api('GET', 'jobs/' + enc(jobId));
		const elapsed = Date.now() - started;
		state.textContent = (job.state || 'queued') + ' · ' + fmtMs(elapsed);
		if (job.state === 'succeeded')
			return showResult(await imageUrl('jobs/' + enc(jobId) + '/result'), job, elapsed);
		if (job.state === 'failed' || job.state === 'canceled') {
			const err = job.error || {};
			throw new Error('The test ' + job.state + ': ' + (err.message || err.code || 'no detail'));
		}
		await new Promise((r) => setTimeout(r, POLL_MS));
	}
}

async function runTest() {
	const photo = testZone.file();
	if (!photo) {
		toast('Add a test photo first', 'error');
		$('#test-photo')?.focus();
		return;
	}
	pulse($('#upload-form'));
	const btn = $('#test-btn');
	const body = new FormData();
	// Unsaved settings are tried as they are on the page.
	const d = draft();
	body.append('config', JSON.stringify({ provider_id: d.provider_id, operation_id: d.operation_id,
	    settings_json: d.settings_json }));
	body.append('photo', photo, photo.name);
	btn.disabled = true;
	$('#test-result').replaceChildren();
	$('#test-progress').hidden = false;
	$('#test-state').textContent = 'uploading';
	const started = Date.now();
	try {
		const r = await api('POST', 'slots/' + enc(slotId) + '/test', body);
		await poll(r.job_id, started);
		toast('Test done', 'success');
	} catch (e) {
		markErrors(e);
		toastError(e, 'Test failed');
	} finally {
		btn.disabled = false;
		$('#test-progress').hidden = true;
	}
}

function bindToggle(btn, target) {
	btn.addEventListener('click', () => {
		const on = btn.getAttribute('aria-checked') !== 'true';
		btn.setAttribute('aria-checked', String(on));
		target.hidden = !on;
	});
}

async function load() {
	try {
		const [p, s] = await Promise.all([api('GET', 'providers'), api('GET', 'slots/' + enc(slotId))]);
		providers = p.providers || [];
		slot = s;
	} catch (e) {
		$('#model-line').textContent = e.status === 404 || e.status === 403 ? 'No such slot' : 'Could not load this slot';
		toastError(e, 'Loading the slot failed');
		return;
	}
	document.title = (slot.name || slot.id) + ' · photobridge';
	$('#slot-title').textContent = slot.name || slot.id;
	$('#name').value = slot.name || '';
	$('#ingest-url').value = slot.ingest_url || '';
	fillProviders();
	fillOperations(slot.operation_id);
	renderFields(slot.settings_json || {});
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		testZone = dropZone({ id: 'test-photo', label: 'Test photo',
		    hint: 'Used only for this test; not stored with the slot', maxBytes: 20 * 1048576 });
		$('#test-zone').append(testZone.node);
		bindToggle($('#toggle-first'), $('#test-zone'));
		$('#provider').addEventListener('change', () => {
			fillOperations();
			renderFields({});
		});
		$('#operation').addEventListener('change', () => renderFields(form ? form.read() : {}));
		$('#copy-url').addEventListener('click', () => copyText($('#ingest-url')));
		$('#save-btn').addEventListener('click', save);
		$('#test-btn').addEventListener('click', runTest);
		load();
	});
}
