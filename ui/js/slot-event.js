// slot-event.js - the slot page's "Guest page" card: the event title of
// the slot's share page, GET/PUT /api/slots/{id}/event, saved apart from
// the operation settings (no version, no schema).
import { api, enc, requireLogin } from './api.js';
import { $, toast, toastError } from './ui.js';

const slot = new URLSearchParams(location.search).get('id');

async function load() {
	try {
		const r = await api('GET', 'slots/' + enc(slot) + '/event');
		$('#event-title').value = r.title;
	} catch (e) {
		toastError(e, 'Loading the event title failed');
	}
}

async function save(ev) {
	ev.preventDefault();
	try {
		const r = await api('PUT', 'slots/' + enc(slot) + '/event', { title: $('#event-title').value.trim() });
		$('#event-title').value = r.title;
		toast(r.title ? 'Event title saved' : 'Event title cleared', 'success');
	} catch (e) {
		toastError(e, 'Saving the event title failed');
	}
}

if (slot && requireLogin()) {
	load();
	$('#event-form').addEventListener('submit', save);
}
