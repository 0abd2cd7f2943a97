import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import { runEntryPoint } from '../helper/process.js'
import { FULL_KEY_PATTERN } from '../helper/app.js'
import { PROJECT_ROOT } from '../../src/paths.js'

/** The environment of a new user: no DATABASE_URL, no REDIS_URL, no pepper. */
function embeddedEnv(dataDir: string): Record<string, string | undefined> {
  return { ...process.env, DATABASE_URL: undefined, REDIS_URL: undefined, KEY_PEPPER: undefined, NODE_ENV: 'development', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' }
}

function request(options: http.RequestOptions & { body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      let body = ''
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

t.test('first start on the embedded default: Demo account, key shown once, $10.00 credit; graceful shutdown', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-server-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  const first = runEntryPoint('src/server.ts', [], embeddedEnv(dataDir))
  t.teardown(() => { first.child.kill('SIGKILL') })
  const [, url] = await first.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  const [key] = await first.waitFor(FULL_KEY_PATTERN)
  const { port } = new URL(url!)
  t.match(first.stdout(), /={20,}[\s\S]*Demo[\s\S]*shown ONCE/, 'a clearly marked banner')

  const pepper = statSync(join(dataDir, 'key-pepper'))
  t.equal(pepper.mode & 0o777, 0o600, 'generated pepper is private to its owner')

  for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key! }]) {
    const balance = await request({ host: '127.0.0.1', port, path: '/api/v1/credits/balance', headers })
    t.equal(balance.status, 200)
    t.equal(JSON.parse(balance.body).balance, 1000)
  }

  // An in-flight request survives SIGTERM: the body arrives after the signal and still gets its answer.
  const body = JSON.stringify({ name: 'created during shutdown', scopes: ['calls:read'] })
  const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/keys', method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.on('data', (chunk) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.write(body.slice(0, 10))
    setTimeout(() => {
      first.child.kill('SIGTERM')
      setTimeout(() => req.end(body.slice(10)), 300)
    }, 300)
  })
  const drained = await inFlight
  t.equal(drained.status, 201, 'the in-flight request completed')
  t.equal(await first.exited, 0, 'clean exit after SIGTERM')
  t.match(first.stdout(), /shutting down/)

  const logLines = first.stdout().split('\n').filter((line) => line.startsWith('{'))
  t.ok(logLines.length > 3, 'JSON log lines were written')
  t.notOk(logLines.some((line) => line.includes(key!)), 'the key never appears in a log line')
  t.notOk(logLines.some((line) => FULL_KEY_PATTERN.test(line)), 'no full key in any log line')
  t.match(readFileSync(join(dataDir, 'key-pepper'), 'utf8'), /^\S{32,}\n$/)

  const second = runEntryPoint('src/server.ts', [], embeddedEnv(dataDir))
  t.teardown(() => { second.child.kill('SIGKILL') })
  const [, secondUrl] = await second.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  t.notMatch(second.stdout(), FULL_KEY_PATTERN, 'no second bootstrap key')
  const again = await request({ host: '127.0.0.1', port: new URL(secondUrl!).port, path: '/api/v1/credits/balance', headers: { 'x-api-key': key! } })
  t.equal(again.status, 200, 'the key works across restarts (same pepper, same database)')
  second.child.kill('SIGINT')
  t.equal(await second.exited, 0)
})

t.test('a bad configuration value stops the start with one line naming the variable', async (t) => {
  for (const [variable, value] of [['PORT', 'eighty'], ['LOG_LEVEL', 'loud'], ['DATABASE_URL', 'mysql://x'], ['TRUST_PROXY', 'yes please']] as const) {
    const run = runEntryPoint('src/server.ts', [], { ...process.env, [variable]: value, DATA_DIR: join(tmpdir(), 'voxpria-never-used') })
    t.equal(await run.exited, 1, variable)
    const lines = run.stderr().trim().split('\n')
    t.equal(lines.length, 1, `${variable}: one line`)
    t.match(lines[0], new RegExp(`^invalid configuration: ${variable} `))
  }
  const production = runEntryPoint('src/server.ts', [], { ...process.env, NODE_ENV: 'production', KEY_PEPPER: undefined })
  t.equal(await production.exited, 1)
  t.match(production.stderr(), /KEY_PEPPER is required when NODE_ENV=production/)
})

t.test('npm start: builds only when a source changed, and the signal a process manager sends stops the server', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-npm-start-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const stamp = join(PROJECT_ROOT, 'dist', '.build-stamp')
  // NODE_OPTIONS cleared: this is the compiled server as `npm start` runs it, not the tests' loader.
  // Its coverage is not recorded (tap's processinfo would add itself back to NODE_OPTIONS): dist/
  // is tsc's transform of the same sources, and coverage of two transforms of one file does not
  // merge — each function would be counted twice, once uncovered.
  const env = { ...embeddedEnv(dataDir), NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }

  const start = async () => {
    const npm = spawn('npm', ['start'], { cwd: PROJECT_ROOT, env: env as NodeJS.ProcessEnv })
    let out = ''
    npm.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    npm.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
    t.teardown(() => { npm.kill('SIGKILL') })
    const deadline = Date.now() + 120_000
    while (!/Server listening at/.test(out) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    const pid = Number(/"pid":(\d+)/.exec(out)?.[1])
    return { npm, exited, pid, output: () => out }
  }

  const first = await start()
  t.ok(/Server listening at/.test(first.output()), 'the first start serves')
  const built = statSync(stamp).mtimeMs
  t.not(first.pid, first.npm.pid, 'the server is its own process…')
  first.npm.kill('SIGTERM')
  t.equal(await first.exited, 0, '…and npm, sent SIGTERM, exits once the server has')
  t.match(first.output(), /"signal":"SIGTERM"[^\n]*shutting down/, 'the server itself received the signal')
  t.throws(() => process.kill(first.pid, 0), { code: 'ESRCH' }, 'nothing left running')
  t.notOk(existsSync(join(dataDir, 'voxpria.pid')), 'the embedded database was released')

  const second = await start()
  t.ok(/Server listening at/.test(second.output()), 'the second start serves')
  t.equal(statSync(stamp).mtimeMs, built, 'and did not recompile: nothing changed')
  second.npm.kill('SIGTERM')
  t.equal(await second.exited, 0)
})
