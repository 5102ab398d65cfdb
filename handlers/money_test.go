package handlers

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestMinorUnitsKnownCodes(t *testing.T) {
	cases := []struct {
		code  string
		units int32
	}{
		{"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"TWD", 2}, {"AED", 2}, {"XCG", 2}, {"ZWG", 2},
		{"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"VND", 0}, {"XOF", 0}, {"UYI", 0},
		{"BHD", 3}, {"KWD", 3}, {"OMR", 3}, {"JOD", 3}, {"TND", 3}, {"LYD", 3}, {"IQD", 3},
		{"UYW", 4}, {"CLF", 4},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			units, ok := MinorUnits(tc.code)
			require.True(t, ok)
			require.Equal(t, tc.units, units)
		})
	}
}

func TestMinorUnitsUnknownCodes(t *testing.T) {
	// XAU, XDR and XXX have no minor unit in ISO 4217, and BGN, HRK and ANG
	// are withdrawn.
	for _, code := range []string{"usd", "Usd", "", "US", "USDX", "XYZ", "XAU", "XDR", "XXX", "BGN", "HRK", "ANG"} {
		t.Run(code, func(t *testing.T) {
			units, ok := MinorUnits(code)
			require.False(t, ok)
			require.Zero(t, units)
		})
	}
}

func TestMinorUnitsTableShape(t *testing.T) {
	require.Len(t, minorUnits, 165)
	for code, units := range minorUnits {
		require.True(t, isCurrencyCode(code), "code %q", code)
		require.Contains(t, []int32{0, 2, 3, 4}, units, "code %s", code)
	}
}

func TestNewRatesErrors(t *testing.T) {
	cases := []struct {
		name      string
		reporting string
		rates     map[string]string
		message   string
	}{
		{"unknown reporting currency", "XYZ", nil, `reporting currency "XYZ": unknown ISO 4217 currency code`},
		{"lower-case reporting currency", "usd", nil, `reporting currency "usd": unknown ISO 4217 currency code`},
		{"unknown rate key", "USD", map[string]string{"EUR": "1.08", "XYZ": "2"}, "rates.XYZ: unknown ISO 4217 currency code"},
		{"lower-case rate key", "USD", map[string]string{"eur": "1.08"}, "rates.eur: unknown ISO 4217 currency code"},
		{"rate not a number", "USD", map[string]string{"EUR": "abc"}, `rates.EUR "abc": invalid decimal number`},
		{"rate empty", "USD", map[string]string{"EUR": ""}, `rates.EUR "": invalid decimal number`},
		{"rate zero", "USD", map[string]string{"EUR": "0"}, `rates.EUR "0": rate must be greater than 0`},
		{"rate negative", "USD", map[string]string{"EUR": "-1.08"}, `rates.EUR "-1.08": rate must be greater than 0`},
		{"reporting rate not 1", "USD", map[string]string{"USD": "2"}, `rates.USD "2": the reporting currency must have rate 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rates, err := NewRates(tc.reporting, tc.rates)
			require.Nil(t, rates)
			require.EqualError(t, err, tc.message)
		})
	}
}

func TestNewRatesReportingRate(t *testing.T) {
	rates, err := NewRates("EUR", map[string]string{"EUR": "1.00", "USD": "0.92"})
	require.NoError(t, err)
	require.Equal(t, "EUR", rates.Reporting())

	rate, ok := rates.Rate("EUR")
	require.True(t, ok)
	require.Equal(t, "1", rate.String())

	implicit, err := NewRates("EUR", nil)
	require.NoError(t, err)
	rate, ok = implicit.Rate("EUR")
	require.True(t, ok)
	require.Equal(t, "1", rate.String())

	_, ok = implicit.Rate("USD")
	require.False(t, ok)
}

func TestConvertRoundsHalfAwayFromZero(t *testing.T) {
	usd, err := NewRates("USD", map[string]string{"EUR": "0.5"})
	require.NoError(t, err)
	jpy, err := NewRates("JPY", map[string]string{"USD": "150.5"})
	require.NoError(t, err)
	bhd, err := NewRates("BHD", map[string]string{"USD": "0.376", "KWD": "1.225"})
	require.NoError(t, err)

	cases := []struct {
		name     string
		rates    *Rates
		amount   string
		currency string
		want     string
	}{
		{"half cent up", usd, "0.01", "EUR", "0.01"},           // 0.005
		{"half cent on odd digit", usd, "0.05", "EUR", "0.03"}, // 0.025, bankers' rounding gives 0.02
		{"negative half cent", usd, "-0.05", "EUR", "-0.03"},   // -0.025
		{"below half", usd, "0.0098", "EUR", "0"},              // 0.0049
		{"reporting currency unchanged", usd, "12.34", "USD", "12.34"},
		{"JPY half yen up", jpy, "1", "USD", "151"},     // 150.5
		{"JPY half yen on odd", jpy, "3", "USD", "452"}, // 451.5
		{"JPY negative half", jpy, "-1", "USD", "-151"},
		{"BHD three places", bhd, "1", "USD", "0.376"},
		{"BHD half fils", bhd, "0.5", "KWD", "0.613"}, // 0.6125
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rates.Convert(decimal.RequireFromString(tc.amount), tc.currency)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.String())
		})
	}
}

func TestConvertWithoutRate(t *testing.T) {
	rates, err := NewRates("USD", map[string]string{"EUR": "1.08"})
	require.NoError(t, err)

	for _, currency := range []string{"MXN", "XYZ", ""} {
		_, err := rates.Convert(decimal.RequireFromString("1"), currency)
		require.ErrorIs(t, err, ErrNoRate)
		require.ErrorContains(t, err, "to USD")
	}
}

func TestDefaultRates(t *testing.T) {
	rates, err := NewRates(DefaultReportingCurrency, DefaultRates())
	require.NoError(t, err)
	require.Equal(t, "USD", rates.Reporting())

	for _, code := range []string{"USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "DKK", "SEK", "NOK",
		"TWD", "AED", "CNY", "KRW", "INR", "BRL", "BHD", "KWD"} {
		_, ok := rates.Rate(code)
		require.True(t, ok, "no default rate for %s", code)
	}

	changed := DefaultRates()
	changed["EUR"] = "9"
	require.Equal(t, "1.08", DefaultRates()["EUR"])
}
