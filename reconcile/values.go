package reconcile

import (
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// moneyPlaces is the scale of the DECIMAL(20,2) money columns in MySQL.
const moneyPlaces = 2

// microTimeLayout formats times in UTC with the six fractional digits of
// DATETIME(6).
const microTimeLayout = "2006-01-02T15:04:05.000000Z"

// formatTime formats t in UTC at microsecond precision.
func formatTime(t time.Time) string {
	return t.UTC().Format(microTimeLayout)
}

// formatMoney formats d with at least two decimal places, so 12.3 and 12.30
// print the same.
func formatMoney(d decimal.Decimal) string {
	return d.StringFixed(max(moneyPlaces, -d.Exponent()))
}

func formatNullMoney(d decimal.NullDecimal) string {
	if !d.Valid {
		return "NULL"
	}
	return formatMoney(d.Decimal)
}

// formatNullText quotes s, so trailing spaces stay visible.
func formatNullText(s sql.NullString) string {
	if !s.Valid {
		return "NULL"
	}
	return strconv.Quote(s.String)
}

func formatInt(n int64) string {
	return strconv.FormatInt(n, 10)
}

// sameTime reports whether a and b are the same instant at microsecond
// precision.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func sameNullMoney(a, b decimal.NullDecimal) bool {
	return a.Valid == b.Valid && (!a.Valid || a.Decimal.Equal(b.Decimal))
}

func sameNullText(a, b sql.NullString) bool {
	return a.Valid == b.Valid && (!a.Valid || a.String == b.String)
}

// parseMoney parses a decimal read as text from either database. column
// names the value in the error.
func parseMoney(text, column string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%s: invalid decimal %q: %w", column, text, err)
	}
	return d, nil
}

// parseNullMoney parses a nullable decimal read as text.
func parseNullMoney(text sql.NullString, column string) (decimal.NullDecimal, error) {
	if !text.Valid {
		return decimal.NullDecimal{}, nil
	}
	d, err := parseMoney(text.String, column)
	if err != nil {
		return decimal.NullDecimal{}, err
	}
	return decimal.NewNullDecimal(d), nil
}

// roundMoney rounds d half away from zero to two places, as stores/mysql
// does before it writes a DECIMAL(20,2) column.
func roundMoney(d decimal.Decimal) decimal.Decimal {
	return d.Round(moneyPlaces)
}

// average returns total / count rounded half away from zero to two places,
// or NULL when count is 0, as the processor computes avg_purchase. DivRound
// rounds the exact quotient. PostgreSQL numeric division first rounds the
// quotient to a limited scale, so round(total / count, 2) could round twice.
func average(total decimal.Decimal, count int64) decimal.NullDecimal {
	if count == 0 {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(total.DivRound(decimal.NewFromInt(count), moneyPlaces))
}

// moneyArg formats a money value for a DECIMAL(20,2) parameter.
func moneyArg(d decimal.Decimal) string {
	return roundMoney(d).StringFixed(moneyPlaces)
}

// nullMoneyArg returns nil for NULL and moneyArg otherwise.
func nullMoneyArg(d decimal.NullDecimal) any {
	if !d.Valid {
		return nil
	}
	return moneyArg(d.Decimal)
}

// nullTextArg returns nil for NULL and the string otherwise.
func nullTextArg(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

// microsUTC returns t in UTC, truncated to the microseconds of DATETIME(6).
func microsUTC(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
