package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/router"
)

func newReplayCommand(flags *globalFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Rebuild the state from the log, from its start or from a time, then exit",
		Long: `Replay rebuilds the windows and user state and reads the log again. Use
it after a change in how events are folded, such as a fix in the profile or
window logic or a new window spec. A lost state directory needs no replay:
state.recovery replay rebuilds it at start-up.

Replay refuses while any member of the consumer group runs, so stop every
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

Reports of windows whose allowed lateness had passed before the records read
again keep their MySQL rows; every other window and every profile is written
again. MySQL is not written until the replay has caught up, so dashboards
never show the partial totals of a rebuild. When nothing changed since the
first pass, MySQL afterwards holds the same values as before, write
timestamps aside. Start "gamestream run" again when replay has finished.`,
		Example: `  gamestream replay
  gamestream replay --from 2026-12-01T00:00:00Z
  gamestream replay --from 6h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var at time.Time
			if cmd.Flags().Changed("from") {
				var err error
				if at, err = parseFrom(from, time.Now()); err != nil {
					return err
				}
			}
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			return router.Replay(cmd.Context(), cfg, at, newLogger(cfg.Log.Level), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&from, "from", "",
		"read again from the first records whose Kafka timestamp is at or after this time: RFC 3339 (2026-12-01T00:00:00Z) "+
			"or a duration before now (6h, 90m); without it, from the log start")
	return cmd
}

// fromForms lists the values that --from accepts.
const fromForms = "want an RFC 3339 time such as 2026-12-01T00:00:00Z, or a duration before now " +
	"such as 6h or 90m in the units h, m and s"

// parseFrom reads the --from flag: an RFC 3339 time, or a positive duration
// that counts back from now.
func parseFrom(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf(`--from "": the value is empty; %s. Leave out --from to replay from the log start`, fromForms)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("--from %q: the time is in the future; %s", s, fromForms)
		}
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return time.Time{}, fmt.Errorf("--from %q: days are not a supported unit, use %dh", s, 24*n)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--from %q: %s", s, fromForms)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("--from %q: the duration is not above 0; %s", s, fromForms)
	}
	return now.Add(-d), nil
}
