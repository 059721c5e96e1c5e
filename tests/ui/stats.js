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

	// Reset: "since reset" figures go to zero, all-time ones stay.
	const slot = process.env.PB_UI_RESET_SLOT;
	if (slot) {
		const cell = (i) => page.locator(`#stats tr[data-slot="${slot}"] td`).nth(i);
		const allTime = await cell(10).textContent();
		page.once('dialog', (d) => d.accept());
		await page.click(`#stats tr[data-slot="${slot}"] button`);
		await page.waitForFunction((s) => document.querySelector(
		    `#stats tr[data-slot="${s}"] td:nth-child(3)`).textContent === '0', slot);
		check(await cell(3).textContent() === '0', 'requests since reset are 0');
		check(await cell(10).textContent() === allTime, 'all-time count unchanged');
	}

	// T_sync saved from this page.
	await page.fill('#t_sync_response_sec', '45');
	await page.click('#tsync-save');
	await page.waitForSelector('.toast.success >> text=45 s');
}));
