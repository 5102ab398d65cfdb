package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
)

// A replay that starts in the middle of the log rebuilds the state as of a
// split offset per partition. The events stored from below the split are
// read back from the satellites, and the records from the split on are read
// again from Kafka. The functions here read the satellites on either side of
// the split. Each satellite row is matched to its partition by record_source,
// which contains the topic, and by kafka_partition.

// PartitionSpan describes the stored events of one partition on either side
// of its split offset.
type PartitionSpan struct {
	// Below and From count the satellite rows read from offsets below the
	// split and from the split on.
	Below, From int64
	// MaxBelow is the highest event time below the split, MinFrom the
	// lowest from the split on; each is the zero time without such rows.
	MaxBelow, MinFrom time.Time
}

// splitJoin joins a satellite s to the split offsets o, given as $1 topics,
// $2 partitions and $3 offsets.
const splitJoin = `JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS o(topic, part, split)
  ON s.record_source = o.topic AND s.kafka_partition = o.part`

func splitArgs(split map[TopicPartition]int64) []any {
	keys := make([]TopicPartition, 0, len(split))
	for tp := range split {
		keys = append(keys, tp)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Topic != keys[j].Topic {
			return keys[i].Topic < keys[j].Topic
		}
		return keys[i].Partition < keys[j].Partition
	})
	topics := make([]string, len(keys))
	parts := make([]int32, len(keys))
	offsets := make([]int64, len(keys))
	for i, tp := range keys {
		topics[i], parts[i], offsets[i] = tp.Topic, tp.Partition, split[tp]
	}
	return []any{topics, parts, offsets}
}

// SplitSpans returns, for every partition in split with stored events, how
// many events were stored from either side of its split offset and their
// extreme event times. Partitions missing from split are not read.
func (v *Vault) SplitSpans(ctx context.Context, split map[TopicPartition]int64) (map[TopicPartition]PartitionSpan, error) {
	spans := make(map[TopicPartition]PartitionSpan)
	for _, kind := range handlers.Kinds {
		query := fmt.Sprintf(`
SELECT s.record_source, s.kafka_partition,
       count(*) FILTER (WHERE s.kafka_offset < o.split),
       count(*) FILTER (WHERE s.kafka_offset >= o.split),
       max(s.created_at) FILTER (WHERE s.kafka_offset < o.split),
       min(s.created_at) FILTER (WHERE s.kafka_offset >= o.split)
FROM %s s
%s
GROUP BY s.record_source, s.kafka_partition`, satelliteTables[kind], splitJoin)
		rows, err := v.pool.Query(ctx, query, splitArgs(split)...)
		if err != nil {
			return nil, fmt.Errorf("reading the split of %s: %w", satelliteTables[kind], err)
		}
		var (
			tp                TopicPartition
			below, from       int64
			maxBelow, minFrom *time.Time
		)
		_, err = pgx.ForEachRow(rows, []any{&tp.Topic, &tp.Partition, &below, &from, &maxBelow, &minFrom}, func() error {
			span := spans[tp]
			span.Below += below
			span.From += from
			if maxBelow != nil && maxBelow.After(span.MaxBelow) {
				span.MaxBelow = maxBelow.UTC()
			}
			if minFrom != nil && (span.MinFrom.IsZero() || minFrom.Before(span.MinFrom)) {
				span.MinFrom = minFrom.UTC()
			}
			spans[tp] = span
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading the split of %s: %w", satelliteTables[kind], err)
		}
	}
	return spans, nil
}

// eventColumns selects, after the common columns, the fields of each kind
// that the state folds and the vault stores. Numbers travel as text so that
// their decimal digits stay exact.
var eventColumns = map[handlers.Kind]string{
	handlers.KindAuth:     `coalesce(s.email, ''), coalesce(s.phone, '')`,
	handlers.KindSpin:     `s.spin_count, s.bet::text, s.win::text, coalesce(s.currency, '')`,
	handlers.KindPurchase: `s.amount::text, s.currency, s.amount_reporting::text, coalesce(s.product_id, '')`,
}

// EventsBelow calls fn with every event stored from an offset below the
// split of its partition, with the position it was stored from. Events come
// in no particular order, and fn must not keep e after it returns. An error
// from fn stops the scan and is returned.
func (v *Vault) EventsBelow(ctx context.Context, split map[TopicPartition]int64,
	fn func(e *handlers.Event, src handlers.Source) error) error {
	for _, kind := range handlers.Kinds {
		query := fmt.Sprintf(`
SELECT s.msg_id, s.uid, s.app_id, s.created_at, s.record_source, s.kafka_partition, s.kafka_offset, %s
FROM %s s
%s
WHERE s.kafka_offset < o.split`, eventColumns[kind], satelliteTables[kind], splitJoin)
		rows, err := v.pool.Query(ctx, query, splitArgs(split)...)
		if err != nil {
			return fmt.Errorf("reading %s: %w", satelliteTables[kind], err)
		}

		var (
			e          handlers.Event
			src        handlers.Source
			bet, win   *string
			amount     string
			reporting  string
			scanErr    error
			scanTarget = []any{&e.MsgID, &e.UID, &e.AppID, &e.Time, &src.Topic, &src.Partition, &src.Offset}
		)
		switch kind {
		case handlers.KindAuth:
			scanTarget = append(scanTarget, &e.Email, &e.Phone)
		case handlers.KindSpin:
			scanTarget = append(scanTarget, &e.SpinCount, &bet, &win, &e.Currency)
		case handlers.KindPurchase:
			scanTarget = append(scanTarget, &amount, &e.Currency, &reporting, &e.ProductID)
		}
		_, err = pgx.ForEachRow(rows, scanTarget, func() error {
			e.Kind = kind
			e.Time = e.Time.UTC()
			switch kind {
			case handlers.KindSpin:
				if e.Bet, scanErr = nullDecimal(bet); scanErr != nil {
					return fmt.Errorf("msg_id %q: bet: %w", e.MsgID, scanErr)
				}
				if e.Win, scanErr = nullDecimal(win); scanErr != nil {
					return fmt.Errorf("msg_id %q: win: %w", e.MsgID, scanErr)
				}
			case handlers.KindPurchase:
				if e.Amount, scanErr = decimal.NewFromString(amount); scanErr != nil {
					return fmt.Errorf("msg_id %q: amount %q: %w", e.MsgID, amount, scanErr)
				}
				if e.AmountReporting, scanErr = decimal.NewFromString(reporting); scanErr != nil {
					return fmt.Errorf("msg_id %q: amount_reporting %q: %w", e.MsgID, reporting, scanErr)
				}
			}
			return fn(&e, src)
		})
		if err != nil {
			return fmt.Errorf("reading %s: %w", satelliteTables[kind], err)
		}
	}
	return nil
}

func nullDecimal(s *string) (decimal.NullDecimal, error) {
	if s == nil {
		return decimal.NullDecimal{}, nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return decimal.NullDecimal{}, err
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}, nil
}

// LateSplit returns the late_event_info pairs of the events stored from
// either side of the split of their partition, as the report types of each
// (kind, msg_id).
func (v *Vault) LateSplit(ctx context.Context, split map[TopicPartition]int64) (below, from map[LateKey][]string, err error) {
	below = make(map[LateKey][]string)
	from = make(map[LateKey][]string)
	for _, kind := range handlers.Kinds {
		query := fmt.Sprintf(`
SELECT l.msg_id, l.report_type, s.kafka_offset < o.split
FROM late_event_info l
JOIN %s s ON s.msg_id = l.msg_id
%s
WHERE l.kind = $4
ORDER BY l.msg_id, l.report_type COLLATE "C"`, satelliteTables[kind], splitJoin)
		rows, err := v.pool.Query(ctx, query, append(splitArgs(split), string(kind))...)
		if err != nil {
			return nil, nil, fmt.Errorf("reading late_event_info for %s: %w", kind, err)
		}
		var (
			msgID, reportType string
			isBelow           bool
		)
		_, err = pgx.ForEachRow(rows, []any{&msgID, &reportType, &isBelow}, func() error {
			key := LateKey{Kind: kind, MsgID: msgID}
			if isBelow {
				below[key] = append(below[key], reportType)
			} else {
				from[key] = append(from[key], reportType)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reading late_event_info for %s: %w", kind, err)
		}
	}
	return below, from, nil
}

// LateKey identifies an event in late_event_info.
type LateKey struct {
	Kind  handlers.Kind
	MsgID string
}
