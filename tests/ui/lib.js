// lib.js - what every browser test shares: Debian's Chromium driven by
// playwright-core, the login, screenshots, and failing on page errors.
// Environment (set by tests/ui.bats): BASE_URL, PB_UI_USER, PB_UI_PASS,
// PB_UI_SHOTS (screenshot dir), PB_TESTDATA, CHROMIUM (optional).
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const SHOTS = process.env.PB_UI_SHOTS;
const DESKTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

function check(cond, msg) {
	if (!cond)
		throw new Error('check failed: ' + msg);
}

// Runs fn(page, ctx) in a fresh browser context; JS errors of the page fail it.
async function withPage(fn, opts = {}) {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		// Root in a container has no user namespaces for the sandbox.
		args: ['--no-sandbox', '--disable-dev-shm-usage', ...(opts.args || [])],
	});
	const errors = [];
	try {
		const ctx = await browser.newContext({ reducedMotion: 'reduce',
		    ...(opts.device || DESKTOP), ...(opts.context || {}) });
		if (opts.init)
			await ctx.addInitScript(opts.init);
		const page = await ctx.newPage();
		page.setDefaultTimeout(15000);
		page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
		page.on('console', (m) => {
			if (m.type() === 'error' && !/status of (401|404|409|4\d\d)/.test(m.text()))
				errors.push('console: ' + m.text());
		});
		await fn(page, ctx);
		check(errors.length === 0, 'no JavaScript errors, got:\n' + errors.join('\n'));
	} finally {
		await browser.close();
	}
}

async function login(page, user = process.env.PB_UI_USER, pass = process.env.PB_UI_PASS, base = BASE) {
	await page.goto(base + '/');
	await page.fill('#username', user);
	await page.fill('#password', pass);
	await page.click('#login-btn');
	await page.waitForURL(/slots\.html/);
	await page.waitForSelector('.slot-item');
}

// A full-page PNG in PB_UI_SHOTS.  Contexts prefer reduced motion (the
// stylesheet then stops the moving background), so pictures are stable.
async function shot(page, name) {
	const file = path.join(SHOTS, name + '.png');
	// Software rendering of the blurred glass on a tall page is slow.
	await page.screenshot({ path: file, fullPage: true, timeout: 90000 });
	console.log('# screenshot ' + file);
}

// The text of the newest toast once one appears.
// Waits for a toast of this kind whose text matches re (earlier toasts may
// still be on screen) and says whether one came.
async function toastSeen(page, kind, re) {
	const sel = '.toast' + (kind ? '.' + kind : '');
	try {
		await page.locator(sel, { hasText: re }).first().waitFor({ timeout: 30000 });
		return true;
	} catch (e) {
		return false;
	}
}

// Clicks Save and waits for its PUT /api/slots/{id} answer (an earlier
// "Saved" toast may still be on screen); the answer's status.
async function saveSlot(page) {
	const [res] = await Promise.all([
		page.waitForResponse((r) => /\/api\/slots\/[^/]+$/.test(r.url()) && r.request().method() === 'PUT'),
		page.click('#save-btn'),
	]);
	// The page has taken the answer in (and marked itself saved).
	await page.waitForSelector('#save-btn:not([disabled])');
	return res.status();
}

// The API as the operator: a token from POST /api/login, then JSON calls.
async function apiAs(user = process.env.PB_UI_USER, pass = process.env.PB_UI_PASS) {
	const r = await fetch(BASE + '/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
	    body: JSON.stringify({ username: user, password: pass }) });
	check(r.ok, 'API login ' + r.status);
	const token = (await r.json()).access_token;
	return async (method, path, body) => {
		const opts = { method, headers: { Authorization: 'Bearer ' + token } };
		if (body instanceof FormData) {
			opts.body = body;
		} else if (body !== undefined) {
			opts.headers['Content-Type'] = 'application/json';
			opts.body = JSON.stringify(body);
		}
		const res = await fetch(BASE + '/api/' + path, opts);
		const text = await res.text();
		check(res.ok, method + ' ' + path + ' -> ' + res.status + ' ' + text);
		return text ? JSON.parse(text) : null;
	};
}

// One value from PostgreSQL (PB_PSQL and PB_PG_HOST come from tests/ui.bats).
function sql(query) {
	return require('child_process').execFileSync(process.env.PB_PSQL, ['-X', '-Atq', '-h', process.env.PB_PG_HOST,
	    '-U', 'photobridge', '-d', 'photobridge', '-c', query], { encoding: 'utf8' }).trim();
}

// Runs main() and exits non-zero with the error on failure.
function run(main) {
	main().then(() => process.exit(0), (e) => {
		console.error(e && e.stack ? e.stack : e);
		process.exit(1);
	});
}

module.exports = { BASE, DESKTOP, PHONE, check, withPage, login, shot, toastSeen, run, apiAs, sql, saveSlot };
