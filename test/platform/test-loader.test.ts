import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { findSourceMap } from 'node:module'
import { promisify } from 'node:util'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/paths.js'
import { hasUnsafeCharacters } from '../../src/text.js'
import { typescriptLoaderArgs } from '../helper/process.js'

/**
 * What tap's coverage report depends on (test/loader, README § Tests): the tests run under the
 * project's own loader, its source maps carry the sources, and a process a test starts gets the
 * very same transform of a file, so their coverage merges. Under another loader (tap's default
 * ts-node, or tsx) the suite still passes and only the coverage report goes wrong; this says why.
 */
const TEXT_MODULE = new URL('../../src/text.ts', import.meta.url).href

/** The fingerprint of a loaded module's transform: its source map's mappings and sources. */
function transformOf(url: string): { sources: string[]; mappings: string; hasSources: boolean } | undefined {
  const map = findSourceMap(url)
  if (!map) return undefined
  const payload = map.payload as { sources: string[]; mappings: string; sourcesContent?: (string | null)[] }
  return {
    sources: payload.sources,
    mappings: createHash('sha256').update(payload.mappings).digest('hex'),
    hasSources: (payload.sourcesContent ?? []).every((content) => typeof content === 'string' && content.length > 0),
  }
}

t.test('the tests run under the project loader, and the processes they start get the same transform', async (t) => {
  t.ok(process.execArgv.some((arg) => arg.includes('test/loader/register.mjs')), `tap started this test under test/loader (execArgv: ${process.execArgv.join(' ')})`)
  t.equal(hasUnsafeCharacters('ok'), false, 'a module imported by its .js name is its .ts file')

  const here = transformOf(TEXT_MODULE)
  if (!here) throw new Error('src/text.ts has no source map: the loader did not inline one')
  t.ok(here.hasSources, 'the source map carries the TypeScript source (the coverage report maps through it)')

  const script = `import { findSourceMap } from 'node:module'
    import { createHash } from 'node:crypto'
    await import(${JSON.stringify(TEXT_MODULE)})
    const payload = findSourceMap(${JSON.stringify(TEXT_MODULE)}).payload
    console.log(JSON.stringify({ sources: payload.sources, mappings: createHash('sha256').update(payload.mappings).digest('hex') }))`
  const { stdout } = await promisify(execFile)(process.execPath, [...typescriptLoaderArgs(), '--input-type=module', '-e', script], { cwd: PROJECT_ROOT })
  t.same(JSON.parse(stdout.trim()), { sources: here.sources, mappings: here.mappings }, 'a child process maps src/text.ts exactly as this test process does')
})
