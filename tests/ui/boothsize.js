// boothsize.js - a slot configured and saved in the UI (local passthrough,
// nothing else touched) for tests/ui.bats to send a booth photo through
// and check its size: the 64 px bug of issue 12.
'use strict';
const { BASE, check, withPage, login, run, saveSlot } = require('./lib');

const SLOT = process.env.PB_UI_SIZE_SLOT || 'slot-011';

run(() => withPage(async (page) => {
	await login(page);
	await page.goto(BASE + '/slot.html?id=' + SLOT);
	await page.waitForSelector('#upload-form[data-ready="true"]');
	await page.fill('#name', 'Print booth');
	await page.selectOption('#provider', 'local');
	await page.selectOption('#operation', 'passthrough');
	check(await saveSlot(page) === 200, 'saved');
}));
