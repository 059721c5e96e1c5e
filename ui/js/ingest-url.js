// ingest-url.js - the ingest URL a booth on another PC can reach.  The
// API builds it from the public base URL (Settings, else
// PB_PUBLIC_BASE_URL); when neither is set (ingest_base_source
// "default") the page builds it from the address this browser used,
// which is what the booth PC on the same network would use too.  A
// loopback address can never be reached from the booth: say so.
import { el } from './ui.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|0\.0\.0\.0)$/i;

export function isLoopbackUrl(url) {
	try {
		return LOOPBACK.test(new URL(url).hostname.replace(/\.$/, '').toLowerCase()) ||
		    /\.localhost$/i.test(new URL(url).hostname);
	} catch (e) {
		return false;
	}
}

// The URL to show for a slot of GET /api/slots (ingest_url, ingest_path,
// ingest_base_source).
export function ingestUrl(slot) {
	if (slot.ingest_base_source === 'default' && slot.ingest_path)
		return location.origin + slot.ingest_path;
	return slot.ingest_url || '';
}

// The warning shown under an ingest URL the booth cannot reach, or null.
export function loopbackWarning(url) {
	if (!isLoopbackUrl(url))
		return null;
	return el('p', { class: 'warn', role: 'note' },
	    el('strong', { text: 'The booth PC cannot reach this address. ' }),
	    'It points at this computer itself (' + new URL(url).hostname + '). Open this page ' +
	    'through the server\'s network address (e.g. http://192.168.1.20:8080/), or set the ',
	    el('a', { href: 'settings.html#public-base-url', text: 'public base URL' }),
	    ' on the Settings page.');
}
