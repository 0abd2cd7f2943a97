import net from 'node:net'

/**
 * A TCP proxy a test puts between the service and PostgreSQL, to take the database away the two
 * ways networks do: `stop()` refuses and resets connections (the server went down), `blackhole()`
 * keeps every connection open but lets no byte through (a partition: packets vanish). No mocks:
 * the service talks real PostgreSQL through it.
 */
export class TcpProxy {
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private dark = false
  port = 0

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<number> {
    this.dark = false
    const server = net.createServer((client) => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  /** Closes the listener and resets every connection: new ones are refused. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.resetAndDestroy()
    this.sockets.clear()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Connections stay open and new ones are accepted, but nothing flows until `restore()`. */
  blackhole(): void {
    this.dark = true
  }

  restore(): void {
    this.dark = false
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client)
    client.on('error', () => {})
    client.on('close', () => this.sockets.delete(client))
    // Accepted while dark: held open, never connected through (as a dropped SYN-ACK would leave it).
    if (this.dark) return
    const upstream = net.connect(this.targetPort, this.targetHost)
    this.sockets.add(upstream)
    upstream.on('error', () => {})
    client.on('data', (data) => { if (!this.dark) upstream.write(data) })
    upstream.on('data', (data) => { if (!this.dark) client.write(data) })
    const close = () => { client.destroy(); upstream.destroy(); this.sockets.delete(upstream) }
    client.on('close', close)
    upstream.on('close', close)
  }
}
