// A long-running WatermelonDB app driver for the randomized convergence test
// (tests/convergence/). The real @nozbe/watermelondb package, LokiJS in memory, one database per
// device. It reads one JSON command per line on stdin and answers one JSON line on stdout:
//   {"id": 7, "cmd": "open", "device": "wm1", "url": "http://…", "token": "…"}
//   {"id": 8, "cmd": "write", "device": "wm1", "ops": [{"op": "create", "table": "customers", "id": "…", "fields": {…}}]}
//   {"id": 9, "cmd": "sync", "device": "wm1", "lose_push": false}
//   {"id": 9, "cmd": "sync", "device": "wm1", "mirror_pull_after_pull": {"url": "http://…", "authorization": "Bearer …"}}
//   {"id": 10, "cmd": "rows", "device": "wm1"}
//   {"id": 11, "cmd": "close", "device": "wm1"}
// Answers: {"id": 7, "ok": true, "result": …} or {"id": 7, "ok": false, "error": "…"}.
// Columns are written raw (snake_case names, as the schema has them).
const crypto = require('node:crypto')
const readline = require('node:readline')

const { Database } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { setGenerator } = require('@nozbe/watermelondb/utils/common/randomId')
const logger = require('@nozbe/watermelondb/utils/common/logger').default

const schema = require('./schema.js')
const modelClasses = require('./models.js')
const { ledgersyncSync } = require('./sync.js')

setGenerator(() => crypto.randomUUID())
logger.silence()

const devices = new Map()

function device(name) {
  const found = devices.get(name)
  if (!found) throw new Error(`no device ${name}`)
  return found
}

function open({ device: name, url, token }) {
  const database = new Database({
    adapter: new LokiJSAdapter({
      schema,
      useWebWorker: false,
      useIncrementalIndexedDB: true,
      extraLokiOptions: { autosave: false },
      dbName: `convergence-${name}-${crypto.randomUUID()}`,
    }),
    modelClasses,
  })
  devices.set(name, { database, url, token })
  return { opened: name }
}

// The admin starts a mirror pull and waits for it to finish (the admin API of ledgersync at `url`).
async function mirrorPull({ url, authorization }) {
  const headers = { Authorization: authorization }
  const started = await fetch(`${url}/admin/api/sync`, { method: 'POST', headers })
  if (started.status !== 202) throw new Error(`mirror pull: ${started.status} ${await started.text()}`)
  const { run_id: runId } = await started.json()
  for (let i = 0; i < 1200; i++) {
    const run = await (await fetch(`${url}/admin/api/sync-runs/${runId}`, { headers })).json()
    if (run.finished_at !== null) return run
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`mirror pull ${runId} did not finish`)
}

// One sync as an app does it: a push_conflict is answered by syncing again (the retry pulls first).
// With lose_push the first push's answer is lost after the server handled it. With
// mirror_pull_after_pull a mirror pull runs between the first pull and its push (a deterministic race).
async function sync({ device: name, lose_push: losePush = false, mirror_pull_after_pull: between = null }) {
  const { database, url, token } = device(name)
  let losing = losePush
  let pulling = between
  const fetcher = async (target, init) => {
    const response = await fetch(target, init)
    if (pulling && target.includes('/watermelon/pull')) {
      const admin = pulling
      pulling = null
      await mirrorPull(admin)
    }
    if (losing && target.includes('/watermelon/push')) {
      losing = false
      await response.text()
      throw new Error('connection lost after the server answered')
    }
    return response
  }
  const errors = []
  for (let attempt = 1; attempt <= 6; attempt++) {
    const log = {}
    try {
      await ledgersyncSync(database, { baseUrl: url, token, fetch: fetcher, log })
      return { attempts: attempt, errors, rejected: log.rejectedIds ?? {} }
    } catch (error) {
      const message = String(error && error.message ? error.message : error)
      errors.push(message)
      if (!/push_conflict|connection lost/.test(message)) throw new Error(errors.join(' | '))
    }
  }
  throw new Error(`sync did not succeed in 6 attempts: ${errors.join(' | ')}`)
}

async function write({ device: name, ops }) {
  const { database } = device(name)
  await database.write(async () => {
    const prepared = []
    for (const op of ops) {
      const collection = database.get(op.table)
      if (op.op === 'create') {
        prepared.push(
          collection.prepareCreate((record) => {
            record._raw.id = op.id
            for (const [column, value] of Object.entries(op.fields)) record._setRaw(column, value)
          }),
        )
      } else if (op.op === 'update') {
        const record = await collection.find(op.id)
        prepared.push(
          record.prepareUpdate((r) => {
            for (const [column, value] of Object.entries(op.fields)) r._setRaw(column, value)
          }),
        )
      } else if (op.op === 'delete') {
        const record = await collection.find(op.id)
        prepared.push(record.prepareMarkAsDeleted())
      } else {
        throw new Error(`unknown op ${op.op}`)
      }
    }
    await database.batch(...prepared)
  })
  return { written: ops.length }
}

// Every row of every table, raw (with _status and _changed), and the ids marked deleted locally.
async function rows({ device: name }) {
  const { database } = device(name)
  const tables = {}
  for (const table of Object.keys(schema.tables)) {
    const records = await database.get(table).query().fetch()
    tables[table] = records.map((record) => ({ ...record._raw }))
  }
  const deleted = {}
  for (const table of Object.keys(schema.tables)) {
    deleted[table] = await database.adapter.getDeletedRecords(table)
  }
  return { tables, deleted }
}

function close({ device: name }) {
  devices.delete(name)
  return { closed: name }
}

const commands = { open, sync, write, rows, close }

const input = readline.createInterface({ input: process.stdin })
let queue = Promise.resolve()
input.on('line', (line) => {
  if (!line.trim()) return
  queue = queue.then(async () => {
    let request
    try {
      request = JSON.parse(line)
      const command = commands[request.cmd]
      if (!command) throw new Error(`unknown command ${request.cmd}`)
      const result = await command(request)
      process.stdout.write(JSON.stringify({ id: request.id, ok: true, result }) + '\n')
    } catch (error) {
      const message = String(error && error.stack ? error.stack : error)
      process.stdout.write(JSON.stringify({ id: request?.id ?? null, ok: false, error: message }) + '\n')
    }
  })
})
input.on('close', () => queue.then(() => process.exit(0)))
