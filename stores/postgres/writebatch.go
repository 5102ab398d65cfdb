package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/internal/failpoint"
)

// Retries of a whole WriteBatch transaction that failed with a serialization
// failure (SQLSTATE 40001) or a deadlock (40P01).
const (
	maxWriteAttempts = 4
	retryBaseDelay   = 20 * time.Millisecond
)

// satelliteTables maps each event kind to its satellite table.
var satelliteTables = map[handlers.Kind]string{
	handlers.KindAuth:     "satellite_auth_info",
	handlers.KindSpin:     "satellite_spin_info",
	handlers.KindPurchase: "satellite_purchase_info",
}

// WriteBatch stores records and the next offsets to read in one transaction.
//
// It inserts the hub, link and satellite rows of the records with
// INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, one statement
// per table, with rows sorted by business key so that concurrent batches
// take row locks in the same order. Hub and link rows keep the load_dts and
// record_source of the batch that first stored them. Every new row gets
// loadTime as load_dts, and each satellite row gets its record's topic as
// record_source. Within one batch the first record of each (kind, msg_id)
// is the one inserted.
//
// For every entry of nextOffsets, which may include partitions whose records
// were all invalid, processor_offsets for group keeps the greater of the
// stored and the new next offset.
//
// stored[i] reports whether the satellite row for records[i]'s msg_id was
// read from exactly records[i].Source: true for a new row and for a row
// stored earlier from the same position, false for a duplicate of a row read
// from another position. inserted counts the new satellite rows per kind
// and has an entry for every kind.
//
// For a purchase stored earlier from the same position, WriteBatch sets
// records[i].Event.AmountReporting to the stored amount. A caller that folds
// the records therefore counts what the vault holds, even when the record
// was decoded again with other events.rates.
//
// WriteBatch runs the transaction up to four times when it fails with a
// serialization failure or a deadlock. After any returned error nothing of
// the batch is stored.
func (v *Vault) WriteBatch(ctx context.Context, group string, records []Record,
	nextOffsets map[TopicPartition]int64, loadTime time.Time) (stored []bool, inserted map[handlers.Kind]int, err error) {
	if group == "" {
		return nil, nil, errors.New("write batch: missing consumer group")
	}
	if loadTime.IsZero() {
		return nil, nil, errors.New("write batch: loadTime is the zero time")
	}
	plan, err := planBatch(records)
	if err != nil {
		return nil, nil, fmt.Errorf("write batch: %w", err)
	}
	offsets, err := planOffsets(nextOffsets)
	if err != nil {
		return nil, nil, fmt.Errorf("write batch: %w", err)
	}

	if len(records) == 0 && len(nextOffsets) == 0 {
		return []bool{}, emptyCounts(), nil
	}

	for attempt := 1; ; attempt++ {
		stored, inserted, err = v.writeBatchOnce(ctx, group, plan, offsets, loadTime)
		if err == nil {
			return stored, inserted, nil
		}
		if !isRetryable(err) {
			return nil, nil, fmt.Errorf("write batch of %d records for group %s: %w", len(records), group, err)
		}
		if attempt == maxWriteAttempts {
			return nil, nil, fmt.Errorf("write batch of %d records for group %s: failed %d times: %w",
				len(records), group, attempt, err)
		}
		if err := sleepContext(ctx, time.Duration(attempt)*retryBaseDelay); err != nil {
			return nil, nil, fmt.Errorf("write batch of %d records for group %s: %w", len(records), group, err)
		}
	}
}

// satelliteKey identifies one satellite row.
type satelliteKey struct {
	kind  handlers.Kind
	msgID string
}

// batchPlan is a batch of records split into the rows of each table, each
// list sorted by its business key.
type batchPlan struct {
	records []Record
	// users and apps are hub business keys, each with the topic of the
	// first record that carries it.
	users []keyTopic
	apps  []keyTopic
	links []linkRow
	// satellites lists, per kind, the indexes into records of the first
	// record of each msg_id, sorted by msg_id.
	satellites map[handlers.Kind][]int
	// first maps each satellite row to the index of the record inserted
	// for it.
	first map[satelliteKey]int
}

type keyTopic struct {
	key   string
	topic string
}

type linkRow struct {
	uid   string
	appID string
	topic string
}

// planBatch validates records and splits them into table rows.
func planBatch(records []Record) (*batchPlan, error) {
	plan := &batchPlan{
		records:    records,
		satellites: make(map[handlers.Kind][]int, len(handlers.Kinds)),
		first:      make(map[satelliteKey]int, len(records)),
	}
	users := map[string]string{}
	apps := map[string]string{}
	links := map[[2]string]string{}

	for i, r := range records {
		e := r.Event
		if _, ok := satelliteTables[e.Kind]; !ok {
			return nil, fmt.Errorf("msg_id %q from %s: unknown event kind %q", e.MsgID, r.Source, e.Kind)
		}
		if e.MsgID == "" || e.UID == "" || e.AppID == "" {
			return nil, fmt.Errorf("msg_id %q from %s: missing msg_id, uid or app_id", e.MsgID, r.Source)
		}

		key := satelliteKey{kind: e.Kind, msgID: e.MsgID}
		if _, seen := plan.first[key]; seen {
			continue
		}
		plan.first[key] = i
		plan.satellites[e.Kind] = append(plan.satellites[e.Kind], i)

		if _, seen := users[e.UID]; !seen {
			users[e.UID] = r.Source.Topic
		}
		if _, seen := apps[e.AppID]; !seen {
			apps[e.AppID] = r.Source.Topic
		}
		if _, seen := links[[2]string{e.UID, e.AppID}]; !seen {
			links[[2]string{e.UID, e.AppID}] = r.Source.Topic
		}
	}

	plan.users = sortedKeyTopics(users)
	plan.apps = sortedKeyTopics(apps)
	for pair, topic := range links {
		plan.links = append(plan.links, linkRow{uid: pair[0], appID: pair[1], topic: topic})
	}
	slices.SortFunc(plan.links, func(a, b linkRow) int {
		return cmp.Or(cmp.Compare(a.uid, b.uid), cmp.Compare(a.appID, b.appID))
	})
	for _, indexes := range plan.satellites {
		slices.SortFunc(indexes, func(a, b int) int {
			return cmp.Compare(records[a].Event.MsgID, records[b].Event.MsgID)
		})
	}
	return plan, nil
}

func sortedKeyTopics(m map[string]string) []keyTopic {
	rows := make([]keyTopic, 0, len(m))
	for key, topic := range m {
		rows = append(rows, keyTopic{key: key, topic: topic})
	}
	slices.SortFunc(rows, func(a, b keyTopic) int { return cmp.Compare(a.key, b.key) })
	return rows
}

// offsetRows are the columns of processor_offsets rows, sorted by topic and
// partition.
type offsetRows struct {
	topics      []string
	partitions  []int32
	nextOffsets []int64
}

func planOffsets(nextOffsets map[TopicPartition]int64) (offsetRows, error) {
	keys := make([]TopicPartition, 0, len(nextOffsets))
	for tp, offset := range nextOffsets {
		if tp.Topic == "" || tp.Partition < 0 || offset < 0 {
			return offsetRows{}, fmt.Errorf("invalid next offset %d for partition %s: expected a topic, a partition >= 0 and an offset >= 0", offset, tp)
		}
		keys = append(keys, tp)
	}
	slices.SortFunc(keys, func(a, b TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})

	rows := offsetRows{
		topics:      make([]string, len(keys)),
		partitions:  make([]int32, len(keys)),
		nextOffsets: make([]int64, len(keys)),
	}
	for i, tp := range keys {
		rows.topics[i] = tp.Topic
		rows.partitions[i] = tp.Partition
		rows.nextOffsets[i] = nextOffsets[tp]
	}
	return rows, nil
}

// writeBatchOnce runs one attempt of WriteBatch in its own transaction.
func (v *Vault) writeBatchOnce(ctx context.Context, group string, plan *batchPlan,
	offsets offsetRows, loadTime time.Time) (stored []bool, inserted map[handlers.Kind]int, err error) {
	tx, err := v.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit

	newRows, err := v.insertRows(ctx, tx, group, plan, offsets, loadTime)
	if err != nil {
		return nil, nil, err
	}
	positions, amounts, err := storedPositions(ctx, tx, plan, newRows)
	if err != nil {
		return nil, nil, err
	}
	failpoint.Hit(failpoint.PostgresCommit)
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}

	stored = make([]bool, len(plan.records))
	for i, r := range plan.records {
		stored[i] = positions[satelliteKey{kind: r.Event.Kind, msgID: r.Event.MsgID}] == r.Source
		if amount, ok := amounts[r.Event.MsgID]; ok && stored[i] && r.Event.Kind == handlers.KindPurchase {
			plan.records[i].Event.AmountReporting = amount
		}
	}
	inserted = emptyCounts()
	for key := range newRows {
		inserted[key.kind]++
	}
	return stored, inserted, nil
}

// insertRows sends every INSERT of the batch in one pipeline and returns the
// satellite rows that were new.
func (v *Vault) insertRows(ctx context.Context, tx pgx.Tx, group string, plan *batchPlan,
	offsets offsetRows, loadTime time.Time) (map[satelliteKey]struct{}, error) {
	type step struct {
		table string
		kind  handlers.Kind // set for satellites, which return msg_id
	}
	var (
		batch pgx.Batch
		steps []step
	)

	if len(plan.users) > 0 {
		batch.Queue(insertHubUserSQL, keysOf(plan.users), topicsOf(plan.users), loadTime)
		steps = append(steps, step{table: "hub_user"})
	}
	if len(plan.apps) > 0 {
		batch.Queue(insertHubAppSQL, keysOf(plan.apps), topicsOf(plan.apps), loadTime)
		steps = append(steps, step{table: "hub_app"})
	}
	if len(plan.links) > 0 {
		uids := make([]string, len(plan.links))
		appIDs := make([]string, len(plan.links))
		topics := make([]string, len(plan.links))
		for i, l := range plan.links {
			uids[i], appIDs[i], topics[i] = l.uid, l.appID, l.topic
		}
		batch.Queue(insertLinkSQL, uids, appIDs, topics, loadTime)
		steps = append(steps, step{table: "link_user_app"})
	}
	for _, kind := range handlers.Kinds {
		indexes := plan.satellites[kind]
		if len(indexes) == 0 {
			continue
		}
		batch.Queue(insertSatelliteSQL[kind], v.satelliteArgs(kind, plan.records, indexes, loadTime)...)
		steps = append(steps, step{table: satelliteTables[kind], kind: kind})
	}
	if len(offsets.topics) > 0 {
		batch.Queue(upsertOffsetsSQL, group, offsets.topics, offsets.partitions, offsets.nextOffsets, loadTime)
		steps = append(steps, step{table: "processor_offsets"})
	}
	if len(steps) == 0 {
		return nil, nil
	}

	results := tx.SendBatch(ctx, &batch)
	newRows := make(map[satelliteKey]struct{}, len(plan.first))
	for _, s := range steps {
		if s.kind == "" {
			if _, err := results.Exec(); err != nil {
				results.Close()
				return nil, fmt.Errorf("insert into %s: %w", s.table, err)
			}
			continue
		}

		rows, err := results.Query()
		if err == nil {
			var msgID string
			_, err = pgx.ForEachRow(rows, []any{&msgID}, func() error {
				newRows[satelliteKey{kind: s.kind, msgID: msgID}] = struct{}{}
				return nil
			})
		}
		if err != nil {
			results.Close()
			return nil, fmt.Errorf("insert into %s: %w", s.table, err)
		}
	}
	if err := results.Close(); err != nil {
		return nil, fmt.Errorf("insert batch: %w", err)
	}
	return newRows, nil
}

// storedPositions returns the Kafka position of the stored row for every
// satellite row of the plan. Positions of new rows come from the plan, and
// the others are read back in one pipeline, together with the stored
// amount_reporting of each purchase among them, by msg_id.
func storedPositions(ctx context.Context, tx pgx.Tx, plan *batchPlan,
	newRows map[satelliteKey]struct{}) (map[satelliteKey]handlers.Source, map[string]decimal.Decimal, error) {
	positions := make(map[satelliteKey]handlers.Source, len(plan.first))
	amounts := make(map[string]decimal.Decimal)
	existing := make(map[handlers.Kind][]string, len(handlers.Kinds))
	for key, index := range plan.first {
		if _, isNew := newRows[key]; isNew {
			positions[key] = plan.records[index].Source
			continue
		}
		existing[key.kind] = append(existing[key.kind], key.msgID)
	}

	var (
		batch pgx.Batch
		kinds []handlers.Kind
	)
	for _, kind := range handlers.Kinds {
		if msgIDs := existing[kind]; len(msgIDs) > 0 {
			slices.Sort(msgIDs)
			batch.Queue(selectPositionsSQL[kind], msgIDs)
			kinds = append(kinds, kind)
		}
	}
	if len(kinds) == 0 {
		return positions, amounts, nil
	}

	results := tx.SendBatch(ctx, &batch)
	for _, kind := range kinds {
		rows, err := results.Query()
		if err == nil {
			var (
				msgID  string
				pos    handlers.Source
				amount string
			)
			scan := []any{&msgID, &pos.Topic, &pos.Partition, &pos.Offset}
			if kind == handlers.KindPurchase {
				scan = append(scan, &amount)
			}
			_, err = pgx.ForEachRow(rows, scan, func() error {
				positions[satelliteKey{kind: kind, msgID: msgID}] = pos
				if kind == handlers.KindPurchase {
					d, err := decimal.NewFromString(amount)
					if err != nil {
						return fmt.Errorf("msg_id %q: amount_reporting %q: %w", msgID, amount, err)
					}
					amounts[msgID] = d
				}
				return nil
			})
		}
		if err != nil {
			results.Close()
			return nil, nil, fmt.Errorf("select stored positions from %s: %w", satelliteTables[kind], err)
		}
	}
	if err := results.Close(); err != nil {
		return nil, nil, fmt.Errorf("select stored positions: %w", err)
	}

	for kind, msgIDs := range existing {
		for _, msgID := range msgIDs {
			if _, ok := positions[satelliteKey{kind: kind, msgID: msgID}]; !ok {
				// Satellites are insert-only, so a conflicting row must exist.
				return nil, nil, fmt.Errorf("msg_id %q: no row in %s after a conflicting insert", msgID, satelliteTables[kind])
			}
		}
	}
	return positions, amounts, nil
}

// satelliteArgs returns the arguments of insertSatelliteSQL[kind] for the
// records at indexes.
func (v *Vault) satelliteArgs(kind handlers.Kind, records []Record, indexes []int, loadTime time.Time) []any {
	n := len(indexes)
	var (
		msgIDs     = make([]string, n)
		uids       = make([]string, n)
		appIDs     = make([]string, n)
		createdAt  = make([]time.Time, n)
		topics     = make([]string, n)
		partitions = make([]int32, n)
		offsets    = make([]int64, n)
	)
	for i, index := range indexes {
		r := records[index]
		msgIDs[i] = r.Event.MsgID
		uids[i] = r.Event.UID
		appIDs[i] = r.Event.AppID
		createdAt[i] = r.Event.Time
		topics[i] = r.Source.Topic
		partitions[i] = r.Source.Partition
		offsets[i] = r.Source.Offset
	}
	args := []any{loadTime, msgIDs, uids, appIDs, createdAt, topics, partitions, offsets}

	switch kind {
	case handlers.KindAuth:
		emails := make([]*string, n)
		phones := make([]*string, n)
		for i, index := range indexes {
			e := &records[index].Event
			emails[i] = nullText(e.Email)
			phones[i] = nullText(e.Phone)
		}
		args = append(args, emails, phones)

	case handlers.KindSpin:
		spinCounts := make([]int64, n)
		bets := make([]*string, n)
		wins := make([]*string, n)
		currencies := make([]*string, n)
		for i, index := range indexes {
			e := &records[index].Event
			spinCounts[i] = e.SpinCount
			bets[i] = nullNumeric(e.Bet)
			wins[i] = nullNumeric(e.Win)
			currencies[i] = nullText(e.Currency)
		}
		args = append(args, spinCounts, bets, wins, currencies)

	case handlers.KindPurchase:
		amounts := make([]string, n)
		currencies := make([]string, n)
		amountsReporting := make([]string, n)
		productIDs := make([]*string, n)
		for i, index := range indexes {
			e := &records[index].Event
			amounts[i] = numericText(e.Amount)
			currencies[i] = e.Currency
			amountsReporting[i] = numericText(e.AmountReporting)
			productIDs[i] = nullText(e.ProductID)
		}
		args = append(args, amounts, currencies, amountsReporting, v.reportingCurrency, productIDs)
	}
	return args
}

// emptyCounts returns a count of zero for every kind.
func emptyCounts() map[handlers.Kind]int {
	counts := make(map[handlers.Kind]int, len(handlers.Kinds))
	for _, kind := range handlers.Kinds {
		counts[kind] = 0
	}
	return counts
}

func keysOf(rows []keyTopic) []string {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	return keys
}

func topicsOf(rows []keyTopic) []string {
	topics := make([]string, len(rows))
	for i, r := range rows {
		topics[i] = r.topic
	}
	return topics
}

// isRetryable reports whether err is a serialization failure or a deadlock,
// after which the whole transaction can run again.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01"
}

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
