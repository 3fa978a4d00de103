import t from 'tap'
import { build } from '../helper.js'

const app = await build(t)

t.test('GET /health/live: 200 without touching the database', async t => {
  const res = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /health/ready: 200 while the database answers', async t => {
  const res = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /docs/json: the probes are documented', async t => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.equal(doc.paths['/health/live'].get.operationId, 'checkLiveness')
  t.ok(doc.paths['/health/ready'].get.responses['503'])
})
