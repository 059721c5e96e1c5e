// gallery.test.js - the gallery lists results; Share gives a public link
// that opens without a token.
'use strict';
const { check, withPage, login, shot, toastSeen, run } = require('./lib');

run(() => withPage(async (page, ctx) => {
	await login(page);
	await page.click('a[href="gallery.html"]');
	await page.waitForSelector('#gallery[aria-busy="false"]');
	// The booth photo sent by the settings test is there, its thumbnail loaded.
	await page.waitForSelector('#gallery figure img[src^="blob:"]');
	await page.selectOption('#share-minutes', '60');
	await page.click('#share-btn');
	check(await toastSeen(page, 'success', /share link/i), 'share toast');
	const url = await page.inputValue('#share-out input');
	check(/^https?:\/\//.test(url), 'a public URL: ' + url);
	await shot(page, 'gallery-desktop');

	// A stranger's browser: no token in its storage.
	const other = await ctx.browser().newContext();
	const p2 = await other.newPage();
	const res = await p2.goto(url);
	check(res.status() === 200, 'the public gallery answers 200, got ' + res.status());
	check(await p2.locator('img').count() >= 1, 'the shared page shows the result');
	await shot(p2, 'gallery-public-desktop');
	await other.close();
}));
