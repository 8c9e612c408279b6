// The WatermelonDB schema of a ledgersync app: docs/watermelondb.md shows this file, and
// tests/watermelondb/test_watermelondb_app.py checks it against sync_protocol/watermelon.py.
const { appSchema, tableSchema } = require('@nozbe/watermelondb')

// Where a record this app pushed stands on its way to Xero (set by the server, never pushed).
const syncColumns = [
  // '' | accepted | waiting | forwarding | in_xero | retrying | failed | held | rejected
  { name: 'sync_state', type: 'string' },
  { name: 'sync_mutation_id', type: 'string' },
  { name: 'sync_message', type: 'string' }, // Xero's message (failed) or the reason (rejected)
  { name: 'sync_code', type: 'string' }, // the rejection code, e.g. totals_mismatch
  { name: 'sync_field', type: 'string' }, // the field concerned, e.g. invoice.total
]

module.exports = appSchema({
  version: 3, // 3: invoices' online invoice URL and emailed, the organisation's email_invoices
  // 2: tracking categories and options, branding themes; lines' tracking, invoices' theme
  tables: [
    tableSchema({
      name: 'organisation_settings',
      columns: [
        { name: 'name', type: 'string' },
        { name: 'base_currency', type: 'string' },
        { name: 'country_code', type: 'string' },
        { name: 'default_line_amount_type', type: 'string' },
        { name: 'default_sales_tax_type', type: 'string', isOptional: true },
        { name: 'forward_payments', type: 'boolean' },
        { name: 'invoice_status', type: 'string' },
        { name: 'forward_invoice_edits', type: 'boolean' },
        { name: 'update_customers', type: 'boolean' },
        { name: 'update_products', type: 'boolean' },
        { name: 'email_invoices', type: 'boolean' },
        { name: 'bank_account_code', type: 'string', isOptional: true },
        { name: 'revenue_account_code', type: 'string', isOptional: true },
      ],
    }),
    tableSchema({
      name: 'tax_rates',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'tax_type', type: 'string', isIndexed: true },
        { name: 'name', type: 'string' },
        { name: 'rate', type: 'string' },
        { name: 'status', type: 'string' },
        { name: 'can_apply_to_revenue', type: 'boolean' },
      ],
    }),
    tableSchema({
      name: 'accounts',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'code', type: 'string', isIndexed: true },
        { name: 'name', type: 'string' },
        { name: 'type', type: 'string' },
        { name: 'account_class', type: 'string' },
        { name: 'status', type: 'string' },
        { name: 'tax_type', type: 'string', isOptional: true },
        { name: 'enable_payments', type: 'boolean' },
      ],
    }),
    tableSchema({
      name: 'tracking_categories',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'name', type: 'string' },
        { name: 'status', type: 'string' },
      ],
    }),
    tableSchema({
      name: 'tracking_options',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'tracking_category_id', type: 'string', isIndexed: true },
        { name: 'name', type: 'string' },
        { name: 'status', type: 'string' },
      ],
    }),
    tableSchema({
      name: 'branding_themes',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'name', type: 'string' },
        { name: 'sort_order', type: 'number' },
      ],
    }),
    tableSchema({
      name: 'products',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'code', type: 'string' },
        { name: 'name', type: 'string' },
        { name: 'description', type: 'string' },
        { name: 'unit_price', type: 'string', isOptional: true },
        { name: 'account_code', type: 'string', isOptional: true },
        { name: 'tax_type', type: 'string', isOptional: true },
        { name: 'is_sold', type: 'boolean' },
        { name: 'is_purchased', type: 'boolean' },
        ...syncColumns,
      ],
    }),
    tableSchema({
      name: 'customers',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'name', type: 'string' },
        { name: 'first_name', type: 'string' },
        { name: 'last_name', type: 'string' },
        { name: 'email', type: 'string' },
        { name: 'phone', type: 'string' },
        { name: 'account_number', type: 'string' },
        { name: 'tax_number', type: 'string' },
        { name: 'address_line1', type: 'string' },
        { name: 'address_line2', type: 'string' },
        { name: 'address_city', type: 'string' },
        { name: 'address_region', type: 'string' },
        { name: 'address_postal_code', type: 'string' },
        { name: 'address_country', type: 'string' },
        { name: 'status', type: 'string' },
        ...syncColumns,
      ],
    }),
    tableSchema({
      name: 'invoices',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'customer_id', type: 'string', isIndexed: true },
        { name: 'invoice_number', type: 'string' },
        { name: 'reference', type: 'string' },
        { name: 'date', type: 'string' },
        { name: 'due_date', type: 'string', isOptional: true },
        { name: 'currency', type: 'string' },
        { name: 'line_amount_type', type: 'string' },
        { name: 'sub_total', type: 'string' },
        { name: 'total_tax', type: 'string' },
        { name: 'total', type: 'string' },
        { name: 'amount_paid', type: 'string' },
        { name: 'amount_due', type: 'string' },
        { name: 'status', type: 'string' },
        { name: 'branding_theme_id', type: 'string', isOptional: true },
        { name: 'online_invoice_url', type: 'string' },
        { name: 'emailed', type: 'boolean' },
        ...syncColumns,
      ],
    }),
    tableSchema({
      name: 'invoice_lines',
      columns: [
        { name: 'invoice_id', type: 'string', isIndexed: true },
        { name: 'position', type: 'number' },
        { name: 'description', type: 'string' },
        { name: 'product_id', type: 'string', isOptional: true },
        { name: 'quantity', type: 'string' },
        { name: 'unit_amount', type: 'string' },
        { name: 'discount_rate', type: 'string', isOptional: true },
        { name: 'account_code', type: 'string', isOptional: true },
        { name: 'tax_type', type: 'string', isOptional: true },
        { name: 'line_amount', type: 'string' },
        { name: 'tax_amount', type: 'string' },
        { name: 'tracking_option_1_id', type: 'string', isOptional: true },
        { name: 'tracking_option_2_id', type: 'string', isOptional: true },
      ],
    }),
    tableSchema({
      name: 'payments',
      columns: [
        { name: 'xero_id', type: 'string', isOptional: true },
        { name: 'invoice_id', type: 'string', isIndexed: true },
        { name: 'account_code', type: 'string', isOptional: true },
        { name: 'date', type: 'string' },
        { name: 'amount', type: 'string' },
        { name: 'reference', type: 'string' },
        { name: 'status', type: 'string' },
        ...syncColumns,
      ],
    }),
  ],
})
