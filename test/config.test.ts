import t from 'tap'
import { loadConfig, parseTrustProxy, ConfigError } from '../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, { PORT: 3000, HOST: '127.0.0.1', TRUST_PROXY: 'false', LOG_LEVEL: 'info', DATA_DIR: './.data', RATE_LIMIT_ON_REDIS_ERROR: 'open', AUTH_FAILURES_PER_MINUTE: 30 })
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
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /KEY_PEPPER is required/)
  t.doesNotThrow(() => loadConfig({ NODE_ENV: 'production', KEY_PEPPER: 'x'.repeat(32) }))
})

t.test('TRUST_PROXY takes false, true, a hop count or a list of proxies', async (t) => {
  t.equal(parseTrustProxy('false'), false)
  t.equal(parseTrustProxy('true'), true)
  t.equal(parseTrustProxy('2'), 2)
  t.same(parseTrustProxy('10.0.0.1, 10.1.0.0/16,::1'), ['10.0.0.1', '10.1.0.0/16', '::1'])
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), ConfigError)
})
