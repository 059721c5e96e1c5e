// missing.js - the page of a slot that does not exist, and of another
// operator's slot: a clear message and no form (issue 12: it stayed
// editable and Save said "Cannot read properties of null").
'use strict';
const { BASE, check, withPage, login, shot, run } = require('./lib');

run(() => withPage(async (page) => {
	await login(page);
	for (const [id, re] of [['slot-999', /There is no slot slot-999/], [process.env.PB_UI_FOREIGN_SLOT, /another operator/]]) {
		await page.goto(BASE + '/slot.html?id=' + id);
		await page.waitForSelector('#slot-missing:not([hidden])');
		const text = await page.textContent('#slot-missing');
		check(re.test(text), id + ': the message says why: ' + text);
		check(await page.$('#upload-form') === null && await page.$('#save-btn') === null &&
		    await page.$('#name') === null, id + ': no form, no Save');
		if (id === 'slot-999')
			await shot(page, 'slot-missing-desktop');
	}
}));
