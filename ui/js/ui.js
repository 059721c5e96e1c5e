// ui.js - what every page shares: the element builder (no innerHTML with
// data), toasts, the pulse animation, copy-to-clipboard with a fallback
// for plain HTTP, number and date formats, and the top bar's Logout.
import { api, token, ApiError } from './api.js';

// el('a', {href, class, text}, child...) - attributes set safely.
export function el(tag, attrs = {}, ...children) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'text')
			n.textContent = v;
		else if (k === 'class')
			n.className = v;
		else if (k.startsWith('on'))
			n.addEventListener(k.slice(2), v);
		else if (k in n && typeof v !== 'string')
			n[k] = v;
		else
			n.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat())
		if (c !== null && c !== undefined && c !== false)
			n.append(c instanceof Node ? c : document.createTextNode(String(c)));
	return n;
}

export const $ = (sel, root = document) => root.querySelector(sel);

let toastBox;
// kind: 'success' | 'error' | 'info'.  Announced by the live region.
export function toast(message, kind = 'info', ms = 4500) {
	if (!toastBox) {
		toastBox = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
		document.body.append(toastBox);
	}
	const t = el('div', { class: 'toast ' + kind, text: message });
	if (kind === 'error')
		t.setAttribute('role', 'alert');
	toastBox.append(t);
	roomForToasts();
	setTimeout(() => {
		t.remove();
		roomForToasts();
	}, ms);
	return t;
}

// Room at the end of the page for the toasts shown, so none covers a control there.
function roomForToasts() {
	const h = toastBox.childElementCount ? toastBox.offsetHeight + 24 : 0;
	document.body.style.setProperty('--toasts-h', h + 'px');
	document.body.classList.toggle('has-toasts', h > 0);
}

// The toast for a failed call: network, server, validation or other.
export function toastError(e, what) {
	if (!(e instanceof ApiError))
		return toast((what ? what + ': ' : '') + String(e.message || e), 'error');
	let msg = e.message;
	if (e.status === 0)
		msg = 'Network error: check the connection and try again';
	else if (e.status >= 500)
		msg = 'Server error (' + e.status + '): ' + e.message;
	else if (e.details && e.details.field)
		msg = e.message + ' (' + e.details.field + ')';
	return toast((what ? what + ': ' : '') + msg, 'error', 7000);
}

// Restarts the seed's pulseForm animation on el.
export function pulse(node) {
	node.classList.remove('-pulse');
	void node.offsetWidth;
	node.classList.add('-pulse');
}

// navigator.clipboard needs a secure context; over plain HTTP on a venue
// LAN fall back to execCommand, and at worst leave the text selected.
export async function copyText(input) {
	const text = input.value;
	if (navigator.clipboard && window.isSecureContext) {
		try {
			await navigator.clipboard.writeText(text);
			toast('Copied: ' + text, 'success', 2500);
			return true;
		} catch (e) { /* fall through to the old way */ }
	}
	input.focus();
	input.select();
	input.setSelectionRange(0, text.length);
	let ok = false;
	try {
		ok = document.execCommand('copy');
	} catch (e) {
		ok = false;
	}
	toast(ok ? 'Copied: ' + text : 'Press Ctrl+C (or long-press) to copy the selected link',
	    ok ? 'success' : 'info', 3500);
	return ok;
}

// A readonly URL field with its Copy button.
export function copyField(value, label) {
	const input = el('input', { type: 'text', readonly: true, value, 'aria-label': label });
	const btn = el('button', { type: 'button', class: 'btn small', 'aria-label': 'Copy ' + label,
	    text: 'Copy', onclick: () => copyText(input) });
	return el('div', { class: 'copy-row' }, input, btn);
}

export function fmtMs(ms) {
	if (ms === null || ms === undefined || isNaN(ms))
		return '—';
	return ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : Math.round(ms) + ' ms';
}

export function fmtCost(v) {
	if (v === null || v === undefined || v === '' || isNaN(Number(v)))
		return '—';
	const n = Number(v);
	// Provider prices are fractions of a cent per photo: show them.
	return n === 0 ? '$0' : '$' + n.toFixed(n < 1 ? 4 : 2);
}

export function fmtDate(iso, withTime = true) {
	if (!iso)
		return '—';
	const d = new Date(iso);
	if (isNaN(d))
		return iso;
	return withTime ? d.toLocaleString() : d.toLocaleDateString();
}

// Wires the top bar: marks the current page, Logout revokes the token.
export function initTopbar() {
	const here = location.pathname.split('/').pop() || 'index.html';
	for (const a of document.querySelectorAll('.icons a'))
		if (a.getAttribute('href') === here)
			a.setAttribute('aria-current', 'page');
	const out = $('#logout');
	if (out)
		out.addEventListener('click', async () => {
			try {
				await api('POST', 'logout', {}, { noRedirect: true });
			} catch (e) { /* the token is dropped either way */ }
			token.clear();
			location.replace('index.html?reason=logout');
		});
}
