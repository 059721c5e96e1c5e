// shots.test.js - every page on a desktop and a phone, for a reviewer.
'use strict';
const { BASE, DESKTOP, PHONE, withPage, login, shot, run } = require('./lib');

const PAGES = [
	['slots', 'slots.html', '.slot-item'],
	['slot', 'slot.html?id=' + (process.env.PB_UI_SLOT || 'slot-002'), '#fields .stack'],
	['settings', 'settings.html', '#history tbody tr'],
	['gallery', 'gallery.html', '#gallery[aria-busy="false"]'],
	['jobs', 'jobs.html', '#jobs tbody tr'],
	['stats', 'stats.html', '#stats tbody tr'],
];

run(async () => {
	for (const [device, opts] of [['desktop', DESKTOP], ['phone', PHONE]]) {
		await withPage(async (page) => {
			await page.goto(BASE + '/');
			await shot(page, 'login-' + device);
			await login(page);
			for (const [name, url, ready] of PAGES) {
				await page.goto(BASE + '/' + url);
				// A page whose API is missing is still worth a picture.
				await page.waitForSelector(ready, { timeout: 8000 }).catch(() =>
				    console.log('# ' + name + ': ' + ready + ' never appeared'));
				// The gallery keeps one request open for live updates: never idle.
				await page.waitForLoadState('networkidle', { timeout: 4000 }).catch(() =>
				    console.log('# ' + name + ': a request stays open (live updates)'));
				await page.waitForFunction(() => [...document.images].every((i) => i.complete),
				    null, { timeout: 8000 }).catch(() => console.log('# ' + name + ': images still loading'));
				await shot(page, name + '-' + device);
			}
		}, { device: opts });
	}
});
