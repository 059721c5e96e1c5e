// jobs.js - the Jobs page shows a failed booth photo with its provider
// error; Retry on it runs the job again and it succeeds; the job page
// lists both attempts.  tests/ui.bats made the fake Gemini fail the job
// (PB_UI_FAILED_JOB) and checks the database afterwards.
'use strict';
const { BASE, check, withPage, login, shot, toastSeen, run } = require('./lib');

const JOB = process.env.PB_UI_FAILED_JOB;

run(() => withPage(async (page) => {
	await login(page);
	await page.click('.icons a[href="jobs.html"]');
	await page.waitForURL(/jobs\.html/);
	await page.selectOption('#f-status', 'failed');
	await page.click('#job-filters button[type="submit"]');
	await page.waitForURL(/status=failed/);
	const row = `#jobs tr[data-job="${JOB}"]`;
	await page.waitForSelector(row);
	check((await page.$$('#jobs tbody tr[data-job]')).length >= 1 &&
	    (await page.$$eval('#jobs tbody tr[data-job]', (rs) => rs.every((r) => r.dataset.state === 'failed'))),
	    'only failed jobs listed');
	const err = await page.textContent(row + ' .job-error');
	check(/safety/i.test(err), 'the provider error is shown: ' + err);
	await shot(page, 'jobs-failed-desktop');

	await page.click(row + ' a[href^="job.html"]');
	await page.waitForURL(/job\.html\?id=/);
	await page.waitForSelector('#attempts tr[data-attempt="1"]');
	check(/safety/i.test(await page.textContent('#job-error')), 'the job page shows the error');
	await page.click('#retry-btn');
	check(await toastSeen(page, 'success', /retrying/i), 'retry accepted');
	await page.waitForSelector('#job-state.succeeded', { timeout: 40000 });
	await page.waitForSelector('#attempts tr[data-attempt="2"][data-outcome="succeeded"]');
	check(await page.getAttribute('#attempts tr[data-attempt="1"]', 'data-outcome') === 'failed', 'first attempt failed');
	await page.waitForSelector('#result-img');
	check(await page.$eval('#result-img', (i) => new Promise((ok) => (i.complete ? ok(i.naturalWidth > 0) :
	    (i.onload = () => ok(true), i.onerror = () => ok(false))))), 'the result is shown');
	await shot(page, 'job-retried-desktop');
	await page.click('#back');
	await page.waitForURL(/jobs\.html\?slot_id=/);
	await page.waitForSelector(`#jobs tr[data-job="${JOB}"][data-state="succeeded"]`);
}));
