// An application of your own with simplejwt inside it, as the tutorial adds simplejwt to a Django
// project. `npm run build && node examples/app.js`, then replay the tutorial (README).
import Fastify from 'fastify'
import simplejwt from 'fastify-simplejwt'

// The embedded database (PGlite) can take more than Fastify's default 10 s to open on a busy machine.
const app = Fastify({ logger: true, pluginTimeout: 60_000 })

// POST /api/token/, /api/token/refresh/, /api/token/verify/, … (simplejwt's urls.py)
await app.register(simplejwt, {
  prefix: '/api',
  database: process.env.DATABASE_URL ?? 'memory://',
  JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY,
  ACCESS_TOKEN_LIFETIME: '5m',
  REFRESH_TOKEN_LIFETIME: '1d'
})

// The application's own view, protected: request.user is the token's user.
app.get('/api/hello/', { onRequest: app.authenticate }, async (request) => {
  return { msg: `Hello ${request.user.firstName} ${request.user.lastName}` }
})

// The tutorial's user (on a real database, `fastify-simplejwt createuser` does this).
if (await app.simplejwt.users.findByUsername('spiderman') === undefined) {
  await app.simplejwt.accounts.create({ username: 'spiderman', password: 'underoos', firstName: 'Peter', lastName: 'Parker' })
}

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) })
