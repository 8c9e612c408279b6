const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { setGenerator } = require('@nozbe/watermelondb/utils/common/randomId')
const crypto = require('node:crypto')
setGenerator(() => crypto.randomUUID())
const schema = appSchema({ version: 1, tables: [tableSchema({ name: 'customers', columns: [{ name: 'name', type: 'string' }] })] })
class Customer extends Model { static table = 'customers' }
;(async () => {
  const adapter = new LokiJSAdapter({ schema, useWebWorker: false, useIncrementalIndexedDB: false, dbName: 'x' })
  const db = new Database({ adapter, modelClasses: [Customer] })
  const c = await db.write(() => db.get('customers').create(r => { r._setRaw('name', 'Harbour') }))
  console.log(c.id, c._raw)
})()
