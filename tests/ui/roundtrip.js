// roundtrip.js - what the operator sets is what the booth gets (issue 12).
// For every provider x operation of GET /api/providers: the slot is set
// through the API to known settings, its page is opened, only the name is
// changed, Save; the settings_json in PostgreSQL must be unchanged.  Then
// switching operation keeps what both share and asks before dropping the
// rest, and leaving with unsaved changes asks first.
'use strict';
const path = require('path');
const fs = require('fs');
const { BASE, check, withPage, login, run, apiAs, sql, saveSlot } = require('./lib');

const SLOT = process.env.PB_UI_RT_SLOT || 'slot-010';
const TESTDATA = process.env.PB_TESTDATA;

// Known settings for a schema: every field with a default gets another
// value (a form that resets to defaults fails), strings and enums a set
// value, optional numbers without a default alternate between set and
// unset (output.max_side_px always unset: the 64 px bug), media fields
// the template, nested objects in every other operation.
function known(schema, template, n) {
	const out = {};
	let flip = n % 2;
	for (const [name, p] of Object.entries(schema.properties || {})) {
		flip ^= 1;
		if (p.type === 'string' && /_media_id$/.test(name)) {
			out[name] = template;
		} else if (p.type === 'object') {
			if ((schema.required || []).includes(name) || flip)
				out[name] = known(p, template, n + 1);
		} else if (p.enum) {
			out[name] = p.enum.find((v) => v !== p.default) ?? p.enum[0];
		} else if (p.type === 'string') {
			out[name] = 'known ' + name + ' ' + n;
		} else if (p.type === 'boolean') {
			out[name] = !(p.default ?? false);
		} else if (p.type === 'integer' || p.type === 'number') {
			if (name === 'max_side_px' || (p.default === undefined && !flip))
				continue;
			const lo = p.minimum ?? 0, hi = p.maximum ?? lo + 100;
			let v = lo + (hi - lo) * 0.37;
			v = p.type === 'integer' ? Math.round(v) : Math.round(v * 1000) / 1000;
			out[name] = v === p.default ? (p.type === 'integer' ? v + 1 : v / 2) : v;
		}
	}
	return out;
}

const stored = () => JSON.parse(sql(`SELECT settings_json FROM slots WHERE id = '${SLOT}'`));
const same = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v) {
	if (Array.isArray(v))
		return v.map(sortKeys);
	if (v && typeof v === 'object')
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
	return v;
}

run(() => withPage(async (page) => {
	const api = await apiAs();
	// A Save that stops naming a template deletes it: a fresh one each time.
	const upload = async () => {
		const form = new FormData();
		form.append('file', new Blob([fs.readFileSync(path.join(TESTDATA, 'orientation/Portrait_1.jpg'))],
		    { type: 'image/jpeg' }), 'template.jpg');
		return (await api('POST', `slots/${SLOT}/templates`, form)).id;
	};
	const { providers } = await api('GET', 'providers');
	const dialogs = [];
	page.on('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
	await login(page);
	let n = 0, combos = 0;
	for (const p of providers) {
		for (const op of p.operations) {
			const settings = known(op.settings_schema, await upload(), n++);
			await api('PUT', 'slots/' + SLOT, { name: 'before ' + n, provider_id: p.id, operation_id: op.id,
			    settings_json: settings });
			const before = stored();
			check(before.output === undefined || before.output.max_side_px === undefined, 'max_side_px unset');
			await page.goto(BASE + '/slot.html?id=' + SLOT);
			await page.waitForSelector('#upload-form[data-ready="true"]');
			check(await page.inputValue('#operation') === op.id, p.id + '/' + op.id + ' shown');
			await page.fill('#name', 'after ' + n);
			check(await saveSlot(page) === 200, p.id + '/' + op.id + ' saved');
			check(sql(`SELECT name FROM slots WHERE id = '${SLOT}'`) === 'after ' + n, 'the name changed');
			const after = stored();
			check(same(before, after), p.id + '/' + op.id + ': settings changed by a Save of the name:\n' +
			    JSON.stringify(before) + '\n' + JSON.stringify(after));
			combos++;
		}
	}
	check(combos >= 10 && dialogs.length === 0, combos + ' operations round-tripped, no dialog: ' + dialogs);
	console.log('# ' + combos + ' provider x operation settings round-tripped exactly');

	// Switching operation keeps the shared fields, asks before dropping others.
	await api('PUT', 'slots/' + SLOT, { provider_id: 'gemini', operation_id: 'change_image',
	    settings_json: { prompt: 'keep me', on_failure: 'original' } });
	await page.goto(BASE + '/slot.html?id=' + SLOT);
	await page.waitForSelector('#upload-form[data-ready="true"]');
	await page.selectOption('#operation', 'style_transfer');
	await page.waitForSelector('#m-reference_media_id');
	check(await page.inputValue('#f-prompt') === 'keep me' && await page.inputValue('#f-on_failure') === 'original',
	    'shared fields kept across the switch');
	check(dialogs.length === 0, 'nothing dropped, nothing asked');
	// change_image has a seed, style_transfer none: dropping it is asked first.
	await page.selectOption('#operation', 'change_image');
	await page.fill('#f-seed', '4242');
	page.removeAllListeners('dialog');
	page.once('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
	await page.selectOption('#operation', 'style_transfer');
	check(/Seed/.test(dialogs[0] || ''), 'asked before dropping the seed: ' + dialogs[0]);
	check(await page.inputValue('#operation') === 'change_image' && await page.inputValue('#f-seed') === '4242',
	    'saying no keeps the operation and the value');
	// Unsaved changes: an in-app link asks; "stay" stays.
	page.once('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
	await page.click('.icons a[href="jobs.html"]');
	check(/unsaved/i.test(dialogs[1] || ''), 'asked before leaving: ' + dialogs[1]);
	check(/slot\.html/.test(page.url()), 'still on the slot page');
	check(await page.evaluate(() => {
		const ev = new Event('beforeunload', { cancelable: true });
		window.dispatchEvent(ev);
		return ev.defaultPrevented;
	}), 'closing the tab asks too');
	page.once('dialog', (d) => d.accept());
	await page.click('.icons a[href="jobs.html"]');
	await page.waitForURL(/jobs\.html/);
}));
