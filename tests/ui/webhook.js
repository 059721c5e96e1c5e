// webhook.js - the slot page's Webhook card and the job page's webhook
// deliveries in the browser (issue 16 item 4): a URL the server refuses
// is not stored, a loopback receiver's URL is, the secret shown is the
// one the server stored, Rotate makes a new one; then a booth photo of
// the slot, and the job page lists its event and delivery attempt.
// Environment (tests/webhook.bats): PB_UI_SLOT, PB_UI_HOOK_URL,
// PB_UI_INGEST_PW, PB_TESTDATA, and lib.js's.
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { BASE, check, withPage, login, shot, toastSeen, run, apiAs, sql } = require('./lib');

const slot = process.env.PB_UI_SLOT;

async function card(page, api) {
	// Another operator's slot: the card is not offered.
	await page.goto(BASE + '/slot.html?id=' + process.env.PB_UI_FOREIGN_SLOT);
	await page.waitForSelector('#slot-missing:not([hidden])');
	await page.waitForSelector('#webhook-form', { state: 'detached' });

	await page.goto(BASE + '/slot.html?id=' + slot);
	await page.waitForSelector('#webhook-form');
	// A public http URL: refused by the server, nothing stored.
	await page.fill('#webhook-url', 'http://203.0.113.9/hook');
	await page.click('#webhook-save');
	check(await toastSeen(page, 'error', /https/), 'the refusal is shown');
	check(sql("SELECT coalesce(webhook_url, 'none') FROM slots WHERE id = '" + slot + "'") === 'none',
	    'a refused URL is not stored');
	await page.fill('#webhook-url', process.env.PB_UI_HOOK_URL);
	await page.click('#webhook-save');
	check(await toastSeen(page, 'success', /Webhook saved/), 'saved');
	check(sql("SELECT webhook_url FROM slots WHERE id = '" + slot + "'") === process.env.PB_UI_HOOK_URL,
	    'the URL typed is the one stored');
	await page.waitForSelector('#webhook-secret input');
	const shown = await page.inputValue('#webhook-secret input');
	const stored = (await api('GET', 'slots/' + slot + '/webhook')).secret;
	check(/^whsec_/.test(shown) && shown === stored, 'the secret shown is the stored one');
	page.once('dialog', (d) => d.accept());
	await page.click('#webhook-rotate');
	check(await toastSeen(page, 'success', /New webhook secret/), 'rotated');
	await page.waitForFunction((old) => document.querySelector('#webhook-secret input').value !== old, shown);
	const rotated = await page.inputValue('#webhook-secret input');
	check(rotated === (await api('GET', 'slots/' + slot + '/webhook')).secret, 'the new secret is stored');
	await page.reload();
	await page.waitForFunction((u) => document.querySelector('#webhook-url').value === u,
	    process.env.PB_UI_HOOK_URL);
	await shot(page, 'webhook-slot-card');
}

function booth() {
	const h = execFileSync('curl', ['-fsS', '-o', '/dev/null', '-D', '-', '-F', 'password=' + process.env.PB_UI_INGEST_PW,
	    '-F', 'id=ui-hook', '-F', 'fileToUpload=@' + path.join(process.env.PB_TESTDATA, 'orientation/Landscape_2.jpg'),
	    BASE + '/ingest/' + slot], { encoding: 'utf8' });
	const m = /^x-photobridge-job:\s*(\S+)/im.exec(h);
	check(m, 'the booth got its job id');
	return m[1];
}

async function jobPage(page, api) {
	const job = booth();
	for (let i = 0; ; i++) {
		const j = await api('GET', 'jobs/' + job);
		if (j.webhooks.length === 1 && j.webhooks[0].state === 'delivered')
			break;
		check(i < 100, 'the event is delivered within 20 s');
		await new Promise((r) => setTimeout(r, 200));
	}
	await page.goto(BASE + '/job.html?id=' + job);
	await page.waitForSelector('#webhooks:not([hidden]) #webhook-attempts tbody tr');
	const rows = await page.$$eval('#webhook-attempts tbody tr', (trs) => trs.map((t) => [t.dataset.outcome,
	    t.cells[0].textContent, t.cells[4].textContent]));
	check(rows.length === 1 && rows[0][0] === 'delivered' && rows[0][1] === 'job.succeeded' && rows[0][2] === '200',
	    'one delivered attempt shown, got ' + JSON.stringify(rows));
	const id = sql("SELECT id FROM webhook_event WHERE job_id = '" + job + "'");
	check(await page.locator('#webhook-events li[data-state="delivered"] code', { hasText: id }).count() === 1,
	    'the event id is shown');
	await shot(page, 'webhook-job-page');
}

run(async () => {
	const api = await apiAs();
	await withPage(async (page) => {
		await login(page);
		await card(page, api);
		await jobPage(page, api);
	});
});
