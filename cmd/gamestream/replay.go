package main

import (
	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/router"
)

func newReplayCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "replay",
		Short: "Rebuild the state from the start of the log, then exit",
		Long: `Replay rebuilds the windows and user state from the earliest retained
offsets. It refuses while any member of the consumer group runs, so stop every
"gamestream run" of the group first. It clears the checkpoint in state.dir,
moves the group's committed offsets to the log start and processes the log
until it has caught up, printing progress. MySQL is not written until then, so
dashboards never show the partial totals of the rebuild; afterwards it holds
the same values as before, write timestamps aside. Start "gamestream run"
again when replay has finished.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			return router.Replay(cmd.Context(), cfg, newLogger(cfg.Log.Level), cmd.OutOrStdout())
		},
	}
}
