// logout.test.js - Log out revokes the token: the pages send the user to
// login, and the old token is refused by the API.
'use strict';
const { BASE, check, withPage, login, run } = require('./lib');

run(() => withPage(async (page) => {
	await login(page);
	const token = await page.evaluate(() => sessionStorage.getItem('photobridge.token'));
	check(token && token.split('.').length === 3, 'a JWT is kept for the session');
	await page.click('#logout');
	await page.waitForURL(/index\.html\?reason=logout/);
	check(/logged out/i.test(await page.textContent('#login-msg')), 'logged out message');
	await page.goto(BASE + '/settings.html');
	await page.waitForURL(/index\.html/);
	const status = await page.evaluate(async (t) => (await fetch('api/slots',
	    { headers: { Authorization: 'Bearer ' + t } })).status, token);
	check(status === 401, 'the revoked token is refused, got ' + status);
}));
