// stats.test.js - the Statistics page: one row per slot with the numbers
// of GET /api/stats/global, charts, and T_sync.
'use strict';
const { check, withPage, login, shot, run } = require('./lib');

run(() => withPage(async (page) => {
	await login(page);
	await page.click('a[href="stats.html"]');
	await page.waitForSelector('#stats tbody tr[data-slot]');
	const rows = await page.locator('#stats tbody tr[data-slot]').count();
	const slots = Number(process.env.PB_UI_SLOTS || 0);
	check(!slots || rows === slots, 'one row per slot: ' + rows + ' of ' + slots);
	const want = JSON.parse(process.env.PB_UI_STATS_EXPECT || '{}');
	for (const [slot, cells] of Object.entries(want)) {
		const texts = await page.locator(`#stats tr[data-slot="${slot}"] td`).allTextContents();
		for (const [i, v] of Object.entries(cells))
			check(texts[i] === v, `${slot} column ${i} is ${v}, got ${texts[i]}`);
	}
	check(await page.locator('#stats svg.spark').count() === rows, 'a chart per slot');
	await page.waitForFunction(() => document.querySelector('#tsync-out').textContent !== '');
	await shot(page, 'stats-desktop');
}));
