// The web pages in a real browser: sign in as the first admin, write a script in Monaco with
// the SDK's completions, save it with Ctrl+S, run it with input, test-run an unsaved edit,
// see a source that does not compile marked at its line, start from a template and test it,
// see a refused field, read a
// page in Russian, filter the executions by status and open one, and check that a viewer has
// no edit control and gets 403 on the edit URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';
const VIEWER = { email: 'viewer@iota.local', password: 'viewer password 1' };
let server;
let browser;
let scriptUrl;

before(async () => {
  server = await startServer();
  server.run('user', 'create', '--tenant', 'default', '--email', VIEWER.email,
    '--password', VIEWER.password, '--role', 'viewer');
  browser = await chromium.launch({
    executablePath: EXECUTABLE,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(context, email, password) {
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  assert.match(page.url(), /\/login/);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/dashboard/), page.click('button[type=submit]')]);
  return page;
}

test('the first admin writes a script in Monaco, saves it with Ctrl+S and runs it', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.click('a[href="/scripts/new"]');
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.fill('#field-Name', 'Doubler from the browser');
  await page.selectOption('#field-Type', 'oneoff');

  // The SDK's declarations feed the completions.
  await page.evaluate(() => window.iotaEditor.setValue(''));
  await page.click('#editor .view-lines');
  await page.keyboard.type('sdk.http.');
  const suggestions = page.locator('.suggest-widget.visible .monaco-list-row');
  await suggestions.first().waitFor({ timeout: 30_000 });
  const labels = await suggestions.allInnerTexts();
  assert.ok(labels.some((label) => label.startsWith('get')), `no sdk.http.get among ${labels}`);
  await page.keyboard.press('Escape');

  await page.evaluate(() => window.iotaEditor.setValue(
    "export default async function (input) {\n  console.log('doubling', input.n);\n  return { doubled: input.n * 2 };\n}\n"));
  await page.click('#editor .view-lines');
  await Promise.all([
    page.waitForURL(/\/scripts\/[0-9a-f-]{36}$/),
    page.keyboard.press('Control+s'),
  ]);
  scriptUrl = page.url();
  await page.fill('#field-Input', '{"n": 21}');
  await page.click('#run');
  const result = page.locator('#run-output');
  await result.waitFor();
  assert.match(await result.innerText(), /"doubled": 42/);
  assert.match(await result.innerText(), /doubling/);
  await context.close();
});

test('the Test button runs the unsaved source with input and shows the result', async () => {
  assert.ok(scriptUrl, 'the first test created a script');
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.goto(`${scriptUrl}/edit`);
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.evaluate(() => window.iotaEditor.setValue(
    "export default async function (input) {\n  await sdk.cache.set('last', input.n);\n  console.log('testing', input.n);\n  return { squared: input.n * input.n };\n}\n"));
  await page.fill('#field-TestInput', '{"n": 9}');
  await page.click('#test');
  const report = page.locator('#test-report');
  await report.waitFor({ timeout: 30_000 });
  assert.equal(await report.getAttribute('data-status'), 'completed');
  const text = await report.innerText();
  assert.match(text, /"squared": 81/);
  assert.match(text, /testing/);
  assert.match(await page.locator('#usage-sdk-calls').innerText(), /1 \/ 60/);
  assert.match(await page.locator('#usage-duration').innerText(), /ms \/ 30000 ms/);
  // Nothing was saved: the script page still shows the saved source.
  await page.goto(scriptUrl);
  assert.match(await page.locator('pre.source-fallback').innerText(), /doubled/);
  await context.close();
});

test('a source that does not compile comes back as a Monaco marker at its line', async () => {
  assert.ok(scriptUrl, 'the first test created a script');
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.goto(`${scriptUrl}/edit`);
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.evaluate(() => window.iotaEditor.setValue(
    "export default async function (input) {\n  const x = 1;\n  return { oops: ;\n}\n"));
  await page.click('#test');
  const error = page.locator('#error-Source');
  await error.waitFor({ state: 'visible' });
  assert.equal(await error.getAttribute('data-line'), '3');
  await page.waitForFunction(() => window.monaco.editor.getModelMarkers({ owner: 'save' }).length > 0);
  const marker = await page.evaluate(() => window.monaco.editor.getModelMarkers({ owner: 'save' })[0]);
  assert.equal(marker.startLineNumber, 3);
  assert.ok(marker.startColumn > 1, `column ${marker.startColumn}`);
  await context.close();
});

test('a template fills the new script form, passes its test run, and is disabled from the list', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.goto(`${server.base}/scripts/new`);
  await Promise.all([page.waitForURL(/template=pricing_rule/), page.click('#template-pricing_rule')]);
  await page.waitForSelector('#editor.ready .monaco-editor');
  assert.equal(await page.locator('#field-Type').inputValue(), 'embedded');
  assert.match(await page.evaluate(() => window.iotaEditor.getValue()), /TIER_DISCOUNT/);
  await page.fill('#field-Name', 'Pricing from the template');
  // Tested before it is saved: run, not recorded.
  await page.fill('#field-TestInput', '{"items": [{"price": 500, "quantity": 1}]}');
  await page.click('#test');
  await page.locator('#test-report #not-recorded').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('#test-report').innerText(), /"total": 500/);
  await Promise.all([page.waitForURL(/\/scripts\/[0-9a-f-]{36}$/), page.click('#save')]);
  await page.click('#edit');
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.fill('#field-TestInput', '{"items": [{"price": 1000, "quantity": 2}], "tier": "gold", "taxRate": 0.1}');
  await page.click('#test');
  const report = page.locator('#test-report');
  await report.waitFor({ timeout: 30_000 });
  assert.equal(await report.getAttribute('data-status'), 'completed');
  assert.match(await report.innerText(), /"total": 1980/);

  // Bulk: check it in the list and disable it.
  await page.goto(`${server.base}/scripts?search=Pricing`);
  await page.locator('#scripts input[name=ids]').first().check();
  await Promise.all([page.waitForURL(/bulk=disable&changed=1&skipped=0/), page.click('#bulk-disable')]);
  await page.locator('#bulk-notice').waitFor();
  await page.goto(`${server.base}/scripts?search=Pricing`);
  assert.match(await page.locator('#scripts').innerText(), /Disabled/);
  await context.close();
});

test('an edit writes a new version, the diff shows it, and the old one can be restored', async () => {
  assert.ok(scriptUrl, 'the first test created a script');
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(`${scriptUrl}/edit`);
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.evaluate(() => window.iotaEditor.setValue(
    "export default async function (input) {\n  return { tripled: input.n * 3 };\n}\n"));
  await page.fill('#field-ChangeSummary', 'Triple instead');
  await page.click('#editor .view-lines');
  await Promise.all([page.waitForURL(scriptUrl), page.keyboard.press('Control+s')]);
  await page.click('#versions');
  await page.waitForSelector('#diff.ready .monaco-diff-editor');
  // The diff is computed in a worker: wait until it shows the change.
  await page.waitForFunction(() => (window.iotaDiff.getLineChanges() || []).length > 0);
  assert.match(await page.locator('table').innerText(), /Triple instead/);
  await Promise.all([page.waitForURL(scriptUrl), page.click('button.restore')]);
  assert.match(await page.locator('dl').first().innerText(), /Version\s+3/);
  await context.close();
});

test('a run in the background streams its lines live and can be cancelled', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.goto(`${server.base}/scripts/new`);
  await page.waitForSelector('#editor.ready .monaco-editor');
  await page.fill('#field-Name', 'Slow ticker');
  await page.fill('#field-MaxExecutionTimeMs', '60000');
  await page.evaluate(() => window.iotaEditor.setValue(
    "export default async function () {\n  for (let i = 0; i < 60; i++) {\n    console.log('tick ' + i);\n    await new Promise((resolve) => setTimeout(resolve, 500));\n  }\n}\n"));
  await Promise.all([page.waitForURL(/\/scripts\/[0-9a-f-]{36}$/), page.click('#save')]);
  await page.check('#field-Background');
  await Promise.all([page.waitForURL(/\/executions\/[0-9a-f-]{36}$/), page.click('#run')]);
  // Lines arrive over server-sent events while it runs.
  await page.locator('#live li', { hasText: 'tick 1' }).waitFor({ timeout: 30_000 });
  await page.click('#cancel');
  await page.locator('.badge-cancelled').first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#cancel').count(), 0);
  await context.close();
});

test('the executions page filters by status and opens a row', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.click('nav.main a[href="/executions"]');
  await page.waitForSelector('#execution-list');
  // The earlier tests left a completed run and a cancelled one.
  await page.selectOption('#execution-filters select[name=status]', 'cancelled');
  // HTMX swaps the table in place: wait until only cancelled rows are left.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#execution-list tr.execution-row')];
    return rows.length > 0 && rows.every((row) => row.dataset.status === 'cancelled');
  });
  await page.waitForURL(/status=cancelled/);
  const rows = page.locator('#execution-list tr.execution-row');
  await Promise.all([
    page.waitForURL(/\/executions\/[0-9a-f-]{36}$/),
    rows.first().locator('a.execution-link').click(),
  ]);
  await page.locator('h1 .badge-cancelled').waitFor();
  await context.close();
});

test('a wrong field is refused beside it and nothing is saved', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.goto(`${server.base}/scripts/new`);
  await page.waitForSelector('#editor.ready');
  await page.fill('#field-Name', 'ab');
  await page.selectOption('#field-Type', 'scheduled');
  await page.fill('#field-CronExpression', '61 * * * *');
  await page.click('#save');
  const nameError = page.locator('#error-Name');
  await nameError.waitFor({ state: 'visible' });
  assert.match(await nameError.innerText(), /\S/);
  assert.match(await page.locator('#error-CronExpression').innerText(), /\S/);
  assert.match(page.url(), /\/scripts\/new$/);
  await page.goto(`${server.base}/scripts?search=ab`);
  assert.doesNotMatch(await page.locator('#scripts').innerText(), /\bab\b/);
  await context.close();
});

test('the pages speak Russian and turn dark after switching', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, server.email, server.password);
  await page.click('nav.langs a[lang=ru]');
  await page.waitForSelector('html[lang=ru]');
  assert.match(await page.locator('nav.main').innerText(), /Скрипты/);
  await page.goto(`${server.base}/scripts`);
  assert.match(await page.locator('h1').innerText(), /Скрипты/);
  await page.click('a[data-theme-link=dark]');
  await page.waitForSelector('html[data-theme=dark]');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(20, 23, 31)');
  assert.match(await page.locator('nav.themes .current').innerText(), /Тёмная/);
  await context.close();
});

test('a viewer sees no edit button and gets 403 on the edit URL', async () => {
  assert.ok(scriptUrl, 'the first test created a script');
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await signIn(context, VIEWER.email, VIEWER.password);
  await page.goto(scriptUrl);
  await page.waitForSelector('h1');
  assert.equal(await page.locator('#edit').count(), 0);
  assert.equal(await page.locator('#run-form').count(), 0);
  const response = await page.goto(`${scriptUrl}/edit`);
  assert.equal(response.status(), 403);
  await context.close();
});
