// slot.test.js - configure a slot with a template image against the fake
// Gemini, run Test and see the result, Save, reload and see it persisted.
'use strict';
const path = require('path');
const { BASE, check, withPage, login, shot, toastSeen, run } = require('./lib');

const SLOT = process.env.PB_UI_SLOT || 'slot-002';
const TESTDATA = process.env.PB_TESTDATA;

run(() => withPage(async (page) => {
	await login(page);
	await page.click(`.slot-item[data-slot="${SLOT}"] .slot-name`);
	await page.waitForURL(/slot\.html\?id=/);
	await page.waitForSelector('#provider option[value="gemini"]', { state: 'attached' });
	check((await page.inputValue('#ingest-url')).endsWith('/ingest/' + SLOT),
	    'the ingest URL is shown before Save');

	await page.fill('#name', 'Watercolour wedding');
	await page.selectOption('#provider', 'gemini');
	await page.selectOption('#operation', 'style_transfer');
	await page.waitForSelector('#f-prompt');
	await page.fill('#f-prompt', 'soft watercolour, pastel palette');
	// The slider: keyboard works on it like a user's would, and its number
	// box follows; typing in the box moves the slider.
	check(await page.inputValue('#f-style_strength') === '0.65', 'the default is shown: ' +
	    await page.inputValue('#f-style_strength'));
	await page.fill('#f-style_strength', '0.3');
	check(await page.inputValue('#f-style_strength-range') === '0.3', 'box -> slider');
	await page.focus('#f-style_strength-range');
	await page.keyboard.press('End');
	check(await page.inputValue('#f-style_strength') === '1', 'slider moved to its maximum, box follows');
	// An optional number without a default stays empty and says what that means.
	check(await page.inputValue('#f-output-max_side_px') === '', 'max side unset');
	check(/original size/.test(await page.textContent('#f-output-max_side_px-unset')),
	    'unset max side says "original size"');

	// A wrong file type is refused with a message, nothing uploaded.
	await page.setInputFiles('#m-reference_media_id-input', {
		name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
	await page.waitForSelector('#m-reference_media_id-error:not([hidden])');
	await page.setInputFiles('#m-reference_media_id-input',
	    path.join(TESTDATA, 'orientation/Portrait_1.jpg'));
	await page.waitForSelector('.dropzone .preview img');
	check(await page.locator('#m-reference_media_id-error').isHidden(), 'error cleared');

	// Test without a photo: an error toast; with one: the result image.
	await page.click('#test-btn');
	check(await toastSeen(page, 'error', /test photo/i), 'asks for a test photo');
	// The drop zone works by keyboard: Enter on it opens the file picker
	// (seen as the click on its file input; the native dialog is held back).
	await page.evaluate(() => document.querySelector('#test-photo-input').addEventListener('click',
	    (ev) => { window.pickerOpened = true; ev.preventDefault(); }, { once: true }));
	await page.focus('#test-photo');
	await page.keyboard.press('Enter');
	check(await page.evaluate(() => window.pickerOpened === true), 'Enter on the drop zone opens the picker');
	await page.setInputFiles('#test-photo-input', path.join(TESTDATA, 'orientation/Landscape_1.jpg'));
	await page.waitForSelector('#test-zone .preview img');
	await page.click('#test-btn');
	await page.waitForSelector('#result-img', { timeout: 40000 });
	const loaded = await page.$eval('#result-img', (img) => img.complete && img.naturalWidth > 0);
	check(loaded, 'the result image decoded');
	check(/Done in/.test(await page.textContent('#result-meta')), 'timing shown');
	// Before and after side by side, whole: never stretched.
	check(await page.$eval('#result-img', (i) => getComputedStyle(i).objectFit) === 'contain',
	    'the result is shown with object-fit: contain');
	check(await page.$eval('#before-img', (i) => i.complete && i.naturalWidth > 0), 'the test photo is shown beside it');
	const [b, a] = await Promise.all(['#before-img', '#result-img'].map((s) => page.$eval(s, (i) => i.getBoundingClientRect().top)));
	check(Math.abs(a - b) < 2, 'before and after on one row');
	check(/not sent to any booth/.test(await page.textContent('#test-result')), 'labelled as a test');
	await page.waitForSelector('#recent-jobs li[data-kind="test"] .badge.test');
	await shot(page, 'slot-tested-desktop');

	await page.click('#save-btn');
	check(await toastSeen(page, 'success', /saved/i), 'saved toast');

	await page.reload();
	await page.waitForSelector('#f-prompt');
	check(await page.inputValue('#name') === 'Watercolour wedding', 'name persisted');
	check(await page.inputValue('#provider') === 'gemini', 'provider persisted');
	check(await page.inputValue('#operation') === 'style_transfer', 'operation persisted');
	check(await page.inputValue('#f-prompt') === 'soft watercolour, pastel palette', 'prompt persisted');
	check(await page.inputValue('#f-style_strength') === '1', 'slider persisted');
	await page.waitForSelector('.dropzone .preview img');
	check(await page.$eval('.dropzone .preview img', (i) => new Promise((ok) => {
		if (!i.src.startsWith('blob:'))
			return ok(false);
		if (i.complete)
			return ok(i.naturalWidth > 0);
		i.onload = () => ok(true);
		i.onerror = () => ok(false);
	})), 'the stored template image is shown');
	await page.goto(BASE + '/slots.html');
	await page.waitForSelector(`.slot-item[data-slot="${SLOT}"]`);
	check((await page.textContent(`.slot-item[data-slot="${SLOT}"] .slot-name`)) === 'Watercolour wedding',
	    'the new name is on the slot list');
}));
