// Swagger UI at /docs in a real browser (Debian's Chromium driven by playwright-core), as a person exploring the
// API uses it: "Try it out" on the obtain operation, the access token into "Authorize", then hello.
// Skipped when Chromium is absent, except in CI (CI=true), where .ci/run installs it and a missing one fails.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { build, createUser } from '../helper.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Where the screenshot goes; `npm run docs:screenshot` points it at docs/swagger-ui.png. */
const SCREENSHOT = resolve(process.env.SWAGGER_UI_SCREENSHOT ?? join(tmpdir(), 'fastify-simplejwt', 'swagger-ui.png'))
/** Chromium without the sandbox (CI runs as root), a GPU, or any traffic of its own. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') {
    t.fail(`Chromium is missing at ${CHROMIUM}: CI must run this test (.ci/run installs it with apt-get install -y chromium)`)
  } else {
    t.plan(0, `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH); CI runs this test`)
  }
} else {
  const app = await build(t)
  await createUser(app)
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })

  // A fresh profile every run: nothing remembered from an earlier one.
  const profile = mkdtempSync(join(tmpdir(), 'fsj-chromium-'))
  t.teardown(() => rmSync(profile, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 }
  })
  t.teardown(() => context.close())
  context.setDefaultTimeout(20_000)

  // Everything the page loads must come from the app itself (no CDN, no validator badge).
  const foreign: string[] = []
  await context.route('**/*', route => {
    if (route.request().url().startsWith(origin)) return route.continue()
    foreign.push(route.request().url())
    return route.abort()
  })
  const page = context.pages()[0] ?? await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', err => pageErrors.push(err.message))

  t.test('Swagger UI: obtain a pair, authorize with the access token, and hello greets Peter Parker', async t => {
    await page.goto(`${origin}/docs`)
    await page.locator('.information-container .title').filter({ hasText: 'fastify-simplejwt' }).waitFor()

    // 1. POST /api/token/: "Try it out" with spiderman's credentials, then "Execute".
    const obtain = page.locator('#operations-token-obtainTokenPair')
    await obtain.locator('.opblock-summary-control').click()
    await obtain.getByRole('button', { name: 'Try it out' }).click()
    await obtain.locator('textarea.body-param__text').fill(JSON.stringify({ username: 'spiderman', password: 'underoos' }, null, 2))
    await obtain.getByRole('button', { name: 'Execute' }).click()
    const obtained = obtain.locator('.live-responses-table .response')
    await t.resolves(obtained.locator('.response-col_status').filter({ hasText: '200' }).waitFor(), 'the obtain request answered 200')
    const pair = JSON.parse(await obtained.locator('.response-col_description .microlight').first().innerText()) as { access: string, refresh: string }
    t.match(pair, { access: /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, refresh: /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/ }, 'the response body shows both tokens')

    // 2. "Authorize": paste the access token into bearerAuth, authorize, close the dialog.
    await page.locator('.scheme-container button.authorize').click()
    const dialog = page.locator('.dialog-ux .modal-ux')
    await dialog.locator('input#auth-bearer-value').fill(pair.access)
    await dialog.locator('.auth-btn-wrapper button.authorize').click()
    await t.resolves(dialog.locator('.auth-btn-wrapper button').filter({ hasText: 'Logout' }).waitFor(), 'the dialog says bearerAuth is authorized')
    await dialog.locator('.auth-btn-wrapper button.btn-done').click()
    await obtain.locator('.opblock-summary-control').click()

    // 3. GET /api/hello/: "Try it out", "Execute", and the greeting.
    const hello = page.locator('#operations-hello-hello')
    await hello.locator('.opblock-summary-control').click()
    await hello.getByRole('button', { name: 'Try it out' }).click()
    await hello.getByRole('button', { name: 'Execute' }).click()
    const answered = hello.locator('.live-responses-table .response')
    await t.resolves(answered.locator('.response-col_status').filter({ hasText: '200' }).waitFor(), 'hello answered 200')
    const body = JSON.parse(await answered.locator('.response-col_description .microlight').first().innerText())
    t.same(body, { msg: 'Hello Peter Parker' })
    t.match(await hello.locator('.curl-command').innerText(), /Authorization: Bearer eyJ/, 'the request carried the pasted token')
    await t.resolves(hello.getByText('Hello Peter Parker').first().waitFor(), 'the page shows "Hello Peter Parker"')

    await hello.scrollIntoViewIfNeeded()
    mkdirSync(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    t.comment(`screenshot: ${SCREENSHOT}`)

    t.same(foreign, [], 'no request left the app')
    t.same(pageErrors, [], 'no script error on the page')
  })
}
