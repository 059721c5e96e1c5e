// slot-event.js - the slot page's "Guest page" card: the event title of
// the slot's share page, GET/PUT /api/slots/{id}/event, saved apart from
// the operation settings (no version, no schema); and the event logo,
// POST/DELETE /api/slots/{id}/event/logo, stored as soon as it is chosen.
import { api, enc, imageUrl, requireLogin } from './api.js';
import { $, toast, toastError } from './ui.js';
import { dropZone } from './dropzone.js';

const slot = new URLSearchParams(location.search).get('id');
const LOGO_MAX_BYTES = 10 * 1048576;	/* as gatewayd/eventlogo.c */
const logoPath = () => 'slots/' + enc(slot) + '/event/logo';

async function uploadLogo(file) {
	const body = new FormData();
	body.append('file', file, file.name);
	await api('POST', logoPath(), body);
	toast('Event logo saved: guests see it on the share page', 'success');
	// The stored image: upright, without metadata, viewable even from HEIC.
	return imageUrl(logoPath()).catch(() => undefined);
}

async function removeLogo() {
	try {
		await api('DELETE', logoPath());
		toast('Event logo removed', 'success');
	} catch (e) {
		toastError(e, 'Removing the event logo failed');
	}
}

const logoZone = dropZone({ id: 'event-logo-zone', label: 'Event logo', maxBytes: LOGO_MAX_BYTES,
    hint: 'Up to 10 MB', onFile: uploadLogo, onRemove: removeLogo });

async function load() {
	try {
		const r = await api('GET', 'slots/' + enc(slot) + '/event');
		$('#event-title').value = r.title;
		if (r.logo_url)
			logoZone.show(await imageUrl(logoPath()), 'Event logo');
	} catch (e) {
		toastError(e, 'Loading the guest page settings failed');
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
	$('#event-logo').append(logoZone.node);
	load();
	$('#event-form').addEventListener('submit', save);
}
