// baseurl.js - the ingest URL an operator copies must reach the server
// from the booth PC.  Opened as http://booth.test:PORT/ (Chromium maps the
// name to 127.0.0.1), the slot list, the slot page's Booth set-up card and
// Settings show that address and no warning; opened as 127.0.0.1 they warn
// that the booth cannot reach a loopback address.  A public base URL saved
// on Settings is then what every ingest URL uses.
'use strict';
const { BASE, check, withPage, login, shot, toastSeen, run } = require('./lib');

const PORT = new URL(BASE).port;
const NAMED = 'http://booth.test:' + PORT;
const SLOT = 'slot-001';

async function urls(page, base) {
	await page.goto(base + '/slots.html');
	await page.waitForSelector(`.slot-item[data-slot="${SLOT}"]`);
	const list = await page.inputValue(`.slot-item[data-slot="${SLOT}"] input`);
	const listWarn = await page.$('#url-warning .warn');
	await page.goto(base + '/slot.html?id=' + SLOT);
	await page.waitForSelector('#booth-setup #ingest-url');
	const card = await page.inputValue('#ingest-url');
	const cardWarn = await page.$('#booth-setup .warn');
	const text = await page.textContent('#booth-setup');
	return { list, card, warned: [Boolean(listWarn), Boolean(cardWarn)], text };
}

run(async () => {
	await withPage(async (page) => {
		await login(page, undefined, undefined, NAMED);
		const u = await urls(page, NAMED);
		check(u.list === NAMED + '/ingest/' + SLOT, 'slot list URL from the browser address: ' + u.list);
		check(u.card === u.list, 'Booth set-up card URL: ' + u.card);
		check(!u.warned[0] && !u.warned[1], 'no loopback warning for a network name');
		for (const f of ['fileToUpload', 'password', 'id', 'time', 'user_id'])
			check(u.text.includes(f), 'the card names the field ' + f);
		await shot(page, 'slot-booth-setup-desktop');
	}, { args: ['--host-resolver-rules=MAP booth.test 127.0.0.1'] });

	await withPage(async (page) => {
		await login(page);
		const u = await urls(page, BASE);
		check(u.list === BASE + '/ingest/' + SLOT, 'loopback URL shown as used: ' + u.list);
		check(u.warned[0] && u.warned[1], 'the loopback warning shows on the list and the card');
		check(/cannot reach/.test(await page.textContent('#booth-setup .warn')), 'warning text');
		await shot(page, 'slot-loopback-warning-desktop');

		// Settings: the section says where URLs come from; saving a base URL
		// makes every ingest URL use it, and clearing it goes back.
		await page.goto(BASE + '/settings.html');
		await page.waitForSelector('#pbu-state:not(:empty)');
		check(/address this browser used/.test(await page.textContent('#pbu-state')), 'default explained');
		check(await page.$('#pbu-warning .warn') !== null, 'loopback warned on Settings');
		await page.fill('#public_base_url', 'http://booth pc');
		await page.click('#pbu-save');
		check(await toastSeen(page, 'error', /public_base_url/), 'a bad URL is refused');
		await page.fill('#public_base_url', 'http://192.168.77.20:8080/');
		await page.click('#pbu-save');
		check(await toastSeen(page, 'success', /base URL saved/i), 'saved');
		check(await page.inputValue('#public_base_url') === 'http://192.168.77.20:8080', 'stored normalized');
		check(await page.$('#pbu-warning .warn') === null, 'no warning for a LAN address');
		await shot(page, 'settings-base-url-desktop');
		const v = await urls(page, BASE);
		check(v.list === 'http://192.168.77.20:8080/ingest/' + SLOT && v.card === v.list, 'setting used: ' + v.list);
		check(!v.warned[0] && !v.warned[1], 'no warning with the setting');
		await page.goto(BASE + '/settings.html');
		await page.waitForSelector('#pbu-state:not(:empty)');
		await page.fill('#public_base_url', '');
		await page.click('#pbu-save');
		check(await toastSeen(page, 'success', /cleared/i), 'cleared');
	});
});
