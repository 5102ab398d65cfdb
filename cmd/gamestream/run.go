package main

import (
	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/router"
)

func newRunCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the always-on processor until SIGTERM or SIGINT",
		Long: `Run consumes the configured topics, stores every valid event once in the
PostgreSQL vault, dead-letters invalid ones, folds events into windows and
user state checkpointed to Badger, and writes profiles and reports to MySQL.
It migrates both databases at start-up. /metrics, /healthz and /readyz are
served on http.listen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			logger := newLogger(cfg.Log.Level)
			svc, err := router.NewService(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			return svc.Run(cmd.Context())
		},
	}
}
