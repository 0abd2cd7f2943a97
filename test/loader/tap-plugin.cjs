// A tap plugin (.taprc `plugin`) that runs the *.test.ts files under the tests' TypeScript loader
// (register.mjs) instead of tap's default, ts-node. It adds nothing to tap's Test class. CommonJS,
// and a package of its own (package.json here): tap loads a plugin by name, with require().
const { pathToFileURL } = require('node:url')
const { join } = require('node:path')

exports.importLoader = pathToFileURL(join(__dirname, 'register.mjs')).href
exports.preload = true
exports.testFileExtensions = ['ts']
