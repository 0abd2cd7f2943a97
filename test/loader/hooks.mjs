// Module hooks that load the project's TypeScript for the tests: esbuild, one file at a time, with
// the options coverage needs. tsx (what `npm run cli` and `npm run dev` use) minifies whitespace
// and leaves the sources out of its source maps, and tap's coverage report, mapping V8's ranges
// back through those maps, lost a third of the lines (64 % covered instead of 99 %). ts-node
// (tap's default) loads the TypeScript compiler and transpiles every module again in every test
// process: ~1.4 s more for each of the ~130 processes a pass starts. Type-checking is tsc's job.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

const { compilerOptions } = JSON.parse(readFileSync(new URL('../../tsconfig.json', import.meta.url), 'utf8'))
// What changes the emitted JavaScript: import elision, class fields, the language level.
const tsconfigRaw = { compilerOptions: { verbatimModuleSyntax: compilerOptions.verbatimModuleSyntax, target: compilerOptions.target } }
const TYPESCRIPT = /\.[cm]?ts$/

/** The project imports its modules by their emitted names (NodeNext): `./app.js` is `./app.ts`. */
export async function resolve(specifier, context, nextResolve) {
  const fromTypeScript = context.parentURL !== undefined && TYPESCRIPT.test(context.parentURL)
  if (fromTypeScript && specifier.startsWith('.') && specifier.endsWith('.js')) {
    try {
      return await nextResolve(`${specifier.slice(0, -3)}.ts`, context)
    } catch {
      // A JavaScript module after all.
    }
  }
  return nextResolve(specifier, context)
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(url)) return nextLoad(url, context)
  const path = fileURLToPath(url)
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: path,
    sourcemap: 'inline',
    sourcesContent: true,
    tsconfigRaw,
  })
  return { format: 'module', source: code, shortCircuit: true }
}
