// Syncing a WatermelonDB database with ledgersync: all an app needs (docs/watermelondb.md).
const { synchronize } = require('@nozbe/watermelondb/sync')

function ledgersyncSync(database, { baseUrl, token, fetch = globalThis.fetch, log }) {
  const headers = {
    Authorization: `Bearer ${token}`, // the device token from pairing
    'X-Ledgersync-Protocol': '1',
    'Content-Type': 'application/json',
  }
  return synchronize({
    database,
    log,
    pullChanges: async ({ lastPulledAt, schemaVersion }) => {
      const query = `last_pulled_at=${lastPulledAt ?? 0}&schema_version=${schemaVersion}`
      const response = await fetch(`${baseUrl}/mobile/v1/watermelon/pull?${query}`, { headers })
      if (!response.ok) throw new Error(await response.text())
      // Return the whole body: it may carry experimentalStrategy: 'replacement'.
      return response.json()
    },
    pushChanges: async ({ changes, lastPulledAt }) => {
      const response = await fetch(`${baseUrl}/mobile/v1/watermelon/push?last_pulled_at=${lastPulledAt}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(changes),
      })
      if (!response.ok) throw new Error(await response.text()) // 409 push_conflict: sync again
      // Return the body: experimentalRejectedIds keeps rejected records unsynced.
      return response.json()
    },
  })
}

module.exports = { ledgersyncSync }
