// unsaved.js - asks before leaving a page with unsaved changes: the
// browser's own prompt when the tab closes or reloads (beforeunload), and
// a confirm dialog for the page's own links (top bar, Back, job links).
export function guardLeaving(isDirty) {
	let confirmed = false;	/* the operator already said yes for a link */

	window.addEventListener('beforeunload', (ev) => {
		if (confirmed || !isDirty())
			return;
		ev.preventDefault();
		ev.returnValue = '';
	});
	document.addEventListener('click', (ev) => {
		const a = ev.target.closest && ev.target.closest('a[href]');
		if (!a || a.hasAttribute('download') || a.target === '_blank' ||
		    a.getAttribute('href').startsWith('#') || !isDirty())
			return;
		if (confirm('This page has unsaved changes. Leave without saving?'))
			confirmed = true;
		else
			ev.preventDefault();
	}, true);
}
