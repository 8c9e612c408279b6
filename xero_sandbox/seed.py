"""Realistic, deterministic seed data: an organisation with a chart of accounts, tax rates, contacts, items.

Same seed -> same organisation (ids included), so tests and demos can name what they expect.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from .reference import ACCOUNT_CLASS
from .store import Organisation, Record

Region = Literal["NZ", "AU", "UK"]

# (TaxType, Name, rate %, status, applies to revenue, applies to expenses)
_TaxRow = tuple[str, str, str, str, bool, bool]

_TAX_RATES: dict[str, list[_TaxRow]] = {
    "NZ": [
        ("OUTPUT2", "GST on Income", "15", "ACTIVE", True, False),
        ("INPUT2", "GST on Expenses", "15", "ACTIVE", False, True),
        ("NONE", "No GST", "0", "ACTIVE", True, True),
        ("ZERORATED", "Zero Rated", "0", "ACTIVE", True, True),
        ("EXEMPTOUTPUT", "Exempt Income", "0", "ACTIVE", True, False),
        ("EXEMPTINPUT", "Exempt Expenses", "0", "ACTIVE", False, True),
        ("GSTONIMPORTS", "GST on Imports", "0", "ACTIVE", False, True),
    ],
    "AU": [
        ("OUTPUT", "GST on Income", "10", "ACTIVE", True, False),
        ("INPUT", "GST on Expenses", "10", "ACTIVE", False, True),
        ("EXEMPTOUTPUT", "GST Free Income", "0", "ACTIVE", True, False),
        ("EXEMPTEXPENSES", "GST Free Expenses", "0", "ACTIVE", False, True),
        ("EXEMPTEXPORT", "GST Free Exports", "0", "ACTIVE", True, False),
        ("EXEMPTCAPITAL", "GST Free Capital", "0", "ACTIVE", False, True),
        ("CAPEXINPUT", "GST on Capital", "10", "ACTIVE", False, True),
        ("BASEXCLUDED", "BAS Excluded", "0", "ACTIVE", True, True),
        ("GSTONIMPORTS", "GST on Imports", "0", "ACTIVE", False, True),
        ("INPUTTAXED", "Input Taxed", "0", "ACTIVE", True, True),
    ],
    "UK": [
        ("OUTPUT2", "20% (VAT on Income)", "20", "ACTIVE", True, False),
        ("INPUT2", "20% (VAT on Expenses)", "20", "ACTIVE", False, True),
        ("RROUTPUT", "5% (VAT on Income)", "5", "ACTIVE", True, False),
        ("RRINPUT", "5% (VAT on Expenses)", "5", "ACTIVE", False, True),
        ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "ACTIVE", True, False),
        ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "ACTIVE", False, True),
        ("EXEMPTOUTPUT", "Exempt Income", "0", "ACTIVE", True, False),
        ("EXEMPTINPUT", "Exempt Expenses", "0", "ACTIVE", False, True),
        ("NONE", "No VAT", "0", "ACTIVE", True, True),
        ("ECZROUTPUT", "Zero Rated EC Goods Income", "0", "ACTIVE", True, False),
        ("ECACQUISITIONS", "20% (VAT on EC Acquisitions)", "20", "ACTIVE", False, True),
        ("CAPEXINPUT2", "20% (VAT on Capital Purchases)", "20", "ACTIVE", False, True),
    ],
}
# Custom rates every region gets, to exercise the statuses Xero has.
_CUSTOM_RATES: list[_TaxRow] = [
    ("TAX001", "Old Rate 12.5%", "12.5", "ARCHIVED", True, True),
    ("TAX002", "Future Rate 9%", "9", "PENDING", True, True),
    ("TAX003", "Removed Rate 7%", "7", "DELETED", True, True),
]
_COMPOUND = ("TAX004", "Levy 2% + Tax 10% compound")

_REGION = {
    "NZ": {
        "currency": "NZD",
        "country": "NZ",
        "timezone": "NEWZEALANDSTANDARDTIME",
        "sales": "OUTPUT2",
        "purchases": "INPUT2",
        "none": "NONE",
        "version": "NZ",
    },
    "AU": {
        "currency": "AUD",
        "country": "AU",
        "timezone": "AUSEASTERNSTANDARDTIME",
        "sales": "OUTPUT",
        "purchases": "INPUT",
        "none": "BASEXCLUDED",
        "version": "AU",
    },
    "UK": {
        "currency": "GBP",
        "country": "GB",
        "timezone": "GMTSTANDARDTIME",
        "sales": "OUTPUT2",
        "purchases": "INPUT2",
        "none": "NONE",
        "version": "UK",
    },
}

# (Code, Name, Type, SystemAccount, EnablePaymentsToAccount, Status)
_ACCOUNTS: list[tuple[str, str, str, str | None, bool, str]] = [
    ("090", "Business Bank Account", "BANK", None, False, "ACTIVE"),
    ("091", "Business Savings Account", "BANK", None, False, "ACTIVE"),
    ("200", "Sales", "REVENUE", None, False, "ACTIVE"),
    ("205", "Old Sales", "REVENUE", None, False, "ARCHIVED"),
    ("260", "Other Revenue", "REVENUE", None, False, "ACTIVE"),
    ("270", "Interest Income", "REVENUE", None, False, "ACTIVE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", None, False, "ACTIVE"),
    ("400", "Advertising", "OVERHEADS", None, False, "ACTIVE"),
    ("404", "Bank Fees", "OVERHEADS", None, False, "ACTIVE"),
    ("408", "Cleaning", "OVERHEADS", None, False, "ACTIVE"),
    ("412", "Consulting & Accounting", "EXPENSE", None, False, "ACTIVE"),
    ("416", "Depreciation", "DEPRECIATN", None, False, "ACTIVE"),
    ("420", "Entertainment", "OVERHEADS", None, False, "ACTIVE"),
    ("425", "Freight & Courier", "OVERHEADS", None, False, "ACTIVE"),
    ("429", "General Expenses", "OVERHEADS", None, False, "ACTIVE"),
    ("433", "Insurance", "OVERHEADS", None, False, "ACTIVE"),
    ("445", "Light, Power, Heating", "OVERHEADS", None, False, "ACTIVE"),
    ("449", "Motor Vehicle Expenses", "OVERHEADS", None, False, "ACTIVE"),
    ("453", "Office Expenses", "OVERHEADS", None, False, "ACTIVE"),
    ("469", "Rent", "OVERHEADS", None, False, "ACTIVE"),
    ("477", "Wages and Salaries", "EXPENSE", None, False, "ACTIVE"),
    ("489", "Telephone & Internet", "OVERHEADS", None, False, "ACTIVE"),
    ("610", "Accounts Receivable", "CURRENT", "DEBTORS", False, "ACTIVE"),
    ("620", "Prepayments", "PREPAYMENT", None, False, "ACTIVE"),
    ("630", "Inventory", "INVENTORY", None, False, "ACTIVE"),
    ("710", "Office Equipment", "FIXED", None, False, "ACTIVE"),
    ("800", "Accounts Payable", "CURRLIAB", "CREDITORS", False, "ACTIVE"),
    ("820", "GST", "CURRLIAB", "GST", False, "ACTIVE"),
    ("840", "Historical Adjustment", "CURRLIAB", "HISTORICAL", False, "ACTIVE"),
    ("855", "Clearing Account", "CURRLIAB", None, True, "ACTIVE"),
    ("880", "Owner A Drawings", "EQUITY", None, False, "ACTIVE"),
    ("960", "Retained Earnings", "EQUITY", "RETAINEDEARNINGS", False, "ACTIVE"),
]

_ADJECTIVES = [
    "Kauri",
    "Harbour",
    "Summit",
    "Coastal",
    "Southern",
    "Golden",
    "Riverside",
    "Alpine",
    "Red",
    "Blue",
    "Northern",
    "Pacific",
    "Totara",
    "Rimu",
    "Silver",
    "Valley",
    "Urban",
    "Highland",
    "Island",
    "Metro",
]
_NOUNS = [
    "Plumbing",
    "Electrical",
    "Builders",
    "Roofing",
    "Landscaping",
    "Cafe",
    "Motors",
    "Joinery",
    "Painting",
    "Drainage",
    "Glazing",
    "Flooring",
    "Fencing",
    "Bakery",
    "Logistics",
    "Dental",
    "Veterinary",
    "Printing",
    "Hardware",
    "Cleaning",
]
_KINDS = ["Ltd", "Limited", "& Co", "Group", "Services", "Trust", "Partners", "Holdings"]
_ITEMS = [
    ("Labour hour", "95.00"),
    ("Call-out fee", "85.00"),
    ("Copper pipe 15mm (m)", "12.50"),
    ("PVC fitting", "3.2500"),
    ("Hot water cylinder", "1450.00"),
    ("Site visit", "120.00"),
    ("Consumables", "9.99"),
    ("Travel (km)", "0.8300"),
    ("Mixer tap", "249.00"),
    ("Safety inspection", "180.00"),
]


class SeededRandom:
    """Deterministic ids and choices from one seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def choice(self, options: list[str]) -> str:
        return self._rng.choice(options)

    def randint(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)


def _tax_rate(row: _TaxRow, now: datetime) -> Record:
    tax_type, name, rate, status, revenue, expenses = row
    value = Decimal(rate)
    return {
        "Name": name,
        "TaxType": tax_type,
        "ReportTaxType": "OUTPUT" if revenue and not expenses else "INPUT",
        "CanApplyToAssets": expenses,
        "CanApplyToEquity": expenses,
        "CanApplyToExpenses": expenses,
        "CanApplyToLiabilities": expenses,
        "CanApplyToRevenue": revenue,
        "DisplayTaxRate": value,
        "EffectiveRate": value,
        "Status": status,
        "TaxComponents": [
            {
                "Name": "Tax",
                "Rate": value.quantize(Decimal("0.0001")),
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
        ],
        "_updated": now,
    }


def _compound_rate(now: datetime) -> Record:
    # A 2% levy, then 10% tax compounded on amount + levy: 2 + 10.2 = 12.2% effective.
    tax_type, name = _COMPOUND
    return {
        "Name": name,
        "TaxType": tax_type,
        "ReportTaxType": "OUTPUT",
        "CanApplyToAssets": False,
        "CanApplyToEquity": False,
        "CanApplyToExpenses": False,
        "CanApplyToLiabilities": False,
        "CanApplyToRevenue": True,
        "DisplayTaxRate": Decimal("12.2"),
        "EffectiveRate": Decimal("12.2"),
        "Status": "ACTIVE",
        "TaxComponents": [
            {"Name": "Levy", "Rate": Decimal("2.0000"), "IsCompound": False, "IsNonRecoverable": False},
            {"Name": "Tax", "Rate": Decimal("10.0000"), "IsCompound": True, "IsNonRecoverable": False},
        ],
        "_updated": now,
    }


def build_organisation(name: str, region: Region, seed: int, now: datetime) -> Organisation:
    """An organisation with accounts and tax rates, no contacts or items yet."""
    rng = SeededRandom(seed)
    info = _REGION[region]
    tenant_id = rng.uuid()
    org_info: Record = {
        "OrganisationID": tenant_id,
        "APIKey": "",
        "Name": name,
        "LegalName": f"{name} Limited",
        "PaysTax": True,
        "Version": info["version"],
        "OrganisationType": "COMPANY",
        "BaseCurrency": info["currency"],
        "CountryCode": info["country"],
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "INVOICE",
        "SalesTaxPeriod": "TWOMONTHS",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Inclusive",
        "Timezone": info["timezone"],
        "OrganisationEntityType": "COMPANY",
        "ShortCode": f"!{rng.uuid()[:5]}",
        "Class": "STANDARD",
        "Edition": "BUSINESS",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
        "CreatedDateUTC": None,  # filled by the wire layer
    }
    org = Organisation(tenant_id=tenant_id, name=name, region=region, info=org_info, created=now)
    for row in [*_TAX_RATES[region], *_CUSTOM_RATES]:
        org.tax_rates[row[0]] = _tax_rate(row, now)
    org.tax_rates[_COMPOUND[0]] = _compound_rate(now)
    for code, account_name, account_type, system, payments, status in _ACCOUNTS:
        account_class = ACCOUNT_CLASS[account_type]
        tax_type = (
            info["sales"]
            if account_class == "REVENUE"
            else (info["purchases"] if account_class == "EXPENSE" else info["none"])
        )
        account: Record = {
            "AccountID": rng.uuid(),
            "Code": code,
            "Name": account_name,
            "Type": account_type,
            "Status": status,
            "Description": "",
            "TaxType": tax_type,
            "EnablePaymentsToAccount": payments,
            "ShowInExpenseClaims": account_class == "EXPENSE",
            "Class": account_class,
            "ReportingCode": "",
            "ReportingCodeName": "",
            "HasAttachments": False,
            "AddToWatchlist": False,
            "_updated": now,
        }
        if system:
            account["SystemAccount"] = system
        if account_type == "BANK":
            account.update(
                {
                    "BankAccountNumber": f"0{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-0000000-00",
                    "BankAccountType": "BANK",
                    "CurrencyCode": info["currency"],
                }
            )
        org.accounts[account["AccountID"]] = account
    # Every Xero organisation starts with its "Standard" branding theme, the default (SortOrder 0).
    theme_id = rng.uuid()
    org.branding_themes[theme_id] = {
        "BrandingThemeID": theme_id,
        "Name": "Standard",
        "Type": "INVOICE",
        "SortOrder": 0,
        "_created": now,
    }
    return org


def add_contacts(org: Organisation, count: int, seed: int, now: datetime) -> list[str]:
    """``count`` ACTIVE contacts with unique names, deterministic; 100,000 take about a second."""
    rng = SeededRandom(seed * 7919 + 1)
    ids: list[str] = []
    start = len(org.contacts)
    for index in range(start, start + count):
        base = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_KINDS)}"
        name = base if base.lower() not in org.active_contact_names else f"{base} {index + 1}"
        slug = name.lower().replace(" ", "").replace("&", "and")
        contact_id = rng.uuid()
        org.contacts[contact_id] = {
            "ContactID": contact_id,
            "ContactStatus": "ACTIVE",
            "Name": name,
            "FirstName": "",
            "LastName": "",
            "EmailAddress": f"accounts@{slug}.example",
            "BankAccountDetails": "",
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
            "_updated": now,
        }
        org.active_contact_names[name.lower()] = contact_id
        ids.append(contact_id)
    return ids


def add_items(org: Organisation, count: int, seed: int, now: datetime) -> list[str]:
    rng = SeededRandom(seed * 104729 + 2)
    sales_tax = _REGION[org.region]["sales"]
    ids: list[str] = []
    start = len(org.items)
    for index in range(start, start + count):
        name, price = _ITEMS[index % len(_ITEMS)]
        item_id = rng.uuid()
        org.items[item_id] = {
            "ItemID": item_id,
            "Code": f"ITEM-{index + 1:04d}",
            "Name": name if index < len(_ITEMS) else f"{name} #{index + 1}",
            "Description": name,
            "PurchaseDescription": name,
            "IsSold": True,
            "IsPurchased": True,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": "200", "TaxType": sales_tax},
            "PurchaseDetails": {
                "UnitPrice": Decimal(price) / 2,
                "AccountCode": "310",
                "TaxType": _REGION[org.region]["purchases"],
            },
            "_updated": now,
        }
        ids.append(item_id)
    return ids
