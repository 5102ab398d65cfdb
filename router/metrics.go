package router

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the collectors of the processor. Their names are part of the
// product's interface: dashboards and alert rules use them.
type Metrics struct {
	stored         *prometheus.CounterVec
	duplicates     *prometheus.CounterVec
	late           *prometheus.CounterVec
	lag            *prometheus.GaugeVec
	watermark      prometheus.Gauge
	watermarkLag   prometheus.Gauge
	checkpointTime prometheus.Gauge
	openWindows    prometheus.Gauge
	bufferedItems  prometheus.Gauge
	writeSeconds   *prometheus.HistogramVec
	writeErrors    *prometheus.CounterVec
	dependencyUp   *prometheus.GaugeVec
	profilesOut    prometheus.Counter
	reportsOut     *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg when reg is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_events_stored_total",
			Help: "Events newly stored in the PostgreSQL vault, by kind.",
		}, []string{"kind"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_events_duplicate_total",
			Help: "Events whose msg_id was already stored from another Kafka position; they are not counted again.",
		}, []string{"kind"}),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_late_events_total",
			Help: "Events not applied to a window because it closed beyond its allowed lateness, by window name.",
		}, []string{"window"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gamestream_consumer_lag",
			Help: "Records in the partition after the last one folded into the state.",
		}, []string{"topic", "partition"}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamestream_watermark_timestamp_seconds",
			Help: "Current event-time watermark as a Unix timestamp.",
		}),
		watermarkLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamestream_watermark_lag_seconds",
			Help: "Wall clock minus the watermark.",
		}),
		checkpointTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamestream_checkpoint_timestamp_seconds",
			Help: "Unix time of the last successful Badger checkpoint.",
		}),
		openWindows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamestream_open_windows",
			Help: "Windows held in memory, over all window specs.",
		}),
		bufferedItems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamestream_buffered_records",
			Help: "Records acknowledged to Kafka and waiting for the batch writer.",
		}),
		writeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gamestream_write_duration_seconds",
			Help:    "Duration of successful writes, by store (postgres, mysql, badger).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"store"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_write_errors_total",
			Help: "Failed write attempts, by store; each is retried.",
		}, []string{"store"}),
		dependencyUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gamestream_dependency_up",
			Help: "1 when the last write to the dependency succeeded, 0 while it fails.",
		}, []string{"dependency"}),
		profilesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamestream_profiles_written_total",
			Help: "User profile rows upserted into MySQL.",
		}),
		reportsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamestream_reports_written_total",
			Help: "Window report rows upserted into MySQL, by finality (final or provisional).",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.stored, m.duplicates, m.late, m.lag, m.watermark, m.watermarkLag,
			m.checkpointTime, m.openWindows, m.bufferedItems, m.writeSeconds, m.writeErrors,
			m.dependencyUp, m.profilesOut, m.reportsOut)
	}
	return m
}
