import t from 'tap'
import { loadConfig, parseTrustProxy, ConfigError } from '../../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, { PORT: 3000, HOST: '127.0.0.1', TRUST_PROXY: 'false', LOG_LEVEL: 'info', DATA_DIR: './.data', RATE_LIMIT_ON_REDIS_ERROR: 'open', AUTH_FAILURES_PER_MINUTE: 30,
    USAGE_BUFFER_SIZE: 5_000, USAGE_BUFFER_MAX: 50_000 })
  t.equal(config.DATABASE_URL, undefined)
  t.equal(config.REDIS_URL, undefined)
})

t.test('unrelated environment variables are ignored; empty strings are unset', async (t) => {
  const config = loadConfig({ PATH: '/bin', HOME: '/root', DATABASE_URL: '', PORT: '8080' })
  t.equal(config.PORT, 8080)
  t.equal(config.DATABASE_URL, undefined)
})

t.test('bad values name the variable', async (t) => {
  for (const [variable, value] of [
    ['PORT', '70000'], ['PORT', '3.5'], ['REDIS_URL', 'http://x'], ['KEY_PEPPER', 'short'],
    ['RATE_LIMIT_ON_REDIS_ERROR', 'maybe'], ['AUTH_FAILURES_PER_MINUTE', '0'], ['NODE_ENV', 'staging'],
  ]) {
    t.throws(() => loadConfig({ [variable!]: value }), { name: 'ConfigError', variable }, `${variable}=${value}`)
  }
  t.throws(() => loadConfig({ USAGE_BUFFER_SIZE: '60000' }), { name: 'ConfigError', variable: 'USAGE_BUFFER_MAX' },
    'a flush size beyond the default cap: the buffer could never fill to a flush')
  t.match(loadConfig({ USAGE_BUFFER_SIZE: '60000', USAGE_BUFFER_MAX: '60000' }), { USAGE_BUFFER_SIZE: 60_000, USAGE_BUFFER_MAX: 60_000 })
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /KEY_PEPPER is required/)
  t.doesNotThrow(() => loadConfig({ NODE_ENV: 'production', KEY_PEPPER: 'x'.repeat(32) }))
})

t.test('TRUST_PROXY takes false, a hop count or a list of proxies — never "trust everyone"', async (t) => {
  t.equal(parseTrustProxy('false'), false)
  const twoHops = parseTrustProxy('2')
  t.type(twoHops, 'function', 'a hop count becomes a trust function (Fastify ignores a bare number)')
  if (typeof twoHops === 'function') t.same([0, 1, 2].map((hop) => twoHops('10.0.0.1', hop)), [true, true, false])
  t.same(parseTrustProxy('10.0.0.1, 10.1.0.0/16,::1'), ['10.0.0.1', '10.1.0.0/16', '::1'])
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), ConfigError)
  t.throws(() => loadConfig({ TRUST_PROXY: 'true' }), { name: 'ConfigError', variable: 'TRUST_PROXY' }, 'trusting every hop believes any client')
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.1,10.0.0.300' }), /10\.0\.0\.300/)
})

t.test('configuration errors never echo a secret', async (t) => {
  for (const [variable, value] of [['KEY_PEPPER', 'short-but-real-secret'], ['DATABASE_URL', 'pg://admin:hunter2@db/x'], ['REDIS_URL', 'http://user:hunter2@cache']]) {
    try {
      loadConfig({ [variable!]: value })
      t.fail(`${variable} should be refused`)
    } catch (error) {
      t.match((error as Error).message, new RegExp(`^invalid configuration: ${variable} `))
      t.notMatch((error as Error).message, value!, `${variable}: the value is not echoed`)
    }
  }
  t.throws(() => loadConfig({ PORT: 'eighty' }), /got "eighty"/, 'non-secret values are echoed to help')
})
