package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Headers of a dead-letter record. The record's value is the original
// message value, unchanged, and it keeps the original headers too.
const (
	HeaderReason    = "dlq_reason"
	HeaderField     = "dlq_field"
	HeaderError     = "dlq_error"
	HeaderTopic     = "dlq_source_topic"
	HeaderPartition = "dlq_source_partition"
	HeaderOffset    = "dlq_source_offset"
	// HeaderKey holds the original Kafka key; the dead-letter publisher also
	// uses it as the record key.
	HeaderKey = "dlq_source_key"
)

// Record is one consumed Kafka record as handed to the processor. Event is
// nil for a record that went to the dead-letter topic, which only marks its
// offset as done.
type Record struct {
	Source Source
	Event  *Event
}

// Sink receives records in partition order. Submit blocks while the sink is
// full, which stops consumption of that partition (backpressure).
type Sink interface {
	Submit(ctx context.Context, r Record) error
}

// Ingest is the Watermill handler of every input topic. It decodes and
// validates each message. A valid event goes to the Sink. An invalid one is
// published to the dead-letter topic first and then reported to the Sink as
// done. The message is acknowledged only after that, so a message whose
// dead-letter publish fails is retried and never lost.
type Ingest struct {
	validator       *Validator
	topics          map[string]Kind
	deadLetterTopic string
	deadLetters     message.Publisher
	sink            Sink
	metrics         *Metrics
	logger          *slog.Logger
}

// NewIngest returns the handler. topics maps each input topic to the kind it
// carries, or to "" for a mixed topic.
func NewIngest(v *Validator, topics map[string]Kind, deadLetterTopic string, deadLetters message.Publisher, sink Sink, m *Metrics, logger *slog.Logger) *Ingest {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Ingest{
		validator:       v,
		topics:          topics,
		deadLetterTopic: deadLetterTopic,
		deadLetters:     deadLetters,
		sink:            sink,
		metrics:         m,
		logger:          logger,
	}
}

// Handle processes one message; it is a watermill NoPublishHandlerFunc.
func (h *Ingest) Handle(msg *message.Message) error {
	ctx := msg.Context()
	src, err := sourceOf(msg)
	if err != nil {
		return err
	}
	event, err := h.validator.Decode(msg.Payload, h.topics[src.Topic])
	h.metrics.consumed.WithLabelValues(src.Topic, kindLabel(event.Kind, h.topics[src.Topic])).Inc()
	if err != nil {
		if err := h.deadLetter(msg, src, err); err != nil {
			return err
		}
		return h.sink.Submit(ctx, Record{Source: src})
	}
	return h.sink.Submit(ctx, Record{Source: src, Event: &event})
}

func sourceOf(msg *message.Message) (Source, error) {
	ctx := msg.Context()
	topic := message.SubscribeTopicFromCtx(ctx)
	partition, okPartition := kafka.MessagePartitionFromCtx(ctx)
	offset, okOffset := kafka.MessagePartitionOffsetFromCtx(ctx)
	if topic == "" || !okPartition || !okOffset {
		return Source{}, fmt.Errorf("message %s has no Kafka topic, partition or offset in its context", msg.UUID)
	}
	return Source{Topic: topic, Partition: partition, Offset: offset}, nil
}

func (h *Ingest) deadLetter(msg *message.Message, src Source, cause error) error {
	invalid, ok := IsInvalidEvent(cause)
	if !ok {
		invalid = &InvalidEventError{Reason: ReasonInvalidJSON, Detail: cause.Error()}
	}

	out := message.NewMessage(watermill.NewUUID(), msg.Payload)
	for k, v := range msg.Metadata {
		out.Metadata.Set(k, v)
	}
	key, _ := kafka.MessageKeyFromCtx(msg.Context())
	out.Metadata.Set(HeaderReason, string(invalid.Reason))
	out.Metadata.Set(HeaderField, invalid.Field)
	out.Metadata.Set(HeaderError, invalid.Error())
	out.Metadata.Set(HeaderTopic, src.Topic)
	out.Metadata.Set(HeaderPartition, strconv.Itoa(int(src.Partition)))
	out.Metadata.Set(HeaderOffset, strconv.FormatInt(src.Offset, 10))
	out.Metadata.Set(HeaderKey, string(key))

	if err := h.deadLetters.Publish(h.deadLetterTopic, out); err != nil {
		h.metrics.deadLetterErrors.Inc()
		return fmt.Errorf("publishing %s to dead-letter topic %s: %w", src, h.deadLetterTopic, err)
	}
	h.metrics.deadLettered.WithLabelValues(src.Topic, string(invalid.Reason)).Inc()
	h.logger.Warn("event dead-lettered",
		"topic", src.Topic, "partition", src.Partition, "offset", src.Offset,
		"reason", string(invalid.Reason), "field", invalid.Field, "error", invalid.Error())
	return nil
}

// kindLabel returns the kind of a decoded event, else the kind its topic
// carries, else "unknown".
func kindLabel(decoded, topic Kind) string {
	switch {
	case decoded != "":
		return string(decoded)
	case topic != "":
		return string(topic)
	}
	return "unknown"
}

// DeadLetterKey returns the Kafka key of a dead-letter message: the key of the
// original record, so re-driving the record keeps its partitioning.
func DeadLetterKey(_ string, msg *message.Message) (string, error) {
	return msg.Metadata.Get(HeaderKey), nil
}
