// lightbox.js - one result large, in a modal <dialog>: arrows step
// through the gallery, Esc closes, Tab stays inside (focus trapped), and
// Download saves the full result.  Focus goes back where it was.
import { imageUrl } from './api.js';
import { $, fmtDate, toastError } from './ui.js';

let items = [], at = 0, opener = null;

async function show() {
	const it = items[at];
	const img = $('#lb-img');
	$('#lb-title').textContent = (it.kind === 'test' ? 'Test run' : 'Booth photo') + ' · ' +
	    (it.slot_name || it.slot_id) + ' · ' + fmtDate(it.finished_at);
	img.alt = $('#lb-title').textContent;
	img.removeAttribute('src');
	$('#lb-prev').disabled = at === 0;
	$('#lb-next').disabled = at === items.length - 1;
	try {
		const u = await imageUrl(it.result_url.replace(/^\/api\//, ''), true);
		if (items[at] !== it)
			return;
		img.src = u;
		const dl = $('#lb-download');
		dl.href = u;
		dl.download = 'photo-' + it.id + (it.result_mime === 'image/png' ? '.png' : '.jpg');
	} catch (e) {
		toastError(e, 'Loading the photo failed');
	}
}

function step(d) {
	const n = at + d;
	if (n < 0 || n >= items.length)
		return;
	at = n;
	show();
}

// Tab and Shift+Tab cycle through the dialog's own controls.
function trap(ev) {
	const f = [...$('#lightbox').querySelectorAll('button:not([disabled]), a[href]')];
	if (!f.length)
		return;
	const first = f[0], last = f[f.length - 1];
	if (ev.shiftKey && document.activeElement === first) {
		ev.preventDefault();
		last.focus();
	} else if (!ev.shiftKey && document.activeElement === last) {
		ev.preventDefault();
		first.focus();
	}
}

function onKey(ev) {
	if (ev.key === 'ArrowLeft')
		step(-1);
	else if (ev.key === 'ArrowRight')
		step(1);
	else if (ev.key === 'Tab')
		trap(ev);
}

export function openLightbox(list, index) {
	const dlg = $('#lightbox');
	items = list;
	at = index;
	opener = document.activeElement;
	if (!dlg.open)
		dlg.showModal();
	show();
	$('#lb-close').focus();
}

document.addEventListener('DOMContentLoaded', () => {
	const dlg = $('#lightbox');
	dlg.addEventListener('keydown', onKey);
	// Esc closes natively (the cancel event); a click on the backdrop too.
	dlg.addEventListener('close', () => {
		if (opener && opener.isConnected)
			opener.focus();
	});
	dlg.addEventListener('click', (ev) => {
		if (ev.target === dlg)
			dlg.close();
	});
	$('#lb-close').addEventListener('click', () => dlg.close());
	$('#lb-prev').addEventListener('click', () => step(-1));
	$('#lb-next').addEventListener('click', () => step(1));
});
