package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// ErrGroupActive is returned by Replay while the consumer group has members
// that send heartbeats.
var ErrGroupActive = errors.New("consumer group has active members")

// Replay rebuilds the state from the log and runs the processor until it
// has caught up and written every profile and report to MySQL. It returns
// ErrGroupActive while any member of the consumer group is running, after
// waiting one session timeout for the members of stopped processes to expire.
//
// With a zero from it starts every input partition at its log start. With a
// from time it starts each at its first record with a Kafka timestamp at or
// after from. Either way the state begins as it was at those offsets,
// because the events stored in PostgreSQL from below them are folded back
// from the satellites. So a replay from a time, or from a log start that
// retention has moved, still counts every stored event. The group's
// committed offsets move to the same offsets. Each event read again is
// folded only from the position it was stored from, so when nothing changed
// since the first pass MySQL ends with the same values as before the replay.
//
// The checkpoint is replaced before the group's offsets move. A failure
// between the two leaves a checkpoint that the next `gamestream run`
// continues rebuilding from, because the processor seeks to its own offsets.
func Replay(ctx context.Context, cfg *configs.Config, from time.Time, logger *slog.Logger, out io.Writer) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	vault, starts, rw, err := planReplay(ctx, cfg, from, admin, out)
	if err != nil {
		return fmt.Errorf("%w. Nothing was changed", err)
	}
	defer vault.Close()

	if err := saveRewound(cfg, rw.state, logger); err != nil {
		return err
	}
	if err := commitGroupOffsets(ctx, admin, cfg.Kafka.ConsumerGroup, starts); err != nil {
		return err
	}
	var toRead int64
	for _, span := range rw.spans {
		toRead += span.From
	}
	fmt.Fprintf(out, "consumer group %s moved to %s; state in %s rebuilt from %d events stored below those offsets; "+
		"%d stored events to read again, and any newer records; rebuilding\n",
		cfg.Kafka.ConsumerGroup, describeStart(from), cfg.State.Dir, rw.folded, toRead)

	svc, err := NewService(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()

	start := time.Now()
	if err := waitCaughtUp(ctx, svc.Processor(), starts, out, start, done); err != nil {
		cancel()
		<-done
		return err
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintf(out, "replay finished in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// planReplay waits until the consumer group is empty, picks the start
// offsets and rebuilds the state as of them, without writing anything but
// the vault's schema migrations. The caller closes the returned vault.
func planReplay(ctx context.Context, cfg *configs.Config, from time.Time, admin *kadm.Client,
	out io.Writer) (*postgres.Vault, map[postgres.TopicPartition]int64, *rewound, error) {
	specs, err := windows.ValidateSpecs(cfg.Windows)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := waitGroupEmpty(ctx, admin, cfg.Kafka.ConsumerGroup, cfg.Kafka.SessionTimeout, out); err != nil {
		return nil, nil, nil, fmt.Errorf("%w (kafka.brokers is %s)", err, strings.Join(cfg.Kafka.Brokers, ","))
	}

	if err := postgres.Migrate(ctx, cfg.Postgres.DSN); err != nil {
		return nil, nil, nil, err
	}
	vault, err := postgres.Open(ctx, cfg.Postgres.DSN, postgres.WithReportingCurrency(cfg.Events.ReportingCurrency))
	if err != nil {
		return nil, nil, nil, err
	}
	starts, err := replayStarts(ctx, admin, vault, cfg, from)
	if err != nil {
		vault.Close()
		return nil, nil, nil, err
	}
	rw, err := rewind(ctx, vault, cfg, specs, starts)
	if err != nil {
		vault.Close()
		return nil, nil, nil, err
	}
	return vault, starts, rw, nil
}

func describeStart(from time.Time) string {
	if from.IsZero() {
		return "the log start"
	}
	return "the first records at or after " + from.UTC().Format(time.RFC3339Nano)
}

// waitCaughtUp returns once the processor has caught up, printing a progress
// line every 2 s with the records read since the replay's starts.
func waitCaughtUp(ctx context.Context, p *Processor, starts map[postgres.TopicPartition]int64, out io.Writer,
	start time.Time, done <-chan error) error {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	lastLine := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return fmt.Errorf("processor stopped during the replay: %w", err)
		case <-ticker.C:
		}
		prog := p.Progress()
		if prog.CaughtUp() {
			return nil
		}
		if time.Since(lastLine) >= 2*time.Second {
			var read int64
			for key, next := range prog.Folded {
				if from, ok := starts[postgres.TopicPartition{Topic: key.Topic, Partition: key.Partition}]; ok && next > from {
					read += next - from
				}
			}
			fmt.Fprintf(out, "  %5.1fs  records read %d  records left %d  watermark %s\n",
				time.Since(start).Seconds(), read, prog.Lag, prog.Watermark.UTC().Format(time.RFC3339))
			lastLine = time.Now()
		}
	}
}

// memberExpiryMargin is added to the session timeout while waiting for the
// members of stopped processes to leave the group: the coordinator checks
// expired sessions periodically, not at the exact moment.
const memberExpiryMargin = 5 * time.Second

// waitGroupEmpty returns nil once the consumer group has no members. A
// member with a static instance ID does not leave the group when its process
// stops, so the group keeps it until its session times out. waitGroupEmpty
// therefore waits up to sessionTimeout plus memberExpiryMargin, and then
// returns ErrGroupActive naming the members that still send heartbeats.
func waitGroupEmpty(ctx context.Context, admin *kadm.Client, group string, sessionTimeout time.Duration, out io.Writer) error {
	deadline := time.Now().Add(sessionTimeout + memberExpiryMargin)
	announced := false
	for {
		described, err := admin.DescribeGroups(ctx, group)
		if err != nil {
			return fmt.Errorf("describing consumer group %s: %w", group, err)
		}
		g, ok := described[group]
		if !ok || len(g.Members) == 0 {
			return nil
		}

		var ids []string
		for _, m := range g.Members {
			ids = append(ids, m.ClientHost+" "+m.MemberID)
		}
		sort.Strings(ids)
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s has %d (%s) that still send heartbeats after %s; "+
				"stop every `gamestream run` of this group, then run replay again",
				ErrGroupActive, group, len(ids), strings.Join(ids, ", "), sessionTimeout+memberExpiryMargin)
		}
		if !announced {
			fmt.Fprintf(out, "consumer group %s has %d members; waiting up to %s for those of stopped processes to expire\n",
				group, len(ids), time.Until(deadline).Round(time.Second))
			announced = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// commitGroupOffsets commits starts as the group's offsets, so Kafka tools
// show the replay's lag.
func commitGroupOffsets(ctx context.Context, admin *kadm.Client, group string, starts map[postgres.TopicPartition]int64) error {
	offsets := make(kadm.Offsets)
	for tp, at := range starts {
		offsets.Add(kadm.Offset{Topic: tp.Topic, Partition: tp.Partition, At: at, LeaderEpoch: -1})
	}
	if err := admin.CommitAllOffsets(ctx, group, offsets); err != nil {
		return fmt.Errorf("moving the offsets of consumer group %s: %w", group, err)
	}
	return nil
}
