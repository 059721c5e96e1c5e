// share.js - the guest page of a share link (written by
// gatewayd/sharepage.c): times in the guest's own zone and language,
// and a Share button per photo where the browser has a share sheet.
function localTimes() {
	const long = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
	for (const t of document.querySelectorAll('time[datetime]')) {
		const d = new Date(t.getAttribute('datetime'));
		if (!isNaN(d))
			t.textContent = long.format(d);
	}
}

// navigator.share with the image itself where files can be shared, else the link.
async function share(btn) {
	const url = new URL(btn.dataset.url, location.href).href;
	try {
		const res = await fetch(url);
		const blob = await res.blob();
		const file = new File([blob], btn.dataset.name, { type: blob.type });
		if (navigator.canShare && navigator.canShare({ files: [file] }))
			await navigator.share({ files: [file], title: document.title });
		else
			await navigator.share({ url, title: document.title });
	} catch (e) {
		/* the guest closed the sheet, or sharing is refused: nothing to do */
	}
}

document.addEventListener('DOMContentLoaded', () => {
	localTimes();
	if (typeof navigator.share === 'function')
		for (const b of document.querySelectorAll('.share-native')) {
			b.hidden = false;
			b.addEventListener('click', () => share(b));
		}
});
