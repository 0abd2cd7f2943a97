import closeWithGrace from 'close-with-grace'
import { loadConfig, ConfigError } from './config.js'
import { buildApp } from './app.js'
import { bootstrapBanner, bootstrapDemoAccount } from './bootstrap.js'

/** The process: configuration, the app, the listening socket, and a graceful exit. */
async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    }
    throw error
  }

  const app = await buildApp(config)

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to the delay), then close
  // plugins (flushes batched writes, closes database and Redis).
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  await app.ready()
  const bootstrap = await bootstrapDemoAccount(app)
  const address = await app.listen({ port: config.PORT, host: config.HOST })
  if (bootstrap) {
    const url = address.replace('://[::1]', '://localhost').replace('://0.0.0.0', '://127.0.0.1')
    process.stdout.write(bootstrapBanner(bootstrap.accountId, bootstrap.key, url))
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
