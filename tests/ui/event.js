// event.js - the event view of issue 15 in the browser: a booth photo
// appears in an open gallery within 2 s, "Load more" reaches the 120th of
// 120 results, the lightbox steps with the arrow keys and traps focus, a
// share link's QR code (a screenshot of the panel) decodes to the link,
// a revoked link stops working, and the guests' page of 30 photos loads
// under 1.5 MB before scrolling.
// Environment (tests/ui.bats): PB_UI_BOOTH_BODY (a DSLR Remote Pro body
// for slot-001), PB_UI_MANY_SLOT (120 results), PB_UI_SHARE_SLOT (30).
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { BASE, PHONE, check, withPage, login, shot, toastSeen, run } = require('./lib');

const BOUNDARY = '------------090306000104030805010400';

function booth() {
	execFileSync('curl', ['-fsS', '-o', '/dev/null', '-H', 'Content-Type: multipart/form-data; boundary=' + BOUNDARY,
	    '--data-binary', '@' + process.env.PB_UI_BOOTH_BODY, BASE + '/ingest/slot-001']);
}

async function live(page) {
	const log = [];
	page.on('request', (r) => /wait\?/.test(r.url()) && log.push('req ' + Date.now() + ' ' + r.url()));
	page.on('response', (r) => /wait\?/.test(r.url()) && log.push('res ' + Date.now() + ' ' + r.status()));
	page.on('requestfailed', (r) => /wait\?/.test(r.url()) && log.push('fail ' + Date.now() + ' ' + r.failure().errorText));
	await page.goto(BASE + '/gallery.html');
	await page.waitForSelector('#gallery[aria-busy="false"]');
	// The page's long-poll is open: the request is on its way.
	await page.waitForTimeout(1500);
	const before = await page.locator('#gallery figure').count();
	booth();
	const t0 = Date.now();
	await page.waitForFunction((n) => document.querySelectorAll('#gallery figure').length > n, before,
	    { timeout: 2000, polling: 50 }).catch(async (e) => {
		console.log('# live state: ' + await page.textContent('#live-state') + '; figures ' +
		    await page.locator('#gallery figure').count() + ' of ' + before + ' before; t0 ' + t0 + '\n# ' + log.join('\n# '));
		throw e;
	});
	const ms = Date.now() - t0;
	console.log('# the booth photo appeared ' + ms + ' ms after the booth got it');
	check(ms <= 2000, 'within 2 s');
	await page.waitForSelector('#gallery figure:first-child img[src^="blob:"]');
}

async function loadMore(page) {
	const slot = process.env.PB_UI_MANY_SLOT;
	await page.selectOption('#slot-filter', slot);
	await page.waitForFunction(() => document.querySelector('#gallery[aria-busy="false"]') &&
	    document.querySelectorAll('#gallery figure').length > 0);
	let clicks = 0;
	while (await page.isVisible('#more-btn')) {
		const n = await page.locator('#gallery figure').count();
		await page.click('#more-btn');
		await page.waitForFunction((k) => document.querySelectorAll('#gallery figure').length > k, n);
		check(++clicks < 5, 'at most a few pages');
	}
	const ids = await page.$$eval('#gallery figure', (fs) => fs.map((f) => f.dataset.job));
	check(ids.length === 120, '120 results shown, got ' + ids.length);
	check(new Set(ids).size === 120, 'each once');
	check(/120 photos shown \(all\)/.test(await page.textContent('#count-out')), 'the count says all');
	// Thumbnails come from the browser's cache the second time.
	await page.locator('#gallery figure').nth(119).scrollIntoViewIfNeeded();
	await page.waitForSelector('#gallery figure:nth-child(120) img[src^="blob:"]');
	await shot(page, 'event-gallery-120-desktop');
}

async function lightbox(page) {
	await page.click('#gallery figure:nth-child(2) .thumb-btn');
	await page.waitForSelector('#lightbox[open] #lb-img[src^="blob:"]');
	const first = await page.textContent('#lb-title');
	await page.keyboard.press('ArrowRight');
	await page.waitForFunction((t) => document.querySelector('#lb-title').textContent !== t, first);
	await page.keyboard.press('ArrowLeft');
	await page.waitForFunction((t) => document.querySelector('#lb-title').textContent === t, first);
	// Focus stays in the dialog however often Tab is pressed.
	for (let i = 0; i < 8; i++) {
		await page.keyboard.press('Tab');
		check(await page.evaluate(() => document.querySelector('#lightbox').contains(document.activeElement)),
		    'focus trapped in the lightbox');
	}
	check(await page.getAttribute('#lb-download', 'href') !== '#', 'a download link');
	await shot(page, 'event-lightbox-desktop');
	await page.keyboard.press('Escape');
	await page.waitForFunction(() => !document.querySelector('#lightbox').open);
	check(await page.evaluate(() => document.activeElement.classList.contains('thumb-btn')),
	    'focus back on the photo that opened it');
}

// The QR code as the operator's screen shows it, read by zbarimg.
async function qrDecodes(page, url) {
	const file = path.join(process.env.PB_UI_SHOTS, 'event-share-qr.png');
	await page.waitForSelector('#share-out .qr[src^="blob:"]');
	// In the middle of the screen, as an operator shows it to a guest.
	await page.$eval('#share-out .qr', (q) => q.scrollIntoView({ block: 'center' }));
	await page.locator('#share-out .qr').screenshot({ path: file });
	console.log('# screenshot ' + file);
	const text = execFileSync('zbarimg', ['-q', '--raw', file]).toString().trim();
	check(text === url, 'the QR code reads ' + url + ', got ' + text);
}

async function shareAndRevoke(page, ctx) {
	await page.selectOption('#slot-filter', process.env.PB_UI_SHARE_SLOT);
	await page.click('#share-btn');
	check(await toastSeen(page, 'success', /share link created/i), 'share toast');
	const url = await page.inputValue('#share-out input');
	await qrDecodes(page, url);
	await page.locator('#share-out').scrollIntoViewIfNeeded();
	await shot(page, 'event-share-panel-desktop');

	// A guest's phone: the page of 30 photos, bytes counted before any scrolling.
	const guest = await ctx.browser().newContext({ ...PHONE, reducedMotion: 'reduce' });
	const gp = await guest.newPage();
	const cdp = await guest.newCDPSession(gp);
	await cdp.send('Network.enable');
	let bytes = 0, requests = 0;
	cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; requests++; });
	const res = await gp.goto(url, { waitUntil: 'networkidle' });
	check(res.status() === 200, 'the share page answers 200');
	const imgs = await gp.locator('.share-grid img').count();
	check(imgs === 30, '30 photos listed, got ' + imgs);
	console.log('# share page of 30 photos: ' + requests + ' requests, ' + bytes + ' bytes before scrolling');
	check(bytes < 1.5 * 1024 * 1024, 'under 1.5 MB before scrolling, got ' + bytes);
	check(await gp.title() === 'Summer fair booth', 'titled with the event, got ' + await gp.title());
	check(await gp.$$eval('.share-grid img', (is) => is.every((i) => i.loading === 'lazy' &&
	    i.getAttribute('width') && i.getAttribute('height') && /\/thumbnail$/.test(i.getAttribute('src')))),
	    'lazy thumbnails with their size');
	check(!/T\d\d:\d\d/.test(await gp.textContent('.share-grid figcaption')), 'local times, not ISO');
	await shot(gp, 'event-share-page-phone');

	// Revoke from the panel: the link then answers 404 for the guest.
	page.once('dialog', (d) => d.accept());
	await page.click(`#shares li:has(input[value="${url}"]) button.danger`);
	check(await toastSeen(page, 'success', /revoked/i), 'revoke toast');
	const again = await gp.goto(url);
	check(again.status() === 404, 'a revoked link is 404, got ' + again.status());
	await guest.close();
}

run(() => withPage(async (page, ctx) => {
	await login(page);
	await live(page);
	await loadMore(page);
	await lightbox(page);
	await shareAndRevoke(page, ctx);
}));
