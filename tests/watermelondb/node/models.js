// Models of a ledgersync app in plain JavaScript (no decorators, no Babel). Each column is a
// property reading the raw record; writes go through `record.update(r => { r.name = ... })`.
const { Model } = require('@nozbe/watermelondb')
const schema = require('./schema.js')

function withColumns(ModelClass) {
  for (const { name } of schema.tables[ModelClass.table].columnArray) {
    const property = name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()) // snake_case -> camelCase
    Object.defineProperty(ModelClass.prototype, property, {
      get() {
        return this._getRaw(name)
      },
      set(value) {
        this._setRaw(name, value)
      },
    })
  }
  return ModelClass
}

class OrganisationSettings extends Model {
  static table = 'organisation_settings'
}
class TaxRate extends Model {
  static table = 'tax_rates'
}
class Account extends Model {
  static table = 'accounts'
}
class TrackingCategory extends Model {
  static table = 'tracking_categories'
  static associations = { tracking_options: { type: 'has_many', foreignKey: 'tracking_category_id' } }
}
class TrackingOption extends Model {
  static table = 'tracking_options'
  static associations = { tracking_categories: { type: 'belongs_to', key: 'tracking_category_id' } }
}
class BrandingTheme extends Model {
  static table = 'branding_themes'
}
class Product extends Model {
  static table = 'products'
}
class Customer extends Model {
  static table = 'customers'
  static associations = { invoices: { type: 'has_many', foreignKey: 'customer_id' } }
}
class Invoice extends Model {
  static table = 'invoices'
  static associations = {
    customers: { type: 'belongs_to', key: 'customer_id' },
    invoice_lines: { type: 'has_many', foreignKey: 'invoice_id' },
    payments: { type: 'has_many', foreignKey: 'invoice_id' },
  }
}
class InvoiceLine extends Model {
  static table = 'invoice_lines'
  static associations = { invoices: { type: 'belongs_to', key: 'invoice_id' } }
}
class Payment extends Model {
  static table = 'payments'
  static associations = { invoices: { type: 'belongs_to', key: 'invoice_id' } }
}

module.exports = [
  OrganisationSettings,
  TaxRate,
  Account,
  TrackingCategory,
  TrackingOption,
  BrandingTheme,
  Product,
  Customer,
  Invoice,
  InvoiceLine,
  Payment,
].map(withColumns)
