import { readFileSync, writeFileSync } from 'node:fs'
import { OPENAPI_PATH, generateOpenApiYaml } from './openapi-spec.js'

/**
 * `write` regenerates openapi.yaml from the route schemas; `check` exits 1 when the committed
 * file differs from what the code generates (CI runs it, so the contract cannot drift).
 */
async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'write' && mode !== 'check') {
    console.error('usage: tsx scripts/openapi.ts write|check')
    return 2
  }
  const generated = await generateOpenApiYaml()
  if (mode === 'write') {
    writeFileSync(OPENAPI_PATH, generated)
    console.log(`wrote ${OPENAPI_PATH}`)
    return 0
  }
  let committed: string | undefined
  try {
    committed = readFileSync(OPENAPI_PATH, 'utf8')
  } catch {
    committed = undefined
  }
  if (committed !== generated) {
    console.error('openapi.yaml is stale: run npm run openapi')
    return 1
  }
  console.log('openapi.yaml is up to date')
  return 0
}

process.exitCode = await main(process.argv[2])
