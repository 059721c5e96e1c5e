// slot-webhook.js - the slot page's "Webhook" card: the URL job events are
// POSTed to and the secret they are signed with, GET/PUT
// /api/slots/{id}/webhook and POST .../webhook/rotate, saved apart from
// the operation settings.  The server checks the URL (https, public host)
// and makes the secret; this page only shows what it stored.
import { api, enc, requireLogin } from './api.js';
import { $, copyField, toast, toastError } from './ui.js';

const slot = new URLSearchParams(location.search).get('id');
const path = () => 'slots/' + enc(slot) + '/webhook';

function show(r) {
	$('#webhook-url').value = r.url || '';
	$('#webhook-secret-row').hidden = !r.secret;
	$('#webhook-rotate').hidden = !r.url;
	$('#webhook-secret').replaceChildren(...(r.secret ? [copyField(r.secret, 'webhook signing secret')] : []));
}

async function load() {
	try {
		show(await api('GET', path()));
	} catch (e) {
		// No such slot, or another operator's: slot.js says so; no card.
		if (e.status === 404)
			$('#webhook-form').remove();
		else
			toastError(e, 'Loading the webhook failed');
	}
}

async function save(ev) {
	ev.preventDefault();
	const url = $('#webhook-url').value.trim();
	try {
		const r = await api('PUT', path(), { url: url || null });
		show(r);
		toast(r.url ? 'Webhook saved: job events go to ' + r.url : 'Webhook removed', 'success');
	} catch (e) {
		toastError(e, 'Saving the webhook failed');
	}
}

async function rotate() {
	if (!confirm('Make a new signing secret? Requests signed with the old one stop verifying at once.'))
		return;
	try {
		show(await api('POST', path() + '/rotate'));
		toast('New webhook secret made: update your receiver', 'success');
	} catch (e) {
		toastError(e, 'Rotating the webhook secret failed');
	}
}

if (slot && requireLogin()) {
	load();
	$('#webhook-form').addEventListener('submit', save);
	$('#webhook-rotate').addEventListener('click', rotate);
}
