package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// ReportRow is one final window report, a row of
// satellite_aggregated_report_info.
type ReportRow struct {
	ReportID       string
	Revision       int
	ReportType     string
	WindowStart    time.Time
	WindowEnd      time.Time
	TotalSpins     int64
	TotalPurchases decimal.Decimal
	PurchaseCount  int64
	// AvgPurchase is NULL when the window has no purchase.
	AvgPurchase decimal.NullDecimal
	// MostSpentGame is the app_id with the highest purchase total; "" is
	// stored as NULL.
	MostSpentGame string
	ActiveUsers   int64
}

const insertReportsSQL = `
INSERT INTO satellite_aggregated_report_info (
    report_id, revision, report_type, window_start, window_end, total_spins,
    total_purchases, purchase_count, avg_purchase, most_spent_game, active_users,
    load_dts, record_source)
SELECT r.report_id, r.revision, r.report_type, r.window_start, r.window_end, r.total_spins,
       r.total_purchases::numeric, r.purchase_count, r.avg_purchase::numeric, r.most_spent_game, r.active_users,
       $12, $13
FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[],
            $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[])
     AS r(report_id, revision, report_type, window_start, window_end, total_spins,
          total_purchases, purchase_count, avg_purchase, most_spent_game, active_users)
ON CONFLICT (report_id, revision) DO NOTHING`

// InsertReports stores final window reports in one statement, sorted by
// (report_id, revision). A row whose (report_id, revision) is already stored
// is left unchanged, so a report is written once per revision. source is the
// record_source and loadTime the load_dts of every new row.
func (v *Vault) InsertReports(ctx context.Context, rows []ReportRow, source string, loadTime time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	if source == "" {
		return errors.New("insert into satellite_aggregated_report_info: missing record source")
	}

	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b ReportRow) int {
		return cmp.Or(cmp.Compare(a.ReportID, b.ReportID), cmp.Compare(a.Revision, b.Revision))
	})

	n := len(sorted)
	var (
		reportIDs      = make([]string, n)
		revisions      = make([]int32, n)
		reportTypes    = make([]string, n)
		windowStarts   = make([]time.Time, n)
		windowEnds     = make([]time.Time, n)
		totalSpins     = make([]int64, n)
		totalPurchases = make([]string, n)
		purchaseCounts = make([]int64, n)
		avgPurchases   = make([]*string, n)
		mostSpentGames = make([]*string, n)
		activeUsers    = make([]int64, n)
	)
	for i, r := range sorted {
		if r.ReportID == "" || r.ReportType == "" {
			return fmt.Errorf("insert into satellite_aggregated_report_info: report %q revision %d: missing report_id or report_type",
				r.ReportID, r.Revision)
		}
		if r.Revision < 0 || r.Revision > 1<<31-1 {
			return fmt.Errorf("insert into satellite_aggregated_report_info: report %q: revision %d out of range for int (0 to 2147483647)",
				r.ReportID, r.Revision)
		}
		reportIDs[i] = r.ReportID
		revisions[i] = int32(r.Revision)
		reportTypes[i] = r.ReportType
		windowStarts[i] = r.WindowStart
		windowEnds[i] = r.WindowEnd
		totalSpins[i] = r.TotalSpins
		totalPurchases[i] = numericText(r.TotalPurchases)
		purchaseCounts[i] = r.PurchaseCount
		avgPurchases[i] = nullNumeric(r.AvgPurchase)
		mostSpentGames[i] = nullText(r.MostSpentGame)
		activeUsers[i] = r.ActiveUsers
	}

	_, err := v.pool.Exec(ctx, insertReportsSQL,
		reportIDs, revisions, reportTypes, windowStarts, windowEnds, totalSpins,
		totalPurchases, purchaseCounts, avgPurchases, mostSpentGames, activeUsers,
		loadTime, source)
	if err != nil {
		return fmt.Errorf("insert %d rows into satellite_aggregated_report_info (first report_id %q): %w",
			n, reportIDs[0], err)
	}
	return nil
}

// Offsets returns the next offset to read for every partition that group
// has committed through WriteBatch.
func (v *Vault) Offsets(ctx context.Context, group string) (map[TopicPartition]int64, error) {
	rows, err := v.pool.Query(ctx,
		`SELECT topic, kafka_partition, next_offset FROM processor_offsets WHERE consumer_group = $1`, group)
	if err != nil {
		return nil, fmt.Errorf("select from processor_offsets for group %s: %w", group, err)
	}

	offsets := map[TopicPartition]int64{}
	var (
		tp     TopicPartition
		offset int64
	)
	_, err = pgx.ForEachRow(rows, []any{&tp.Topic, &tp.Partition, &offset}, func() error {
		offsets[tp] = offset
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select from processor_offsets for group %s: %w", group, err)
	}
	return offsets, nil
}
