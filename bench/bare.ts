// The baseline: a bare Fastify JSON route, what every scenario is compared with.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/bare', async () => ({ msg: 'Hello Peter Parker' }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
