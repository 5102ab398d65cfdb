package postgres

import (
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
)

// Hash keys are computed in SQL as the 16-byte MD5 of the business key. The
// link key joins uid and app_id with the unit separator U+001F, which the
// validator rejects inside ids, so two different pairs never share a key.
//
// Each INSERT reads its rows from unnest() over one array parameter per
// column, so a batch costs one statement per table. unnest() returns the
// rows in array order, which is sorted by business key.
const (
	insertHubUserSQL = `
INSERT INTO hub_user (user_hk, uid, load_dts, record_source)
SELECT decode(md5(h.uid), 'hex'), h.uid, $3, h.record_source
FROM unnest($1::text[], $2::text[]) AS h(uid, record_source)
ON CONFLICT DO NOTHING`

	insertHubAppSQL = `
INSERT INTO hub_app (app_hk, app_id, load_dts, record_source)
SELECT decode(md5(h.app_id), 'hex'), h.app_id, $3, h.record_source
FROM unnest($1::text[], $2::text[]) AS h(app_id, record_source)
ON CONFLICT DO NOTHING`

	insertLinkSQL = `
INSERT INTO link_user_app (link_hk, user_hk, app_hk, load_dts, record_source)
SELECT decode(md5(l.uid || chr(31) || l.app_id), 'hex'),
       decode(md5(l.uid), 'hex'),
       decode(md5(l.app_id), 'hex'),
       $4, l.record_source
FROM unnest($1::text[], $2::text[], $3::text[]) AS l(uid, app_id, record_source)
ON CONFLICT DO NOTHING`

	// upsertOffsetsSQL never moves an offset back, so a batch that commits
	// late cannot undo a later one.
	upsertOffsetsSQL = `
INSERT INTO processor_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at)
SELECT $1, o.topic, o.kafka_partition, o.next_offset, $5
FROM unnest($2::text[], $3::int[], $4::bigint[]) AS o(topic, kafka_partition, next_offset)
ON CONFLICT (consumer_group, topic, kafka_partition) DO UPDATE
SET next_offset = GREATEST(processor_offsets.next_offset, EXCLUDED.next_offset),
    updated_at = EXCLUDED.updated_at`
)

// The first eight parameters of every satellite INSERT are load_dts and the
// arrays msg_id, uid, app_id, created_at, record_source, kafka_partition and
// kafka_offset. Numeric values travel as text so that their exact decimal
// digits reach the server.
const satelliteCommonColumns = `msg_id, link_hk, uid, app_id, created_at, load_dts, record_source, kafka_partition, kafka_offset`

const satelliteCommonSelect = `s.msg_id, decode(md5(s.uid || chr(31) || s.app_id), 'hex'), s.uid, s.app_id, s.created_at, $1, s.record_source, s.kafka_partition, s.kafka_offset`

const satelliteCommonArrays = `$2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::int[], $8::bigint[]`

const satelliteCommonNames = `msg_id, uid, app_id, created_at, record_source, kafka_partition, kafka_offset`

// insertSatelliteSQL inserts satellite rows and returns the msg_id of each
// new row.
var insertSatelliteSQL = map[handlers.Kind]string{
	handlers.KindAuth: `
INSERT INTO satellite_auth_info (` + satelliteCommonColumns + `, email, phone)
SELECT ` + satelliteCommonSelect + `, s.email, s.phone
FROM unnest(` + satelliteCommonArrays + `, $9::text[], $10::text[])
     AS s(` + satelliteCommonNames + `, email, phone)
ON CONFLICT (msg_id) DO NOTHING
RETURNING msg_id`,

	handlers.KindSpin: `
INSERT INTO satellite_spin_info (` + satelliteCommonColumns + `, spin_count, bet, win, currency)
SELECT ` + satelliteCommonSelect + `, s.spin_count, s.bet::numeric, s.win::numeric, s.currency
FROM unnest(` + satelliteCommonArrays + `, $9::bigint[], $10::text[], $11::text[], $12::text[])
     AS s(` + satelliteCommonNames + `, spin_count, bet, win, currency)
ON CONFLICT (msg_id) DO NOTHING
RETURNING msg_id`,

	handlers.KindPurchase: `
INSERT INTO satellite_purchase_info (` + satelliteCommonColumns + `, amount, currency, amount_reporting, reporting_currency, product_id)
SELECT ` + satelliteCommonSelect + `, s.amount::numeric, s.currency, s.amount_reporting::numeric, $12, s.product_id
FROM unnest(` + satelliteCommonArrays + `, $9::text[], $10::text[], $11::text[], $13::text[])
     AS s(` + satelliteCommonNames + `, amount, currency, amount_reporting, product_id)
ON CONFLICT (msg_id) DO NOTHING
RETURNING msg_id`,
}

// selectPositionsSQL returns the Kafka position of each stored row whose
// msg_id is in the array $1, and for purchases the stored amount in the
// reporting currency.
var selectPositionsSQL = map[handlers.Kind]string{
	handlers.KindAuth:     `SELECT msg_id, record_source, kafka_partition, kafka_offset FROM satellite_auth_info WHERE msg_id = ANY($1::text[])`,
	handlers.KindSpin:     `SELECT msg_id, record_source, kafka_partition, kafka_offset FROM satellite_spin_info WHERE msg_id = ANY($1::text[])`,
	handlers.KindPurchase: `SELECT msg_id, record_source, kafka_partition, kafka_offset, amount_reporting::text FROM satellite_purchase_info WHERE msg_id = ANY($1::text[])`,
}

// numericText formats d for a numeric column without losing digits or
// scale: 1.50 stays "1.50".
func numericText(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// nullNumeric returns nil for an absent value and its numericText otherwise.
func nullNumeric(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := numericText(d.Decimal)
	return &s
}

// nullText returns nil for "" so that an empty optional field is stored as
// NULL.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
