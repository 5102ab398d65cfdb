package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Limits of the event contract. Character counts are Unicode code points.
const (
	maxIDChars           = 128 // msg_id, uid, app_id
	maxProductIDChars    = 128
	maxGameCurrencyChars = 16
	// maxEmailBytes is the longest address that fits an SMTP path (RFC 5321
	// limits the path to 256 octets, including the angle brackets).
	maxEmailBytes  = 254
	minPhoneDigits = 8
	maxPhoneDigits = 15 // E.164 maximum
)

// minEventTime is the earliest event time accepted, because MariaDB and MySQL
// DATETIME columns store only the years 1000 to 9999.
var minEventTime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	// DefaultCurrency is the ISO 4217 code of a purchase that has no currency
	// field. Rates must contain a rate for it.
	DefaultCurrency string
	// Rates converts purchase amounts into the reporting currency and decides
	// which purchase currencies are accepted.
	Rates *Rates
	// MaxFutureSkew is how far after Now an event time may lie before the
	// event is rejected with ReasonFutureTimestamp. It must be greater than 0.
	MaxFutureSkew time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Validator decodes Kafka message values into Events and enforces the event
// contract. It is safe for concurrent use.
type Validator struct {
	defaultCurrency string
	rates           *Rates
	maxFutureSkew   time.Duration
	now             func() time.Time
}

// NewValidator checks cfg and returns a Validator that uses it. The error
// names the invalid ValidatorConfig field and its value.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if cfg.Rates == nil {
		return nil, errors.New("validator config: Rates is nil: build one with NewRates")
	}
	if _, ok := cfg.Rates.Rate(cfg.DefaultCurrency); !ok {
		return nil, fmt.Errorf("validator config: DefaultCurrency %q: no rate in Rates, whose reporting currency is %s",
			cfg.DefaultCurrency, cfg.Rates.Reporting())
	}
	if cfg.MaxFutureSkew <= 0 {
		return nil, fmt.Errorf("validator config: MaxFutureSkew %s: must be greater than 0", cfg.MaxFutureSkew)
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Validator{
		defaultCurrency: cfg.DefaultCurrency,
		rates:           cfg.Rates,
		maxFutureSkew:   cfg.MaxFutureSkew,
		now:             now,
	}, nil
}

// Decode parses and validates one Kafka message value. expected is the kind
// that the topic carries, or "" for a topic that carries several kinds. A
// non-nil error is always an *InvalidEventError, so the message belongs on the
// dead-letter topic, and Decode reports the first rule that fails in this order:
//
//   - The payload must be valid UTF-8 without NUL bytes (ReasonInvalidUTF8) and
//     exactly one JSON object with unique keys (ReasonInvalidJSON). A NUL
//     written as the escape \u0000 inside a string is a control character, so
//     it fails the check of that field instead. Keys match case-sensitively, and
//     keys outside the contract are ignored, as are fields of other kinds.
//   - type must be "auth", "spin" or "purchase" (ReasonUnknownType). It is
//     required when expected is "" (ReasonMissingField). Otherwise an absent
//     type means expected, and a different type is ReasonTypeMismatch.
//   - msg_id, uid and app_id are required strings of 1 to 128 characters
//     without control characters.
//   - timestamp is a required RFC 3339 string with an upper-case T and either
//     Z or a numeric offset such as +02:00. It is converted to UTC and
//     truncated to microseconds. It must not be before the year 1000, and
//     not more than MaxFutureSkew after Now (ReasonFutureTimestamp).
//   - auth: email, if present, is a bare address (name@example.com) of at
//     most 254 bytes that net/mail parses back to itself. phone, if present, is
//     E.164: "+" and 8 to 15 digits.
//   - spin: spin_count, if present, is a JSON integer literal of at least 1
//     (default 1). bet and win, if present, are amounts of at least 0. currency,
//     if present, is a game currency name of 1 to 16 characters.
//   - purchase: purchase_amount is a required amount greater than 0. currency,
//     if present, is an upper-case ISO 4217 code, and DefaultCurrency otherwise.
//     It must have a rate (ReasonUnknownCurrency). The amount may have at most
//     as many decimal places as the currency's minor unit after trailing zeros
//     are removed, so "1.500" USD is valid and "1.001" USD is
//     ReasonTooManyDecimals. product_id, if present, is at most 128 characters.
//
// No string field may contain a control character.
// An amount is a JSON number or a JSON string, written as an optional "-",
// digits, and optionally "." and more digits. It is parsed exactly as a
// decimal, never as a float. Exponent notation such as 1e3 is rejected.
// A negative amount is ReasonNegativeAmount. An optional field that is null
// is treated as absent, and a required field that is null as missing. Any
// other violation is ReasonInvalidField.
func (v *Validator) Decode(payload []byte, expected Kind) (Event, error) {
	event, invalid := v.decode(payload, expected)
	if invalid != nil {
		return Event{}, invalid
	}
	return event, nil
}

func (v *Validator) decode(payload []byte, expected Kind) (Event, *InvalidEventError) {
	fields, invalid := parseObject(payload)
	if invalid != nil {
		return Event{}, invalid
	}

	var event Event
	if event.Kind, invalid = decodeKind(fields, expected); invalid != nil {
		return Event{}, invalid
	}
	if event.MsgID, invalid = requiredText(fields, "msg_id", maxIDChars); invalid != nil {
		return Event{}, invalid
	}
	if event.UID, invalid = requiredText(fields, "uid", maxIDChars); invalid != nil {
		return Event{}, invalid
	}
	if event.AppID, invalid = requiredText(fields, "app_id", maxIDChars); invalid != nil {
		return Event{}, invalid
	}
	if event.Time, invalid = v.decodeTime(fields); invalid != nil {
		return Event{}, invalid
	}

	switch event.Kind {
	case KindAuth:
		invalid = decodeAuth(fields, &event)
	case KindSpin:
		invalid = decodeSpin(fields, &event)
	case KindPurchase:
		invalid = v.decodePurchase(fields, &event)
	}
	if invalid != nil {
		return Event{}, invalid
	}
	return event, nil
}

// parseObject splits payload into the raw values of its top-level keys.
func parseObject(payload []byte) (map[string]json.RawMessage, *InvalidEventError) {
	if !utf8.Valid(payload) {
		return nil, newInvalid(ReasonInvalidUTF8, "", string(payload),
			"payload is not valid UTF-8 at byte offset %d", invalidUTF8Offset(payload))
	}
	if i := bytes.IndexByte(payload, 0); i >= 0 {
		return nil, newInvalid(ReasonInvalidUTF8, "", string(payload),
			"payload contains a NUL byte at byte offset %d", i)
	}

	if json.Valid(payload) {
		if fields, ok := splitObject(payload); ok {
			return fields, nil
		}
	}
	return parseObjectTokens(payload)
}

// parseObjectTokens is the slow path of parseObject, with an exact error for
// every kind of malformed payload.
func parseObjectTokens(payload []byte) (map[string]json.RawMessage, *InvalidEventError) {
	decoder := json.NewDecoder(bytes.NewReader(payload))
	invalidJSON := func(format string, args ...any) *InvalidEventError {
		return newInvalid(ReasonInvalidJSON, "", string(payload), format, args...)
	}

	start, err := decoder.Token()
	if err == io.EOF {
		return nil, invalidJSON("payload is empty")
	}
	if err != nil {
		return nil, invalidJSON("invalid JSON: %v", err)
	}
	if start != json.Delim('{') {
		return nil, invalidJSON("payload must be a JSON object")
	}

	fields := make(map[string]json.RawMessage)
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return nil, invalidJSON("invalid JSON: %v", err)
		}
		key, ok := token.(string)
		if !ok {
			return nil, invalidJSON("invalid JSON: object key %v is not a string", token)
		}

		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			return nil, invalidJSON("invalid JSON in the value of key %q: %v", key, err)
		}
		if _, duplicate := fields[key]; duplicate {
			return nil, newInvalid(ReasonInvalidJSON, key, string(raw), "duplicate key %q in the JSON object", key)
		}
		fields[key] = raw
	}

	if _, err := decoder.Token(); err != nil {
		return nil, invalidJSON("invalid JSON: %v", err)
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, invalidJSON("trailing data after the JSON object at byte offset %d", decoder.InputOffset())
	}
	return fields, nil
}

// splitObject is the fast path of parseObject for a payload that json.Valid
// accepted: it splits a top-level object into its keys and raw values in one
// pass. ok is false when the payload is not an object, has a duplicate key or
// a key with escapes, so that the token-based path reports the error.
func splitObject(payload []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return nil, false
	}
	fields := make(map[string]json.RawMessage, 12)
	i = skipSpace(payload, i+1)
	if payload[i] == '}' {
		return fields, true
	}
	for {
		keyEnd := stringEnd(payload, i)
		key := payload[i+1 : keyEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return nil, false
		}
		i = skipSpace(payload, keyEnd)
		i = skipSpace(payload, i+1) // past the colon
		valueEnd := valueEnd(payload, i)
		if _, duplicate := fields[string(key)]; duplicate {
			return nil, false
		}
		fields[string(key)] = payload[i:valueEnd:valueEnd]
		i = skipSpace(payload, valueEnd)
		if payload[i] == '}' {
			return fields, true
		}
		i = skipSpace(payload, i+1) // past the comma
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string that
// starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// valueEnd returns the index after the JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

func invalidUTF8Offset(payload []byte) int {
	for i := 0; i < len(payload); {
		r, size := utf8.DecodeRune(payload[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(payload)
}

// lookup returns the raw JSON value of the field, or nil when the field is
// absent or null.
func lookup(fields map[string]json.RawMessage, name string) json.RawMessage {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	return raw
}

// textField returns the decoded JSON string of the field and whether the
// field is present and not null.
func textField(fields map[string]json.RawMessage, name string) (string, bool, *InvalidEventError) {
	raw := lookup(fields, name)
	if raw == nil {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", true, newInvalid(ReasonInvalidField, name, string(raw), "must be a JSON string")
	}

	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return "", true, newInvalid(ReasonInvalidField, name, string(raw), "invalid JSON string: %v", err)
	}
	return text, true, nil
}

// requiredText returns the string field name, which must be present and pass
// checkText with 1 to maxChars characters.
func requiredText(fields map[string]json.RawMessage, name string, maxChars int) (string, *InvalidEventError) {
	text, present, invalid := textField(fields, name)
	if invalid != nil {
		return "", invalid
	}
	if !present {
		return "", newInvalid(ReasonMissingField, name, "", "required field is missing")
	}
	if invalid := checkText(name, text, 1, maxChars); invalid != nil {
		return "", invalid
	}
	return text, nil
}

// checkText rejects text with fewer than minChars or more than maxChars code
// points, or with a control character such as NUL, tab or newline.
func checkText(name, text string, minChars, maxChars int) *InvalidEventError {
	count := utf8.RuneCountInString(text)
	if count < minChars || count > maxChars {
		return newInvalid(ReasonInvalidField, name, text,
			"must be %d to %d characters long, got %d", minChars, maxChars, count)
	}
	for offset, r := range text {
		if unicode.IsControl(r) {
			return newInvalid(ReasonInvalidField, name, text,
				"contains the control character %U at byte offset %d", r, offset)
		}
	}
	return nil
}

func decodeKind(fields map[string]json.RawMessage, expected Kind) (Kind, *InvalidEventError) {
	if expected != "" {
		if _, err := ParseKind(string(expected)); err != nil {
			return "", newInvalid(ReasonUnknownType, "type", string(expected),
				"the kind expected on this topic must be auth, spin or purchase")
		}
	}

	text, present, invalid := textField(fields, "type")
	if invalid != nil {
		return "", invalid
	}
	if !present {
		if expected == "" {
			return "", newInvalid(ReasonMissingField, "type", "",
				"required field is missing: a topic with several kinds needs it")
		}
		return expected, nil
	}

	kind, err := ParseKind(text)
	if err != nil {
		return "", newInvalid(ReasonUnknownType, "type", text, "must be auth, spin or purchase")
	}
	if expected != "" && kind != expected {
		return "", newInvalid(ReasonTypeMismatch, "type", text, "the topic carries %s events", expected)
	}
	return kind, nil
}

func (v *Validator) decodeTime(fields map[string]json.RawMessage) (time.Time, *InvalidEventError) {
	const name = "timestamp"
	text, present, invalid := textField(fields, name)
	if invalid != nil {
		return time.Time{}, invalid
	}
	if !present {
		return time.Time{}, newInvalid(ReasonMissingField, name, "", "required field is missing")
	}

	parsed, ok := parseRFC3339(text)
	if !ok {
		return time.Time{}, newInvalid(ReasonInvalidField, name, text,
			"must be an RFC 3339 time with Z or a numeric offset, such as 2024-05-01T12:00:00Z")
	}

	eventTime := parsed.UTC().Truncate(time.Microsecond)
	if eventTime.Before(minEventTime) {
		return time.Time{}, newInvalid(ReasonInvalidField, name, text,
			"must not be before %s", minEventTime.Format(time.RFC3339))
	}
	latest := v.now().Add(v.maxFutureSkew)
	if eventTime.After(latest) {
		return time.Time{}, newInvalid(ReasonFutureTimestamp, name, text,
			"more than %s after the current time %s", v.maxFutureSkew, v.now().UTC().Format(time.RFC3339))
	}
	return eventTime, nil
}

// parseRFC3339 parses text with time.RFC3339Nano and rejects what that layout
// accepts beyond RFC 3339: a comma before the fractional seconds, an offset
// hour above 23 and an offset minute above 59.
func parseRFC3339(text string) (time.Time, bool) {
	parsed, err := time.Parse(time.RFC3339Nano, text)
	if err != nil || strings.ContainsRune(text, ',') {
		return time.Time{}, false
	}
	if strings.HasSuffix(text, "Z") {
		return parsed, true
	}

	// The layout has matched, so text ends with an offset of the form +hh:mm.
	offset := text[len(text)-len("+hh:mm"):]
	hours, minutes := offset[1:3], offset[4:6]
	return parsed, hours <= "23" && minutes <= "59"
}

func decodeAuth(fields map[string]json.RawMessage, event *Event) *InvalidEventError {
	email, present, invalid := textField(fields, "email")
	if invalid != nil {
		return invalid
	}
	if present {
		if invalid := checkEmail(email); invalid != nil {
			return invalid
		}
		event.Email = email
	}

	phone, present, invalid := textField(fields, "phone")
	if invalid != nil {
		return invalid
	}
	if present {
		if invalid := checkPhone(phone); invalid != nil {
			return invalid
		}
		event.Phone = phone
	}
	return nil
}

func checkEmail(email string) *InvalidEventError {
	const name = "email"
	if len(email) > maxEmailBytes {
		return newInvalid(ReasonInvalidField, name, email,
			"must be at most %d bytes long, got %d", maxEmailBytes, len(email))
	}
	if invalid := checkText(name, email, 1, maxEmailBytes); invalid != nil {
		return invalid
	}

	address, err := mail.ParseAddress(email)
	if err != nil {
		return newInvalid(ReasonInvalidField, name, email, "invalid email address: %v", err)
	}
	if address.Address != email {
		return newInvalid(ReasonInvalidField, name, email,
			"must be a bare address such as name@example.com, without a display name, quotes or angle brackets")
	}
	return nil
}

func checkPhone(phone string) *InvalidEventError {
	digits, hasPlus := strings.CutPrefix(phone, "+")
	valid := hasPlus && len(digits) >= minPhoneDigits && len(digits) <= maxPhoneDigits
	for i := 0; valid && i < len(digits); i++ {
		valid = digits[i] >= '0' && digits[i] <= '9'
	}
	if !valid {
		return newInvalid(ReasonInvalidField, "phone", phone,
			"must be an E.164 number: + and %d to %d digits, such as +15550100123", minPhoneDigits, maxPhoneDigits)
	}
	return nil
}

func decodeSpin(fields map[string]json.RawMessage, event *Event) *InvalidEventError {
	event.SpinCount = 1
	if raw := lookup(fields, "spin_count"); raw != nil {
		count, invalid := parseSpinCount(raw)
		if invalid != nil {
			return invalid
		}
		event.SpinCount = count
	}

	var invalid *InvalidEventError
	if event.Bet, invalid = optionalAmount(fields, "bet"); invalid != nil {
		return invalid
	}
	if event.Win, invalid = optionalAmount(fields, "win"); invalid != nil {
		return invalid
	}

	currency, present, invalid := textField(fields, "currency")
	if invalid != nil {
		return invalid
	}
	if present {
		if invalid := checkText("currency", currency, 1, maxGameCurrencyChars); invalid != nil {
			return invalid
		}
		event.Currency = currency
	}
	return nil
}

// parseSpinCount accepts only JSON integer literals, so 1.0, 1e3 and "1" are
// invalid even though they denote integers.
func parseSpinCount(raw json.RawMessage) (int64, *InvalidEventError) {
	const name = "spin_count"
	text := string(raw)
	if !isIntegerLiteral(text) {
		return 0, newInvalid(ReasonInvalidField, name, text, "must be a JSON integer such as 1")
	}

	count, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, newInvalid(ReasonInvalidField, name, text, "out of range for a 64-bit integer")
	}
	if count < 1 {
		return 0, newInvalid(ReasonInvalidField, name, text, "must be at least 1")
	}
	return count, nil
}

func optionalAmount(fields map[string]json.RawMessage, name string) (decimal.NullDecimal, *InvalidEventError) {
	raw := lookup(fields, name)
	if raw == nil {
		return decimal.NullDecimal{}, nil
	}
	amount, _, invalid := parseAmount(name, raw)
	if invalid != nil {
		return decimal.NullDecimal{}, invalid
	}
	return decimal.NullDecimal{Decimal: amount, Valid: true}, nil
}

// parseAmount parses the JSON number or JSON string raw as an exact decimal of
// at least 0 and returns it with the literal it was parsed from.
//
// An amount has at most maxIntegerDigits digits before the decimal point and
// maxFractionDigits after it, so every stored amount and every total of them
// fits the DECIMAL(20,2) columns of MySQL and one oversized value cannot fail
// the database write of a whole batch.
func parseAmount(name string, raw json.RawMessage) (decimal.Decimal, string, *InvalidEventError) {
	var literal string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &literal); err != nil {
			return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, string(raw), "invalid JSON string: %v", err)
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		literal = string(raw)
	default:
		return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, string(raw),
			"must be a JSON number or a string such as \"4.99\"")
	}

	if strings.ContainsAny(literal, "eE") {
		return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, literal,
			"exponent notation is not accepted: write the digits, such as 1000 for 1e3")
	}
	if !isDecimalLiteral(literal) {
		return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, literal,
			"must be a decimal number such as 4.99")
	}

	amount, err := decimal.NewFromString(literal)
	if err != nil {
		return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, literal, "invalid decimal number: %v", err)
	}
	if amount.Sign() < 0 {
		return decimal.Decimal{}, "", newInvalid(ReasonNegativeAmount, name, literal, "must not be negative")
	}
	if intDigits, fracDigits := digitCounts(literal); intDigits > maxIntegerDigits || fracDigits > maxFractionDigits {
		return decimal.Decimal{}, "", newInvalid(ReasonInvalidField, name, literal,
			"at most %d digits before and %d after the decimal point are accepted", maxIntegerDigits, maxFractionDigits)
	}
	return amount, literal, nil
}

func (v *Validator) decodePurchase(fields map[string]json.RawMessage, event *Event) *InvalidEventError {
	const name = "purchase_amount"
	raw := lookup(fields, name)
	if raw == nil {
		return newInvalid(ReasonMissingField, name, "", "required field is missing")
	}
	amount, literal, invalid := parseAmount(name, raw)
	if invalid != nil {
		return invalid
	}
	if amount.Sign() == 0 {
		return newInvalid(ReasonInvalidField, name, literal, "must be greater than 0")
	}

	currency, invalid := v.purchaseCurrency(fields)
	if invalid != nil {
		return invalid
	}
	units, _ := MinorUnits(currency) // purchaseCurrency returns only codes with minor units
	if places := decimalPlaces(literal); places > int(units) {
		return newInvalid(ReasonTooManyDecimals, name, literal,
			"%s allows at most %d decimal places, got %d", currency, units, places)
	}

	reporting, err := v.rates.Convert(amount, currency)
	if err != nil {
		return newInvalid(ReasonUnknownCurrency, "currency", currency, "%v", err)
	}

	productID, present, invalid := textField(fields, "product_id")
	if invalid != nil {
		return invalid
	}
	if present {
		if invalid := checkText("product_id", productID, 0, maxProductIDChars); invalid != nil {
			return invalid
		}
	}

	event.Amount = amount
	event.Currency = currency
	event.AmountReporting = reporting
	event.ProductID = productID
	return nil
}

// purchaseCurrency returns the currency field of a purchase, or the default
// currency when it is absent, after checking that it has a rate.
func (v *Validator) purchaseCurrency(fields map[string]json.RawMessage) (string, *InvalidEventError) {
	const name = "currency"
	currency, present, invalid := textField(fields, name)
	if invalid != nil {
		return "", invalid
	}
	if !present {
		return v.defaultCurrency, nil
	}

	if !isCurrencyCode(currency) {
		return "", newInvalid(ReasonInvalidField, name, currency,
			"must be an ISO 4217 code of three upper-case letters, such as USD")
	}
	if _, ok := MinorUnits(currency); !ok {
		return "", newInvalid(ReasonUnknownCurrency, name, currency, "not an active ISO 4217 currency code")
	}
	if _, ok := v.rates.Rate(currency); !ok {
		return "", newInvalid(ReasonUnknownCurrency, name, currency,
			"no exchange rate to %s is configured", v.rates.Reporting())
	}
	return currency, nil
}

// isIntegerLiteral reports whether text is an optional "-" and one or more
// ASCII digits.
func isIntegerLiteral(text string) bool {
	digits := strings.TrimPrefix(text, "-")
	if digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimalLiteral reports whether text is an integer literal, optionally
// followed by "." and one or more ASCII digits.
func isDecimalLiteral(text string) bool {
	whole, fraction, hasPoint := strings.Cut(text, ".")
	if !isIntegerLiteral(whole) {
		return false
	}
	return !hasPoint || isIntegerLiteral(fraction) && fraction[0] != '-'
}

// decimalPlaces returns the number of digits after the decimal point of a
// decimal literal, not counting trailing zeros.
func decimalPlaces(literal string) int {
	_, fraction, _ := strings.Cut(literal, ".")
	return len(strings.TrimRight(fraction, "0"))
}

func isCurrencyCode(text string) bool {
	if len(text) != 3 {
		return false
	}
	for i := 0; i < len(text); i++ {
		if text[i] < 'A' || text[i] > 'Z' {
			return false
		}
	}
	return true
}

// Limits of an amount's digits; see parseAmount.
const (
	maxIntegerDigits  = 12
	maxFractionDigits = 8
)

// digitCounts returns the digits of a decimal literal before and after its
// point, ignoring a sign, leading zeros and trailing zeros.
func digitCounts(literal string) (intDigits, fracDigits int) {
	literal = strings.TrimPrefix(literal, "-")
	whole, frac, _ := strings.Cut(literal, ".")
	return len(strings.TrimLeft(whole, "0")), len(strings.TrimRight(frac, "0"))
}
