package main

import (
	"net/url"

	"fmt"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/reconcile"
	"github.com/gamestream/gamestream/windows"
)

// differencesExitCode is the exit status of reconcile when differences
// remain, so scripts can tell it from a failure (status 1).
const differencesExitCode = 2

func newReconcileCommand(flags *globalFlags) *cobra.Command {
	var (
		repair   bool
		examples int
	)
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare the MySQL profiles and final reports with a recomputation from the PostgreSQL vault",
		Long: `Reconcile recomputes user_profiles, aggregated_reports and app_reports from
the events stored in the PostgreSQL vault, with the window specs of the
configuration, and compares them row by row with MySQL. It prints per table
the rows compared, the differences and the first differing rows with the
expected (vault) and actual (MySQL) values side by side. Progress lines on
large tables go to stderr.

Reports are compared for every window that ends at or before the latest
final window of its report type in MySQL. Rows that MySQL cannot hold yet on
a running system, because their newest event was stored after MySQL was last
written, are counted as pending and are not differences.

With --repair, reconcile writes the recomputed values over every differing
row, deletes rows that the vault has no events for, and then compares again
to confirm the repair.

Exit status: 0 when no differences remain, 2 when differences remain (after
--repair: when the second comparison still finds some), 1 on any error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			specs, err := windows.ValidateSpecs(cfg.Windows)
			if err != nil {
				return err
			}

			out := cmd.OutOrStdout()
			run := reconcile.Config{
				PostgresDSN: cfg.Postgres.DSN,
				MySQLDSN:    cfg.MySQL.DSN,
				Specs:       specs,
				Repair:      repair,
				Examples:    examples,
				Progress:    cmd.ErrOrStderr(),
			}
			result, err := reconcile.Run(cmd.Context(), run)
			if err != nil {
				return fmt.Errorf("%w\n(compared PostgreSQL %s with MySQL %s: set postgres.dsn and mysql.dsn, or "+
					"GAMESTREAM_POSTGRES_DSN and GAMESTREAM_MYSQL_DSN, to the processor's databases; "+
					"`gamestream migrate` creates missing tables)", err, redactURL(cfg.Postgres.DSN), redactMySQL(cfg.MySQL.DSN))
			}
			result.Print(out)

			if repair && result.Differences() > 0 {
				fmt.Fprintln(out, "\ncomparing again after the repair:")
				run.Repair = false
				if result, err = reconcile.Run(cmd.Context(), run); err != nil {
					return err
				}
				result.Print(out)
			}
			if result.Differences() > 0 {
				return exitError{code: differencesExitCode}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false,
		"write the recomputed values over differing MySQL rows and delete rows without events, then compare again")
	cmd.Flags().IntVar(&examples, "examples", reconcile.DefaultExamples, "number of differing rows to print per table")
	return cmd
}

func redactURL(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable DSN)"
}

func redactMySQL(dsn string) string {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "xxxxx"
	}
	return cfg.FormatDSN()
}
