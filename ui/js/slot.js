// slot.js - one slot's page: GET /api/providers and /api/slots/{id}, the
// form generated from the operation's schema, template uploads, a test
// run (POST /api/slots/{id}/test, then GET /api/jobs/{id} until it ends,
// then its result), Save (PUT /api/slots/{id} with the version read), the
// Booth set-up card and the slot's recent jobs.  A slot that does not
// exist or is another operator's gets a message and no form.
import { api, imageUrl, requireLogin, enc } from './api.js';
import { $, el, toast, toastError, pulse, fmtMs, fmtCost, fmtDate, initTopbar } from './ui.js';
import { buildForm, carryOver, titleOf } from './schema-form.js';
import { dropZone } from './dropzone.js';
import { mediaPath, templateUpload } from './media.js';
import { boothCard } from './booth.js';
import { guardLeaving } from './unsaved.js';

const slotId = new URLSearchParams(location.search).get('id') || '';
const POLL_MS = 1000;

let providers = [];
let slot = null;
let form = null;		/* buildForm() of the current operation */
let shown = { provider: '', operation: '' };	/* what the form was built for */
let saved = '';			/* the draft as last loaded or saved */
let testZone = null;

const findProvider = (id) => providers.find((p) => p.id === id);
const findOperation = (pid, oid) => (findProvider(pid)?.operations || []).find((o) => o.id === oid);
const provider = () => findProvider($('#provider').value);
const operation = () => findOperation($('#provider').value, $('#operation').value);
const maxBytes = () => (provider()?.ingest?.max_file_size_mb || 20) * 1048576;

// A *_media_id field: a drop zone whose file is uploaded as the slot's
// template at once; the media id goes into the settings on Save.
function mediaField(name, label, required, value, help) {
	let id = value || '';
	const z = dropZone({ id: 'm-' + name, label, maxBytes: maxBytes(),
	    hint: help || 'Sent to the AI with every photo of this slot',
	    onFile: async (file) => {
		id = await templateUpload(slotId, file);
		toast(label + ' uploaded', 'success', 2500);
		// The stored image: upright, and viewable even when the file was HEIC.
		return imageUrl(mediaPath(slotId, id)).catch(() => undefined);
	    },
	    onRemove: () => { id = ''; } });
	if (value)
		imageUrl(mediaPath(slotId, value)).then((u) => z.show(u, label),
		    () => z.show('img/missing.svg', label + ' (no longer stored)'));
	const head = el('span', {}, label,
	    required ? el('span', { class: 'hint', text: ' (required)' }) : '');
	return { node: el('div', { 'data-field': name }, el('p', { class: 'label-row' }, head), z.node),
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

// The model the form has chosen (the slot's own setting, else the
// provider's default), as GET /api/providers lists it in models[].
function chosenModel() {
	const p = provider();
	const id = form?.fields.model?.input?.value || p?.model;
	return { id, model: (p?.models || []).find((m) => m.id === id) };
}

// "Gemini · gemini-3-pro-image · Change Image": what this slot runs.
function headerLine() {
	const p = provider();
	const op = operation();
	const { id } = chosenModel();
	$('#model-line').textContent = p ? (p.title || p.name) + (id ? ' · ' + id : '') +
	    (op ? ' · ' + (op.title || op.name) : '') : 'Not configured yet: choose a provider';
}

// Aspect ratio and Image size offer only what the chosen model takes
// (models[].image_config) and are hidden when it takes none; a value the
// model refuses is cleared and the operator told.
function applyModel(announce) {
	headerLine();
	if (!form || !form.fields.model)
		return;
	const { id, model } = chosenModel();
	const schema = operation()?.settings_schema?.properties || {};
	const cleared = [];
	for (const key of ['aspect_ratio', 'image_size']) {
		const w = form.fields[key];
		if (!w || !w.restrict)
			continue;
		const allowed = model?.image_config?.[key] || [];
		const was = w.restrict(allowed);
		w.node.hidden = allowed.length === 0;
		if (was !== undefined)
			cleared.push(titleOf(key, schema[key]) + ' ' + was);
	}
	if (cleared.length && announce)
		toast((model?.title || id) + ' does not take ' + cleared.join(' or ') +
		    ': cleared, the model chooses. Save to keep this.', 'info', 8000);
}

function renderFields(values) {
	const op = operation();
	$('#op-desc').textContent = op?.description || '';
	shown = { provider: $('#provider').value, operation: op ? op.id : '' };
	if (!op) {
		form = null;
		$('#fields').replaceChildren();
		headerLine();
		return;
	}
	form = buildForm(op.settings_schema || {}, values, mediaField);
	$('#fields').replaceChildren(form.node);
	form.fields.model?.input?.addEventListener('change', () => applyModel(true));
	applyModel(true);
}

// "Output image › Fit": a dotted settings key named by the schema's titles.
function keyTitle(schema, key) {
	let props = schema?.properties;
	return key.split('.').map((k) => {
		const p = props?.[k];
		props = p?.properties;
		return titleOf(k, p);
	}).join(' › ');
}

// Provider or operation changed: keep the settings both operations share,
// and ask before dropping the others; "No" puts the selectors back.
function switchOperation() {
	const from = findOperation(shown.provider, shown.operation);
	const to = operation();
	const values = form ? form.read() : {};
	const { kept, dropped } = carryOver(values, from?.settings_schema, to?.settings_schema);
	if (dropped.length && !confirm('The new ' + (to ? 'operation' : 'choice') + ' has no place for: ' +
	    dropped.map((d) => keyTitle(from?.settings_schema, d)).join(', ') +
	    '.\nDrop these settings?')) {
		$('#provider').value = shown.provider;
		fillOperations(shown.operation);
		return;
	}
	renderFields(kept);
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

const unsaved = () => slot !== null && JSON.stringify({ ...draft(), version: 0 }) !== saved;
const markSaved = () => { saved = JSON.stringify({ ...draft(), version: 0 }); };

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
		markSaved();
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

// Before and after side by side, whole (object-fit: contain), with timing.
function showResult(url, job, elapsed, photo) {
	const took = job.duration_ms ?? elapsed;
	const figure = (src, caption, id) => el('figure', { class: 'compare-item' },
	    el('img', { src, alt: caption, class: 'fade-in', id }), el('figcaption', { text: caption }));
	$('#test-result').replaceChildren(el('p', { class: 'label-row', text: 'Test result (not sent to any booth)' }),
	    el('div', { class: 'compare' },
		figure(URL.createObjectURL(photo), 'Before: ' + photo.name, 'before-img'),
		figure(url, 'After', 'result-img')),
	    el('p', { class: 'hint', id: 'result-meta' }, 'Done in ' + fmtMs(took),
		job.cost !== undefined && job.cost !== null ? ' · cost ' + fmtCost(job.cost) : '',
		' · attempt ' + (job.attempt || 1),
		' · ', el('a', { href: url, download: 'test-result', text: 'Download' }),
		' · ', el('a', { href: 'job.html?id=' + enc(job.id), text: 'Job details' })));
}

async function poll(jobId, started, photo) {
	const state = $('#test-state');
	for (;;) {
		const job = await api('GET', 'jobs/' + enc(jobId));
		const elapsed = Date.now() - started;
		state.textContent = (job.state || 'queued') + ' · ' + fmtMs(elapsed);
		if (job.state === 'succeeded')
			return showResult(await imageUrl('jobs/' + enc(jobId) + '/result'), job, elapsed, photo);
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
		await poll(r.job_id, started, photo);
		toast('Test done', 'success');
	} catch (e) {
		markErrors(e);
		toastError(e, 'Test failed');
	} finally {
		btn.disabled = false;
		$('#test-progress').hidden = true;
		loadRecent();
	}
}

// The slot's last jobs; test runs are labelled as such.
async function loadRecent() {
	const list = $('#recent-jobs');
	try {
		const r = await api('GET', 'jobs?page_size=8&slot_id=' + enc(slotId));
		list.replaceChildren(...r.data.map((j) => el('li', { 'data-job': j.id, 'data-kind': j.kind },
		    el('span', { class: 'badge ' + (j.kind === 'test' ? 'test' : 'booth'),
			text: j.kind === 'test' ? 'Test' : 'Booth' }),
		    el('a', { href: 'job.html?id=' + enc(j.id), text: fmtDate(j.created_at) }),
		    el('span', { class: 'state ' + j.state, text: j.state }),
		    el('span', { class: 'hint', text: fmtMs(j.duration_ms) }))));
		if (!r.data.length)
			list.append(el('li', { class: 'empty', text: 'No photos or tests yet.' }));
	} catch (e) {
		list.replaceChildren(el('li', { class: 'empty', text: 'Jobs could not be loaded: ' + e.message }));
	}
}

function bindToggle(btn, target) {
	btn.addEventListener('click', () => {
		const on = btn.getAttribute('aria-checked') !== 'true';
		btn.setAttribute('aria-checked', String(on));
		target.hidden = !on;
	});
}

// No such slot, or another operator's: say so, and offer no form.
function showMissing(e) {
	$('#upload-form').remove();
	$('#slot-missing').hidden = false;
	document.title = 'Slot not available · photobridge';
	$('#missing-text').textContent = e.status === 403 ?
	    'Slot ' + slotId + ' belongs to another operator: you cannot see or change it.' :
	    e.status === 404 ? 'There is no slot ' + (slotId || '(no id given)') + '. Check the link, ' +
		'or pick a slot from your list.' :
	    'This slot could not be loaded: ' + e.message;
}

async function load() {
	try {
		const [p, s] = await Promise.all([api('GET', 'providers'), api('GET', 'slots/' + enc(slotId))]);
		providers = p.providers || [];
		slot = s;
	} catch (e) {
		showMissing(e);
		if (e.status !== 404 && e.status !== 403)
			toastError(e, 'Loading the slot failed');
		return;
	}
	document.title = (slot.name || slot.id) + ' · photobridge';
	$('#slot-title').textContent = slot.name || slot.id;
	$('#name').value = slot.name || '';
	$('#booth').replaceChildren(boothCard(slot));
	$('#all-jobs').href = 'jobs.html?slot_id=' + enc(slot.id);
	fillProviders();
	fillOperations(slot.operation_id);
	renderFields(slot.settings_json || {});
	markSaved();
	$('#upload-form').dataset.ready = 'true';
	loadRecent();
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		initTopbar();
		guardLeaving(unsaved);
		testZone = dropZone({ id: 'test-photo', label: 'Test photo',
		    hint: 'Used only for this test; not stored with the slot', maxBytes: 20 * 1048576 });
		$('#test-zone').append(testZone.node);
		bindToggle($('#toggle-first'), $('#test-zone'));
		$('#provider').addEventListener('change', () => {
			fillOperations(shown.operation);
			switchOperation();
		});
		$('#operation').addEventListener('change', switchOperation);
		$('#save-btn').addEventListener('click', save);
		$('#test-btn').addEventListener('click', runTest);
		load();
	});
}
