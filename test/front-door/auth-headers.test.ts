import t from 'tap'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'
import { generateApiKey } from '../../src/keys/format.js'

t.test('authentication headers', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app, { plan: 'free_trial' })
  const url = '/api/v1/credits/balance'

  t.test('Bearer (scheme case-insensitive) and X-API-Key both work and return the $10.00 grant', async (t) => {
    for (const headers of [
      { authorization: `Bearer ${account.key}` },
      { authorization: `bearer ${account.key}` },
      { authorization: `BEARER ${account.key}` },
      { 'x-api-key': account.key },
      { authorization: `Bearer ${account.key}`, 'x-api-key': account.key },
    ]) {
      const response = await call(app, { url, headers })
      t.equal(response.statusCode, 200, JSON.stringify(Object.keys(headers)))
      t.same(response.json().balance, 1000)
      t.equal(response.json().currency, 'usd')
    }
  })

  t.test('missing key → 401 missing_api_key with WWW-Authenticate', async (t) => {
    const response = await call(app, { url })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="voxpria"')
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { code: 'missing_api_key', status: 401, type: /missing_api_key$/, title: String, detail: String, request_id: /^req_/ })
  })

  t.test('a key in the query string is ignored', async (t) => {
    const response = await call(app, { url: `${url}?api_key=${account.key}&key=${account.key}` })
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'missing_api_key')
  })

  t.test('different keys in the two headers → 400 ambiguous_credentials', async (t) => {
    const response = await call(app, { url, headers: { authorization: `Bearer ${account.key}`, 'x-api-key': generateApiKey() } })
    t.equal(response.statusCode, 400)
    t.equal(response.json().code, 'ambiguous_credentials')
  })

  t.test('duplicated raw headers → 400', async (t) => {
    for (const name of ['Authorization', 'X-API-Key']) {
      const value = name === 'Authorization' ? `Bearer ${account.key}` : account.key
      // light-my-request takes raw header arrays the way Node receives repeated headers.
      const response = await app.inject({ url, headers: { [name]: [value, value] } as never })
      t.equal(response.statusCode, 400, name)
      t.equal(response.json().code, 'ambiguous_credentials', name)
    }
  })

  t.test('malformed, unknown, oversized and control-character keys → 401 invalid_api_key', async (t) => {
    const wellFormedUnknown = generateApiKey()
    const badChecksum = account.key.slice(0, -1) + (account.key.endsWith('A') ? 'B' : 'A')
    for (const headers of [
      { authorization: 'Bearer nope' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${wellFormedUnknown}` },
      { authorization: `Bearer ${badChecksum}` },
      { 'x-api-key': 'x'.repeat(10_000) },
      { 'x-api-key': `vxp_${'a'.repeat(300)}` },
      { 'x-api-key': '   ' },
    ]) {
      const response = await call(app, { url, headers })
      t.equal(response.statusCode, 401, JSON.stringify(headers).slice(0, 80))
      t.equal(response.json().code, 'invalid_api_key')
    }
  })

  t.test('control characters in a header never cause a 500', async (t) => {
    const response = await call(app, { url, headers: { 'x-api-key': `${account.key}\u0001` } })
    t.ok([400, 401].includes(response.statusCode), `status ${response.statusCode}`)
  })
})
