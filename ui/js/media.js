// media.js - the slot's template images: upload and where to read one.
// The only place that knows these two routes of SPEC.md §7's API.
import { api, enc } from './api.js';

// POST the file as the slot's template for field; resolves to its media id.
export async function templateUpload(slotId, field, file) {
	const body = new FormData();
	body.append('field', field);
	body.append('file', file, file.name);
	const r = await api('POST', 'slots/' + enc(slotId) + '/templates', body);
	return r.media_id || r.id;
}

// The API path of a stored template image (for imageUrl()).
export function mediaPath(slotId, mediaId) {
	return 'slots/' + enc(slotId) + '/templates/' + enc(mediaId);
}
