package handlers

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/shopspring/decimal"
)

// DefaultReportingCurrency is the reporting currency of DefaultRates.
const DefaultReportingCurrency = "USD"

// ErrNoRate is wrapped by the error that Rates.Convert returns for a currency
// without an exchange rate.
var ErrNoRate = errors.New("no exchange rate")

// minorUnits maps every active ISO 4217 currency code to the number of
// decimal places of its minor unit. It was transcribed from a copy of ISO 4217
// List One dated 2026-01-01. Codes whose minor unit the list gives as N.A.
// (XAG, XAU, XBA, XBB, XBC, XBD, XDR, XPD, XPT, XSU, XTS, XUA, XXX) are left
// out, because an amount in them has no decimal places to check. Withdrawn
// codes such as BGN, ANG, CUC, HRK, SLL and ZWL are left out as well.
var minorUnits = map[string]int32{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
	"AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
	"BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2,
	"CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2,
	"COP": 2, "COU": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2,
	"DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2,
	"GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2,
	"HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3,
	"IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2,
	"KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2,
	"LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2,
	"MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2,
	"MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2,
	"PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2,
	"SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2,
	"SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2,
	"TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2, "VES": 2,
	"VND": 0, "VUV": 0, "WST": 2, "XAD": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// MinorUnits returns the number of decimal places of the minor unit of the
// ISO 4217 currency code, and false for a code that is not in the active list.
// Codes are upper case: "usd" is not found.
func MinorUnits(code string) (int32, bool) {
	units, ok := minorUnits[code]
	return units, ok
}

// Rates is a fixed table of exchange rates into one reporting currency. It is
// safe for concurrent use because it is never changed after NewRates.
type Rates struct {
	reporting      string
	reportingUnits int32
	// rates maps a currency code to the units of the reporting currency that
	// one unit of that currency is worth. It contains the reporting currency.
	rates map[string]decimal.Decimal
}

// NewRates builds a Rates table for the reporting currency from rates, which
// maps ISO 4217 codes to decimal strings: the units of the reporting currency
// that one unit of the keyed currency is worth. The reporting currency has the
// rate 1 whether or not rates lists it. Every key must be an active ISO 4217
// code and every rate a decimal greater than 0, and the error names the first
// offending key in sorted order.
func NewRates(reporting string, rates map[string]string) (*Rates, error) {
	reportingUnits, ok := MinorUnits(reporting)
	if !ok {
		return nil, fmt.Errorf("reporting currency %q: unknown ISO 4217 currency code", reporting)
	}

	unitRate := decimal.NewFromInt(1)
	table := map[string]decimal.Decimal{reporting: unitRate}
	for _, code := range slices.Sorted(maps.Keys(rates)) {
		text := rates[code]
		if _, ok := MinorUnits(code); !ok {
			return nil, fmt.Errorf("rates.%s: unknown ISO 4217 currency code", code)
		}

		rate, err := decimal.NewFromString(text)
		if err != nil {
			return nil, fmt.Errorf("rates.%s %q: invalid decimal number", code, text)
		}
		if rate.Sign() <= 0 {
			return nil, fmt.Errorf("rates.%s %q: rate must be greater than 0", code, text)
		}
		if code == reporting && !rate.Equal(unitRate) {
			return nil, fmt.Errorf("rates.%s %q: the reporting currency must have rate 1", code, text)
		}

		table[code] = rate
	}

	return &Rates{reporting: reporting, reportingUnits: reportingUnits, rates: table}, nil
}

// Reporting returns the ISO 4217 code of the reporting currency.
func (r *Rates) Reporting() string {
	return r.reporting
}

// Rate returns the units of the reporting currency that one unit of currency
// is worth, and false when the table has no rate for currency.
func (r *Rates) Rate(currency string) (decimal.Decimal, bool) {
	rate, ok := r.rates[currency]
	return rate, ok
}

// Convert returns amount in currency converted to the reporting currency:
// amount × rate, rounded to the minor unit of the reporting currency with
// halves rounded away from zero. The error wraps ErrNoRate when the table has
// no rate for currency.
func (r *Rates) Convert(amount decimal.Decimal, currency string) (decimal.Decimal, error) {
	rate, ok := r.rates[currency]
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("convert %s %s to %s: %w for %s", amount, currency, r.reporting, ErrNoRate, currency)
	}
	return amount.Mul(rate).Round(r.reportingUnits), nil
}

// DefaultRates returns example exchange rates into DefaultReportingCurrency
// (USD) for use with NewRates. The values are rounded, fixed examples for
// tests and demos, not market data: an operator replaces them with a table of
// their own. Each call returns a new map.
func DefaultRates() map[string]string {
	return map[string]string{
		"USD": "1",
		"EUR": "1.08",
		"GBP": "1.27",
		"JPY": "0.0067",
		"AUD": "0.66",
		"CAD": "0.73",
		"CHF": "1.13",
		"DKK": "0.145",
		"SEK": "0.095",
		"NOK": "0.093",
		"TWD": "0.031",
		"AED": "0.2723",
		"CNY": "0.138",
		"KRW": "0.00073",
		"INR": "0.012",
		"BRL": "0.18",
		"BHD": "2.6596",
		"KWD": "3.25",
	}
}
