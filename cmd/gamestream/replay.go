package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/router"
)

func newReplayCommand(flags *globalFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Rebuild the state from the log, from its start or from a time, then exit",
		Long: `Replay rebuilds the windows and user state and reads the log again. It
refuses while any member of the consumer group runs, so stop every
"gamestream run" of the group first. A stopped member with a static
instance ID stays in the group until its session times out, so replay waits
up to kafka.session_timeout plus 5 s for such members to expire.

Without --from it reads every input partition from its log start. With
--from it reads each partition from its first record whose Kafka timestamp is
at or after that time. Either way the state starts as it was at those
offsets: the events stored in PostgreSQL below them are folded back from the
vault, so nothing stored is left out, even when retention has deleted the
start of the log. The checkpoint in state.dir and the group's committed
offsets are replaced.

Reports of windows that closed before the first record read again keep their
MySQL rows; every other window and every profile is written again. MySQL is
not written until the replay has caught up, so dashboards never show the
partial totals of a rebuild; afterwards it holds the same values as before,
write timestamps aside. Start "gamestream run" again when replay has finished.`,
		Example: `  gamestream replay
  gamestream replay --from 2026-12-01T00:00:00Z
  gamestream replay --from 6h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, err := parseFrom(from, time.Now())
			if err != nil {
				return err
			}
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			return router.Replay(cmd.Context(), cfg, at, newLogger(cfg.Log.Level), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&from, "from", "",
		"read again from this time: RFC 3339 (2026-12-01T00:00:00Z) or a duration before now (6h, 90m); default the log start")
	return cmd
}

// parseFrom reads the --from flag: empty for the log start, an RFC 3339
// time, or a positive duration that counts back from now.
func parseFrom(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("--from %s: the time is in the future", s)
		}
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--from %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z or a duration such as 6h", s)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("--from %s: want a duration above 0, counted back from now", s)
	}
	return now.Add(-d), nil
}
