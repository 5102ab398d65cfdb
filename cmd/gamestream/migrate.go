package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/stores/postgres"
)

func newMigrateCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema migrations of PostgreSQL and MySQL and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			if err := postgres.Migrate(cmd.Context(), cfg.Postgres.DSN); err != nil {
				return fmt.Errorf("migrating PostgreSQL: %w", err)
			}
			if err := mysql.Migrate(cmd.Context(), cfg.MySQL.DSN); err != nil {
				return fmt.Errorf("migrating MySQL: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "PostgreSQL and MySQL schemas are up to date")
			return nil
		},
	}
}
