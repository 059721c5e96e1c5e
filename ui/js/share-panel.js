// share-panel.js - the gallery's share links: create one (POST
// /api/gallery/share) and show its link with a QR code rendered by the
// server (GET /api/gallery/shares/{id}/qr.svg), list the live ones
// (GET /api/gallery/shares) and revoke one (DELETE ...), after a confirm.
import { api, imageUrl, enc } from './api.js';
import { $, el, toast, toastError, copyField, fmtDate } from './ui.js';

let currentSlot = () => '';

function qrImage(share, size) {
	const img = el('img', { class: 'qr', alt: 'QR code of the share link', width: String(size), height: String(size) });
	imageUrl(share.qr_url.replace(/^\/api\//, '')).then((u) => { img.src = u; },
	    (e) => toastError(e, 'Loading the QR code failed'));
	return img;
}

async function revoke(share) {
	if (!confirm('Revoke this share link? Guests who open it will get "not found".'))
		return;
	try {
		await api('DELETE', 'gallery/shares/' + enc(share.id));
		toast('Share link revoked', 'success');
		const out = $('#share-out');
		if (out.dataset.share === share.id)
			out.hidden = true;
		listShares();
	} catch (e) {
		toastError(e, 'Revoking failed');
	}
}

function shareRow(s) {
	return el('li', { 'data-share': s.id },
	    el('div', { class: 'share-what' }, el('strong', { text: s.slot_id || 'All slots' }),
	        el('span', { class: 'hint', text: ' · until ' + fmtDate(s.expires_at) })),
	    copyField(s.url, 'share link of ' + (s.slot_id || 'all slots')),
	    el('button', { type: 'button', class: 'btn small danger', text: 'Revoke',
	        'aria-label': 'Revoke the share link of ' + (s.slot_id || 'all slots') + ' valid until ' + fmtDate(s.expires_at),
	        onclick: () => revoke(s) }));
}

export async function listShares() {
	try {
		const r = await api('GET', 'gallery/shares');
		const ul = $('#shares');
		ul.replaceChildren(...r.data.map(shareRow));
		if (!r.data.length)
			ul.append(el('li', { class: 'empty', text: 'No active share links.' }));
	} catch (e) {
		toastError(e, 'Loading the share links failed');
	}
}

async function create() {
	const body = { minutes: Number($('#share-minutes').value) };
	const slot = currentSlot();
	if (slot)
		body.slot_id = slot;
	try {
		const s = await api('POST', 'gallery/share', body);
		const out = $('#share-out');
		out.dataset.share = s.id;
		out.replaceChildren(
		    el('div', { class: 'stack' },
		        el('p', { class: 'label-row', text: 'Public link, valid until ' + fmtDate(s.expires_at) }),
		        copyField(s.url, 'public gallery link'),
		        el('p', {}, el('a', { href: s.url, target: '_blank', rel: 'noopener', id: 'share-link', text: 'Open the shared gallery' }))),
		    el('figure', { class: 'qr-box' }, qrImage(s, 232), el('figcaption', { text: 'Guests scan this to open the photos' })));
		out.hidden = false;
		toast('Share link created', 'success');
		listShares();
	} catch (e) {
		toastError(e, 'Sharing failed');
	}
}

export function initShares(slotOf) {
	currentSlot = slotOf;
	$('#share-btn').addEventListener('click', create);
	listShares();
}
