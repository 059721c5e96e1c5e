// dropzone.js - an image drop zone: click, keyboard or drag-and-drop,
// JPEG/PNG/WEBP/HEIC validation, preview with fade-in, Remove.  The caller decides
// what a chosen file means (upload it, or keep it for a test run).
import { el } from './ui.js';

// What the server takes (every provider's allowed_mime): the MIME type
// and the extension must agree.  Browsers often give a HEIC/HEIF file an
// empty type: then the extension decides.
const TYPES = { 'image/jpeg': /\.jpe?g$/i, 'image/png': /\.png$/i, 'image/webp': /\.webp$/i,
    'image/heic': /\.hei[cf]$/i, 'image/heif': /\.hei[cf]$/i };
const UNTYPED = /\.hei[cf]$/i;
const ACCEPT = 'image/jpeg,image/png,image/webp,image/heic,image/heif,.jpg,.jpeg,.png,.webp,.heic,.heif';
export const KINDS_TEXT = 'JPG, PNG, WEBP or HEIC';
const UPLOAD_ICON = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M12 16V4M7 9l5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3"/></svg>';

// Why the file is refused, or '' when it is an image the server takes
// within maxBytes.
export function checkImage(file, maxBytes) {
	const re = file.type === '' ? UNTYPED : TYPES[file.type];
	if (!re || !re.test(file.name))
		return 'Only ' + KINDS_TEXT + ' images are accepted';
	if (maxBytes && file.size > maxBytes)
		return 'The file is larger than ' + Math.round(maxBytes / 1048576) + ' MB';
	return '';
}

// opts: {id, label, hint, maxBytes, onFile(file) -> Promise, onRemove()};
// onFile may resolve to the URL of a preview (the server's upright JPEG of
// a HEIC, which browsers cannot show), else the file itself is shown.
// Returns {node, show(url), clear(), file()}.
export function dropZone(opts) {
	let chosen = null;
	const input = el('input', { type: 'file', accept: ACCEPT, class: 'sr-only',
	    id: opts.id + '-input', tabindex: '-1', 'aria-hidden': 'true' });
	const error = el('p', { class: 'field-error', id: opts.id + '-error', role: 'alert', hidden: true });
	const zone = el('div', { class: 'drop', role: 'button', tabindex: '0', id: opts.id,
	    'aria-label': opts.label + ': choose or drop a ' + KINDS_TEXT + ' image',
	    'aria-describedby': opts.id + '-error' });
	zone.innerHTML = UPLOAD_ICON;	/* constant markup, no data */
	zone.append(el('span', { text: 'Drop a ' + KINDS_TEXT + ' here, or click to choose' }),
	    el('span', { class: 'hint', text: opts.hint || '' }));
	const preview = el('div', { class: 'preview', hidden: true });
	const wrap = el('div', { class: 'dropzone' }, input, zone, preview, error);

	function fail(msg) {
		error.textContent = msg;
		error.hidden = !msg;
		zone.setAttribute('aria-invalid', msg ? 'true' : 'false');
	}

	function show(url, alt) {
		const img = el('img', { src: url, alt: alt || opts.label + ' preview', class: 'fade-in' });
		img.addEventListener('error', () => img.replaceWith(el('p', { class: 'hint',
		    text: (chosen ? chosen.name : opts.label) + ': no preview in this browser' })), { once: true });
		const remove = el('button', { type: 'button', class: 'btn small', text: 'Remove',
		    'aria-label': 'Remove ' + opts.label, onclick: () => {
			clear();
			if (opts.onRemove)
				opts.onRemove();
			zone.focus();
		    } });
		preview.replaceChildren(img, el('div', {}, remove));
		preview.hidden = false;
		zone.hidden = true;
	}

	function clear() {
		chosen = null;
		input.value = '';
		preview.replaceChildren();
		preview.hidden = true;
		zone.hidden = false;
		fail('');
	}

	async function take(file) {
		const why = checkImage(file, opts.maxBytes);
		if (why) {
			fail(why);
			return;
		}
		fail('');
		let url;
		try {
			if (opts.onFile)
				url = await opts.onFile(file);
		} catch (e) {
			fail(e.message || 'Upload failed');
			return;
		}
		chosen = file;
		show(typeof url === 'string' ? url : URL.createObjectURL(file));
	}

	zone.addEventListener('click', () => input.click());
	zone.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' || ev.key === ' ') {
			ev.preventDefault();
			input.click();
		}
	});
	input.addEventListener('change', () => input.files[0] && take(input.files[0]));
	zone.addEventListener('dragover', (ev) => {
		ev.preventDefault();
		zone.classList.add('over');
	});
	zone.addEventListener('dragleave', () => zone.classList.remove('over'));
	zone.addEventListener('drop', (ev) => {
		ev.preventDefault();
		zone.classList.remove('over');
		if (ev.dataTransfer.files[0])
			take(ev.dataTransfer.files[0]);
	});
	return { node: wrap, show, clear, file: () => chosen, input };
}
