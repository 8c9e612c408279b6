// A WatermelonDB app (the real @nozbe/watermelondb, LokiJS in memory) syncing with a real
// ledgersync server. Run by tests/watermelondb/test_watermelondb_app.py, which starts the server
// (connected to the Xero sandbox, mirrored, forwarding on) and passes in:
//   LEDGERSYNC_URL   the server
//   DEVICE_TOKEN     this app's device token
//   OTHER_TOKEN      a second, native phone of the same organisation (server-side changes, checks)
//   CONTROL_URL      the test's own hooks: make cursors stale, count uploads, read the sandbox
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { Database, Q } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { setGenerator } = require('@nozbe/watermelondb/utils/common/randomId')
const logger = require('@nozbe/watermelondb/utils/common/logger').default

const schema = require('./schema.js')
const modelClasses = require('./models.js')
const { ledgersyncSync } = require('./sync.js')

const { LEDGERSYNC_URL, DEVICE_TOKEN, OTHER_TOKEN, CONTROL_URL } = process.env
setGenerator(() => crypto.randomUUID()) // ledgersync wants UUIDs for records a phone creates
logger.silence()
// What WatermelonDB reports as sync errors (e.g. "... doesn't exist locally"): a test may check it.
const watermelonErrors = []
logger.error = (...messages) => {
  watermelonErrors.push(messages.map((m) => (m instanceof Error ? m.message : String(m))).join(' '))
}

const database = new Database({
  adapter: new LokiJSAdapter({
    schema,
    useWebWorker: false,
    useIncrementalIndexedDB: true, // no IndexedDB in Node: an in-memory Loki
    extraLokiOptions: { autosave: false },
    dbName: 'ledgersync-test',
  }),
  modelClasses,
})

// --- helpers -------------------------------------------------------------------------------

const syncOnce = (options = {}) =>
  ledgersyncSync(database, { baseUrl: LEDGERSYNC_URL, token: DEVICE_TOKEN, ...options })

// As WatermelonDB advises apps: a push that conflicts with a server change is retried (the retry
// pulls first). Records move on the server by themselves here too: the forwarder reports their fate.
async function sync(options = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await syncOnce(options)
    } catch (error) {
      if (attempt === 3 || !/push_conflict/.test(error.message)) throw error
    }
  }
}

async function control(path, body) {
  const response = await fetch(`${CONTROL_URL}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  assert.equal(response.status, 200, await response.clone().text())
  return response.json()
}

// The server's records, as a native phone of the same organisation pulls them.
async function serverRecords() {
  const response = await fetch(`${LEDGERSYNC_URL}/mobile/v1/changes?cursor=0&limit=100000`, {
    headers: { Authorization: `Bearer ${OTHER_TOKEN}`, 'X-Ledgersync-Protocol': '1' },
  })
  assert.equal(response.status, 200)
  const byEntity = {}
  for (const change of (await response.json()).changes) {
    ;(byEntity[change.entity] ??= new Map()).set(change.id, change.record)
  }
  return byEntity
}

// Another phone of the organisation pushes one native mutation.
async function otherPhonePushes(mutation) {
  const response = await fetch(`${LEDGERSYNC_URL}/mobile/v1/mutations`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${OTHER_TOKEN}`,
      'X-Ledgersync-Protocol': '1',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ mutations: [{ mutation_id: crypto.randomUUID(), ...mutation }] }),
  })
  const [result] = (await response.json()).results
  assert.equal(result.status, 'applied', JSON.stringify(result))
  return result
}

// The app deletes an invoice the way docs/watermelondb.md says: the invoice and its lines.
async function deleteInvoice(invoice) {
  const lines = await table('invoice_lines').query(Q.where('invoice_id', invoice.id)).fetch()
  await database.write(() =>
    database.batch(invoice.prepareMarkAsDeleted(), ...lines.map((line) => line.prepareMarkAsDeleted())),
  )
  return lines
}

const missingLocally = () => watermelonErrors.filter((message) => /doesn't exist locally/.test(message))

// A server-side change: another phone edits a customer through the native protocol.
async function otherPhoneEdits(customerId, changes) {
  const current = (await serverRecords()).customer.get(customerId)
  const customer = { id: customerId, name: current.name, email: current.email, phone: current.phone }
  Object.assign(customer, { first_name: current.first_name, last_name: current.last_name })
  Object.assign(customer, { address: current.address ?? undefined }, changes)
  const response = await fetch(`${LEDGERSYNC_URL}/mobile/v1/mutations`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${OTHER_TOKEN}`,
      'X-Ledgersync-Protocol': '1',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({
      mutations: [{ op: 'upsert_customer', mutation_id: crypto.randomUUID(), customer }],
    }),
  })
  const [result] = (await response.json()).results
  assert.equal(result.status, 'applied', JSON.stringify(result))
}

const table = (name) => database.get(name)
const all = async (name) => table(name).query().fetch()
const find = (name, id) => table(name).find(id)
const ids = (records) => new Set(records.map((r) => r.id))

// Xero's rounding (half away from zero, 2 places) on decimal strings, with BigInt: no floats.
function scaled(text, places) {
  const [whole, fraction = ''] = text.split('.')
  return BigInt(whole + fraction.padEnd(places, '0').slice(0, places))
}
function rounded(numerator, denominator) {
  const half = denominator / 2n
  return numerator >= 0n ? (numerator + half) / denominator : -((-numerator + half) / denominator)
}
const money = (cents) => `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`

// An invoice with one line of `quantity` x a product, taxed at the product's rate, made offline.
async function createInvoice(customerId, product, { quantity = '2', reference = 'Job', wrongTotal = false } = {}) {
  const [rate] = await table('tax_rates').query(Q.where('tax_type', product.taxType)).fetch()
  const line = rounded(scaled(quantity, 4) * scaled(product.unitPrice, 4), 10n ** 6n) // cents
  const tax = rounded(line * scaled(rate.rate, 4), 100n * 10n ** 4n)
  const total = line + tax + (wrongTotal ? 100n : 0n)
  return database.write(async () => {
    const invoice = table('invoices').prepareCreate((r) => {
      Object.assign(r, { customerId, reference, date: '2026-11-20', lineAmountType: 'Exclusive' })
      Object.assign(r, { subTotal: money(line), totalTax: money(tax), total: money(total) })
    })
    const invoiceLine = table('invoice_lines').prepareCreate((r) => {
      Object.assign(r, { invoiceId: invoice.id, position: 0, description: product.name, quantity })
      Object.assign(r, { productId: product.id, unitAmount: product.unitPrice, taxType: product.taxType })
      Object.assign(r, { lineAmount: money(line), taxAmount: money(tax) })
    })
    await database.batch(invoice, invoiceLine)
    return { invoice, line: invoiceLine, total: money(total) }
  })
}

const createCustomer = (name, extra = {}) =>
  database.write(() => table('customers').create((r) => Object.assign(r, { name, ...extra })))

async function saleableProduct() {
  const products = await all('products')
  const taxTypes = new Set((await all('tax_rates')).filter((t) => t.status === 'ACTIVE').map((t) => t.taxType))
  return products.find((p) => p.isSold && p.unitPrice && taxTypes.has(p.taxType))
}

// Syncs until `done()` holds: forwarding to Xero happens in the background on the server.
async function syncUntil(done, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    await sync()
    if (await done()) return
    assert.ok(Date.now() < deadline, `not ${what} within ${seconds}s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

// --- the scenarios, in order ---------------------------------------------------------------

test('the first pull mirrors the organisation', async () => {
  await sync()

  const server = await serverRecords()
  for (const [entity, name] of [
    ['tax_rate', 'tax_rates'],
    ['account', 'accounts'],
    ['customer', 'customers'],
    ['product', 'products'],
    ['organisation', 'organisation_settings'],
  ]) {
    assert.deepEqual(ids(await all(name)), new Set(server[entity].keys()), name)
  }
  const [someone] = await all('customers')
  const theirs = server.customer.get(someone.id)
  assert.equal(someone.name, theirs.name)
  assert.equal(someone.xeroId, theirs.xero_id)
  assert.equal(someone.syncState, '')
  assert.equal(someone._raw._status, 'synced')
})

test('a customer, invoice and payment made offline go up, and on to Xero', async () => {
  const customer = await createCustomer('Harbour Cafe', { email: 'accounts@harbour.example' })
  const product = await saleableProduct()
  const { invoice, line, total } = await createInvoice(customer.id, product, { reference: 'Job 1182' })
  const payment = await database.write(() =>
    table('payments').create((r) => Object.assign(r, { invoiceId: invoice.id, date: '2026-11-20', amount: total })),
  )

  const log = {}
  await sync({ log })

  assert.deepEqual(log.rejectedIds, {})
  for (const record of [customer, invoice, line, payment]) assert.equal(record._raw._status, 'synced')
  await syncUntil(async () => (await find('invoices', invoice.id)).syncState === 'in_xero', 'in Xero')
  const mine = await find('invoices', invoice.id)
  const [xero] = (await control(`/xero/invoices?record_id=${invoice.id}`)).invoices
  assert.equal(mine.invoiceNumber, xero.InvoiceNumber)
  assert.equal(mine.xeroId, xero.InvoiceID)
  assert.equal(xero.Total, total)
  assert.equal((await find('customers', customer.id)).syncState, 'in_xero')
  await syncUntil(async () => (await find('payments', payment.id)).syncState === 'in_xero', 'paid in Xero')
  assert.equal((await find('invoices', invoice.id)).status, 'PAID')
  assert.equal((await find('invoice_lines', line.id)).invoiceId, invoice.id) // the app's own line id
})

test('a server-side change merges with a local edit; a conflicting push is retried after a pull', async () => {
  const [customer] = (await all('customers')).filter((c) => c.xeroId && c.syncState === '')
  await database.write(() => customer.update((r) => (r.phone = '021 555 0101')))
  await otherPhoneEdits(customer.id, { email: 'new@theirs.example' })

  await sync()

  const merged = await find('customers', customer.id)
  assert.equal(merged.phone, '021 555 0101')
  assert.equal(merged.email, 'new@theirs.example')
  let theirs = (await serverRecords()).customer.get(customer.id)
  assert.equal(theirs.phone, '021 555 0101')
  assert.equal(theirs.email, 'new@theirs.example')

  // Changed on the server between this app's pull and its push: the push fails, nothing applies.
  await database.write(() => merged.update((r) => (r.firstName = 'Pat')))
  const racing = async (url, init) => {
    const response = await fetch(url, init)
    if (url.includes('/watermelon/pull')) await otherPhoneEdits(customer.id, { last_name: 'Tane' })
    return response
  }
  await assert.rejects(syncOnce({ fetch: racing }), /push_conflict/)
  assert.notEqual((await serverRecords()).customer.get(customer.id).first_name, 'Pat')

  await sync() // what WatermelonDB asks of apps: sync again

  theirs = (await serverRecords()).customer.get(customer.id)
  assert.deepEqual([theirs.first_name, theirs.last_name, theirs.phone], ['Pat', 'Tane', '021 555 0101'])
  const mine = await find('customers', customer.id)
  assert.deepEqual([mine.firstName, mine.lastName, mine._raw._status], ['Pat', 'Tane', 'synced'])
})

test('a push whose response was lost, pushed again, leaves one copy', async () => {
  const customer = await createCustomer('Lost Response Ltd')
  const { invoice } = await createInvoice(customer.id, await saleableProduct(), { reference: 'Job 2001' })
  const losing = async (url, init) => {
    const response = await fetch(url, init)
    if (url.includes('/watermelon/push')) {
      await response.text()
      throw new Error('connection lost after the server answered')
    }
    return response
  }

  await assert.rejects(syncOnce({ fetch: losing }), /connection lost/)
  assert.equal(customer._raw._status, 'created') // as far as the app knows, never sent
  await sync()

  assert.equal((await find('invoices', invoice.id))._raw._status, 'synced')
  assert.equal((await control(`/uploads?record_id=${customer.id}`)).count, 1)
  assert.equal((await control(`/uploads?record_id=${invoice.id}`)).count, 1)
  await syncUntil(async () => (await find('invoices', invoice.id)).syncState === 'in_xero', 'in Xero')
  assert.equal((await control(`/xero/invoices?record_id=${invoice.id}`)).invoices.length, 1)
  assert.equal((await control(`/xero/contacts?name=${encodeURIComponent('Lost Response Ltd')}`)).count, 1)
})

test('a stale lastPulledAt gets a replacement sync that keeps unpushed records', async () => {
  const unpushed = await createCustomer('Made Before The Reset')
  const [gone] = (await all('customers')).filter((c) => c.xeroId && c.syncState === '')
  await control('/stale', { customer_id: gone.id }) // tombstone it, then purge: the horizon passes us

  const strategies = []
  const watching = async (url, init) => {
    const response = await fetch(url, init)
    if (url.includes('/watermelon/pull')) strategies.push((await response.clone().json()).experimentalStrategy)
    return response
  }
  await sync({ fetch: watching })

  assert.deepEqual(strategies, ['replacement'])
  await assert.rejects(find('customers', gone.id)) // its tombstone was purged: only replacement removes it
  assert.equal((await find('customers', unpushed.id))._raw._status, 'synced')
  const server = await serverRecords()
  assert.ok(server.customer.has(unpushed.id))
  assert.deepEqual(ids(await all('customers')), new Set(server.customer.keys()))
  assert.deepEqual(ids(await all('invoices')), new Set(server.invoice.keys()))
})

test('an invalid invoice is rejected, readably, while the rest apply', async () => {
  const customer = await createCustomer('Rejection Test Ltd')
  const product = await saleableProduct()
  const good = await createInvoice(customer.id, product, { reference: 'Job 3001' })
  const bad = await createInvoice(customer.id, product, { reference: 'Job 3002', wrongTotal: true })

  const log = {}
  await sync({ log })

  assert.deepEqual(log.rejectedIds, { invoices: [bad.invoice.id], invoice_lines: [bad.line.id] })
  assert.equal(customer._raw._status, 'synced')
  assert.equal(good.invoice._raw._status, 'synced')
  assert.equal(bad.invoice._raw._status, 'created') // kept, to be corrected
  await sync() // the reason comes down as columns of the rejected record
  const rejected = await find('invoices', bad.invoice.id)
  assert.equal(rejected.syncState, 'rejected')
  assert.equal(rejected.syncCode, 'totals_mismatch')
  assert.equal(rejected.syncField, 'invoice.total')
  assert.match(rejected.syncMessage, /invoice.total is .* on the phone but/)
  assert.equal(rejected.total, bad.total) // the app's own values are kept
  assert.equal((await serverRecords()).invoice.has(bad.invoice.id), false)

  // The app corrects it; the next sync takes it.
  await database.write(() => rejected.update((r) => (r.total = good.total)))
  await sync()
  await sync()
  const corrected = await find('invoices', bad.invoice.id)
  assert.equal(corrected._raw._status, 'synced')
  assert.notEqual(corrected.syncState, 'rejected')
  assert.equal((await serverRecords()).invoice.get(bad.invoice.id).total, good.total)
})

test('a customer deleted on the phone is refused, comes back, and is not pushed again', async () => {
  const [customer] = (await all('customers')).filter((c) => c.xeroId && c.syncState === '')
  await database.write(() => customer.markAsDeleted())

  const log = {}
  await sync({ log })

  assert.deepEqual(log.rejectedIds, { customers: [customer.id] })
  await sync() // the refusal comes down with the record: WatermelonDB re-creates it
  const back = await find('customers', customer.id)
  assert.equal(back._raw._status, 'synced')
  assert.equal(back.name, (await serverRecords()).customer.get(customer.id).name)
  assert.deepEqual([back.syncState, back.syncCode], ['rejected', 'not_deletable'])
  assert.match(back.syncMessage, /archive/)
  const quiet = {}
  await sync({ log: quiet })
  assert.equal(quiet.localChangeCount, 0) // nothing left to push: the refused deletion is over
  assert.deepEqual(missingLocally(), [])
})

test('a part-paid invoice deleted on the phone is refused and comes back with its lines', async () => {
  const customer = await createCustomer('Refused Void Ltd')
  const { invoice, line } = await createInvoice(customer.id, await saleableProduct(), { reference: 'Job 5001' })
  await database.write(() =>
    table('payments').create((r) => Object.assign(r, { invoiceId: invoice.id, date: '2026-11-20', amount: '1.00' })),
  )
  await sync()
  await deleteInvoice(invoice)

  const log = {}
  await sync({ log })

  assert.deepEqual(log.rejectedIds, { invoices: [invoice.id], invoice_lines: [line.id] })
  await sync()
  const back = await find('invoices', invoice.id)
  assert.equal(back._raw._status, 'synced')
  assert.deepEqual([back.syncState, back.syncCode], ['rejected', 'invoice_has_payments'])
  assert.equal((await find('invoice_lines', line.id))._raw._status, 'synced')
  const quiet = {}
  await sync({ log: quiet })
  assert.equal(quiet.localChangeCount, 0)
  assert.deepEqual(missingLocally(), [])
})

test('an invoice deleted on the phone is voided in Xero and does not come back to it', async () => {
  const customer = await createCustomer('Voided Here Ltd')
  const { invoice } = await createInvoice(customer.id, await saleableProduct(), { reference: 'Job 5002' })
  await syncUntil(async () => (await find('invoices', invoice.id)).syncState === 'in_xero', 'in Xero')
  await deleteInvoice(invoice)

  await syncUntil(async () => {
    const [xero] = (await control(`/xero/invoices?record_id=${invoice.id}`)).invoices
    const theirs = (await serverRecords()).invoice.get(invoice.id)
    return xero.Status === 'VOIDED' && theirs.sync.state === 'in_xero'
  }, 'voided in Xero')
  await sync()

  assert.deepEqual(missingLocally(), []) // no "doesn't exist locally": the app was not sent it back
  await assert.rejects(find('invoices', invoice.id))
  assert.equal((await serverRecords()).invoice.get(invoice.id).status, 'VOIDED') // native phones: VOIDED
})

test('deleting an invoice another phone voided meanwhile leaves this app like every other device', async () => {
  const customer = await createCustomer('Voided There Ltd')
  const { invoice } = await createInvoice(customer.id, await saleableProduct(), { reference: 'Job 5003' })
  await syncUntil(async () => (await find('invoices', invoice.id)).syncState === 'in_xero', 'in Xero')
  const voided = await otherPhonePushes({ op: 'void_invoice', invoice_id: invoice.id })
  await deleteInvoice(invoice) // offline, before this app heard of the other phone's void

  await syncUntil(async () => {
    const theirs = (await serverRecords()).invoice.get(invoice.id)
    return theirs.sync.mutation_id === voided.mutation_id && theirs.sync.state === 'in_xero'
  }, 'voided in Xero by the other phone')
  await sync()

  assert.deepEqual(missingLocally(), []) // no "doesn't exist locally": the app was not sent it back
  await assert.rejects(find('invoices', invoice.id))
  assert.equal((await all('invoice_lines')).filter((l) => l.invoiceId === invoice.id).length, 0)
})
