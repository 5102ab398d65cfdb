package router

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"github.com/gamestream/gamestream/configs"
)

// kafkaVersion is the protocol version sarama speaks; 2.3 or later is needed
// for static group membership.
var kafkaVersion = sarama.V3_0_0_0

// subscriberConfig returns the sarama settings of the consumer group.
// Offsets start at the oldest record for a new group, but the processor's
// seek in Setup decides the real start. Auto-commit stays on: the committed
// offsets are only advisory, for the lag that Kafka tools show.
func subscriberConfig(cfg configs.Kafka) *sarama.Config {
	sc := kafka.DefaultSaramaSubscriberConfig()
	sc.ClientID = "gamestream"
	sc.Version = kafkaVersion
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.MaxWaitTime = cfg.FetchMaxWait
	sc.Consumer.Group.Session.Timeout = cfg.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = cfg.SessionTimeout / 3
	sc.Consumer.Group.Rebalance.Timeout = 30 * time.Second
	sc.Metadata.Retry.Max = 10
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	return sc
}

// publisherConfig returns the sarama settings of the dead-letter publisher:
// every publish waits for all in-sync replicas.
func publisherConfig() *sarama.Config {
	pc := kafka.DefaultSaramaSyncPublisherConfig()
	pc.ClientID = "gamestream-dlq"
	pc.Version = kafkaVersion
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Producer.Retry.Max = 10
	pc.Producer.Retry.Backoff = 200 * time.Millisecond
	return pc
}
