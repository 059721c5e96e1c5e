// a11y.js - axe-core (tests/ui/node_modules, pinned) on every page, at
// 1366x800 and 390x844: no serious or critical violation, WCAG 2.1 AA
// colour contrast included; a screenshot of each page as audited.
// PB_UI_SHARE_URL: a guest share page to audit too.
'use strict';
const { BASE, check, withPage, login, shot, run } = require('./lib');

const AXE = require.resolve('axe-core/axe.min.js');
const SIZES = [
	['desktop', { viewport: { width: 1366, height: 800 } }],
	['phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
];
const PAGES = [
	['slots', 'slots.html', '.slot-item'],
	['slot', 'slot.html?id=' + (process.env.PB_UI_SLOT || 'slot-002'), '#provider option'],
	['settings', 'settings.html', '#history tbody tr'],
	['gallery', 'gallery.html', '#gallery[aria-busy="false"]'],
	['stats', 'stats.html', '#stats tbody tr'],
];

async function audit(page, name, failures) {
	await page.addScriptTag({ path: AXE });
	const r = await page.evaluate(() => window.axe.run(document, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
	}));
	const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	for (const v of bad)
		failures.push(`${name}: ${v.id} (${v.impact}) ${v.help}: ` +
		    v.nodes.slice(0, 4).map((n) => n.target.join(' ') + (n.failureSummary ? ' — ' +
		    n.failureSummary.split('\n').slice(1, 2).join('') : '')).join(' | '));
	console.log(`# axe ${name}: ${r.violations.length} violations, ${bad.length} serious or critical, ${r.passes.length} rules passed`);
}

async function ready(page, sel) {
	await page.waitForSelector(sel, { state: 'attached', timeout: 10000 });
	// The gallery's live long-poll keeps the network busy: a short wait only.
	await page.waitForLoadState('networkidle', { timeout: 3000 }).catch(() => {});
	await page.waitForFunction(() => [...document.images].every((i) => i.complete), null,
	    { timeout: 8000 }).catch(() => {});
}

run(async () => {
	const failures = [];
	for (const [device, opts] of SIZES) {
		// The CSP allows no inline script; axe is injected by the test alone.
		await withPage(async (page) => {
			await page.goto(BASE + '/');
			await ready(page, '#login-btn');
			await audit(page, 'login-' + device, failures);
			await shot(page, 'a11y-login-' + device);
			await login(page);
			for (const [name, url, sel] of PAGES) {
				await page.goto(BASE + '/' + url);
				await ready(page, sel);
				await audit(page, name + '-' + device, failures);
				await shot(page, 'a11y-' + name + '-' + device);
			}
			if (process.env.PB_UI_SHARE_URL) {
				await page.goto(process.env.PB_UI_SHARE_URL);
				await ready(page, '.share-grid');
				await audit(page, 'share-' + device, failures);
				await shot(page, 'a11y-share-' + device);
			}
		}, { device: opts, context: { bypassCSP: true } });
	}
	check(failures.length === 0, 'no serious or critical axe violations:\n' + failures.join('\n'));
});
