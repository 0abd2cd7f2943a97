import t from 'tap'
import net from 'node:net'
import { Duplex } from 'node:stream'
import postgres from 'postgres'

/**
 * Regressions for postgres.js 3.4.9 defects that the service's outage handling ran into, fixed in
 * patches/postgres+3.4.9.patch (patch-package, applied by `npm ci`). Each test fails unpatched.
 *
 * postgres.js 3.4.9 batches small writes behind a setImmediate and, when a socket closes with such
 * a write still pending, cancels the timer without forgetting it: from then on the connection never
 * writes again, its StartupMessage included, and every reconnect times out (a wedged pool slot;
 * the service's outage handling closes sockets on purpose, which made this common).
 */
t.test('a connection whose socket closed with a write pending still writes its next StartupMessage', async (t) => {
  // A stand-in server: it only records whether a StartupMessage (protocol 3.0) ever arrives.
  let received = Buffer.alloc(0)
  const server = net.createServer((socket) => socket.on('data', (data) => { received = Buffer.concat([received, data]) }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as net.AddressInfo
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

  let sockets = 0
  const sql = postgres({
    host: '127.0.0.1', port, user: 'probe', database: 'probe', max: 1, backoff: 0, connect_timeout: 2,
    socket: () => {
      sockets++
      if (sockets === 1) {
        // Closes in an immediate queued before the driver's first write: the write is still pending.
        const doomed = new Duplex({ read() {}, write(_chunk, _encoding, done) { done() } })
        setImmediate(() => doomed.emit('close', true))
        return doomed
      }
      return net.connect(port, '127.0.0.1')
    },
  } as never)
  t.teardown(() => sql.end({ timeout: 0 }))
  void sql`select 1`.catch(() => {})
  const deadline = Date.now() + 1_500
  while (received.length < 8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(sockets >= 2, 'the driver reconnected')
  t.ok(received.length >= 8 && received.readInt32BE(4) === 196_608, 'the second socket received a StartupMessage (protocol 3.0)')
})

t.test('a query issued between a socket’s error and its close still settles', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async (t) => {
  // Node emits a socket's 'error' at once but its 'close' only when the handle has closed, turns
  // later; the unpatched driver, told of the error first, then dropped any query sent in between.
  const target = new URL(process.env.DATABASE_URL!)
  let socket: net.Socket | undefined
  const sql = postgres(process.env.DATABASE_URL!, {
    max: 1, backoff: 0, fetch_types: false,
    socket: () => (socket = net.connect(Number(target.port || 5432), target.hostname)),
  } as never)
  t.teardown(() => sql.end({ timeout: 0 }))
  t.same(await sql`select 1 as one`, [{ one: 1 }], 'the connection is open')
  socket!.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
  const late = sql`select 2 as two`.then(() => 'answered', (error: { code?: string }) => error.code)
  await new Promise((resolve) => setImmediate(resolve))
  socket!.emit('close', true)
  socket!.destroy()
  const outcome = await Promise.race([late, new Promise((resolve) => setTimeout(() => resolve('never settled'), 1_000))])
  t.equal(outcome, 'CONNECTION_CLOSED', 'rejected, not left pending for ever')
})
