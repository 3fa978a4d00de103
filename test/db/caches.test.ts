// The cache trusts memory only while its subscription is up (issue 13, finding 8): a drop of the
// LISTEN connection empties it at once, reads go to the database until the subscription is back,
// and nothing read before that return is stored.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { createCache } from '../../src/domain/cache.js'
import { followNotifications } from '../../src/db/caches.js'
import type { Database } from '../../src/db/client.js'

/** A subscription the test drives: `drop()` and `restore()` are the LISTEN connection going and coming back. */
class FakeSubscription extends EventEmitter {
  subscribed = true
  drop (): void { this.subscribed = false; this.emit('down', new Error('test')) }
  restore (): void { this.subscribed = true; this.emit('up') }
}

/** A cache over a "database" the test changes, counting reads; `hold()` makes the next loads wait for `release()`. */
function fixture () {
  const db = new Map<string, string>([['a', 'valid']])
  let loads = 0
  let gate: Promise<void> | undefined
  let open = () => {}
  const cache = createCache<string, string | undefined>({
    load: async (key) => {
      loads++
      const value = db.get(key)
      if (gate !== undefined) await gate
      return value
    },
    ttlMs: 60_000,
    maxEntries: 100,
    now: () => 0
  })
  return {
    db,
    cache,
    get loads () { return loads },
    hold () { gate = new Promise<void>(resolve => { open = resolve }) },
    release () { gate = undefined; open() }
  }
}

t.test('down: emptied at once, every read goes through, nothing stored; up: cached again', async t => {
  const f = fixture()
  const subscription = new FakeSubscription()
  const unfollow = f.cache.follow(subscription)
  t.equal(await f.cache.get('a'), 'valid')
  await f.cache.get('a')
  t.equal(f.loads, 1, 'served from memory while subscribed')

  // Revoked elsewhere while this instance cannot hear it: the notification is lost.
  subscription.drop()
  f.db.set('a', 'revoked')
  t.equal(f.cache.size, 0, 'emptied when the connection drops, not when it comes back')
  t.equal(await f.cache.get('a'), 'revoked', 'read through: the change is seen at once')
  await f.cache.get('a')
  t.equal(f.loads, 3, 'every read goes to the database while down')
  t.equal(f.cache.size, 0, 'nothing is stored while down')

  subscription.restore()
  await f.cache.get('a')
  await f.cache.get('a')
  t.equal(f.loads, 4, 'cached again once subscribed')

  unfollow()
  t.equal(subscription.listenerCount('down') + subscription.listenerCount('up'), 0, 'unfollow leaves no listener')
})

t.test('a read that began before a drop is not stored', async t => {
  const f = fixture()
  const subscription = new FakeSubscription()
  f.cache.follow(subscription)
  f.hold()
  const racing = f.cache.get('a')
  subscription.drop()
  f.db.set('a', 'revoked')
  subscription.restore()
  f.release()
  t.equal(await racing, 'valid', 'its caller gets what it read')
  t.equal(f.cache.size, 0, 'but it is not stored')
  t.equal(await f.cache.get('a'), 'revoked', 'the next read goes to the database')
})

t.test('a read that began while down is not stored after the subscription returns', async t => {
  const f = fixture()
  const subscription = new FakeSubscription()
  f.cache.follow(subscription)
  subscription.drop()
  f.hold()
  const during = f.cache.get('a')
  subscription.restore()
  f.db.set('a', 'revoked')
  f.release()
  t.equal(await during, 'valid')
  t.equal(f.cache.size, 0, 'not stored')
  // Of two reads held across a return of the subscription, only the one that began after it is stored.
  f.hold()
  subscription.drop()
  const first = f.cache.get('a')
  subscription.restore()
  const second = f.cache.get('a')
  f.release()
  await Promise.all([first, second])
  t.equal(f.cache.size, 1, 'only the read that began after the return is stored')
  t.equal(await f.cache.get('a'), 'revoked')
})

t.test('following a subscription that is down at the start reads through until it is up', async t => {
  const f = fixture()
  const subscription = new FakeSubscription()
  subscription.subscribed = false
  f.cache.follow(subscription)
  await f.cache.get('a')
  await f.cache.get('a')
  t.equal(f.loads, 2)
  subscription.restore()
  await f.cache.get('a')
  await f.cache.get('a')
  t.equal(f.loads, 3)
})

t.test('followNotifications: payloads invalidate, * clears, transitions are reported after the cache reacted', async t => {
  const f = fixture()
  const subscription = new FakeSubscription()
  let notify: (payload: string) => void = () => {}
  let unlistened = 0
  const database: Pick<Database, 'listen'> = {
    async listen (_channel, onNotify) {
      notify = onNotify
      return { subscription: subscription as never, unlisten: async () => { unlistened++ } }
    }
  }
  const seen: string[] = []
  const stop = await followNotifications(database, 'chan', f.cache, (payload) => payload === 'ignored' ? undefined : payload, {
    down: () => seen.push(`down ${f.cache.size}`),
    up: () => seen.push('up')
  })
  await f.cache.get('a')
  f.db.set('a', 'changed')
  notify('ignored')
  t.equal(await f.cache.get('a'), 'valid', 'an ignored payload changes nothing')
  notify('a')
  t.equal(await f.cache.get('a'), 'changed', 'a key is forgotten')
  f.db.set('a', 'again')
  notify('*')
  t.equal(await f.cache.get('a'), 'again', '* forgets everything')
  subscription.drop()
  subscription.restore()
  t.same(seen, ['down 0', 'up'])
  await stop()
  t.equal(unlistened, 1)
  t.equal(subscription.listenerCount('down'), 0)
})
