package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/state"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// replayStarts returns the offset from which a replay reads each input
// partition again: its log start, or with a non-zero from its first record
// with a Kafka timestamp at or after from. Every record below that offset
// must be in PostgreSQL, so a partition is read from no later than the next
// offset the consumer group stored, and from its log start when the group
// stored nothing of it. It fails, naming the partitions, when records that
// PostgreSQL does not hold are no longer in the log.
func replayStarts(ctx context.Context, admin *kadm.Client, vault *postgres.Vault, cfg *configs.Config,
	from time.Time) (map[postgres.TopicPartition]int64, error) {
	var topics []string
	for topic := range cfg.Topics() {
		topics = append(topics, topic)
	}
	sort.Strings(topics)

	logStarts, err := admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log starts: %w", err)
	}
	targets := logStarts
	if !from.IsZero() {
		targets, err = admin.ListOffsetsAfterMilli(ctx, from.UnixMilli(), topics...)
		if err != nil {
			return nil, fmt.Errorf("listing the offsets at %s: %w", from.UTC().Format(time.RFC3339Nano), err)
		}
	}
	stored, err := vault.Offsets(ctx, cfg.Kafka.ConsumerGroup)
	if err != nil {
		return nil, err
	}

	starts := make(map[postgres.TopicPartition]int64)
	var problems []string
	var listErr error
	logStarts.Each(func(o kadm.ListedOffset) {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return // a topic that does not exist has nothing to replay
		}
		if o.Err != nil {
			listErr = errors.Join(listErr, fmt.Errorf("log start of %s/%d: %w", o.Topic, o.Partition, o.Err))
			return
		}
		tp := postgres.TopicPartition{Topic: o.Topic, Partition: o.Partition}
		at := o.Offset
		if target, ok := targets.Lookup(o.Topic, o.Partition); ok && target.Err == nil && target.Offset > at {
			at = target.Offset
		}
		next, ok := stored[tp]
		if !ok {
			starts[tp] = o.Offset
			return
		}
		if next < at {
			at = next
		}
		if at < o.Offset {
			problems = append(problems, fmt.Sprintf("%s/%d: PostgreSQL holds offsets below %d but the log starts at %d",
				o.Topic, o.Partition, next, o.Offset))
		}
		starts[tp] = at
	})
	if listErr != nil {
		return nil, listErr
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("the replay cannot rebuild the state: retention deleted records that PostgreSQL never stored (%s). "+
			"Remedy: restore the state directory from a backup, or accept the loss by resetting the group's rows in processor_offsets",
			strings.Join(problems, "; "))
	}
	return starts, nil
}

// rewound is a state rebuilt as of the start offsets of a replay.
type rewound struct {
	state *state.State
	// spans describes the stored events on either side of each start.
	spans map[postgres.TopicPartition]postgres.PartitionSpan
	// folded counts the events folded back from PostgreSQL.
	folded int64
}

// rewind builds the state as of starts from the events stored in PostgreSQL
// below them.
//
// Users get every such event. Windows get them too, except for the pairs
// recorded in late_event_info and the windows that closed before the
// replay's first record. A window of a spec is rebuilt only when it ends
// after its cut. The cut is the restored watermark minus the spec's allowed
// lateness, or the earliest event time stored from the starts on when that
// is earlier. A skipped window keeps its final report in MySQL. Any new
// record that falls in it is late, because the watermark starts at the
// restored value and never moves back, so such a window is never rebuilt
// partially.
//
// The restored watermark is the lowest of the partitions' highest event
// times below their starts, minus the out-of-orderness bound. Events from
// the starts on that were recorded as late stay late through
// State.KnownLate. For the other events the watermark decides again, as in
// any replay.
func rewind(ctx context.Context, vault *postgres.Vault, cfg *configs.Config, specs []windows.Spec,
	starts map[postgres.TopicPartition]int64) (*rewound, error) {
	spans, err := vault.SplitSpans(ctx, starts)
	if err != nil {
		return nil, err
	}
	var watermark, firstFrom time.Time
	for _, span := range spans {
		if span.Below > 0 && (watermark.IsZero() || span.MaxBelow.Before(watermark)) {
			watermark = span.MaxBelow
		}
		if span.From > 0 && (firstFrom.IsZero() || span.MinFrom.Before(firstFrom)) {
			firstFrom = span.MinFrom
		}
	}
	cuts := make(map[string]time.Time, len(specs))
	if !watermark.IsZero() {
		watermark = watermark.Add(-max(cfg.Watermark.OutOfOrderness, 0)).UTC()
		for _, spec := range specs {
			cut := watermark.Add(-spec.AllowedLateness)
			if !firstFrom.IsZero() && firstFrom.Before(cut) {
				cut = firstFrom
			}
			cuts[spec.Name] = cut
		}
	}

	lateBelow, lateFrom, err := vault.LateSplit(ctx, starts)
	if err != nil {
		return nil, err
	}

	st := state.New(specs, cfg.Watermark.OutOfOrderness, cfg.Watermark.IdleTimeout)
	st.Rebuilding = true
	rw := &rewound{state: st, spans: spans}
	skip := make([]string, 0, len(specs))
	err = vault.EventsBelow(ctx, starts, func(e *handlers.Event, src handlers.Source) error {
		skip = append(skip[:0], lateBelow[postgres.LateKey{Kind: e.Kind, MsgID: e.MsgID}]...)
		for _, spec := range specs {
			if cut, ok := cuts[spec.Name]; ok {
				if _, end := spec.Assign(e.Time); !end.After(cut) {
					skip = append(skip, spec.Name)
				}
			}
		}
		st.Refold(e, src, skip)
		rw.folded++
		return nil
	})
	if err != nil {
		return nil, err
	}

	for tp, at := range starts {
		st.Offsets[windows.PartitionKey{Topic: tp.Topic, Partition: tp.Partition}] = at
	}
	snapshot := st.Watermarks.Snapshot()
	snapshot.Watermark = watermark
	st.Watermarks.Restore(snapshot)
	if len(lateFrom) > 0 {
		st.KnownLate = make(map[string][]string, len(lateFrom))
		for key, specs := range lateFrom {
			st.KnownLate[state.LateKey(key.Kind, key.MsgID)] = specs
		}
	}
	return rw, nil
}

// saveRewound replaces the checkpoint in the state directory with st. Users
// are written in transactions of at most processor.checkpoint_max_dirty_users
// before the checkpoint itself, so a large state fits Badger's transaction
// limit. A crash in between leaves no checkpoint, which start-up treats as
// lost state.
func saveRewound(cfg *configs.Config, st *state.State, logger *slog.Logger) error {
	ckpt, err := state.OpenCheckpointer(cfg.State.Dir, cfg.Kafka.ConsumerGroup, logger)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	if err := ckpt.Reset(); err != nil {
		return err
	}
	if err := ckpt.SaveUsers(st, cfg.Processor.CheckpointMaxDirtyUsers); err != nil {
		return err
	}
	return ckpt.Save(st, time.Now())
}
