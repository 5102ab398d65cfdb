package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/router"
)

// shutdownGrace is how long past processor.shutdown_timeout the process
// waits for a stop before it exits anyway.
const shutdownGrace = 5 * time.Second

func newRunCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the always-on processor until SIGTERM or SIGINT",
		Long: `Run consumes the configured topics, stores every valid event once in the
PostgreSQL vault, dead-letters invalid ones, folds events into windows and
user state checkpointed to Badger, and writes profiles and reports to MySQL.
It migrates both databases at start-up. /metrics, /healthz, /readyz and
/status are served on http.listen. On SIGTERM or SIGINT it stops consuming,
writes and checkpoints what it has read, writes MySQL and exits within
processor.shutdown_timeout.`,
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

			finished := make(chan struct{})
			defer close(finished)
			go func() {
				select {
				case <-cmd.Context().Done():
				case <-finished:
					return
				}
				select {
				case <-time.After(cfg.Processor.ShutdownTimeout + shutdownGrace):
					logger.Error("stop did not finish within processor.shutdown_timeout; exiting; the restart resumes from the last checkpoint",
						"timeout", cfg.Processor.ShutdownTimeout)
					os.Exit(1)
				case <-finished:
				}
			}()
			return svc.Run(cmd.Context())
		},
	}
}
