package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reason is the cause of an invalid event. Its values are stable, lower-case
// strings that serve as metric label values and dead-letter header values.
type Reason string

// The reasons an event is invalid.
const (
	// ReasonInvalidJSON marks a payload that is not exactly one JSON object,
	// or an object with a duplicate key.
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonInvalidUTF8 marks a payload that is not valid UTF-8 or that
	// contains a NUL byte.
	ReasonInvalidUTF8 Reason = "invalid_utf8"
	// ReasonMissingField marks a required field that is absent or null.
	ReasonMissingField Reason = "missing_field"
	// ReasonInvalidField marks a field with the wrong JSON type, syntax,
	// length or range.
	ReasonInvalidField Reason = "invalid_field"
	// ReasonUnknownType marks a type other than auth, spin or purchase.
	ReasonUnknownType Reason = "unknown_type"
	// ReasonTypeMismatch marks an event whose type differs from the kind its
	// topic carries.
	ReasonTypeMismatch Reason = "type_mismatch"
	// ReasonFutureTimestamp marks an event time further in the future than
	// the configured skew allows.
	ReasonFutureTimestamp Reason = "future_timestamp"
	// ReasonUnknownCurrency marks a purchase currency that is not an ISO 4217
	// code or has no exchange rate.
	ReasonUnknownCurrency Reason = "unknown_currency"
	// ReasonTooManyDecimals marks an amount with more decimal places than the
	// minor unit of its currency.
	ReasonTooManyDecimals Reason = "too_many_decimals"
	// ReasonNegativeAmount marks a purchase amount, bet or win below zero.
	ReasonNegativeAmount Reason = "negative_amount"
)

// Reasons lists every Reason in a fixed order, for example to create one
// metric series per reason at start-up.
var Reasons = []Reason{
	ReasonInvalidJSON,
	ReasonInvalidUTF8,
	ReasonMissingField,
	ReasonInvalidField,
	ReasonUnknownType,
	ReasonTypeMismatch,
	ReasonFutureTimestamp,
	ReasonUnknownCurrency,
	ReasonTooManyDecimals,
	ReasonNegativeAmount,
}

// maxValueBytes is the maximum length of InvalidEventError.Value in bytes.
const maxValueBytes = 200

// InvalidEventError marks input that must go to the dead-letter topic and is
// never retried, because the same bytes always fail the same way.
type InvalidEventError struct {
	// Reason is the broken rule.
	Reason Reason
	// Field is the JSON field name, or empty when the error concerns the
	// payload as a whole.
	Field string
	// Value is the offending value: the decoded string for a JSON string,
	// the JSON text for any other JSON value, or the start of the payload
	// when Field is empty. It is valid UTF-8 of at most 200 bytes. Invalid
	// bytes are written as \xNN, and a cut value ends with "…".
	Value string
	// Detail is the rule that the value breaks, such as "must be greater than 0".
	Detail string
}

// Error formats the error as `reason: field "value": detail`, for example
// `invalid_field: purchase_amount "1.999": USD allows at most 2 decimal places`.
// A missing field has no value, and an empty Field is written as "payload".
func (e *InvalidEventError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Reason))
	b.WriteString(": ")
	if e.Field == "" {
		b.WriteString("payload")
	} else {
		b.WriteString(e.Field)
	}
	if e.Reason != ReasonMissingField {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	return b.String()
}

// IsInvalidEvent returns the first *InvalidEventError in the chain of err,
// and whether there is one.
func IsInvalidEvent(err error) (*InvalidEventError, bool) {
	var invalid *InvalidEventError
	if errors.As(err, &invalid) {
		return invalid, true
	}
	return nil, false
}

// newInvalid returns an InvalidEventError with value cut to maxValueBytes and
// the detail formatted from format and args.
func newInvalid(reason Reason, field, value, format string, args ...any) *InvalidEventError {
	return &InvalidEventError{
		Reason: reason,
		Field:  field,
		Value:  truncateValue(value),
		Detail: fmt.Sprintf(format, args...),
	}
}

// truncateValue returns s as valid UTF-8 of at most maxValueBytes bytes.
// Invalid bytes become the four characters \xNN, and a cut value ends with "…".
func truncateValue(s string) string {
	if len(s) <= maxValueBytes && utf8.ValidString(s) {
		return s
	}

	const ellipsis = "…"
	var b strings.Builder
	fitsWithEllipsis := 0 // length of b after the last piece that leaves room for the ellipsis
	for i := 0; i < len(s) && b.Len() <= maxValueBytes; {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size

		if i == len(s) && b.Len() <= maxValueBytes {
			return b.String()
		}
		if b.Len() <= maxValueBytes-len(ellipsis) {
			fitsWithEllipsis = b.Len()
		}
	}
	return b.String()[:fitsWithEllipsis] + ellipsis
}
