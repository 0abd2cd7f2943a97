// `node --import ./test/loader/register.mjs`: the tests' TypeScript loader (hooks.mjs), for tap's
// test processes and the CLI and server processes the tests start.
import { register } from 'node:module'

process.setSourceMapsEnabled(true)
register('./hooks.mjs', import.meta.url)
