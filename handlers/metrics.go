package handlers

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the collectors of the ingest handler.
type Metrics struct {
	consumed         *prometheus.CounterVec
	deadLettered     *prometheus.CounterVec
	deadLetterErrors prometheus.Counter
}

// NewMetrics creates the collectors and registers them with reg when reg is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_events_consumed_total",
			Help: "Kafka records handed to the ingest handler, valid or not, by topic and event kind (unknown when an event on a mixed topic cannot be decoded).",
		}, []string{"topic", "kind"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_events_dead_lettered_total",
			Help: "Invalid records published to the dead-letter topic, by source topic and reason.",
		}, []string{"topic", "reason"}),
		deadLetterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamestream_dead_letter_publish_errors_total",
			Help: "Failed publishes to the dead-letter topic; the record is retried.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.deadLettered, m.deadLetterErrors)
	}
	return m
}
