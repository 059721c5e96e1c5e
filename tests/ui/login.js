// login.test.js - a wrong password is refused on the page; the right one
// lands on the slot list; a page opened without a token goes to login.
'use strict';
const { BASE, check, withPage, login, shot, run } = require('./lib');

run(() => withPage(async (page) => {
	await page.goto(BASE + '/slots.html');
	await page.waitForURL(/index\.html\?next=slots\.html/);
	await shot(page, 'login-desktop');
	await page.fill('#username', process.env.PB_UI_USER);
	await page.fill('#password', 'not-the-password');
	await page.click('#login-btn');
	await page.waitForSelector('#login-msg:not([hidden])');
	const msg = await page.textContent('#login-msg');
	check(/wrong user name or password/i.test(msg), 'refusal shown, got: ' + msg);
	check(page.url().includes('index.html'), 'still on the login page');
	await login(page);
	const n = await page.locator('.slot-item').count();
	check(n >= 2, 'the slot list has the slots, got ' + n);
}));
