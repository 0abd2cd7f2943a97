import t from 'tap'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { agentBody, validFlow } from '../helper/factories.js'
import { validateAgentConfig } from '../../src/agents/validate.js'
import { CONFIG_DEFAULTS, type AgentConfig, type Flow } from '../../src/agents/config.js'

/** Every flow problem the validator knows, each with the pointer it must report. */

const config = (flow: Flow): AgentConfig => ({
  language: 'en-US', voice: { provider: 'p', voice_id: 'v' }, first_message: 'Hi', system_prompt: 'Be kind',
  ...CONFIG_DEFAULTS, variables: [{ name: 'first_name' }], flow,
})
const where = { base: '/body', flowBase: '/body/flow' }
const check = (flow: Flow) => validateAgentConfig(config(flow), where)
type Mutable = Flow & { nodes: (Flow['nodes'][number] & { data: Record<string, unknown> })[] }
const flow = () => validFlow() as unknown as Mutable

t.test('a valid flow passes', async (t) => {
  t.same(check(flow()), [])
})

t.test('each problem is reported with its pointer', async (t) => {
  const cases: [string, (f: Mutable) => void, { field: string; message: RegExp }[]][] = [
    ['unknown start node', (f) => { f.start_node_id = 'nowhere' }, [{ field: '/body/flow/start_node_id', message: /no node "nowhere"/ }]],
    ['edge to a missing node', (f) => { f.edges[2]!.target = 'ghost' }, [{ field: '/body/flow/edges/2/target', message: /no node "ghost"/ }]],
    ['edge from a missing node', (f) => { f.edges.push({ id: 'e9', source: 'ghost', target: 'declined', condition: { type: 'always' } }) }, [{ field: '/body/flow/edges/3/source', message: /no node "ghost"/ }]],
    ['duplicate node ids', (f) => { f.nodes.push({ id: 'greet', type: 'end', data: {} }) }, [{ field: '/body/flow/nodes/4/id', message: /duplicate node id "greet"/ }]],
    ['duplicate edge ids', (f) => { f.edges[1]!.id = 'e1' }, [{ field: '/body/flow/edges/1/id', message: /duplicate edge id "e1"/ }]],
    ['a node unreachable from the start', (f) => { f.nodes.push({ id: 'island', type: 'end', data: {} }) }, [{ field: '/body/flow/nodes/4', message: /"island" is unreachable/ }]],
    ['no reachable end', (f) => { f.nodes = f.nodes.filter((node) => node.type !== 'end'); f.edges = [f.edges[0]!]; f.nodes[1]!.type = 'conversation'; f.nodes[1]!.data = { prompt: 'x' } }, [{ field: '/body/flow', message: /no end node is reachable/ }]],
    ['a decision with one way out', (f) => { f.edges.pop() ; f.nodes.pop() }, [{ field: '/body/flow/nodes/1', message: /needs at least two outgoing edges \(has 1\)/ }]],
    ['an end with a way out', (f) => { f.edges.push({ id: 'e4', source: 'confirmed', target: 'declined', condition: { type: 'always' } }) }, [{ field: '/body/flow/nodes/2', message: /has outgoing edges/ }]],
    ['a conversation without its prompt', (f) => { f.nodes[0]!.data = {} }, [{ field: '/body/flow/nodes/0/data/prompt', message: /is required/ }]],
    ['a prompt naming an undeclared variable', (f) => { f.nodes[0]!.data = { prompt: 'Hi {{nobody}}' } }, [{ field: '/body/flow/nodes/0/data/prompt', message: /\{\{nobody\}\}/ }]],
    ['a transfer to no E.164 number', (f) => { f.nodes.push({ id: 't', type: 'transfer', data: { to: '555-0100' } }); f.edges.push({ id: 'et', source: 'greet', target: 't', condition: { type: 'always' } }) }, [{ field: '/body/flow/nodes/4/data/to', message: /E\.164/ }]],
    ['a webhook over http', (f) => { f.nodes.push({ id: 'w', type: 'webhook', data: { url: 'http://example.com/hook', method: 'POST' } }); f.edges.push({ id: 'ew', source: 'greet', target: 'w', condition: { type: 'always' } }) }, [{ field: '/body/flow/nodes/4/data/url', message: /https/ }]],
    ['a webhook with a bad method', (f) => { f.nodes.push({ id: 'w', type: 'webhook', data: { url: 'https://example.com/hook', method: 'FETCH' } }); f.edges.push({ id: 'ew', source: 'greet', target: 'w', condition: { type: 'always' } }) }, [{ field: '/body/flow/nodes/4/data/method', message: /one of GET/ }]],
    ['data a node type does not take', (f) => { f.nodes[2]!.data = { reason: 'ok', extra: true } }, [{ field: '/body/flow/nodes/2/data/extra', message: /not a field of a end node/ }]],
    ['an intent condition without its description', (f) => { f.edges[1]!.condition = { type: 'intent' } }, [{ field: '/body/flow/edges/1/condition/description', message: /required for an intent/ }]],
    ['an equals condition on an undeclared variable', (f) => { f.edges[2]!.condition = { type: 'equals', variable: 'mood', value: 'x' } }, [{ field: '/body/flow/edges/2/condition/variable', message: /"mood" is not a declared variable/ }]],
    ['an always condition with extra keys', (f) => { f.edges[0]!.condition = { type: 'always', value: 'x' } }, [{ field: '/body/flow/edges/0/condition/value', message: /not part of an always/ }]],
  ]
  for (const [name, mutate, expected] of cases) {
    const subject = flow()
    mutate(subject)
    const errors = check(subject)
    for (const wanted of expected) {
      t.ok(errors.some((error) => error.field === wanted.field && wanted.message.test(error.message)), `${name}: ${wanted.field} (got ${JSON.stringify(errors)})`)
    }
  }
})

t.test('all problems at once, not just the first', async (t) => {
  const subject = flow()
  subject.start_node_id = 'nowhere'
  subject.edges[0]!.target = 'ghost'
  subject.nodes.push({ id: 'greet', type: 'end', data: {} })
  subject.nodes[0]!.data = {}
  const errors = check(subject)
  t.same(errors.map((error) => error.field).sort(), [
    '/body/flow/edges/0/target', '/body/flow/nodes/0/data/prompt', '/body/flow/nodes/4/id', '/body/flow/start_node_id',
  ].sort())
})

t.test('through the API: every problem in the 400, at most 200 nodes', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const subject = flow()
  subject.edges[2]!.target = 'ghost'
  subject.nodes[0]!.data = {}
  const response = await call(app, { method: 'POST', url: '/api/v1/agents', key: owner.key, payload: agentBody({ flow: subject }) })
  t.equal(response.statusCode, 400)
  t.same(response.json().errors.map((error: { field: string }) => error.field).sort(), ['/body/flow/edges/2/target', '/body/flow/nodes/0/data/prompt', '/body/flow/nodes/3'].sort())
  const big = flow()
  for (let i = 0; i < 200; i++) big.nodes.push({ id: `n${i}`, type: 'end', data: {} })
  const tooBig = await call(app, { method: 'POST', url: '/api/v1/agents', key: owner.key, payload: agentBody({ flow: big }) })
  t.equal(tooBig.statusCode, 400)
  t.match(tooBig.json().errors, [{ field: '/body/flow/nodes' }])
})
