// Screenshots of the main pages (dead letters included) in the light and the dark theme, written to $SCREENSHOTS_DIR
// (docs/screenshots in the repository); skipped unless that variable is set.
import { test } from 'node:test';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const DIR = process.env.SCREENSHOTS_DIR;

// Two failed event deliveries left as dead letters: a subscribed script that throws, with a
// single attempt, and two events published over the API.
async function deadLetters(server) {
  const email = server.email;
  const token = server.run('token', 'create', '--email', email, '--name', 'screenshots').trim().split('\n').pop();
  const api = (path, body) => fetch(`${server.base}/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const created = await api('/scripts', {
    name: 'Warehouse sync', type: 'event', status: 'active', eventTypes: ['order.shipped'],
    retry: { maxAttempts: 1 },
    source: "export async function handleEvent(event) {\n  throw new Error('the warehouse refused order ' + event.payload.orderId);\n}\n",
  });
  if (created.status !== 201) throw new Error(`the event script was not created: ${await created.text()}`);
  for (const orderId of [1041, 1042]) {
    const published = await api('/events', { type: 'order.shipped', payload: { orderId } });
    if (!published.ok) throw new Error(`the event was not published: ${await published.text()}`);
  }
  const list = () => fetch(`${server.base}/api/v1/dead-letters`, { headers: { authorization: `Bearer ${token}` } })
    .then((r) => r.json());
  for (let i = 0; i < 120 && (await list()).items.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test('screenshots of the main pages', { skip: !DIR && 'SCREENSHOTS_DIR is not set' }, async () => {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    await deadLetters(server);
    let scriptUrl;
    let executionUrl;
    for (const scheme of ['light', 'dark']) {
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      const shot = (name) => page.screenshot({ path: join(DIR, `${name}-${scheme}.png`) });
      await page.goto(`${server.base}/login`);
      await page.fill('#email', server.email);
      await page.fill('#password', server.password);
      await Promise.all([page.waitForURL(/\/dashboard/), page.click('button[type=submit]')]);
      await page.goto(`${server.base}/scripts/new`);
      await page.waitForSelector('#editor.ready .monaco-editor');
      await page.fill('#field-Name', 'Nightly export');
      await page.fill('#field-Description', 'Exports yesterday\'s orders');
      await page.selectOption('#field-Status', 'active');
      await page.evaluate(() => window.iotaEditor.setValue(
        "export default async function (input) {\n  console.log('exporting', input.day);\n  console.warn('3 rows skipped');\n  return { exported: 42, day: input.day };\n}\n"));
      await page.click('#editor .view-lines');
      await page.keyboard.press('Control+End');
      await page.keyboard.type('\nsdk.http.');
      await page.locator('.suggest-widget.visible .monaco-list-row').first().waitFor();
      await page.locator('#editor').scrollIntoViewIfNeeded();
      await shot('editor');
      if (!scriptUrl) {
        await page.keyboard.press('Escape');
        await page.evaluate(() => window.iotaEditor.setValue(
          "export default async function (input) {\n  console.log('exporting', input.day);\n  console.warn('3 rows skipped');\n  return { exported: 42, day: input.day };\n}\n"));
        await Promise.all([page.waitForURL(/\/scripts\/[0-9a-f-]{36}$/), page.click('#save')]);
        scriptUrl = page.url();
        await page.fill('#field-Input', '{"day": "2026-11-29"}');
        await page.click('#run');
        await page.locator('#run-output').waitFor();
        executionUrl = await page.locator('#run-output a').first().getAttribute('href');
        await page.goto(`${scriptUrl}/edit`);
        await page.waitForSelector('#editor.ready .monaco-editor');
        await page.evaluate(() => window.iotaEditor.setValue(
          "export default async function (input) {\n  console.log('exporting', input.day);\n  const rows = await sdk.db.query('SELECT id FROM orders WHERE day = $1', [input.day]);\n  return { exported: rows.length, day: input.day };\n}\n"));
        await page.fill('#field-ChangeSummary', 'Read the orders from the database');
        await Promise.all([page.waitForURL(scriptUrl), page.click('#save')]);
      }
      await page.goto(`${scriptUrl}/versions`);
      await page.waitForFunction(() => window.iotaDiff && (window.iotaDiff.getLineChanges() || []).length > 0);
      await page.waitForTimeout(1000);
      await shot('diff');
      await page.goto(scriptUrl);
      await page.waitForSelector('#viewer.ready');
      await shot('script');
      await page.goto(`${server.base}${executionUrl}`);
      await shot('execution');
      await page.goto(`${server.base}/scripts`);
      await shot('list');
      await page.goto(`${server.base}/dashboard`);
      await shot('dashboard');
      await page.goto(`${server.base}/dead-letters`);
      await page.locator('#dead-letter-list').waitFor();
      await shot('dead-letters');
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
});
