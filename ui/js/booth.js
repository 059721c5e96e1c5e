// booth.js - a slot's "Booth set-up" card: what to type into DSLR Remote
// Pro (or any booth software that POSTs a photo): the ingest URL with
// Copy, and the form field names of SPEC.md §4.
import { el, copyField } from './ui.js';
import { ingestUrl, loopbackWarning } from './ingest-url.js';

// Sent by DSLR Remote Pro 3.30 with every photo (SPEC.md §4).
const BOOTH_FIELDS = ['time', 'user_id', 'id', 'profile', 'status', 'hash', 'name', 'model', 'version'];

const code = (t) => el('code', { text: t });

export function boothCard(slot) {
	const url = ingestUrl(slot);
	const field = copyField(url, 'ingest URL');
	field.querySelector('input').id = 'ingest-url';
	field.querySelector('button').id = 'copy-url';
	return el('section', { class: 'booth-card stack', id: 'booth-setup', 'aria-labelledby': 'booth-title' },
	    el('h2', { id: 'booth-title', text: 'Booth set-up' }),
	    el('div', {}, el('label', { for: 'ingest-url' }, 'Ingest URL ',
		el('span', { class: 'hint', text: '— the booth POSTs each photo here (multipart/form-data)' })),
		field, loopbackWarning(url)),
	    el('dl', { class: 'booth-fields' },
		el('dt', { text: 'Photo file field' }), el('dd', {}, code('fileToUpload'), ' (JPEG, PNG, WEBP or HEIC)'),
		el('dt', { text: 'Password field' }), el('dd', {}, code('password'), ' = the ingest password of the ',
		    el('a', { href: 'settings.html', text: 'Settings page' })),
		el('dt', { text: 'Other fields kept with the job' }),
		el('dd', {}, BOOTH_FIELDS.flatMap((f, i) => (i ? [', ', code(f)] : [code(f)]))),
		el('dt', { text: 'Answer' }),
		el('dd', { text: 'the processed photo in the same response; 504 after the wait limit ' +
		    '(the booth prints the original, the result is kept under Jobs)' })));
}
