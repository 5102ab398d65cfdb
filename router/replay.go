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
	"github.com/gamestream/gamestream/state"
	"github.com/gamestream/gamestream/windows"
)

// ErrGroupActive is returned by Replay while the consumer group has members.
var ErrGroupActive = errors.New("consumer group has active members")

// Replay rebuilds the state from the start of the log. It refuses while any
// member of the consumer group is running. Otherwise it clears the
// checkpoint, moves the group's committed Kafka offsets to the log start and
// runs the processor until it has caught up and written every profile and
// report to MySQL. Events stay in PostgreSQL, and each is folded again from
// the position it was stored from, so MySQL ends with the same values as
// before the replay.
func Replay(ctx context.Context, cfg *configs.Config, logger *slog.Logger, out io.Writer) error {
	specs, err := windows.ValidateSpecs(cfg.Windows)
	if err != nil {
		return err
	}
	if err := resetGroup(ctx, cfg); err != nil {
		return err
	}
	if err := resetState(cfg, specs, logger); err != nil {
		return err
	}
	fmt.Fprintf(out, "state in %s cleared; consumer group %s moved to the log start; rebuilding\n",
		cfg.State.Dir, cfg.Kafka.ConsumerGroup)

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
	if err := waitCaughtUp(ctx, svc.Processor(), out, start, done); err != nil {
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

func waitCaughtUp(ctx context.Context, p *Processor, out io.Writer, start time.Time, done <-chan error) error {
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
			for _, next := range prog.Folded {
				read += next
			}
			fmt.Fprintf(out, "  %5.1fs  records read %d  lag %d  watermark %s\n",
				time.Since(start).Seconds(), read, prog.Lag, prog.Watermark.UTC().Format(time.RFC3339))
			lastLine = time.Now()
		}
	}
}

func resetState(cfg *configs.Config, specs []windows.Spec, logger *slog.Logger) error {
	ckpt, err := state.OpenCheckpointer(cfg.State.Dir, cfg.Kafka.ConsumerGroup, logger)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	if err := ckpt.Reset(); err != nil {
		return err
	}
	st := state.New(specs, cfg.Watermark.OutOfOrderness, cfg.Watermark.IdleTimeout)
	st.Rebuilding = true
	return ckpt.Save(st, time.Now())
}

// resetGroup refuses while the group has members and otherwise commits the
// log start of every input partition as the group's offset, so Kafka tools
// show the replay's lag.
func resetGroup(ctx context.Context, cfg *configs.Config) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)

	group := cfg.Kafka.ConsumerGroup
	described, err := admin.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing consumer group %s: %w", group, err)
	}
	if g, ok := described[group]; ok && len(g.Members) > 0 {
		var ids []string
		for _, m := range g.Members {
			ids = append(ids, m.ClientHost+" "+m.MemberID)
		}
		sort.Strings(ids)
		return fmt.Errorf("%w: %s has %d (%s); stop every `gamestream run` of this group, then run replay again",
			ErrGroupActive, group, len(ids), strings.Join(ids, ", "))
	}

	var topics []string
	for topic := range cfg.Topics() {
		topics = append(topics, topic)
	}
	starts, err := admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing log starts: %w", err)
	}
	offsets := make(kadm.Offsets)
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			offsets.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
		}
	})
	if err := admin.CommitAllOffsets(ctx, group, offsets); err != nil {
		return fmt.Errorf("moving the offsets of consumer group %s to the log start: %w", group, err)
	}
	return nil
}
