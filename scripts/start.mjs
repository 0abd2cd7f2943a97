// `npm start`: compile only when a source changed since the last build, then run the server in
// THIS process. One process, so the signal a process manager sends to `npm start` reaches the
// server (npm forwards it to its child, and the shell runs this script as its last command), and
// nothing is left running orphaned holding the embedded database. Plain JavaScript: it must run
// before anything is compiled.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', '.build-stamp')
const inputs = ['src', 'plugins', 'routes', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']

function newestMtime(path) {
  const stats = statSync(path)
  if (!stats.isDirectory()) return stats.mtimeMs
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), 0)
}

const built = existsSync(stamp) && existsSync(join(root, 'dist', 'src', 'server.js')) ? statSync(stamp).mtimeMs : -1
const changed = inputs.map((input) => join(root, input)).filter(existsSync).reduce((newest, path) => Math.max(newest, newestMtime(path)), 0)
if (changed > built) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
  writeFileSync(stamp, `${new Date().toISOString()}\n`)
}
await import(new URL('../dist/src/server.js', import.meta.url).href)
