// quotas.js - the Settings page's "Provider quotas" section: a provider's
// calls per day changed and saved persist; values equal to the
// catalogue's stay unset (tests/ui.bats reads the settings row); an
// out-of-range value is refused on the page with a toast.
'use strict';
const { BASE, check, withPage, login, toastSeen, run } = require('./lib');

run(() => withPage(async (page) => {
	await login(page);
	await page.goto(BASE + '/settings.html');
	const perDay = page.locator('#quota-gemini-per_day');
	await perDay.waitFor();
	check(/default 2000/.test(await page.textContent('label[for="quota-gemini-per_day"]')),
	    'the catalogue default is shown');
	await page.fill('#quota-gemini-max_parallel_jobs', '0');
	await page.click('#save-quotas');
	check(await toastSeen(page, 'error', /from 1 to 1000/), 'an out-of-range value is refused');
	await page.fill('#quota-gemini-max_parallel_jobs', '4');
	await perDay.fill('1234');
	await page.click('#save-quotas');
	check(await toastSeen(page, 'success', /quotas saved/i), 'saved toast');
	await page.reload();
	await perDay.waitFor();
	check(await perDay.inputValue() === '1234', 'calls per day persisted');
	check(await page.inputValue('#quota-gemini-per_minute') === '500', 'per minute left at the default');
}));
