// copy.test.js - the ingest URL's Copy button: through the Clipboard API
// where the page is a secure context, and through the fallback (select +
// execCommand) where it is not, as on a venue LAN over plain HTTP.
'use strict';
const { check, withPage, login, toastSeen, run } = require('./lib');

const SLOT = 'slot-001';

async function copyAndRead(page) {
	await login(page);
	const row = `.slot-item[data-slot="${SLOT}"]`;
	const url = await page.inputValue(row + ' input');
	check(url.endsWith('/ingest/' + SLOT), 'the ingest URL is in the field: ' + url);
	await page.click(row + ' button');
	check(await toastSeen(page, 'success', /copied/i), 'copied toast');
	return url;
}

run(async () => {
	await withPage(async (page) => {
		const url = await copyAndRead(page);
		const clip = await page.evaluate(() => navigator.clipboard.readText());
		check(clip === url, 'the clipboard holds the URL, got: ' + clip);
	}, { context: { permissions: ['clipboard-read', 'clipboard-write'] } });

	await withPage(async (page) => {
		const url = await copyAndRead(page);
		const sel = await page.evaluate(() => {
			const i = document.activeElement;
			return i.value.slice(i.selectionStart, i.selectionEnd);
		});
		check(sel === url, 'the fallback left the URL selected, got: ' + sel);
	}, { init: () => Object.defineProperty(window, 'isSecureContext', { value: false }) });
});
