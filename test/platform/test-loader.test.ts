import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { findSourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/paths.js'
import '../../src/text.js' // loaded (through its .js name) so that its source map is this process's
import { typescriptLoaderArgs } from '../helper/process.js'

/**
 * What tap's coverage report depends on (test/loader, README § Tests): the tests run under the
 * project's own loader, its source maps carry the sources, and a process a test starts gets the
 * very same transform of a file, so their coverage merges. Under another loader (tap's default
 * ts-node, or tsx) the suite still passes and only the coverage report goes wrong; this says why.
 */
const TEXT_MODULE = new URL('../../src/text.ts', import.meta.url).href

/** A loaded module's transform, as its source map records it (V8's ranges map back through it). */
function sourceMapOf(url: string): { sources: string[]; mappings: string; sourcesContent?: (string | null)[] } {
  const map = findSourceMap(url)
  if (!map) throw new Error(`${url} has no source map: the loader did not inline one`)
  return map.payload as { sources: string[]; mappings: string; sourcesContent?: (string | null)[] }
}

t.test('the tests run under the project loader, and the processes they start get the same transform', async (t) => {
  t.ok(process.execArgv.some((arg) => arg.includes('test/loader/register.mjs')), `tap started this test under test/loader (execArgv: ${process.execArgv.join(' ')})`)

  const here = sourceMapOf(TEXT_MODULE)
  t.same(here.sourcesContent, [readFileSync(fileURLToPath(TEXT_MODULE), 'utf8')], 'the source map carries the TypeScript source (the coverage report maps through it)')

  const script = `import { findSourceMap } from 'node:module'
    await import(${JSON.stringify(TEXT_MODULE)})
    const { sources, mappings } = findSourceMap(${JSON.stringify(TEXT_MODULE)}).payload
    console.log(JSON.stringify({ sources, mappings }))`
  const { stdout } = await promisify(execFile)(process.execPath, [...typescriptLoaderArgs(), '--input-type=module', '-e', script], { cwd: PROJECT_ROOT })
  t.same(JSON.parse(stdout.trim()), { sources: here.sources, mappings: here.mappings }, 'a child process maps src/text.ts exactly as this test process does')
})
