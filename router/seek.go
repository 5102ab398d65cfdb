package router

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"

	"github.com/gamestream/gamestream/windows"
)

// hwmPollInterval is how often the high-water mark of each claimed partition
// is read for the lag metric and the idle rule of the watermark.
const hwmPollInterval = 500 * time.Millisecond

// offsetTracer is a watermill-kafka SaramaTracer that traces nothing: it only
// wraps the consumer-group handler so that every partition starts at the
// processor's own offset and reports its high-water mark.
type offsetTracer struct {
	p      *Processor
	client sarama.Client
	logger *slog.Logger
}

func (t *offsetTracer) WrapConsumer(c sarama.Consumer) sarama.Consumer { return c }

func (t *offsetTracer) WrapPartitionConsumer(pc sarama.PartitionConsumer) sarama.PartitionConsumer {
	return pc
}

func (t *offsetTracer) WrapSyncProducer(_ *sarama.Config, p sarama.SyncProducer) sarama.SyncProducer {
	return p
}

func (t *offsetTracer) WrapConsumerGroupHandler(h sarama.ConsumerGroupHandler) sarama.ConsumerGroupHandler {
	return &seekingHandler{inner: h, t: t}
}

// seekingHandler moves each claimed partition to the processor's offset in
// Setup. sarama calls Setup after it has fetched the committed offsets and
// before any claim starts; ResetOffset moves the position only down and
// MarkOffset only up, so calling both seeks to the target either way.
type seekingHandler struct {
	inner sarama.ConsumerGroupHandler
	t     *offsetTracer
}

func (h *seekingHandler) Setup(sess sarama.ConsumerGroupSession) error {
	assigned := make(map[windows.PartitionKey]int64)
	for topic, partitions := range sess.Claims() {
		for _, partition := range partitions {
			key := windows.PartitionKey{Topic: topic, Partition: partition}
			target, end, err := h.t.target(key)
			if err != nil {
				return err
			}
			sess.ResetOffset(topic, partition, target, "")
			sess.MarkOffset(topic, partition, target, "")
			assigned[key] = end
			h.t.logger.Info("partition assigned", "topic", topic, "partition", partition,
				"offset", target, "high_water_mark", end, "generation", sess.GenerationID())
		}
	}
	h.t.p.assign(assigned)
	return h.inner.Setup(sess)
}

func (h *seekingHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	count := 0
	for _, partitions := range sess.Claims() {
		count += len(partitions)
	}
	h.t.logger.Info("partitions revoked", "count", count, "generation", sess.GenerationID())
	return h.inner.Cleanup(sess)
}

func (h *seekingHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	key := windows.PartitionKey{Topic: claim.Topic(), Partition: claim.Partition()}
	done := make(chan struct{})
	defer close(done)
	go h.t.pollHighWaterMark(sess, claim, key, done)
	return h.inner.ConsumeClaim(sess, claim)
}

func (t *offsetTracer) pollHighWaterMark(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, key windows.PartitionKey, done <-chan struct{}) {
	ticker := time.NewTicker(hwmPollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			if hwm := claim.HighWaterMarkOffset(); hwm > 0 {
				t.p.setHighWaterMark(key, hwm)
			}
		case <-done:
			return
		case <-sess.Context().Done():
			return
		}
	}
}

// target returns where the partition must start, clamped to the log: the
// processor's next offset, or the start of the log for a partition it has
// never read. It also returns the end of the log.
func (t *offsetTracer) target(key windows.PartitionKey) (target, end int64, err error) {
	oldest, err := t.client.GetOffset(key.Topic, key.Partition, sarama.OffsetOldest)
	if err != nil {
		return 0, 0, fmt.Errorf("reading log start of %s/%d: %w", key.Topic, key.Partition, err)
	}
	end, err = t.client.GetOffset(key.Topic, key.Partition, sarama.OffsetNewest)
	if err != nil {
		return 0, 0, fmt.Errorf("reading log end of %s/%d: %w", key.Topic, key.Partition, err)
	}

	next, known := t.p.position(key)
	switch {
	case !known:
		return oldest, end, nil
	case next < oldest:
		t.logger.Error("records were deleted from the log before they were processed; continuing at the log start",
			"topic", key.Topic, "partition", key.Partition, "offset", next, "log_start", oldest, "missing", oldest-next)
		return oldest, end, nil
	case next > end:
		t.logger.Error("the processor's offset is past the end of the log; the topic was recreated or the broker lost records; continuing at the log end",
			"topic", key.Topic, "partition", key.Partition, "offset", next, "log_end", end)
		return end, end, nil
	}
	return next, end, nil
}

// logEndRefreshInterval is how often the log end of every input partition is
// read, for the lag of partitions whose claim has not started yet.
const logEndRefreshInterval = time.Second

// trackLogEnds registers every partition of the input topics with the
// processor and refreshes their log ends until ctx ends. A topic that does
// not exist yet is picked up once it does.
func (t *offsetTracer) trackLogEnds(ctx context.Context, topics []string) {
	ticker := time.NewTicker(logEndRefreshInterval)
	defer ticker.Stop()
	failing := false
	for {
		ends, err := t.logEnds(topics)
		switch {
		case err != nil && !failing:
			t.logger.Warn("reading log ends failed; lag and idle partitions may be out of date until it works again", "error", err)
			failing = true
		case err == nil && failing:
			t.logger.Info("reading log ends works again")
			failing = false
		}
		t.p.assign(ends)

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (t *offsetTracer) logEnds(topics []string) (map[windows.PartitionKey]int64, error) {
	ends := make(map[windows.PartitionKey]int64)
	var firstErr error
	for _, topic := range topics {
		partitions, err := t.client.Partitions(topic)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("listing partitions of %s: %w", topic, err))
			continue
		}
		for _, partition := range partitions {
			end, err := t.client.GetOffset(topic, partition, sarama.OffsetNewest)
			if err != nil {
				firstErr = cmp.Or(firstErr, fmt.Errorf("reading log end of %s/%d: %w", topic, partition, err))
				continue
			}
			ends[windows.PartitionKey{Topic: topic, Partition: partition}] = end
		}
	}
	return ends, firstErr
}
