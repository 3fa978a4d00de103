// The baseline: a bare Fastify JSON route, what every scenario is compared with.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/bare', async () => ({ msg: 'Hello Peter Parker' }))
// The same shape as the token views (a JSON body in, a small JSON answer out), with no work at all:
// the fair baseline for the POST scenarios, which pay for reading and parsing a body.
app.post('/bare', async () => ({}))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
