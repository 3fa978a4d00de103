import fp from 'fastify-plugin'
import type { Config } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated settings (src/config.ts). */
    config: Config
    /** The clock every token decision uses, in milliseconds since the epoch. */
    now: () => number
  }
}

export interface ConfigPluginOptions {
  config: Config
  now?: () => number
}

// fastify-plugin exports the decorators to the outer scope instead of encapsulating them.
export default fp<ConfigPluginOptions>(async function configPlugin (fastify, { config, now = Date.now }) {
  fastify.decorate('config', config)
  fastify.decorate('now', now)
}, { name: 'config' })
