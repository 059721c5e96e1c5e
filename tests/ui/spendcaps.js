// spendcaps.js - daily spend caps in the UI (issue 16): the slot page's
// card saves a cap (stored as settings spend_caps, read back by
// tests/ui.bats); at 80 % of the cap the slot page and the Statistics page
// show a warning, below it neither does; the Settings page saves a
// provider's cap and removes it again.  PB_UI_CAP_SLOT is a slot whose
// spend today tests/ui.bats made known (PB_UI_CAP_SPENT USD).
'use strict';
const { BASE, check, withPage, login, toastSeen, shot, run } = require('./lib');

const SLOT = process.env.PB_UI_CAP_SLOT;
const SPENT = Number(process.env.PB_UI_CAP_SPENT);

// Saves a cap of usd, then waits for the status to show pct of it spent.
async function setCap(page, usd, pct) {
	await page.fill('#spend-cap', String(usd));
	await page.click('#spend-cap-save');
	check(await toastSeen(page, 'success', /spend cap saved/i), 'saved toast for ' + usd);
	await page.waitForFunction((p) => document.querySelector('#spend-cap-status').textContent
	    .includes(`(${p} %)`), pct);
}

run(() => withPage(async (page) => {
	await login(page);
	await page.goto(BASE + '/slot.html?id=' + SLOT);
	await page.locator('#spend-cap-form').waitFor();
	await page.waitForFunction(() => document.querySelector('#spend-cap-status').textContent !== '');
	check(/no cap/i.test(await page.textContent('#spend-cap-status')), 'no cap at first');
	await page.fill('#spend-cap', '-1');
	await page.click('#spend-cap-save');
	check(await toastSeen(page, 'error', /from 0 to 1000000/), 'a negative cap is refused');
	// Spent is 50 % of this cap: no warning.
	await setCap(page, SPENT * 2, 50);
	check(await page.locator('#spend-cap-warning .warn').count() === 0, 'no warning at 50 %');
	await page.goto(BASE + '/stats.html');
	await page.waitForSelector('#stats tbody tr');
	check(await page.locator('#spend-warnings .warn').count() === 0, 'no warning on Statistics at 50 %');
	// Spent is 80 % of this cap: warned on both pages.
	await page.goto(BASE + '/slot.html?id=' + SLOT);
	await page.locator('#spend-cap-form').waitFor();
	await page.waitForFunction(() => document.querySelector('#spend-cap-status').textContent !== '');
	await setCap(page, SPENT / 0.8, 80);
	const w = page.locator('#spend-cap-warning .warn[role="alert"]');
	await w.waitFor();
	check(/80 %/.test(await w.textContent()), 'the slot page warns at 80 %: ' + await w.textContent());
	await shot(page, 'spendcap-slot');
	await page.goto(BASE + '/stats.html');
	const sw = page.locator(`#spend-warnings .warn[data-scope="slot"][data-id="${SLOT}"]`);
	await sw.waitFor();
	check(/80 %/.test(await sw.textContent()), 'Statistics warns at 80 %');
	await shot(page, 'spendcap-stats');
	// A provider's cap on the Settings page: saved, shown after a reload, removed.
	await page.goto(BASE + '/settings.html');
	const cap = page.locator('#cap-gemini');
	await cap.waitFor();
	check(await cap.inputValue() === '', 'no provider cap at first');
	await cap.fill('2000000');
	await page.click('#save-provider-caps');
	check(await toastSeen(page, 'error', /from 0 to 1000000/), 'a cap over 1000000 is refused');
	await cap.fill('1000');
	await page.click('#save-provider-caps');
	check(await toastSeen(page, 'success', /spend caps saved/i), 'provider caps saved');
	await page.reload();
	await cap.waitFor();
	await page.waitForFunction(() => document.querySelector('#cap-gemini').value !== '');
	check(await cap.inputValue() === '1000', 'the provider cap persisted');
	check(await page.locator('#provider-cap-warnings .warn').count() === 0, 'no warning far below the cap');
	await cap.fill('');
	await page.click('#save-provider-caps');
	check(await toastSeen(page, 'success', /spend caps saved/i), 'provider cap removed');
}));
