// login.js - POST /api/login, keep the token, go where the user was headed.
import { api, token } from './api.js';
import { $ } from './ui.js';

const params = new URLSearchParams(location.search);
const REASONS = {
	expired: 'Your session has ended; please log in again.',
	logout: 'You are logged out.',
};

// Only a page of ours: never an absolute URL from the query string.
function nextPage() {
	const n = params.get('next') || '';
	return /^[a-z]+\.html(\?[\w=&%.-]*)?$/.test(n) && !n.startsWith('index.html') ? n : 'slots.html';
}

function say(text) {
	const m = $('#login-msg');
	m.textContent = text;
	m.hidden = !text;
}

// Already logged in in this tab: straight on (a stale token comes back here).
if (token.get() && !params.get('reason'))
	location.replace(nextPage());

document.addEventListener('DOMContentLoaded', () => {
	const form = $('#login');
	if (REASONS[params.get('reason')])
		say(REASONS[params.get('reason')]);
	$('#username').focus();
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const username = $('#username').value.trim();
		const password = $('#password').value;
		if (!username || !password) {
			say('Enter your user name and password.');
			return;
		}
		const btn = $('#login-btn');
		btn.disabled = true;
		try {
			const r = await api('POST', 'login', { username, password }, { noRedirect: true });
			token.set(r.access_token);
			location.replace(nextPage());
		} catch (e) {
			if (e.status === 401)
				say('Wrong user name or password.');
			else if (e.status === 429)
				say('Too many attempts. Try again in ' + (e.retryAfter || 'a few') + ' seconds.');
			else if (e.status === 0)
				say('Network error: the server cannot be reached.');
			else
				say(e.message);
			$('#password').select();
		} finally {
			btn.disabled = false;
		}
	});
});
