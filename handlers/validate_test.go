package handlers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// testNow is the current time of the test validator.
var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

const testSkew = 5 * time.Minute

func newTestValidator(t testing.TB) *Validator {
	t.Helper()
	rates, err := NewRates(DefaultReportingCurrency, DefaultRates())
	require.NoError(t, err)
	v, err := NewValidator(ValidatorConfig{
		DefaultCurrency: "USD",
		Rates:           rates,
		MaxFutureSkew:   testSkew,
		Now:             func() time.Time { return testNow },
	})
	require.NoError(t, err)
	return v
}

// commonFields are the fields every kind requires, apart from type.
const commonFields = `"msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"2024-05-01T12:00:00Z"`

// object joins JSON members into an object, skipping empty ones.
func object(members ...string) string {
	var nonEmpty []string
	for _, member := range members {
		if member != "" {
			nonEmpty = append(nonEmpty, member)
		}
	}
	return "{" + strings.Join(nonEmpty, ",") + "}"
}

func authEvent(extra string) string     { return object(`"type":"auth"`, commonFields, extra) }
func spinEvent(extra string) string     { return object(`"type":"spin"`, commonFields, extra) }
func purchaseEvent(extra string) string { return object(`"type":"purchase"`, commonFields, extra) }

// eventView is an Event with decimals and times as strings, so that
// require.Equal compares values and prints readable differences.
type eventView struct {
	MsgID           string
	Kind            Kind
	UID             string
	AppID           string
	Time            string
	Email           string
	Phone           string
	SpinCount       int64
	Bet             string
	Win             string
	Currency        string
	Amount          string
	AmountReporting string
	ProductID       string
}

func viewOf(e Event) eventView {
	nullString := func(d decimal.NullDecimal) string {
		if !d.Valid {
			return "<null>"
		}
		return d.Decimal.String()
	}
	return eventView{
		MsgID:           e.MsgID,
		Kind:            e.Kind,
		UID:             e.UID,
		AppID:           e.AppID,
		Time:            e.Time.Format(time.RFC3339Nano),
		Email:           e.Email,
		Phone:           e.Phone,
		SpinCount:       e.SpinCount,
		Bet:             nullString(e.Bet),
		Win:             nullString(e.Win),
		Currency:        e.Currency,
		Amount:          e.Amount.String(),
		AmountReporting: e.AmountReporting.String(),
		ProductID:       e.ProductID,
	}
}

// baseView is the view of an event built from commonFields with nothing else.
func baseView(kind Kind) eventView {
	view := eventView{
		MsgID:           "m-1",
		Kind:            kind,
		UID:             "u-1",
		AppID:           "app-1",
		Time:            "2024-05-01T12:00:00Z",
		Bet:             "<null>",
		Win:             "<null>",
		Amount:          "0",
		AmountReporting: "0",
	}
	if kind == KindSpin {
		view.SpinCount = 1
	}
	return view
}

type validCase struct {
	name     string
	payload  string
	expected Kind
	kind     Kind
	// edit changes baseView(kind) into the expected view.
	edit func(*eventView)
}

var validCases = []validCase{
	// Payload and type.
	{name: "auth minimal", payload: authEvent(""), kind: KindAuth},
	{name: "whitespace around object", payload: " \n" + authEvent("") + "\n", kind: KindAuth},
	{name: "unknown fields ignored", payload: authEvent(`"extra":{"nested":[1,2.5,"x"]},"UID":"other"`), kind: KindAuth},
	{name: "type absent on kind topic", payload: object(commonFields), expected: KindSpin, kind: KindSpin},
	{name: "type null on kind topic", payload: object(`"type":null`, commonFields), expected: KindAuth, kind: KindAuth},
	{name: "type matches kind topic", payload: purchaseEvent(`"purchase_amount":"1"`), expected: KindPurchase, kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1", "1", "USD" }},

	// Identifiers.
	{name: "ids of 128 multibyte characters",
		payload: object(`"type":"auth","msg_id":"` + strings.Repeat("é", 128) + `","uid":"` + strings.Repeat("名", 128) +
			`","app_id":"` + strings.Repeat("a", 128) + `","timestamp":"2024-05-01T12:00:00Z"`),
		kind: KindAuth,
		edit: func(v *eventView) {
			v.MsgID, v.UID, v.AppID = strings.Repeat("é", 128), strings.Repeat("名", 128), strings.Repeat("a", 128)
		}},
	{name: "ids with escapes", payload: object(`"type":"auth","msg_id":"m\u00e9","uid":"u\"1","app_id":"a\/b","timestamp":"2024-05-01T12:00:00Z"`),
		kind: KindAuth, edit: func(v *eventView) { v.MsgID, v.UID, v.AppID = "mé", `u"1`, "a/b" }},

	// Timestamps.
	{name: "timestamp offset converted to UTC",
		payload: object(`"type":"auth","msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"2024-05-01T14:30:00+02:00"`),
		kind:    KindAuth, edit: func(v *eventView) { v.Time = "2024-05-01T12:30:00Z" }},
	{name: "timestamp negative offset crosses day",
		payload: object(`"type":"auth","msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"2024-05-01T22:00:00-05:30"`),
		kind:    KindAuth, edit: func(v *eventView) { v.Time = "2024-05-02T03:30:00Z" }},
	{name: "timestamp truncated to microseconds",
		payload: object(`"type":"auth","msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"2024-05-01T12:00:00.123456789Z"`),
		kind:    KindAuth, edit: func(v *eventView) { v.Time = "2024-05-01T12:00:00.123456Z" }},
	{name: "timestamp at max future skew",
		payload: object(`"type":"auth","msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"2026-01-15T12:05:00Z"`),
		kind:    KindAuth, edit: func(v *eventView) { v.Time = "2026-01-15T12:05:00Z" }},
	{name: "timestamp year 1000",
		payload: object(`"type":"auth","msg_id":"m-1","uid":"u-1","app_id":"app-1","timestamp":"1000-01-01T00:00:00Z"`),
		kind:    KindAuth, edit: func(v *eventView) { v.Time = "1000-01-01T00:00:00Z" }},

	// Auth.
	{name: "auth email and phone", payload: authEvent(`"email":"ann@example.com","phone":"+15550100123"`), kind: KindAuth,
		edit: func(v *eventView) { v.Email, v.Phone = "ann@example.com", "+15550100123" }},
	{name: "auth email and phone null", payload: authEvent(`"email":null,"phone":null`), kind: KindAuth},
	{name: "auth phone of 8 digits", payload: authEvent(`"phone":"+12345678"`), kind: KindAuth,
		edit: func(v *eventView) { v.Phone = "+12345678" }},
	{name: "auth phone of 15 digits", payload: authEvent(`"phone":"+123456789012345"`), kind: KindAuth,
		edit: func(v *eventView) { v.Phone = "+123456789012345" }},
	{name: "auth email of 254 bytes", payload: authEvent(`"email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 184) + `.test"`),
		kind: KindAuth, edit: func(v *eventView) { v.Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 184) + ".test" }},
	{name: "auth ignores spin fields", payload: authEvent(`"spin_count":-5,"bet":"x","purchase_amount":"-1"`), kind: KindAuth},

	// Spin.
	{name: "spin defaults", payload: spinEvent(""), kind: KindSpin},
	{name: "spin all fields", payload: spinEvent(`"spin_count":250,"bet":"100","win":"0","currency":"bits"`), kind: KindSpin,
		edit: func(v *eventView) { v.SpinCount, v.Bet, v.Win, v.Currency = 250, "100", "0", "bits" }},
	{name: "spin amounts as JSON numbers", payload: spinEvent(`"bet":0.1,"win":123456789012.12345678`), kind: KindSpin,
		edit: func(v *eventView) { v.Bet, v.Win = "0.1", "123456789012.12345678" }},
	{name: "spin amounts null", payload: spinEvent(`"spin_count":null,"bet":null,"win":null,"currency":null`), kind: KindSpin},
	{name: "spin currency of 16 characters", payload: spinEvent(`"currency":"` + strings.Repeat("ü", 16) + `"`), kind: KindSpin,
		edit: func(v *eventView) { v.Currency = strings.Repeat("ü", 16) }},
	{name: "spin negative zero bet", payload: spinEvent(`"bet":"-0"`), kind: KindSpin,
		edit: func(v *eventView) { v.Bet = "0" }},
	{name: "spin ignores auth fields", payload: spinEvent(`"email":"not an address","phone":"0"`), kind: KindSpin},

	// Purchase.
	{name: "purchase amount as string", payload: purchaseEvent(`"purchase_amount":"0.99","currency":"USD","product_id":"remove_ads"`),
		kind: KindPurchase, edit: func(v *eventView) {
			v.Amount, v.AmountReporting, v.Currency, v.ProductID = "0.99", "0.99", "USD", "remove_ads"
		}},
	{name: "purchase amount as number", payload: purchaseEvent(`"purchase_amount":4.99,"currency":"USD"`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "4.99", "4.99", "USD" }},
	{name: "purchase default currency", payload: purchaseEvent(`"purchase_amount":"1.5"`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1.5", "1.5", "USD" }},
	{name: "purchase currency null is default", payload: purchaseEvent(`"purchase_amount":"2","currency":null`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "2", "2", "USD" }},
	{name: "purchase trailing zeros allowed", payload: purchaseEvent(`"purchase_amount":"1.500","currency":"USD"`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1.5", "1.5", "USD" }},
	{name: "purchase JPY without decimals", payload: purchaseEvent(`"purchase_amount":"120","currency":"JPY"`), kind: KindPurchase,
		// 120 × 0.0067 = 0.804
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "120", "0.8", "JPY" }},
	{name: "purchase JPY with zero decimals", payload: purchaseEvent(`"purchase_amount":"100.00","currency":"JPY"`), kind: KindPurchase,
		// 100 × 0.0067 = 0.67
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "100", "0.67", "JPY" }},
	{name: "purchase BHD with 3 decimals", payload: purchaseEvent(`"purchase_amount":"1.234","currency":"BHD"`), kind: KindPurchase,
		// 1.234 × 2.6596 = 3.2819464
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1.234", "3.28", "BHD" }},
	{name: "purchase KWD rounds half away from zero", payload: purchaseEvent(`"purchase_amount":0.125,"currency":"KWD"`), kind: KindPurchase,
		// 0.125 × 3.25 = 0.40625
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "0.125", "0.41", "KWD" }},
	{name: "purchase EUR converted", payload: purchaseEvent(`"purchase_amount":"10","currency":"EUR"`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "10", "10.8", "EUR" }},
	{name: "purchase empty product_id", payload: purchaseEvent(`"purchase_amount":"1","product_id":""`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1", "1", "USD" }},
	{name: "purchase product_id of 128 characters", payload: purchaseEvent(`"purchase_amount":"1","product_id":"` + strings.Repeat("p", 128) + `"`),
		kind: KindPurchase, edit: func(v *eventView) {
			v.Amount, v.AmountReporting, v.Currency, v.ProductID = "1", "1", "USD", strings.Repeat("p", 128)
		}},
	{name: "purchase ignores spin fields", payload: purchaseEvent(`"purchase_amount":"1","bet":"-1","spin_count":0`), kind: KindPurchase,
		edit: func(v *eventView) { v.Amount, v.AmountReporting, v.Currency = "1", "1", "USD" }},
}

func TestDecodeValid(t *testing.T) {
	v := newTestValidator(t)
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			event, err := v.Decode([]byte(tc.payload), tc.expected)
			require.NoError(t, err)

			want := baseView(tc.kind)
			if tc.edit != nil {
				tc.edit(&want)
			}
			require.Equal(t, want, viewOf(event))
			require.Equal(t, time.UTC, event.Time.Location())
		})
	}
}

type invalidCase struct {
	name     string
	payload  string
	expected Kind
	reason   Reason
	field    string
}

var invalidCases = []invalidCase{
	// Payload.
	{name: "invalid UTF-8", payload: "{\"msg_id\":\"\xff\"}", reason: ReasonInvalidUTF8},
	{name: "truncated UTF-8 sequence", payload: authEvent(`"email":"a@b.c` + "\xe2\x82" + `"`), reason: ReasonInvalidUTF8},
	{name: "NUL byte", payload: authEvent("") + "\x00", reason: ReasonInvalidUTF8},
	{name: "empty payload", payload: "", reason: ReasonInvalidJSON},
	{name: "only whitespace", payload: " \n", reason: ReasonInvalidJSON},
	{name: "JSON array", payload: "[" + authEvent("") + "]", reason: ReasonInvalidJSON},
	{name: "JSON string", payload: `"auth"`, reason: ReasonInvalidJSON},
	{name: "JSON null", payload: "null", reason: ReasonInvalidJSON},
	{name: "unterminated object", payload: `{"type":"auth","msg_id":`, reason: ReasonInvalidJSON},
	{name: "trailing comma", payload: `{"type":"auth",}`, reason: ReasonInvalidJSON},
	{name: "missing colon", payload: `{"type" "auth"}`, reason: ReasonInvalidJSON},
	{name: "second object", payload: authEvent("") + authEvent(""), reason: ReasonInvalidJSON},
	{name: "trailing garbage", payload: authEvent("") + " x", reason: ReasonInvalidJSON},
	{name: "duplicate key", payload: authEvent(`"uid":"u-2"`), reason: ReasonInvalidJSON, field: "uid"},
	{name: "single quotes", payload: `{'type':'auth'}`, reason: ReasonInvalidJSON},

	// type.
	{name: "type missing on mixed topic", payload: object(commonFields), reason: ReasonMissingField, field: "type"},
	{name: "type null on mixed topic", payload: object(`"type":null`, commonFields), reason: ReasonMissingField, field: "type"},
	{name: "type unknown", payload: object(`"type":"login"`, commonFields), reason: ReasonUnknownType, field: "type"},
	{name: "type upper case", payload: object(`"type":"AUTH"`, commonFields), reason: ReasonUnknownType, field: "type"},
	{name: "type not a string", payload: object(`"type":1`, commonFields), reason: ReasonInvalidField, field: "type"},
	{name: "type differs from topic", payload: spinEvent(""), expected: KindAuth, reason: ReasonTypeMismatch, field: "type"},
	{name: "expected kind unknown", payload: authEvent(""), expected: Kind("bogus"), reason: ReasonUnknownType, field: "type"},

	// msg_id, uid, app_id.
	{name: "msg_id missing", payload: object(`"type":"auth","uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonMissingField, field: "msg_id"},
	{name: "msg_id null", payload: object(`"type":"auth","msg_id":null,"uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonMissingField, field: "msg_id"},
	{name: "msg_id empty", payload: object(`"type":"auth","msg_id":"","uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "msg_id"},
	{name: "msg_id too long", payload: object(`"type":"auth","msg_id":"` + strings.Repeat("m", 129) + `","uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "msg_id"},
	{name: "msg_id newline", payload: object(`"type":"auth","msg_id":"m\n1","uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "msg_id"},
	{name: "msg_id number", payload: object(`"type":"auth","msg_id":17,"uid":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "msg_id"},
	{name: "uid missing", payload: object(`"type":"auth","msg_id":"m","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonMissingField, field: "uid"},
	{name: "uid key in upper case", payload: object(`"type":"auth","msg_id":"m","UID":"u","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonMissingField, field: "uid"},
	{name: "uid empty", payload: object(`"type":"auth","msg_id":"m","uid":"","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "uid of 129 multibyte characters", payload: object(`"type":"auth","msg_id":"m","uid":"` + strings.Repeat("é", 129) + `","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "uid escaped NUL", payload: object(`"type":"auth","msg_id":"m","uid":"u\u0000","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "uid tab", payload: object(`"type":"auth","msg_id":"m","uid":"u\t1","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "uid C1 control", payload: object(`"type":"auth","msg_id":"m","uid":"u\u0085","app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "uid object", payload: object(`"type":"auth","msg_id":"m","uid":{"id":1},"app_id":"a","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "uid"},
	{name: "app_id missing", payload: object(`"type":"auth","msg_id":"m","uid":"u","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonMissingField, field: "app_id"},
	{name: "app_id bell character", payload: object(`"type":"auth","msg_id":"m","uid":"u","app_id":"a\u0007","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "app_id"},
	{name: "app_id too long", payload: object(`"type":"auth","msg_id":"m","uid":"u","app_id":"` + strings.Repeat("a", 129) + `","timestamp":"2024-05-01T12:00:00Z"`),
		reason: ReasonInvalidField, field: "app_id"},

	// timestamp.
	{name: "timestamp missing", payload: object(`"type":"auth","msg_id":"m","uid":"u","app_id":"a"`),
		reason: ReasonMissingField, field: "timestamp"},
	{name: "timestamp number", payload: timestampEvent(`1714564800`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp without offset", payload: timestampEvent(`"2024-05-01T12:00:00"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp date only", payload: timestampEvent(`"2024-05-01"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp with space", payload: timestampEvent(`"2024-05-01 12:00:00Z"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp lower-case t", payload: timestampEvent(`"2024-05-01t12:00:00Z"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp offset without colon", payload: timestampEvent(`"2024-05-01T12:00:00+0200"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp offset hour 24", payload: timestampEvent(`"2024-05-01T12:00:00+24:00"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp offset minute 60", payload: timestampEvent(`"2024-05-01T12:00:00+01:60"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp comma fraction", payload: timestampEvent(`"2024-05-01T12:00:00,5Z"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp February 30", payload: timestampEvent(`"2024-02-30T12:00:00Z"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp before year 1000", payload: timestampEvent(`"0999-12-31T23:59:59Z"`), reason: ReasonInvalidField, field: "timestamp"},
	{name: "timestamp beyond future skew", payload: timestampEvent(`"2026-01-15T12:05:00.000001Z"`), reason: ReasonFutureTimestamp, field: "timestamp"},
	{name: "timestamp future by offset", payload: timestampEvent(`"2026-01-15T12:00:00-01:00"`), reason: ReasonFutureTimestamp, field: "timestamp"},

	// auth.
	{name: "email without at sign", payload: authEvent(`"email":"ann.example.com"`), reason: ReasonInvalidField, field: "email"},
	{name: "email with display name", payload: authEvent(`"email":"Ann <ann@example.com>"`), reason: ReasonInvalidField, field: "email"},
	{name: "email in angle brackets", payload: authEvent(`"email":"<ann@example.com>"`), reason: ReasonInvalidField, field: "email"},
	{name: "email with surrounding space", payload: authEvent(`"email":" ann@example.com"`), reason: ReasonInvalidField, field: "email"},
	{name: "email quoted local part", payload: authEvent(`"email":"\"ann smith\"@example.com"`), reason: ReasonInvalidField, field: "email"},
	{name: "email empty", payload: authEvent(`"email":""`), reason: ReasonInvalidField, field: "email"},
	{name: "email of 255 bytes", payload: authEvent(`"email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + `.test"`),
		reason: ReasonInvalidField, field: "email"},
	{name: "email number", payload: authEvent(`"email":42`), reason: ReasonInvalidField, field: "email"},
	{name: "phone without plus", payload: authEvent(`"phone":"15550100123"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone of 7 digits", payload: authEvent(`"phone":"+1234567"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone of 16 digits", payload: authEvent(`"phone":"+1234567890123456"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone with spaces", payload: authEvent(`"phone":"+1 555 010 0123"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone with letters", payload: authEvent(`"phone":"+1555010012a"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone with Arabic-Indic digits", payload: authEvent(`"phone":"+١٢٣٤٥٦٧٨٩"`), reason: ReasonInvalidField, field: "phone"},
	{name: "phone number", payload: authEvent(`"phone":15550100123`), reason: ReasonInvalidField, field: "phone"},

	// spin.
	{name: "spin_count zero", payload: spinEvent(`"spin_count":0`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count negative", payload: spinEvent(`"spin_count":-1`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count fraction", payload: spinEvent(`"spin_count":1.5`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count integral fraction", payload: spinEvent(`"spin_count":1.0`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count exponent", payload: spinEvent(`"spin_count":1e3`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count string", payload: spinEvent(`"spin_count":"2"`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "spin_count overflow", payload: spinEvent(`"spin_count":9223372036854775808`), reason: ReasonInvalidField, field: "spin_count"},
	{name: "bet negative", payload: spinEvent(`"bet":"-1"`), reason: ReasonNegativeAmount, field: "bet"},
	{name: "win negative number", payload: spinEvent(`"win":-0.5`), reason: ReasonNegativeAmount, field: "win"},
	{name: "bet not a number", payload: spinEvent(`"bet":"abc"`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet exponent", payload: spinEvent(`"bet":1e2`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet boolean", payload: spinEvent(`"bet":true`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet leading point", payload: spinEvent(`"bet":".5"`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet trailing point", payload: spinEvent(`"bet":"1."`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet plus sign", payload: spinEvent(`"bet":"+1"`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet leading space", payload: spinEvent(`"bet":" 1"`), reason: ReasonInvalidField, field: "bet"},
	{name: "bet Unicode minus", payload: spinEvent(`"bet":"−1"`), reason: ReasonInvalidField, field: "bet"},
	{name: "spin currency empty", payload: spinEvent(`"currency":""`), reason: ReasonInvalidField, field: "currency"},
	{name: "spin currency too long", payload: spinEvent(`"currency":"` + strings.Repeat("c", 17) + `"`), reason: ReasonInvalidField, field: "currency"},
	{name: "spin currency control", payload: spinEvent(`"currency":"bi\rts"`), reason: ReasonInvalidField, field: "currency"},
	{name: "spin currency number", payload: spinEvent(`"currency":1`), reason: ReasonInvalidField, field: "currency"},

	// purchase.
	{name: "purchase_amount missing", payload: purchaseEvent(`"currency":"USD"`), reason: ReasonMissingField, field: "purchase_amount"},
	{name: "purchase_amount null", payload: purchaseEvent(`"purchase_amount":null`), reason: ReasonMissingField, field: "purchase_amount"},
	{name: "purchase_amount zero", payload: purchaseEvent(`"purchase_amount":"0"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount zero with decimals", payload: purchaseEvent(`"purchase_amount":0.00`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount negative zero", payload: purchaseEvent(`"purchase_amount":"-0"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount negative", payload: purchaseEvent(`"purchase_amount":"-1.00"`), reason: ReasonNegativeAmount, field: "purchase_amount"},
	{name: "purchase_amount negative number", payload: purchaseEvent(`"purchase_amount":-4.99`), reason: ReasonNegativeAmount, field: "purchase_amount"},
	{name: "purchase_amount 13 integer digits", payload: purchaseEvent(`"purchase_amount":"1234567890123"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "win 9 fraction digits", payload: spinEvent(`"win":"0.123456789"`), reason: ReasonInvalidField, field: "win"},
	{name: "purchase_amount exponent number", payload: purchaseEvent(`"purchase_amount":1e2`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount exponent string", payload: purchaseEvent(`"purchase_amount":"1E2"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount decimal comma", payload: purchaseEvent(`"purchase_amount":"1,99"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount empty string", payload: purchaseEvent(`"purchase_amount":""`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount with currency sign", payload: purchaseEvent(`"purchase_amount":"$1.99"`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "purchase_amount array", payload: purchaseEvent(`"purchase_amount":[1]`), reason: ReasonInvalidField, field: "purchase_amount"},
	{name: "currency lower case", payload: purchaseEvent(`"purchase_amount":"1","currency":"usd"`), reason: ReasonInvalidField, field: "currency"},
	{name: "currency two letters", payload: purchaseEvent(`"purchase_amount":"1","currency":"US"`), reason: ReasonInvalidField, field: "currency"},
	{name: "currency empty", payload: purchaseEvent(`"purchase_amount":"1","currency":""`), reason: ReasonInvalidField, field: "currency"},
	{name: "currency number", payload: purchaseEvent(`"purchase_amount":"1","currency":840`), reason: ReasonInvalidField, field: "currency"},
	{name: "currency not ISO 4217", payload: purchaseEvent(`"purchase_amount":"1","currency":"XYZ"`), reason: ReasonUnknownCurrency, field: "currency"},
	{name: "currency without minor unit", payload: purchaseEvent(`"purchase_amount":"1","currency":"XAU"`), reason: ReasonUnknownCurrency, field: "currency"},
	{name: "currency without rate", payload: purchaseEvent(`"purchase_amount":"1","currency":"MXN"`), reason: ReasonUnknownCurrency, field: "currency"},
	{name: "USD with 3 decimals", payload: purchaseEvent(`"purchase_amount":"1.999","currency":"USD"`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "USD with 3 decimals as number", payload: purchaseEvent(`"purchase_amount":1.001`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "JPY with decimals", payload: purchaseEvent(`"purchase_amount":"100.5","currency":"JPY"`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "KRW with decimals", payload: purchaseEvent(`"purchase_amount":"1000.01","currency":"KRW"`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "BHD with 4 decimals", payload: purchaseEvent(`"purchase_amount":"1.0001","currency":"BHD"`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "KWD with 4 decimals", payload: purchaseEvent(`"purchase_amount":"0.1235","currency":"KWD"`), reason: ReasonTooManyDecimals, field: "purchase_amount"},
	{name: "product_id too long", payload: purchaseEvent(`"purchase_amount":"1","product_id":"` + strings.Repeat("p", 129) + `"`),
		reason: ReasonInvalidField, field: "product_id"},
	{name: "product_id control", payload: purchaseEvent(`"purchase_amount":"1","product_id":"a\u001fb"`), reason: ReasonInvalidField, field: "product_id"},
	{name: "product_id number", payload: purchaseEvent(`"purchase_amount":"1","product_id":7`), reason: ReasonInvalidField, field: "product_id"},
}

// timestampEvent returns an auth event whose timestamp is the JSON value raw.
func timestampEvent(raw string) string {
	return object(`"type":"auth","msg_id":"m","uid":"u","app_id":"a","timestamp":` + raw)
}

func TestDecodeInvalid(t *testing.T) {
	v := newTestValidator(t)
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			event, err := v.Decode([]byte(tc.payload), tc.expected)
			require.Error(t, err)
			require.Equal(t, Event{}, event)

			invalid, ok := err.(*InvalidEventError)
			require.True(t, ok, "error type %T, want *InvalidEventError", err)
			require.Equal(t, tc.reason, invalid.Reason, "error: %v", err)
			require.Equal(t, tc.field, invalid.Field, "error: %v", err)
			require.NotEmpty(t, invalid.Detail)
		})
	}
}

func TestDecodeAmountsExact(t *testing.T) {
	v := newTestValidator(t)
	first, err := v.Decode([]byte(purchaseEvent(`"purchase_amount":0.1`)), "")
	require.NoError(t, err)
	second, err := v.Decode([]byte(purchaseEvent(`"purchase_amount":"0.2"`)), "")
	require.NoError(t, err)

	sum := first.Amount.Add(second.Amount)
	require.Equal(t, "0.3", sum.String())
	require.True(t, sum.Equal(decimal.RequireFromString("0.3")))
	require.Equal(t, "0.3", first.AmountReporting.Add(second.AmountReporting).String())
}

func TestDecodeNumberAndStringAgree(t *testing.T) {
	v := newTestValidator(t)
	for _, literal := range []string{"0.99", "4.99", "123456789012.01", "0.01"} {
		fromNumber, err := v.Decode([]byte(purchaseEvent(`"purchase_amount":`+literal)), "")
		require.NoError(t, err)
		fromString, err := v.Decode([]byte(purchaseEvent(`"purchase_amount":"`+literal+`"`)), "")
		require.NoError(t, err)

		require.Equal(t, literal, fromNumber.Amount.String())
		require.Equal(t, literal, fromString.Amount.String())
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	v := newTestValidator(t)

	_, err := v.Decode([]byte(purchaseEvent(`"purchase_amount":"1.999","currency":"USD"`)), "")
	require.EqualError(t, err, `too_many_decimals: purchase_amount "1.999": USD allows at most 2 decimal places, got 3`)

	_, err = v.Decode([]byte(object(`"type":"auth"`)), "")
	require.EqualError(t, err, `missing_field: msg_id: required field is missing`)

	_, err = v.Decode([]byte("{\"a\":\"\xff\"}"), "")
	require.EqualError(t, err, `invalid_utf8: payload "{\"a\":\"\\xff\"}": payload is not valid UTF-8 at byte offset 6`)
}

func TestDecodeUsesTimeNowByDefault(t *testing.T) {
	rates, err := NewRates(DefaultReportingCurrency, DefaultRates())
	require.NoError(t, err)
	v, err := NewValidator(ValidatorConfig{DefaultCurrency: "USD", Rates: rates, MaxFutureSkew: time.Minute})
	require.NoError(t, err)

	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, err = v.Decode([]byte(timestampEvent(`"`+soon+`"`)), "")
	invalid, ok := IsInvalidEvent(err)
	require.True(t, ok)
	require.Equal(t, ReasonFutureTimestamp, invalid.Reason)

	recent := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	_, err = v.Decode([]byte(timestampEvent(`"`+recent+`"`)), "")
	require.NoError(t, err)
}

func TestNewValidatorErrors(t *testing.T) {
	rates, err := NewRates(DefaultReportingCurrency, DefaultRates())
	require.NoError(t, err)
	valid := ValidatorConfig{DefaultCurrency: "EUR", Rates: rates, MaxFutureSkew: time.Minute}

	_, err = NewValidator(valid)
	require.NoError(t, err)

	cases := []struct {
		name    string
		edit    func(*ValidatorConfig)
		message string
	}{
		{"nil rates", func(c *ValidatorConfig) { c.Rates = nil }, "Rates is nil"},
		{"default currency without rate", func(c *ValidatorConfig) { c.DefaultCurrency = "MXN" }, `DefaultCurrency "MXN"`},
		{"default currency lower case", func(c *ValidatorConfig) { c.DefaultCurrency = "usd" }, `DefaultCurrency "usd"`},
		{"default currency empty", func(c *ValidatorConfig) { c.DefaultCurrency = "" }, `DefaultCurrency ""`},
		{"zero skew", func(c *ValidatorConfig) { c.MaxFutureSkew = 0 }, "MaxFutureSkew 0s"},
		{"negative skew", func(c *ValidatorConfig) { c.MaxFutureSkew = -time.Second }, "MaxFutureSkew -1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.edit(&cfg)
			validator, err := NewValidator(cfg)
			require.Nil(t, validator)
			require.ErrorContains(t, err, tc.message)
		})
	}
}

func TestIsInvalidEvent(t *testing.T) {
	invalid := &InvalidEventError{Reason: ReasonInvalidField, Field: "uid", Value: "x", Detail: "d"}

	found, ok := IsInvalidEvent(fmt.Errorf("decode: %w", invalid))
	require.True(t, ok)
	require.Same(t, invalid, found)

	found, ok = IsInvalidEvent(errors.New("broker down"))
	require.False(t, ok)
	require.Nil(t, found)

	_, ok = IsInvalidEvent(nil)
	require.False(t, ok)
}

func TestTruncateValue(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  string
	}{
		{"short value unchanged", "abc", "abc"},
		{"200 bytes unchanged", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"201 bytes cut", strings.Repeat("a", 201), strings.Repeat("a", 197) + "…"},
		{"invalid byte escaped", "a\xffb", `a\xffb`},
		{"cut at rune boundary", strings.Repeat("é", 150), strings.Repeat("é", 98) + "…"},
		{"escape fits exactly", strings.Repeat("a", 196) + "\xff", strings.Repeat("a", 196) + `\xff`},
		{"escape cut whole", strings.Repeat("a", 196) + "\xffb", strings.Repeat("a", 196) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateValue(tc.value)
			require.Equal(t, tc.want, got)
			require.True(t, utf8.ValidString(got))
			require.LessOrEqual(t, len(got), maxValueBytes)
		})
	}
}

func TestReasonsComplete(t *testing.T) {
	seen := make(map[Reason]bool)
	for _, reason := range Reasons {
		require.False(t, seen[reason], "duplicate reason %q", reason)
		seen[reason] = true
		require.Equal(t, strings.ToLower(string(reason)), string(reason))
	}
	require.Len(t, Reasons, 10)
}

// TestDecodeSampleFiles decodes every line of the real game data, which must
// all be valid events. The folder is ../../shared/data beside the repository
// unless GAMESTREAM_TEST_DATA_DIR names another.
func TestDecodeSampleFiles(t *testing.T) {
	dir := os.Getenv("GAMESTREAM_TEST_DATA_DIR")
	if dir == "" {
		dir = "../../shared/data"
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no *.ndjson files in %s", dir)

	v := newTestValidator(t)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			file, err := os.Open(path)
			require.NoError(t, err)
			defer file.Close()

			scanner := bufio.NewScanner(file)
			scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
			lines := 0
			for scanner.Scan() {
				lines++
				_, err := v.Decode(scanner.Bytes(), "")
				require.NoError(t, err, "%s line %d", path, lines)
			}
			require.NoError(t, scanner.Err())
			require.Positive(t, lines)
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.payload))
	}
	for _, tc := range invalidCases {
		f.Add([]byte(tc.payload))
	}

	v := newTestValidator(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, expected := range []Kind{"", KindAuth, KindSpin, KindPurchase} {
			event, err := v.Decode(payload, expected)
			if err != nil {
				requireInvalidEventError(t, err)
				continue
			}
			requireValidEvent(t, event, expected)
		}
	})
}

func requireInvalidEventError(t *testing.T, err error) {
	invalid, ok := err.(*InvalidEventError)
	require.True(t, ok, "error type %T, want *InvalidEventError", err)
	require.Contains(t, Reasons, invalid.Reason)
	require.True(t, utf8.ValidString(invalid.Value), "value %q", invalid.Value)
	require.LessOrEqual(t, len(invalid.Value), maxValueBytes)
	require.NotEmpty(t, invalid.Detail)
	require.NotEmpty(t, invalid.Error())
}

func requireValidEvent(t *testing.T, event Event, expected Kind) {
	require.Contains(t, Kinds, event.Kind)
	if expected != "" {
		require.Equal(t, expected, event.Kind)
	}
	for _, id := range []string{event.MsgID, event.UID, event.AppID} {
		count := utf8.RuneCountInString(id)
		require.True(t, count >= 1 && count <= maxIDChars, "id %q", id)
	}
	require.Equal(t, time.UTC, event.Time.Location())
	require.True(t, event.Time.Equal(event.Time.Truncate(time.Microsecond)))
	require.False(t, event.Time.After(testNow.Add(testSkew)))

	switch event.Kind {
	case KindSpin:
		require.GreaterOrEqual(t, event.SpinCount, int64(1))
		require.False(t, event.Bet.Valid && event.Bet.Decimal.IsNegative())
		require.False(t, event.Win.Valid && event.Win.Decimal.IsNegative())
	case KindPurchase:
		require.True(t, event.Amount.IsPositive())
		_, ok := MinorUnits(event.Currency)
		require.True(t, ok, "currency %q", event.Currency)
		require.False(t, event.AmountReporting.IsNegative())
	}
}

// FuzzSplitObject checks that the fast path of parseObject returns exactly
// what the token-based path returns for every payload it accepts.
func FuzzSplitObject(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.payload))
	}
	f.Add([]byte(`{"a": {"b": [1, "}", {"c": "\""}]}, "d" : "e\\"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(` { } `))
	f.Fuzz(func(t *testing.T, payload []byte) {
		// parseObject rejects invalid UTF-8 before either path runs.
		if !utf8.Valid(payload) || !json.Valid(payload) {
			return
		}
		fast, ok := splitObject(payload)
		if !ok {
			return
		}
		slow, invalid := parseObjectTokens(payload)
		require.Nil(t, invalid, "token path rejected what the fast path accepted: %q", payload)
		require.Equal(t, len(slow), len(fast))
		for k, v := range slow {
			require.Equal(t, string(v), string(fast[k]), "key %q", k)
		}
	})
}
