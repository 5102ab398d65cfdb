// Package reconcile recomputes user profiles and final window reports from
// the PostgreSQL event vault and compares them with the MySQL read models
// that the stream processor wrote, and optionally repairs MySQL.
//
// The recomputation follows the rules of the stream: profiles fold every
// stored auth, spin and purchase event of a user, and each window spec's
// reports leave out the events that late_event_info lists for it. Both sides
// are read ordered by key and merged, so memory grows with the number of
// apps in one window, not with the size of the tables.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gamestream/gamestream/windows"
)

// Table names of the results, in the order Run compares them.
const (
	ProfilesTable   = "user_profiles"
	ReportsTable    = "aggregated_reports"
	AppReportsTable = "app_reports"
)

// DefaultExamples is the number of differing rows kept per table when
// Config.Examples is 0.
const DefaultExamples = 5

// PendingWindow is how long after its newest event was stored a vault row
// that MySQL lacks counts as pending rather than missing. The processor
// writes MySQL once per commit interval (1s by default), so two minutes
// leave room for retries after a failed write.
const PendingWindow = 2 * time.Minute

// progressInterval is the number of compared keys between two progress
// lines of one table.
const progressInterval = 100_000

// Config configures Run.
type Config struct {
	// PostgresDSN is the pgx URL or key=value string of the event vault.
	PostgresDSN string
	// MySQLDSN is the go-sql-driver DSN of the read models.
	MySQLDSN string
	// Specs are the window specs whose final reports are compared. Report
	// rows of other report types are counted as skipped.
	Specs []windows.Spec
	// Repair makes Run write the recomputed values over every differing
	// MySQL row and delete MySQL rows that the vault has no events for.
	Repair bool
	// Examples is the number of differing rows kept per table, 0 for
	// DefaultExamples.
	Examples int
	// Progress receives a line per 100,000 compared rows of a table. Nil
	// disables progress lines.
	Progress io.Writer
}

// Result is the outcome of Run, one entry per table.
type Result struct {
	Tables []TableResult
}

// TableResult counts the rows of one MySQL table.
type TableResult struct {
	// Table is the MySQL table name.
	Table string
	// Compared is the number of keys found on either side.
	Compared int
	// Differences is the number of keys whose rows differ, including rows
	// present on one side only.
	Differences int
	// Pending is the number of differing keys that MySQL has not been
	// written for since their newest event was stored. They are neither
	// differences nor repaired.
	Pending int
	// Skipped is the number of report rows whose report_type is not among
	// Config.Specs, which are not compared.
	Skipped int
	// Examples are the first differing rows, at most Config.Examples.
	Examples []Difference
	// Repaired is the number of rows upserted or deleted by the repair.
	Repaired int
}

// Difference is one differing row. Expected and Actual list the compared
// columns as name=value pairs.
type Difference struct {
	// Key is the uid, the report_id, or report_id/app_id.
	Key string
	// Expected is the row recomputed from the vault, "" if the vault has
	// no events for the row.
	Expected string
	// Actual is the MySQL row, "" if MySQL has none.
	Actual string
}

// Differences returns the number of differing rows over all tables.
func (r *Result) Differences() int {
	total := 0
	for _, table := range r.Tables {
		total += table.Differences
	}
	return total
}

// Print writes, per table, the counts and the example rows with the
// expected and the actual values side by side. Where both rows exist, only
// the columns that differ are shown.
func (r *Result) Print(w io.Writer) {
	for _, table := range r.Tables {
		fmt.Fprintf(w, "%s: compared %d, differences %d, pending %d, repaired %d",
			table.Table, table.Compared, table.Differences, table.Pending, table.Repaired)
		if table.Skipped > 0 {
			fmt.Fprintf(w, ", skipped %d (report type not configured)", table.Skipped)
		}
		fmt.Fprintln(w)
		if len(table.Examples) == 0 {
			continue
		}

		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  key\texpected\t| actual")
		for _, d := range table.Examples {
			expected, actual := differingFields(d.Expected, d.Actual)
			fmt.Fprintf(tw, "  %s\t%s\t| %s\n", d.Key, expected, actual)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "differences in total: %d\n", r.Differences())
}

// differingFields returns the name=value pairs of expected and actual that
// differ, or the whole rows when one of them is absent.
func differingFields(expected, actual string) (string, string) {
	if expected == "" || actual == "" {
		return orAbsent(expected), orAbsent(actual)
	}
	expectedPairs, actualPairs := splitFields(expected), splitFields(actual)
	if len(expectedPairs) != len(actualPairs) {
		return expected, actual
	}
	var keptExpected, keptActual []string
	for i := range expectedPairs {
		if expectedPairs[i] != actualPairs[i] {
			keptExpected = append(keptExpected, expectedPairs[i])
			keptActual = append(keptActual, actualPairs[i])
		}
	}
	if len(keptExpected) == 0 {
		return expected, actual
	}
	return strings.Join(keptExpected, " "), strings.Join(keptActual, " ")
}

// splitFields splits the output of fields into its name=value pairs. Text
// values are Go-quoted and may contain spaces, other values contain none.
func splitFields(row string) []string {
	var pairs []string
	for row != "" {
		name, rest, found := strings.Cut(row, "=")
		if !found {
			return append(pairs, row)
		}
		value := rest
		if quoted, err := strconv.QuotedPrefix(rest); err == nil {
			value = quoted
		} else if space := strings.IndexByte(rest, ' '); space >= 0 {
			value = rest[:space]
		}
		pairs = append(pairs, name+"="+value)
		row = strings.TrimPrefix(rest[len(value):], " ")
	}
	return pairs
}

func orAbsent(row string) string {
	if row == "" {
		return "(absent)"
	}
	return row
}

// Run compares user_profiles, aggregated_reports and app_reports in MySQL
// with the values recomputed from the vault, and repairs MySQL when
// cfg.Repair is set.
//
// Profiles are compared for every uid on either side. A differing profile
// is pending, not a difference, when its MySQL updated_at is not later than
// the newest load_dts of the user's events, or when MySQL has no row and
// that load_dts is within PendingWindow of the start of Run.
//
// Reports are compared, per spec, for every window whose end is at or
// before the latest window_end of a final row (is_final = 1) of that
// report_type in aggregated_reports or app_reports. Those windows must be
// final in MySQL exactly when the vault has events for them. A differing
// window is pending when its newest event was stored after the MySQL row was
// written (or MySQL has no row) and within PendingWindow of the start of
// Run: the processor stores an event before it writes the report and
// records late events in late_event_info.
//
// Figures are compared as exact decimals, and times in UTC at microsecond
// precision. is_final must be 1, and revision and the write times are not
// compared.
//
// Repair upserts the recomputed rows in statements of up to 1,000 rows
// sorted by key: profiles with updated_at set to the current time, reports
// with is_final = 1, revision 1 for a new row and the stored revision
// otherwise, and timestamp set to the current time. It deletes MySQL rows
// that the vault has no events for. Each statement commits on its own.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}

	vault, err := connectVault(ctx, cfg.PostgresDSN)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	defer vault.Close(context.WithoutCancel(ctx))

	readModels, err := openReadModels(ctx, cfg.MySQLDSN)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	defer readModels.Close()

	for _, spec := range cfg.Specs {
		if err := checkZone(ctx, vault, spec); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
	}

	run := &runner{
		cfg:        cfg,
		vault:      vault,
		readModels: readModels,
		start:      time.Now().UTC(),
	}
	profiles := run.newTable(ProfilesTable)
	reports := run.newTable(ReportsTable)
	apps := run.newTable(AppReportsTable)

	if err := run.compareProfiles(ctx, profiles); err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", ProfilesTable, err)
	}
	if err := run.compareReports(ctx, reports, apps); err != nil {
		return nil, fmt.Errorf("reconcile %s and %s: %w", ReportsTable, AppReportsTable, err)
	}

	return &Result{Tables: []TableResult{*profiles.result, *reports.result, *apps.result}}, nil
}

// validate checks cfg and sets the default of Examples.
func validate(cfg *Config) error {
	if cfg.PostgresDSN == "" {
		return errors.New("missing PostgreSQL DSN")
	}
	if cfg.MySQLDSN == "" {
		return errors.New("missing MySQL DSN")
	}
	if cfg.Examples < 0 {
		return fmt.Errorf("invalid number of examples %d: want 0 (for %d) or more", cfg.Examples, DefaultExamples)
	}
	if cfg.Examples == 0 {
		cfg.Examples = DefaultExamples
	}

	seen := make(map[string]bool, len(cfg.Specs))
	for _, spec := range cfg.Specs {
		if spec.Name == "" {
			return errors.New("window spec without a name")
		}
		if seen[spec.Name] {
			return fmt.Errorf("duplicate window spec %q", spec.Name)
		}
		seen[spec.Name] = true
	}
	return nil
}

// runner holds the connections and settings of one Run.
type runner struct {
	cfg        Config
	vault      *pgx.Conn
	readModels *readModels
	// start is the reference time of the pending rules.
	start time.Time
}

// table tracks the result of one MySQL table during the merge.
type table struct {
	result   *TableResult
	examples int
	progress io.Writer
	repair   *repairer
}

func (r *runner) newTable(name string) *table {
	t := &table{
		result:   &TableResult{Table: name},
		examples: r.cfg.Examples,
		progress: r.cfg.Progress,
	}
	if r.cfg.Repair {
		t.repair = newRepairer(r.readModels.db, name)
	}
	return t
}

// compared counts one key and writes a progress line every
// progressInterval keys.
func (t *table) compared() {
	t.result.Compared++
	if t.progress != nil && t.result.Compared%progressInterval == 0 {
		fmt.Fprintf(t.progress, "%s: %d rows compared\n", t.result.Table, t.result.Compared)
	}
}

// differ records a difference and keeps it as an example while there is
// room.
func (t *table) differ(key, expected, actual string) {
	t.result.Differences++
	if len(t.result.Examples) < t.examples {
		t.result.Examples = append(t.result.Examples, Difference{Key: key, Expected: expected, Actual: actual})
	}
}

// finishRepair sends the queued repairs and records the rows changed.
func (t *table) finishRepair(ctx context.Context) error {
	if t.repair == nil {
		return nil
	}
	if err := t.repair.flush(ctx); err != nil {
		return err
	}
	t.result.Repaired = t.repair.changed
	return nil
}

// fields joins name=value pairs with spaces.
func fields(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pairs[i])
		b.WriteByte('=')
		b.WriteString(pairs[i+1])
	}
	return b.String()
}
