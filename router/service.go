// Package router wires the Watermill router, the Kafka subscriber and the
// processor that writes PostgreSQL, folds windows and flushes MySQL.
package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/state"
	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// Service is one running processor: consumer, processor, stores and the HTTP
// endpoint of metrics and health.
type Service struct {
	cfg       *configs.Config
	logger    *slog.Logger
	registry  *prometheus.Registry
	metrics   *Metrics
	health    *Health
	processor *Processor
	vault     *postgres.Vault
	reports   *mysql.Reports
	ckpt      *state.Checkpointer
	admin     sarama.Client
	router    *message.Router
	tracer    *offsetTracer
	listener  net.Listener
	resumed   bool
	closeOnce sync.Once
}

// NewService migrates both databases, opens the stores, loads the last
// checkpoint and prepares the router. It waits, with backoff, for the broker
// and the databases until ctx ends.
func NewService(ctx context.Context, cfg *configs.Config, logger *slog.Logger) (*Service, error) {
	specs, err := windows.ValidateSpecs(cfg.Windows)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, logger: logger, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	s.metrics = NewMetrics(s.registry)
	s.health = NewHealth(s.metrics, logger)

	if err := s.openStores(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.connectKafka(ctx); err != nil {
		s.Close()
		return nil, err
	}
	st, vaultOffsets, err := s.openState(ctx, specs)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.processor = NewProcessor(ProcessorConfig{
		Group:                   cfg.Kafka.ConsumerGroup,
		BufferSize:              cfg.Processor.BufferSize,
		BatchSize:               cfg.Processor.BatchSize,
		BatchTimeout:            cfg.Processor.BatchTimeout,
		CommitInterval:          cfg.Processor.CommitInterval,
		CheckpointMaxDirtyUsers: cfg.Processor.CheckpointMaxDirtyUsers,
		VaultOffsets:            vaultOffsets,
	}, s.vault, s.reports, s.ckpt, st, specs, s.metrics, s.health, logger)

	if err := s.buildRouter(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) openStores(ctx context.Context) error {
	err := s.retry(ctx, "postgres", func() error {
		if err := postgres.Migrate(ctx, s.cfg.Postgres.DSN); err != nil {
			return err
		}
		v, err := postgres.Open(ctx, s.cfg.Postgres.DSN, postgres.WithReportingCurrency(s.cfg.Events.ReportingCurrency))
		s.vault = v
		return err
	})
	if err != nil {
		return fmt.Errorf("opening PostgreSQL: %w", err)
	}
	err = s.retry(ctx, "mysql", func() error {
		if err := mysql.Migrate(ctx, s.cfg.MySQL.DSN); err != nil {
			return err
		}
		r, err := mysql.Open(ctx, s.cfg.MySQL.DSN)
		s.reports = r
		return err
	})
	if err != nil {
		return fmt.Errorf("opening MySQL: %w", err)
	}
	return nil
}

// retry runs op with capped exponential backoff until it succeeds or ctx
// ends, reporting the dependency's state to the health tracker.
func (s *Service) retry(ctx context.Context, dep string, op func() error) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := op()
		s.health.Set(dep, err)
		return struct{}{}, err
	}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
	return err
}

// connectKafka opens the client that reads log starts and ends, waiting
// with backoff for the brokers.
func (s *Service) connectKafka(ctx context.Context) error {
	kcfg := s.cfg.Kafka
	err := s.retry(ctx, "kafka", func() error {
		c, err := sarama.NewClient(kcfg.Brokers, subscriberConfig(kcfg))
		s.admin = c
		return err
	})
	if err != nil {
		return fmt.Errorf("connecting to Kafka brokers %s: %w", strings.Join(kcfg.Brokers, ","), err)
	}
	return nil
}

func (s *Service) buildRouter(ctx context.Context) error {
	kcfg := s.cfg.Kafka
	s.tracer = &offsetTracer{p: s.processor, client: s.admin, logger: s.logger}

	wmLogger := watermill.NewSlogLoggerWithLevelMapping(s.logger.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
	publisher, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               kcfg.Brokers,
		Marshaler:             kafka.NewWithPartitioningMarshaler(handlers.DeadLetterKey),
		OverwriteSaramaConfig: publisherConfig(),
	}, wmLogger)
	if err != nil {
		return fmt.Errorf("creating dead-letter publisher: %w", err)
	}

	rates, err := handlers.NewRates(s.cfg.Events.ReportingCurrency, s.cfg.Events.Rates)
	if err != nil {
		return err
	}
	validator, err := handlers.NewValidator(handlers.ValidatorConfig{
		DefaultCurrency: s.cfg.Events.DefaultCurrency,
		Rates:           rates,
		MaxFutureSkew:   s.cfg.Events.MaxFutureSkew,
	})
	if err != nil {
		return err
	}
	topics := s.cfg.Topics()
	ingest := handlers.NewIngest(validator, topics, kcfg.DeadLetterTopic, publisher, s.processor,
		handlers.NewMetrics(s.registry), s.logger)

	// The router gets half of the shutdown timeout to stop its handlers, and
	// the processor's final write, checkpoint and flush the rest.
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: s.cfg.Processor.ShutdownTimeout / 2}, wmLogger)
	if err != nil {
		return err
	}
	r.AddMiddleware(middleware.Recoverer, middleware.Retry{
		MaxRetries:      5,
		InitialInterval: 100 * time.Millisecond,
		MaxInterval:     5 * time.Second,
		Multiplier:      2,
		Logger:          wmLogger,
	}.Middleware)
	for topic := range topics {
		subscriber, err := s.newSubscriber(topic, wmLogger)
		if err != nil {
			return err
		}
		r.AddConsumerHandler("ingest-"+topic, topic, subscriber, ingest.Handle)
	}
	r.AddPlugin(func(r *message.Router) error {
		go func() {
			<-r.Running()
			s.logger.Info("router running", "topics", len(topics), "group", kcfg.ConsumerGroup)
		}()
		return nil
	})
	s.router = r
	return nil
}

// newSubscriber returns the subscriber of one topic. watermill-kafka joins
// the consumer group once per subscribed topic, so each topic gets its own
// member. With static membership each member needs its own instance id,
// which is kafka.instance_id followed by the topic.
func (s *Service) newSubscriber(topic string, logger watermill.LoggerAdapter) (*kafka.Subscriber, error) {
	kcfg := s.cfg.Kafka
	sc := subscriberConfig(kcfg)
	if kcfg.InstanceID != "" {
		sc.Consumer.Group.InstanceId = kcfg.InstanceID + "-" + topic
	}
	subscriber, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               kcfg.Brokers,
		Unmarshaler:           kafka.DefaultMarshaler{},
		OverwriteSaramaConfig: sc,
		ConsumerGroup:         kcfg.ConsumerGroup,
		NackResendSleep:       time.Second,
		ReconnectRetrySleep:   time.Second,
		Tracer:                s.tracer,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("creating the Kafka subscriber of %s: %w", topic, err)
	}
	return subscriber, nil
}

func (s *Service) topicNames() []string {
	var topics []string
	for topic := range s.cfg.Topics() {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	return topics
}

// Processor returns the processor, for progress reports.
func (s *Service) Processor() *Processor { return s.processor }

// Resumed reports whether the service started from a checkpoint.
func (s *Service) Resumed() bool { return s.resumed }

// Registry returns the Prometheus registry of the service's metrics.
func (s *Service) Registry() *prometheus.Registry { return s.registry }

// Listen opens the HTTP listener of /metrics, /healthz and /readyz; Run
// serves it. Calling Listen first lets a caller learn the address of ":0".
func (s *Service) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on http.listen %s: %w", s.cfg.HTTP.Listen, err)
	}
	s.listener = ln
	return ln.Addr(), nil
}

// Run consumes and processes until ctx ends, then stops the consumers,
// writes and checkpoints what was already consumed, flushes and returns
// within processor.shutdown_timeout. It returns nil after a clean stop.
func (s *Service) Run(ctx context.Context) error {
	if s.listener == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	server := &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 5 * time.Second}

	group, gctx := errgroup.WithContext(ctx)
	procCtx, stopProcessor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProcessor()

	group.Go(func() error {
		if err := server.Serve(s.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTP: %w", err)
		}
		return nil
	})
	group.Go(func() error {
		err := s.processor.Run(procCtx)
		if errors.Is(err, context.Canceled) && procCtx.Err() != nil {
			return nil
		}
		return err
	})
	group.Go(func() error { return s.router.Run(gctx) })
	group.Go(func() error {
		s.tracer.trackLogEnds(gctx, s.topicNames())
		return nil
	})
	group.Go(func() error {
		<-gctx.Done()
		return s.shutdown(server, stopProcessor)
	})
	return group.Wait()
}

func (s *Service) shutdown(server *http.Server, stopProcessor context.CancelFunc) error {
	s.logger.Info("stopping: closing consumers", "timeout", s.cfg.Processor.ShutdownTimeout)
	deadline, cancel := context.WithTimeout(context.Background(), s.cfg.Processor.ShutdownTimeout)
	defer cancel()

	if err := s.router.Close(); err != nil {
		s.logger.Warn("router close", "error", err)
	}
	stopProcessor()
	select {
	case <-s.processor.Done():
	case <-deadline.Done():
	}

	err := s.processor.Drain(deadline)
	if err != nil {
		s.logger.Error("final write or checkpoint failed; a restart resumes from the last checkpoint", "error", err)
	} else {
		s.logger.Info("stopped cleanly", "checkpoint_dir", s.ckpt.Dir())
	}
	_ = server.Shutdown(deadline)
	return err
}

// Close releases the stores and the Kafka client. Calls after the first do
// nothing.
func (s *Service) Close() {
	s.closeOnce.Do(s.close)
}

func (s *Service) close() {
	if s.processor != nil {
		s.processor.stopWriter()
	}
	if s.admin != nil {
		_ = s.admin.Close()
	}
	if s.vault != nil {
		s.vault.Close()
	}
	if s.reports != nil {
		s.reports.Close()
	}
	if s.ckpt != nil {
		if err := s.ckpt.Close(); err != nil {
			s.logger.Error("closing state directory", "dir", s.ckpt.Dir(), "error", err)
		}
	}
}

func (s *Service) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.status())
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		problems := s.health.Problems()
		if s.router == nil || !s.router.IsRunning() {
			problems = append(problems, "router: not running")
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Status is the JSON document served on /status.
type Status struct {
	Stored      map[string]int64 `json:"stored"`
	Late        int64            `json:"late_events"`
	Lag         int64            `json:"lag"`
	Buffered    int              `json:"buffered"`
	Partitions  int              `json:"partitions"`
	OpenWindows int              `json:"open_windows"`
	Pending     int              `json:"pending_flush"`
	Watermark   time.Time        `json:"watermark"`
	LastCommit  time.Time        `json:"last_commit"`
	Drained     bool             `json:"drained"`
	Problems    []string         `json:"problems"`
}

func (s *Service) status() Status {
	p := s.processor.Progress()
	stored := make(map[string]int64, len(p.Stored))
	for k, v := range p.Stored {
		stored[string(k)] = v
	}
	return Status{
		Stored: stored, Late: p.Late, Lag: p.Lag, Buffered: p.Buffered, Partitions: p.Partitions,
		OpenWindows: p.OpenWindows, Pending: p.PendingFlush, Watermark: p.Watermark, LastCommit: p.LastCommit,
		Drained: p.Drained(), Problems: s.health.Problems(),
	}
}
