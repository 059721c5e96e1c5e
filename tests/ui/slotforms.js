// slotforms.js - the slot page's readable form and its guest page card:
// output options labelled and explained by the catalogue's titles (not raw
// ids); Aspect ratio and Image size offering only what the chosen Gemini
// model takes (hidden for gemini-2.5-flash-image, the 3.x sizes
// otherwise, a refused value cleared and said); the header naming the
// slot's own model; the test photo drop zone taking a WEBP and a HEIC
// without a MIME type; the event logo uploaded on the card shown on the
// guests' share page without metadata, then removed.
// Environment (tests/ui.bats): PB_UI_FORM_SLOT, PB_TESTDATA, PB_PSQL, PB_PG_HOST.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { BASE, PHONE, check, withPage, login, shot, toastSeen, run, apiAs, sql, saveSlot } = require('./lib');

const SLOT = process.env.PB_UI_FORM_SLOT || 'slot-007';
const TESTDATA = process.env.PB_TESTDATA;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-slotforms-'));

// axe-core on the page as it is: no serious or critical violation (the
// contexts bypass the CSP for axe's injected script alone, as a11y.js).
async function axe(page, name) {
	await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
	const r = await page.evaluate(() => window.axe.run(document, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
	const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	console.log(`# axe ${name}: ${bad.length} serious or critical`);
	check(bad.length === 0, name + ': ' + bad.map((v) => v.id + ' ' + v.nodes.map((n) => n.target).join(',')).join('; '));
}

const optionTexts = (page, sel) => page.$$eval(sel + ' option', (os) => os.map((o) => [o.value, o.textContent]));

async function labels(page) {
	await page.selectOption('#provider', 'gemini');
	await page.selectOption('#operation', 'change_image');
	await page.waitForSelector('#f-output-format');
	check(await page.textContent('label[for="f-output-format"]') === 'File format',
	    'output.format is labelled "File format", got ' + await page.textContent('label[for="f-output-format"]'));
	check(await page.textContent('label[for="f-output-match_input"]') === 'Match input', 'Match input label');
	check(/booth photo's exact pixel size, for print layouts/.test(await page.textContent('#f-output-match_input-help')),
	    'Match input explains itself');
	check(await page.getAttribute('#f-output-match_input', 'aria-describedby') === 'f-output-match_input-help',
	    'the help is the checkbox\'s description');
	const fit = await optionTexts(page, '#f-output-fit');
	check(fit.length === 2 && fit[0][0] === 'cover' && /^Cover: .*crop/.test(fit[0][1]) &&
	    fit[1][0] === 'pad' && /^Pad: .*white bands/.test(fit[1][1]), 'fit options say what they do: ' + JSON.stringify(fit));
	check(/Match input/.test(await page.textContent('#f-output-fit-help')), 'fit help');
	const fmt = await optionTexts(page, '#f-output-format');
	check(JSON.stringify(fmt.map((o) => o[0])) === '["jpeg","png","webp"]' && fmt[1][1] === 'PNG (lossless)',
	    'format values sent raw, shown readable: ' + JSON.stringify(fmt));
	check(await page.textContent('fieldset[data-key="output"] > legend') === 'Output image', 'the output fieldset is titled');
	check((await optionTexts(page, '#f-on_failure'))[1][1] === 'Send the original photo back', 'on_failure labels');
	check(await page.textContent('label[for="f-output-max_side_px"]') === 'Longest side (px)', 'max side label');
	// No raw id is shown as a label anywhere in the form.
	const raw = await page.$$eval('#fields label, #fields legend', (ls) => ls.map((l) => l.textContent)
	    .filter((t) => /_|^[a-z]/.test(t)));
	check(raw.length === 0, 'no raw names as labels: ' + JSON.stringify(raw));
	await page.locator('fieldset[data-key="output"]').scrollIntoViewIfNeeded();
	await shot(page, 'slot-form-labels-desktop');
}

async function models(page) {
	const sizeField = page.locator('[data-field="image_size"]');
	check(/· gemini-3\.1-flash-image ·/.test(await page.textContent('#model-line')),
	    'the header names the default model before one is chosen: ' + await page.textContent('#model-line'));
	await page.selectOption('#f-model', 'gemini-2.5-flash-image');
	check(await sizeField.isHidden(), 'Image size hidden for gemini-2.5-flash-image');
	const ar = await optionTexts(page, '#f-aspect_ratio');
	check(ar[0][0] === '' && ar[0][1] === 'model default' && ar.length === 11, 'aspect ratios of 2.5: ' + JSON.stringify(ar));
	check(/· gemini-2\.5-flash-image ·/.test(await page.textContent('#model-line')), 'the header follows the model');
	await page.selectOption('#f-model', 'gemini-3-pro-image');
	check(await sizeField.isVisible(), 'Image size shown for a 3.x model');
	const sizes = await optionTexts(page, '#f-image_size');
	check(JSON.stringify(sizes) === '[["","model default"],["1K","1K"],["2K","2K"],["4K","4K"]]',
	    'the 3.x sizes: ' + JSON.stringify(sizes));
	await page.selectOption('#f-image_size', '4K');
	await page.selectOption('#f-aspect_ratio', '21:9');
	await shot(page, 'slot-form-model-3x-desktop');
	// Back to a model without sizes: 4K is cleared and the operator told.
	await page.selectOption('#f-model', 'gemini-2.5-flash-image');
	check(await toastSeen(page, null, /does not take Image size 4K/), 'says the size was cleared');
	check(await page.inputValue('#f-image_size') === '', 'the refused size is cleared');
	check(await page.inputValue('#f-aspect_ratio') === '21:9', 'a ratio the model takes is kept');
	check(await saveSlot(page) === 200, 'saved');
	const saved = JSON.parse(sql(`SELECT settings_json FROM slots WHERE id = '${SLOT}'`));
	check(saved.model === 'gemini-2.5-flash-image' && saved.aspect_ratio === '21:9' && !('image_size' in saved),
	    'stored without the refused size: ' + JSON.stringify(saved));
	await page.reload();
	await page.waitForSelector('#upload-form[data-ready="true"]');
	check(/^Gemini · gemini-2\.5-flash-image · Change Image$/.test(await page.textContent('#model-line')),
	    'the header shows the slot\'s own model: ' + await page.textContent('#model-line'));
	check(await page.locator('[data-field="image_size"]').isHidden(), 'still hidden after a reload');
}

async function dropTypes(page) {
	const webp = path.join(TMP, 'booth.webp');
	execFileSync('vips', ['copy', path.join(TESTDATA, 'orientation/Landscape_1.jpg'), webp + '[Q=80]']);
	check(/WEBP or HEIC/.test(await page.textContent('#test-zone .drop')), 'the hint names WEBP and HEIC');
	await page.setInputFiles('#test-photo-input', webp);
	await page.waitForSelector('#test-zone .preview img');
	check(await page.locator('#test-photo-error').isHidden(), 'a WEBP is taken');
	check(await page.$eval('#test-zone .preview img', (i) => i.complete && i.naturalWidth > 0), 'its preview shows');
	await page.click('#test-zone .preview button');
	// HEIC as browsers often hand it over: no MIME type, known by its extension.
	await page.setInputFiles('#test-photo-input', { name: 'IMG_0001.HEIC', mimeType: '',
	    buffer: fs.readFileSync(path.join(TESTDATA, 'exif/sample.heif')) });
	await page.waitForSelector('#test-zone .preview');
	check(await page.locator('#test-photo-error').isHidden(), 'a HEIC without a type is taken');
	await page.click('#test-zone .preview button');
	await page.setInputFiles('#test-photo-input', { name: 'notes.heic.txt', mimeType: '', buffer: Buffer.from('x') });
	await page.waitForSelector('#test-photo-error:not([hidden])');
	check(/JPG, PNG, WEBP or HEIC/.test(await page.textContent('#test-photo-error')), 'others refused, saying what is taken');
}

async function logo(page, ctx) {
	await page.locator('#event-form').scrollIntoViewIfNeeded();
	await page.setInputFiles('#event-logo-zone-input', path.join(TESTDATA, 'exif/gps-DSCN0010.jpg'));
	check(await toastSeen(page, 'success', /event logo saved/i), 'logo saved');
	await page.waitForSelector('#event-logo .preview img[src^="blob:"]');
	await shot(page, 'slot-guest-card-logo-desktop');
	await axe(page, 'slot page with the logo');
	const api = await apiAs();
	const share = await api('POST', 'gallery/share', { minutes: 30, slot_id: SLOT });
	const url = share.url.replace(/^https?:\/\/[^/]+/, BASE);
	const guest = await ctx.browser().newContext({ ...PHONE, reducedMotion: 'reduce', bypassCSP: true });
	const gp = await guest.newPage();
	check((await gp.goto(url, { waitUntil: 'networkidle' })).status() === 200, 'the share page opens');
	check(await gp.$eval('header.share-head img.share-logo', (i) => i.complete && i.naturalWidth === 640),
	    'the logo shows in the share page header');
	await shot(gp, 'share-page-logo-phone');
	await axe(gp, 'share page with the logo');
	await guest.close();
	// Its bytes, as a guest gets them: no EXIF, GPS, XMP or ICC.
	const res = await fetch(url + '/logo');
	check(res.status === 200, 'the logo is served to the link');
	const file = path.join(TMP, 'logo');
	fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
	const meta = execFileSync('exiftool', ['-q', '-q', '-EXIF:all', '-GPS:all', '-XMP:all', '-IPTC:all',
	    '-ICC_Profile:all', file], { encoding: 'utf8' }).trim();
	check(meta === '', 'the logo has no metadata, got: ' + meta);
	// The card shows the stored logo after a reload, and removes it.
	await page.reload();
	await page.waitForSelector('#event-logo .preview img[src^="blob:"]');
	await page.click('#event-logo .preview button');
	check(await toastSeen(page, 'success', /event logo removed/i), 'logo removed');
	check(sql(`SELECT count(*) FROM media_object WHERE slot_id = '${SLOT}' AND kind = 'logo'`) === '0', 'no logo row left');
	check((await fetch(url + '/logo')).status === 404, 'the link has no logo any more');
}

run(() => withPage(async (page, ctx) => {
	await login(page);
	await page.goto(BASE + '/slot.html?id=' + SLOT);
	await page.waitForSelector('#upload-form[data-ready="true"]');
	await labels(page);
	await models(page);
	await dropTypes(page);
	await logo(page, ctx);
	fs.rmSync(TMP, { recursive: true, force: true });
}, { context: { bypassCSP: true } }));
