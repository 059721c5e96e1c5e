// settings.test.js - change the ingest password, a provider key (shown
// masked afterwards, never in clear), retention and T_sync; they persist;
// the login history lists this session's login.
'use strict';
const { BASE, check, withPage, login, shot, toastSeen, run } = require('./lib');

const NEW_PW = process.env.PB_UI_NEW_INGEST_PW;
// The fake Gemini's key: the slot tests after this one still have to work.
const KEY = process.env.PB_GEMINI_API_KEY;

run(() => withPage(async (page) => {
	await login(page);
	await page.click('a[href="settings.html"]');
	await page.waitForSelector('#key-gemini');
	await page.waitForSelector('#history tbody tr');
	check(/success/.test(await page.textContent('#history tbody')), 'a successful login is listed');
	await page.fill('#ingest_password', NEW_PW);
	const key = page.locator('#key-gemini');
	await key.fill(KEY);
	await page.fill('#result_ttl_days', '5');
	await page.fill('#t_sync_response_sec', '40');
	await page.click('#save');
	check(await toastSeen(page, 'success', /saved/i), 'saved toast');

	await page.reload();
	await page.waitForSelector('#key-gemini');
	await page.waitForFunction(() => document.querySelector('#ingest_password').value !== '');
	check(await page.inputValue('#ingest_password') === NEW_PW, 'ingest password persisted');
	check(await page.inputValue('#result_ttl_days') === '5', 'retention persisted');
	check(await page.inputValue('#t_sync_response_sec') === '40', 'T_sync persisted');
	const body = await page.textContent('body');
	check(!body.includes(KEY), 'the key is never shown in clear');
	check(await key.inputValue() === '', 'the key field is empty again');
	check(/set: \*+/.test(await page.textContent('label[for="key-gemini"]')), 'the key is shown as set, masked');

	page.once('dialog', (d) => d.accept());
	await page.click('#clear-cache');
	check(await toastSeen(page, 'success', /cleared/i), 'clear cache toast');
	await shot(page, 'settings-desktop');
}));
