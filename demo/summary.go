package demo

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"sort"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/reconcile"
)

// Summary holds the figures of a demo run, read back from the databases.
type Summary struct {
	Published    int64
	DeadLettered int64
	PublishTime  time.Duration
	Elapsed      time.Duration

	// Read from the PostgreSQL vault.
	StoredAuth, StoredSpin, StoredPurchase int64
	VaultSpins                             int64
	VaultPurchases                         decimal.Decimal
	VaultUsers                             int64

	// Read from MySQL.
	Profiles        int64
	ProfileSpins    int64
	ProfilePurchase decimal.Decimal
	Reports         map[string]int64
	AppReports      int64
	Provisional     int64

	// ReportingCurrency is the ISO 4217 code of the purchase totals.
	ReportingCurrency string

	// Replay is the outcome of the replay after the first pass, nil when
	// none ran.
	Replay *ReplayCheck

	// Reconcile is the comparison of MySQL with the recomputation from the
	// vault.
	Reconcile *reconcile.Result

	PostgresDSN, MySQLDSN string
}

// Summarize reads the summary figures from both databases.
func Summarize(ctx context.Context, pgDSN, myDSN string) (*Summary, error) {
	s := &Summary{Reports: make(map[string]int64)}
	conn, err := pgx.Connect(ctx, pgDSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM satellite_auth_info),
		(SELECT count(*) FROM satellite_spin_info),
		(SELECT count(*) FROM satellite_purchase_info),
		(SELECT coalesce(sum(spin_count), 0) FROM satellite_spin_info),
		(SELECT coalesce(sum(amount_reporting), 0)::text FROM satellite_purchase_info),
		(SELECT count(*) FROM hub_user)`).Scan(
		&s.StoredAuth, &s.StoredSpin, &s.StoredPurchase, &s.VaultSpins, &s.VaultPurchases, &s.VaultUsers)
	if err != nil {
		return nil, fmt.Errorf("reading the vault: %w", err)
	}

	db, err := sql.Open("mysql", myDSN)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(total_spins), 0), coalesce(sum(total_purchases), 0) FROM user_profiles`).
		Scan(&s.Profiles, &s.ProfileSpins, &s.ProfilePurchase)
	if err != nil {
		return nil, fmt.Errorf("reading user_profiles: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT report_type, count(*), sum(is_final = 0) FROM aggregated_reports GROUP BY report_type ORDER BY report_type`)
	if err != nil {
		return nil, fmt.Errorf("reading aggregated_reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var n, provisional int64
		if err := rows.Scan(&typ, &n, &provisional); err != nil {
			return nil, err
		}
		s.Reports[typ] = n
		s.Provisional += provisional
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM app_reports`).Scan(&s.AppReports); err != nil {
		return nil, fmt.Errorf("reading app_reports: %w", err)
	}
	return s, nil
}

// Print writes the summary as aligned text.
func (s *Summary) Print(w io.Writer) {
	stored := s.StoredAuth + s.StoredSpin + s.StoredPurchase
	fmt.Fprintln(w, "\nsummary")
	fmt.Fprintf(w, "  published            %d records in %s\n", s.Published, s.PublishTime.Round(time.Millisecond))
	fmt.Fprintf(w, "  stored in PostgreSQL %d (auth %d, spin %d, purchase %d)\n", stored, s.StoredAuth, s.StoredSpin, s.StoredPurchase)
	fmt.Fprintf(w, "  dead-lettered        %d\n", s.DeadLettered)
	fmt.Fprintf(w, "  profiles in MySQL    %d (users in the vault: %d)\n", s.Profiles, s.VaultUsers)
	fmt.Fprintf(w, "  total spins          profiles %d, vault %d\n", s.ProfileSpins, s.VaultSpins)
	fmt.Fprintf(w, "  total purchases      profiles %s, vault %s %s\n",
		s.ProfilePurchase.StringFixed(2), s.VaultPurchases.StringFixed(2), s.ReportingCurrency)
	types := make([]string, 0, len(s.Reports))
	for typ := range s.Reports {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		fmt.Fprintf(w, "  reports %-12s %d\n", typ, s.Reports[typ])
	}
	fmt.Fprintf(w, "  app reports          %d (provisional rows left: %d)\n", s.AppReports, s.Provisional)
	if s.Reconcile != nil {
		compared := 0
		for _, t := range s.Reconcile.Tables {
			compared += t.Compared
		}
		fmt.Fprintf(w, "  reconcile            %d rows recomputed from PostgreSQL and compared with MySQL: %d differences\n",
			compared, s.Reconcile.Differences())
	}
	if r := s.Replay; r != nil {
		same := "identical"
		if !r.Identical {
			same = "DIFFERENT"
		}
		fmt.Fprintf(w, "  replay               %s; %d MySQL rows %s before and after, write times aside; reconcile %d differences\n",
			r.Elapsed.Round(time.Millisecond), r.Rows, same, r.Reconcile.Differences())
	}
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "  elapsed              %s, %.0f events/s end to end\n", s.Elapsed.Round(time.Millisecond), float64(s.Published)/secs)
	fmt.Fprintf(w, "  query the results:   psql '%s'   and   mysql DSN %s\n", s.PostgresDSN, s.MySQLDSN)
}

func redactPostgres(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	return u.Redacted()
}

// Consistent reports whether the MySQL profile totals equal the vault's and
// reconcile found no difference.
func (s *Summary) Consistent() bool {
	totals := s.Profiles == s.VaultUsers && s.ProfileSpins == s.VaultSpins && s.ProfilePurchase.Equal(s.VaultPurchases)
	replay := s.Replay == nil || (s.Replay.Identical && s.Replay.Reconcile.Differences() == 0)
	return totals && replay && (s.Reconcile == nil || s.Reconcile.Differences() == 0)
}
