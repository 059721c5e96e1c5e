// settings-baseurl.js - the Settings page's "Public base URL" section:
// GET /api/settings (public_base_url, its PB_PUBLIC_BASE_URL default and
// the effective one) and PUT /api/settings {public_base_url} (null
// clears it).  Its own form and Save: the rest of the page is unaffected.
import { api, requireLogin } from './api.js';
import { $, toast, toastError } from './ui.js';
import { loopbackWarning } from './ingest-url.js';

// Says where ingest URLs come from now, and warns about loopback.
function describe(s) {
	const eff = s.public_base_url_source === 'default' ? location.origin : s.public_base_url_effective;
	const from = {
		setting: 'this setting',
		environment: 'the server\'s PB_PUBLIC_BASE_URL (' + s.public_base_url_env + ')',
		default: 'the address this browser used (neither this setting nor PB_PUBLIC_BASE_URL is set)',
	}[s.public_base_url_source] || '';
	$('#pbu-state').textContent = 'Ingest URLs now start with ' + eff + ', from ' + from + '.';
	$('#pbu-warning').replaceChildren(loopbackWarning(eff) || '');
	$('#public_base_url').placeholder = s.public_base_url_env || location.origin;
}

async function load() {
	try {
		const s = await api('GET', 'settings');
		$('#public_base_url').value = s.public_base_url || '';
		describe(s);
	} catch (e) {
		toastError(e, 'Loading the public base URL failed');
	}
}

async function save(ev) {
	ev.preventDefault();
	const input = $('#public_base_url');
	const v = input.value.trim();
	try {
		const s = await api('PUT', 'settings', { public_base_url: v === '' ? null : v });
		input.removeAttribute('aria-invalid');
		input.value = s.public_base_url || '';
		describe(s);
		toast(v === '' ? 'Public base URL cleared' : 'Public base URL saved', 'success');
	} catch (e) {
		input.setAttribute('aria-invalid', 'true');
		input.focus();
		toastError(e, 'Not saved');
	}
}

if (requireLogin()) {
	document.addEventListener('DOMContentLoaded', () => {
		$('#pbu-form').addEventListener('submit', save);
		$('#pbu-here').addEventListener('click', () => { $('#public_base_url').value = location.origin; });
		load();
	});
}
