// Package handlers decodes and validates game events and hands them from the
// Watermill router to the processor.
package handlers

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Kind is the kind of a game event.
type Kind string

// The event kinds of the event contract.
const (
	KindAuth     Kind = "auth"
	KindSpin     Kind = "spin"
	KindPurchase Kind = "purchase"
)

// Kinds lists every event kind in a fixed order.
var Kinds = []Kind{KindAuth, KindSpin, KindPurchase}

// ParseKind returns the Kind named by s, or an error for any other value.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case KindAuth, KindSpin, KindPurchase:
		return Kind(s), nil
	}
	return "", fmt.Errorf("unknown event type %q: want auth, spin or purchase", s)
}

// Event is one validated game event. Every field has passed the checks of the
// event contract, and Time is in UTC.
type Event struct {
	MsgID string
	Kind  Kind
	UID   string
	AppID string
	// Time is the event time, truncated to microseconds because both databases
	// store timestamps with microsecond precision.
	Time time.Time

	// Email and Phone are set on auth events; empty means absent.
	Email string
	Phone string

	// SpinCount, Bet and Win are set on spin events. Bet and Win have Valid
	// false when the event has no such field.
	SpinCount int64
	Bet       decimal.NullDecimal
	Win       decimal.NullDecimal

	// Currency is the game currency of a spin (free text, may be empty) or
	// the ISO 4217 code of a purchase.
	Currency string

	// Amount is the purchase amount in Currency. AmountReporting is the same
	// amount converted to the reporting currency and rounded to its minor unit.
	Amount          decimal.Decimal
	AmountReporting decimal.Decimal
	ProductID       string
}

// Source is the Kafka position a record was read from.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// String formats the position as topic/partition@offset.
func (s Source) String() string {
	return fmt.Sprintf("%s/%d@%d", s.Topic, s.Partition, s.Offset)
}
