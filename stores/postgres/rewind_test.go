package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/handlers"
)

// splitFixture is the content of the vault after writeSplitFixture.
type splitFixture struct {
	// split is the split offset per partition. It includes events/2, which
	// has no stored events, and leaves out purchases/1, which has one stored
	// event.
	split map[TopicPartition]int64
	// below lists the records stored from offsets below the split, keyed by
	// kind and msg_id.
	below map[LateKey]Record
}

// writeSplitFixture stores events of every kind in two topics with
// WriteBatch, then sends two of them again from other offsets.
//
//	partition     split  below (offset, time)                  from the split on
//	events/0      10     p0 @1 +30m, a1 @3 +1h, s1 @7 +3h      s2 @10 +2h, a2 @12 +4h, p5 @15 +5h
//	events/1      5      a3 @0 +6h, s3 @2 +1h30m, s4 @4 -1h    none
//	events/2      3      none                                  none
//	purchases/0   5      p1 @0 +2h                             p2 @9 +7h
//	purchases/1   none   p3 @1 +8h, not in the split map
//	purchases/2   0      none                                  p4 @3 +9h
//
// Times are relative to eventTime.
func writeSplitFixture(t *testing.T, vault *Vault) splitFixture {
	t.Helper()
	ctx := context.Background()
	load := time.Date(2021, 11, 2, 8, 0, 0, 0, time.UTC)

	withTime := func(e handlers.Event, offset time.Duration) handlers.Event {
		e.Time = eventTime.Add(offset)
		return e
	}

	p0 := withTime(purchase("p0", "u1", "slots", "1.234", "BHD", "3.27"), 30*time.Minute)
	p0.ProductID = ""
	a1 := withTime(auth("a1", "u1", "slots", "a1@example.com"), time.Hour)
	a1.Phone = "+15550100"
	s1 := withTime(spin("s1", "u1", "slots", 4), 3*time.Hour)
	s1.Bet = decimal.NewNullDecimal(decimal.RequireFromString("0.10"))
	s1.Win = decimal.NewNullDecimal(decimal.RequireFromString("12.25"))
	s1.Currency = "gold"
	a3 := withTime(auth("a3", "u2", "poker", "a3@example.com"), 6*time.Hour)
	s3 := withTime(spin("s3", "u2", "poker", 2), 90*time.Minute)
	s4 := withTime(spin("s4", "u2", "poker", 1), -time.Hour)
	s4.Bet = decimal.NullDecimal{}
	s4.Currency = ""
	p1 := withTime(purchase("p1", "u2", "poker", "0", "USD", "0"), 2*time.Hour)
	sum := decimal.RequireFromString("0.1").Add(decimal.RequireFromString("0.2"))
	p1.Amount, p1.AmountReporting = sum, sum

	below := []Record{
		{Event: p0, Source: at("events", 0, 1)},
		{Event: a1, Source: at("events", 0, 3)},
		{Event: s1, Source: at("events", 0, 7)},
		{Event: a3, Source: at("events", 1, 0)},
		{Event: s3, Source: at("events", 1, 2)},
		{Event: s4, Source: at("events", 1, 4)},
		{Event: p1, Source: at("purchases", 0, 0)},
	}
	records := append([]Record{}, below...)
	records = append(records,
		Record{Event: withTime(spin("s2", "u1", "slots", 1), 2*time.Hour), Source: at("events", 0, 10)},
		Record{Event: withTime(auth("a2", "u1", "slots", "a2@example.com"), 4*time.Hour), Source: at("events", 0, 12)},
		Record{Event: withTime(purchase("p5", "u1", "slots", "5.00", "EUR", "5.40"), 5*time.Hour), Source: at("events", 0, 15)},
		Record{Event: withTime(purchase("p2", "u2", "poker", "2.00", "USD", "2.00"), 7*time.Hour), Source: at("purchases", 0, 9)},
		Record{Event: withTime(purchase("p3", "u2", "poker", "3.00", "USD", "3.00"), 8*time.Hour), Source: at("purchases", 1, 1)},
		Record{Event: withTime(purchase("p4", "u2", "poker", "4.00", "USD", "4.00"), 9*time.Hour), Source: at("purchases", 2, 3)},
	)
	stored, _, err := vault.WriteBatch(ctx, testGroup, records, nil, load)
	require.NoError(t, err)
	for i, ok := range stored {
		require.True(t, ok, "record %d (%s) was not stored", i, records[i].Event.MsgID)
	}

	// s1 again from the split on and a1 again from below another split, both
	// with other content. The vault keeps the rows stored first.
	s1Again := withTime(spin("s1", "u1", "slots", 99), 11*time.Hour)
	a1Again := withTime(auth("a1", "u1", "slots", "other@example.com"), 12*time.Hour)
	stored, _, err = vault.WriteBatch(ctx, testGroup, []Record{
		{Event: s1Again, Source: at("events", 0, 20)},
		{Event: a1Again, Source: at("events", 1, 1)},
	}, nil, load.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, []bool{false, false}, stored)

	fixture := splitFixture{
		split: map[TopicPartition]int64{
			{"events", 0}: 10, {"events", 1}: 5, {"events", 2}: 3,
			{"purchases", 0}: 5, {"purchases", 2}: 0,
		},
		below: make(map[LateKey]Record, len(below)),
	}
	for _, r := range below {
		fixture.below[LateKey{Kind: r.Event.Kind, MsgID: r.Event.MsgID}] = r
	}
	return fixture
}

func TestSplitSpansCountsAndTimesPerPartition(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	fixture := writeSplitFixture(t, vault)

	spans, err := vault.SplitSpans(ctx, fixture.split)
	require.NoError(t, err)
	// In events/0 both MaxBelow and MinFrom come from a spin, and the auth
	// and purchase rows on the same side do not replace them. The duplicates
	// of s1 and a1 are not counted. events/2 has no stored events and purchases/1 is not
	// in the split map, so neither is reported.
	assert.Equal(t, map[TopicPartition]PartitionSpan{
		{"events", 0}: {
			Below: 3, From: 3,
			MaxBelow: eventTime.Add(3 * time.Hour), MinFrom: eventTime.Add(2 * time.Hour),
		},
		{"events", 1}: {
			Below: 3, From: 0,
			MaxBelow: eventTime.Add(6 * time.Hour),
		},
		{"purchases", 0}: {
			Below: 1, From: 1,
			MaxBelow: eventTime.Add(2 * time.Hour), MinFrom: eventTime.Add(7 * time.Hour),
		},
		{"purchases", 2}: {
			Below: 0, From: 1,
			MinFrom: eventTime.Add(9 * time.Hour),
		},
	}, spans)
	for tp, span := range spans {
		if !span.MaxBelow.IsZero() {
			assert.Equal(t, time.UTC, span.MaxBelow.Location(), "MaxBelow of %s", tp)
		}
		if !span.MinFrom.IsZero() {
			assert.Equal(t, time.UTC, span.MinFrom.Location(), "MinFrom of %s", tp)
		}
	}
}

func TestSplitSpansEmptySplit(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	writeSplitFixture(t, vault)

	spans, err := vault.SplitSpans(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, spans)
}

// assertSameEvent compares every field that the vault stores, with decimals
// compared by value and by digits.
func assertSameEvent(t *testing.T, want, got handlers.Event) {
	t.Helper()
	id := want.MsgID
	assert.Equal(t, want.MsgID, got.MsgID, id)
	assert.Equal(t, want.Kind, got.Kind, id)
	assert.Equal(t, want.UID, got.UID, id)
	assert.Equal(t, want.AppID, got.AppID, id)
	assert.True(t, want.Time.Equal(got.Time), "%s: time %v, want %v", id, got.Time, want.Time)
	assert.Equal(t, time.UTC, got.Time.Location(), "%s: time zone", id)
	assert.Equal(t, want.Email, got.Email, id)
	assert.Equal(t, want.Phone, got.Phone, id)
	assert.Equal(t, want.SpinCount, got.SpinCount, id)
	assertSameNullDecimal(t, want.Bet, got.Bet, id+" bet")
	assertSameNullDecimal(t, want.Win, got.Win, id+" win")
	assert.Equal(t, want.Currency, got.Currency, id)
	assertSameDecimal(t, want.Amount, got.Amount, id+" amount")
	assertSameDecimal(t, want.AmountReporting, got.AmountReporting, id+" amount_reporting")
	assert.Equal(t, want.ProductID, got.ProductID, id)
}

func assertSameDecimal(t *testing.T, want, got decimal.Decimal, name string) {
	t.Helper()
	assert.True(t, want.Equal(got), "%s: %s, want %s", name, got, want)
	assert.Equal(t, want.String(), got.String(), name)
}

func assertSameNullDecimal(t *testing.T, want, got decimal.NullDecimal, name string) {
	t.Helper()
	if !assert.Equal(t, want.Valid, got.Valid, "%s: Valid", name) {
		return
	}
	if want.Valid {
		assertSameDecimal(t, want.Decimal, got.Decimal, name)
	}
}

func TestEventsBelowReturnsStoredEvents(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	fixture := writeSplitFixture(t, vault)

	got := make(map[LateKey]Record)
	calls := 0
	err := vault.EventsBelow(ctx, fixture.split, func(e *handlers.Event, src handlers.Source) error {
		calls++
		key := LateKey{Kind: e.Kind, MsgID: e.MsgID}
		assert.NotContains(t, got, key, "reported twice")
		got[key] = Record{Event: *e, Source: src}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, len(fixture.below), calls)

	for key, want := range fixture.below {
		record, ok := got[key]
		if !assert.True(t, ok, "%v not reported", key) {
			continue
		}
		assertSameEvent(t, want.Event, record.Event)
		assert.Equal(t, want.Source, record.Source, "%v", key)
	}
	for key := range got {
		assert.Contains(t, fixture.below, key, "%v reported but stored from the split on or outside the split map", key)
	}

	// These checks name the special cases of the fixture one by one.
	assert.Equal(t, "+15550100", got[LateKey{handlers.KindAuth, "a1"}].Event.Phone)
	assert.Equal(t, "", got[LateKey{handlers.KindAuth, "a3"}].Event.Phone)
	assert.Equal(t, decimal.NullDecimal{}, got[LateKey{handlers.KindSpin, "s3"}].Event.Win)
	assert.Equal(t, "0.3", got[LateKey{handlers.KindPurchase, "p1"}].Event.Amount.String())
	// The duplicates keep the content and position stored first.
	assert.Equal(t, int64(4), got[LateKey{handlers.KindSpin, "s1"}].Event.SpinCount)
	assert.Equal(t, at("events", 0, 7), got[LateKey{handlers.KindSpin, "s1"}].Source)
	assert.Equal(t, "a1@example.com", got[LateKey{handlers.KindAuth, "a1"}].Event.Email)
	assert.Equal(t, at("events", 0, 3), got[LateKey{handlers.KindAuth, "a1"}].Source)
}

func TestEventsBelowEmptySplit(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	writeSplitFixture(t, vault)

	calls := 0
	err := vault.EventsBelow(ctx, map[TopicPartition]int64{}, func(*handlers.Event, handlers.Source) error {
		calls++
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, calls)
}

func TestEventsBelowStopsAtCallbackError(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	fixture := writeSplitFixture(t, vault)

	stop := errors.New("stop here")
	calls := 0
	err := vault.EventsBelow(ctx, fixture.split, func(*handlers.Event, handlers.Source) error {
		calls++
		return stop
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)
}

func TestLateSplitSeparatesBelowAndFrom(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	fixture := writeSplitFixture(t, vault)

	late := func(kind handlers.Kind, msgID, reportType string) LateEvent {
		return LateEvent{Kind: kind, MsgID: msgID, ReportType: reportType, CreatedAt: eventTime}
	}
	require.NoError(t, vault.InsertLateEvents(ctx, []LateEvent{
		// Below the split. s1 is late for two report types, inserted out of order.
		late(handlers.KindSpin, "s1", "hourly"),
		late(handlers.KindSpin, "s1", "daily"),
		late(handlers.KindPurchase, "p1", "hourly"),
		// From the split on.
		late(handlers.KindAuth, "a2", "daily"),
		late(handlers.KindPurchase, "p2", "top_apps"),
		late(handlers.KindPurchase, "p2", "daily"),
		// No satellite row with this msg_id.
		late(handlers.KindSpin, "ghost", "daily"),
		// s1 is stored as a spin, not as a purchase.
		late(handlers.KindPurchase, "s1", "daily"),
		// p3 is stored in purchases/1, which is not in the split map.
		late(handlers.KindPurchase, "p3", "daily"),
	}, "late", eventTime.Add(time.Hour)))

	below, from, err := vault.LateSplit(ctx, fixture.split)
	require.NoError(t, err)
	assert.Equal(t, map[LateKey][]string{
		{Kind: handlers.KindSpin, MsgID: "s1"}:     {"daily", "hourly"},
		{Kind: handlers.KindPurchase, MsgID: "p1"}: {"hourly"},
	}, below)
	assert.Equal(t, map[LateKey][]string{
		{Kind: handlers.KindAuth, MsgID: "a2"}:     {"daily"},
		{Kind: handlers.KindPurchase, MsgID: "p2"}: {"daily", "top_apps"},
	}, from)
}

func TestLateSplitWithoutLateEvents(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	fixture := writeSplitFixture(t, vault)

	below, from, err := vault.LateSplit(ctx, fixture.split)
	require.NoError(t, err)
	assert.NotNil(t, below)
	assert.NotNil(t, from)
	assert.Empty(t, below)
	assert.Empty(t, from)
}
