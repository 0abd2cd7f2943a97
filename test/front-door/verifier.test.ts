import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { cacheIndex, KeyVerifier } from '../../src/auth/verifier.js'
import { eq } from 'drizzle-orm'
import { apiKeys } from '../../src/db/schema/index.js'
import { buildTestApp, createTestAccount, TEST_PEPPER } from '../helper/app.js'
import { KEY_LENGTH, KEY_PREFIX, KEY_RANDOM_LENGTH } from '../../src/keys/format.js'

// The verifier on its own (no HTTP): what its cache keeps, counted by its database lookups.

t.test('a verified key is served from the cache: one lookup for many requests', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000 })
  t.teardown(() => verifier.close())
  for (let i = 0; i < 5; i++) t.ok((await verifier.verify(account.key)).ok)
  t.equal(verifier.databaseLoads, 1)
  // Filed under its SHA-256 index, not under the secret: a heap snapshot of the cache holds no key.
  const cached = [...(verifier as unknown as { cache: Map<string, unknown> }).cache.keys()]
  t.same(cached, [cacheIndex(account.key)])
  t.notOk(cached.some((index) => index.includes(account.key.slice(4, 20))), 'no part of the secret in the index')
})

t.test('a lookup that invalidations keep overtaking is used once, never cached', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000 })
  t.teardown(() => verifier.close())

  // The race, made deterministic: each of the first three lookups is overtaken by an invalidation
  // of the same key while it is in flight, so the verify retries and, on its last try, still
  // cannot know whether the row it read is current.
  const internals = verifier as unknown as { load(digest: string): Promise<unknown> }
  const load = internals.load.bind(verifier)
  let overtaken = 0
  internals.load = (digest) => {
    const result = load(digest)
    if (overtaken++ < 3) verifier.invalidateKey(account.keyId)
    return result
  }
  t.ok((await verifier.verify(account.key)).ok, 'the requests waiting on it are answered')
  t.equal(verifier.databaseLoads, 3, 'tried three times')

  await sleep(5)
  t.ok((await verifier.verify(account.key)).ok)
  t.equal(verifier.databaseLoads, 4, 'the unsettled row was not cached: the next request looks the key up again')
  t.ok((await verifier.verify(account.key)).ok)
  t.equal(verifier.databaseLoads, 4, 'and that settled row is')
})

t.test('an expiry takes effect at its time even for a cached key', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000 })
  t.teardown(() => verifier.close())
  const first = await verifier.verify(account.key)
  t.ok(first.ok)
  if (!first.ok) return
  const expiresAt = Date.now() + 60_000
  first.principal.expiresAtMs = expiresAt
  t.ok((await verifier.verify(account.key, expiresAt - 1)).ok, 'still valid a millisecond before')
  t.match(await verifier.verify(account.key, expiresAt), { ok: false, reason: 'expired_api_key' }, 'expired at its time, from the cache')
  t.equal(verifier.databaseLoads, 1)
})

t.test('last use is recorded in memory to the second and written in one batch', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000, lastUsedFlushMs: 3_600_000 })
  t.teardown(() => verifier.close())
  const verified = await verifier.verify(account.key)
  if (!verified.ok) throw new Error('the test key did not verify')
  const { principal } = verified
  const lastUsedInDatabase = async () =>
    (await app.database.db.select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, account.keyId)))[0]!.at
  const start = Date.now()
  verifier.touch(principal, start)
  verifier.touch(principal, start + 999)
  t.equal(principal.key.lastUsedAt?.getTime(), start, 'a use within the second of the last one recorded is not news')
  verifier.touch(principal, start + 1_000)
  t.equal(principal.key.lastUsedAt?.getTime(), start + 1_000, 'a second later it is')
  verifier.touch(principal, start + 500)
  t.equal(principal.key.lastUsedAt?.getTime(), start + 1_000, 'never moved backwards')
  t.equal(await lastUsedInDatabase(), null, 'nothing written per request')
  await verifier.flushLastUsed()
  t.equal((await lastUsedInDatabase())?.getTime(), start + 1_000, 'the batch writes the latest use')
})

t.test('a malformed key is refused without a lookup; a near miss of a cached key too', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000 })
  t.teardown(() => verifier.close())
  t.ok((await verifier.verify(account.key)).ok)
  // Same shape, one character changed: the checksum no longer matches.
  const last = account.key.at(-1) === 'a' ? 'b' : 'a'
  for (const presented of [`${account.key.slice(0, -1)}${last}`, account.key.slice(0, -1), `${account.key} `, 'vxp_short']) {
    t.match(await verifier.verify(presented), { ok: false, reason: 'invalid_api_key', displayPrefix: null }, JSON.stringify(presented))
  }
  t.equal(verifier.databaseLoads, 1, 'only the real key was looked up')
})

t.test('a key tampered anywhere is refused by its checksum alone, with no database lookup', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  // A fresh verifier: nothing cached, so only the shape and checksum check can refuse these.
  const verifier = new KeyVerifier(app.database.db, TEST_PEPPER, { ttlMs: 60_000 })
  t.teardown(() => verifier.close())
  const flip = (key: string, at: number) => `${key.slice(0, at)}${key[at] === 'a' ? 'b' : 'a'}${key.slice(at + 1)}`
  const randomStart = KEY_PREFIX.length
  const checksumStart = KEY_PREFIX.length + KEY_RANDOM_LENGTH
  for (const [where, at] of [
    ['the first random character', randomStart], ['a middle random character', randomStart + 21], ['the last random character', checksumStart - 1],
    ['the first checksum character', checksumStart], ['a middle checksum character', checksumStart + 3], ['the last checksum character', KEY_LENGTH - 1],
  ] as const) {
    t.match(await verifier.verify(flip(account.key, at)), { ok: false, reason: 'invalid_api_key', displayPrefix: null }, where)
  }
  t.equal(verifier.databaseLoads, 0, 'not one lookup')
  t.ok((await verifier.verify(account.key)).ok, 'the untampered key verifies')
  t.equal(verifier.databaseLoads, 1)
})
