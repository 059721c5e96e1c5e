// breakers.js - the Settings page's "Provider circuit breakers" section:
// an open circuit (tests/ui.bats opens it in SQL) is shown as open; a
// changed setting persists and values equal to the default stay unset
// (tests/ui.bats reads the settings row); an out-of-range value is refused.
'use strict';
const { BASE, check, withPage, login, toastSeen, run } = require('./lib');

run(() => withPage(async (page) => {
	await login(page);
	await page.goto(BASE + '/settings.html');
	const failures = page.locator('#breaker-gemini-failures');
	await failures.waitFor();
	const open = page.locator('#breaker-gemini-circuits li[data-state="open"]');
	check(await open.count() === 1, 'the open circuit is listed');
	check(/default model: open until .*failures/.test(await open.textContent()),
	    'it says open, until when and why');
	check(/default 5/.test(await page.textContent('label[for="breaker-gemini-failures"]')),
	    'the default is shown');
	await page.fill('#breaker-gemini-cooldown_sec', '0');
	await page.click('#save-breakers');
	check(await toastSeen(page, 'error', /from 1 to 86400/), 'an out-of-range value is refused');
	await page.fill('#breaker-gemini-cooldown_sec', '30');
	await failures.fill('3');
	await page.click('#save-breakers');
	check(await toastSeen(page, 'success', /circuit breakers saved/i), 'saved toast');
	await page.reload();
	await failures.waitFor();
	check(await failures.inputValue() === '3', 'failures persisted');
}));
