package router

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/state"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// openState opens the checkpoint store and loads the state, applying the
// recovery policy when the checkpoint is unreadable or missing although the
// vault shows that the consumer group processed events. It never returns a
// state whose offsets the log cannot continue from.
func (s *Service) openState(ctx context.Context, specs []windows.Spec) (*state.State, map[windows.PartitionKey]int64, error) {
	vaultOffsets, err := s.vaultOffsets(ctx)
	if err != nil {
		return nil, nil, err
	}

	st, found, err := s.loadCheckpoint(specs)
	if err != nil {
		if err := s.applyPolicy(fmt.Sprintf("the checkpoint in %s cannot be read: %v", s.cfg.State.Dir, err)); err != nil {
			return nil, nil, err
		}
		if err := s.moveStateAside(); err != nil {
			return nil, nil, err
		}
		if st, found, err = s.loadCheckpoint(specs); err != nil {
			return nil, nil, err
		}
	}

	switch {
	case !found && len(vaultOffsets) == 0:
		s.logger.Info("no checkpoint and no processed events: starting at the log start", "dir", s.cfg.State.Dir)
	case !found:
		reason := fmt.Sprintf("the state directory %s holds no checkpoint, but PostgreSQL shows that consumer group %q processed %s",
			s.cfg.State.Dir, s.cfg.Kafka.ConsumerGroup, describeOffsets(vaultOffsets))
		if err := s.applyPolicy(reason); err != nil {
			return nil, nil, err
		}
		if st, err = s.rebuildFromVault(ctx, specs, vaultOffsets); err != nil {
			return nil, nil, err
		}
	case st.Rebuilding:
		s.logger.Info("continuing to rebuild the state from the log; MySQL is written once it has caught up",
			"dir", s.cfg.State.Dir, "partitions", len(st.Offsets))
	}

	if err := s.checkLogStarts(st.Offsets, vaultOffsets); err != nil {
		return nil, nil, err
	}
	s.resumed = found
	return st, vaultOffsets, nil
}

func (s *Service) loadCheckpoint(specs []windows.Spec) (*state.State, bool, error) {
	if s.ckpt == nil {
		ckpt, err := state.OpenCheckpointer(s.cfg.State.Dir, s.cfg.Kafka.ConsumerGroup, s.logger)
		if err != nil {
			return nil, false, err
		}
		s.ckpt = ckpt
	}
	st, meta, found, err := s.ckpt.Load(specs, s.cfg.Watermark.OutOfOrderness, s.cfg.Watermark.IdleTimeout)
	if err != nil {
		return nil, false, err
	}
	if found {
		s.logger.Info("state restored from checkpoint", "dir", s.ckpt.Dir(), "checkpoint", meta.Seq,
			"saved_at", meta.SavedAt, "users", len(st.Users), "partitions", len(st.Offsets))
	}
	return st, found, nil
}

// applyPolicy returns nil when state.recovery is replay, after logging why
// the state is rebuilt, and an error naming the remedy otherwise.
func (s *Service) applyPolicy(reason string) error {
	if s.cfg.State.Recovery == configs.RecoveryReplay {
		s.logger.Warn("rebuilding the state from the events stored in PostgreSQL and then the log (state.recovery is replay); "+
			"MySQL is not written until the rebuild has caught up", "reason", reason)
		return nil
	}
	return fmt.Errorf("%s. The processor does not start with state that does not match the processed events. "+
		"Remedy: run `gamestream replay` to rebuild the state from the log, or set state.recovery to replay", reason)
}

// rebuildFromVault rebuilds the state as of the offsets that PostgreSQL
// recorded for the group, from the events stored below them, and saves it
// as the new checkpoint. The processor then continues from those offsets and
// writes MySQL once it has caught up.
func (s *Service) rebuildFromVault(ctx context.Context, specs []windows.Spec,
	vaultOffsets map[windows.PartitionKey]int64) (*state.State, error) {
	topics := s.cfg.Topics()
	starts := make(map[postgres.TopicPartition]int64, len(vaultOffsets))
	for key, next := range vaultOffsets {
		if _, ok := topics[key.Topic]; ok {
			starts[postgres.TopicPartition{Topic: key.Topic, Partition: key.Partition}] = next
		}
	}
	start := time.Now()
	rw, err := rewind(ctx, s.vault, s.cfg, specs, starts)
	if err != nil {
		return nil, fmt.Errorf("rebuilding the state from PostgreSQL: %w", err)
	}
	if err := s.ckpt.Reset(); err != nil {
		return nil, err
	}
	if err := s.ckpt.SaveUsers(rw.state, s.cfg.Processor.CheckpointMaxDirtyUsers); err != nil {
		return nil, err
	}
	if err := s.ckpt.Save(rw.state, time.Now()); err != nil {
		return nil, err
	}
	s.logger.Info("state rebuilt from the events stored in PostgreSQL; continuing from the stored offsets",
		"events", rw.folded, "users", len(rw.state.Users), "open_windows", rw.state.Windows.OpenWindows(),
		"partitions", len(starts), "duration", time.Since(start).Round(time.Millisecond).String())
	return rw.state, nil
}

// moveStateAside renames an unreadable state directory, so that it is kept
// for inspection, and opens a new one in its place.
func (s *Service) moveStateAside() error {
	if s.ckpt != nil {
		_ = s.ckpt.Close()
		s.ckpt = nil
	}
	aside := fmt.Sprintf("%s.unreadable-%s", strings.TrimRight(s.cfg.State.Dir, "/"), time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(s.cfg.State.Dir, aside); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("moving the unreadable state directory aside: %w", err)
	}
	s.logger.Warn("unreadable state directory moved aside", "dir", s.cfg.State.Dir, "moved_to", aside)
	return nil
}

func (s *Service) vaultOffsets(ctx context.Context) (map[windows.PartitionKey]int64, error) {
	stored, err := s.vault.Offsets(ctx, s.cfg.Kafka.ConsumerGroup)
	if err != nil {
		return nil, fmt.Errorf("reading the processed offsets from PostgreSQL: %w", err)
	}
	out := make(map[windows.PartitionKey]int64, len(stored))
	for tp, next := range stored {
		out[windows.PartitionKey{Topic: tp.Topic, Partition: tp.Partition}] = next
	}
	return out, nil
}

// checkLogStarts fails when a partition has to be read from an offset that
// retention already deleted. That offset is the checkpoint's, or 0 for a
// partition that has rows in the vault but none in the checkpoint.
func (s *Service) checkLogStarts(folded, stored map[windows.PartitionKey]int64) error {
	need := make(map[windows.PartitionKey]int64)
	for key := range stored {
		need[key] = 0
	}
	for key, next := range folded {
		need[key] = next
	}
	var problems []string
	for key, from := range need {
		oldest, err := s.admin.GetOffset(key.Topic, key.Partition, sarama.OffsetOldest)
		if err != nil {
			if err == sarama.ErrUnknownTopicOrPartition {
				continue
			}
			return fmt.Errorf("reading the log start of %s/%d: %w", key.Topic, key.Partition, err)
		}
		if oldest > from {
			problems = append(problems, fmt.Sprintf("%s/%d needs offset %d but the log starts at %d", key.Topic, key.Partition, from, oldest))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("the state cannot be continued from the log because retention deleted records it has not folded: %s. "+
		"Remedy: restore a newer checkpoint into %s, or raise the topics' retention before the processor falls this far behind",
		strings.Join(problems, "; "), s.cfg.State.Dir)
}

func describeOffsets(offsets map[windows.PartitionKey]int64) string {
	var total int64
	for _, next := range offsets {
		total += next
	}
	return fmt.Sprintf("records up to %d offsets in %d partitions", total, len(offsets))
}
