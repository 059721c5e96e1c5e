// media.js - the slot's template images: upload and where to read one.
// The only place that knows these two routes of SPEC.md §7's API.
import { api, enc } from './api.js';

// POST the file as a template of the slot; resolves to its media id, which
// the settings then name (it is kept once a PUT of the slot uses it).
export async function templateUpload(slotId, file) {
	const body = new FormData();
	body.append('file', file, file.name);
	const r = await api('POST', 'slots/' + enc(slotId) + '/templates', body);
	return r.id;
}

// The API path of a stored template image (for imageUrl()).
export function mediaPath(slotId, mediaId) {
	return 'slots/' + enc(slotId) + '/templates/' + enc(mediaId);
}
