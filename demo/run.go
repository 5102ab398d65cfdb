package demo

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/loadgen"
	"github.com/gamestream/gamestream/reconcile"
	"github.com/gamestream/gamestream/router"
	"github.com/gamestream/gamestream/windows"
)

// DatabaseName is the database the demo recreates on both servers.
const DatabaseName = "gamestream_demo"

// SharedDataFiles returns the NDJSON files of the real game data when the
// folder dir holds them.
func SharedDataFiles(dir string) []string {
	names := []string{"bustabit-auth.ndjson", "bustabit-spins.ndjson", "floodit-purchases.ndjson"}
	var files []string
	for _, n := range names {
		if p := filepath.Join(dir, n); fileExists(p) {
			files = append(files, p)
		}
	}
	if len(files) != len(names) {
		return nil
	}
	return files
}

// Run recreates the demo databases, starts a broker and the processor,
// publishes the input, waits until it is drained and every window is final,
// stops the processor cleanly and returns the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	out := cfg.Out
	base := *cfg.Base
	database := cmp.Or(cfg.Database, DatabaseName)
	pgDSN, myDSN, err := RecreateDatabases(ctx, base.Postgres.DSN, base.MySQL.DSN, database)
	if err != nil {
		return nil, err
	}
	base.Postgres.DSN, base.MySQL.DSN = pgDSN, myDSN

	stateDir, err := os.MkdirTemp("", "gamestream-demo-state-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stateDir)
	base.State.Dir = stateDir

	topics := inputTopics(&base)
	broker, err := StartBroker(cfg.Partitions, append(topics, base.Kafka.DeadLetterTopic)...)
	if err != nil {
		return nil, err
	}
	defer broker.Close()
	base.Kafka.Brokers = broker.Addrs
	fmt.Fprintf(out, "broker: in-process kfake on %s, %d partitions per topic\n", broker.Addrs[0], cfg.Partitions)
	fmt.Fprintf(out, "databases: %s and %s (recreated)\n", redactPostgres(pgDSN), myDSN)

	svc, err := router.NewService(ctx, &base, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	addr, err := svc.Listen()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "metrics: http://%s/metrics\n", addr)

	start := time.Now()
	stop := RunService(ctx, svc)
	stopped := false
	defer func() {
		if !stopped {
			_ = stop()
		}
	}()

	published, err := publish(ctx, cfg, &base, start, svc.Processor())
	if err != nil {
		return nil, err
	}
	publishedAt := time.Since(start)

	ends, err := EndOffsets(ctx, base.Kafka.Brokers, topics...)
	if err != nil {
		return nil, err
	}
	err = WaitDrained(ctx, svc.Processor(), ends, 2*time.Second, func(p router.Progress) {
		progressLine(out, start, published, p)
	})
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	stopped = true
	if err := stop(); err != nil {
		return nil, fmt.Errorf("stopping the processor: %w", err)
	}
	svc.Close() // releases the state directory for the replay

	sum, err := Summarize(ctx, pgDSN, myDSN)
	if err != nil {
		return nil, err
	}
	specs, err := windows.ValidateSpecs(base.Windows)
	if err != nil {
		return nil, err
	}
	check, err := reconcile.Run(ctx, reconcile.Config{PostgresDSN: pgDSN, MySQLDSN: myDSN, Specs: specs})
	if err != nil {
		return nil, fmt.Errorf("reconciling MySQL with the vault: %w", err)
	}
	sum.Reconcile = check
	sum.ReportingCurrency = base.Events.ReportingCurrency
	if cfg.Replay {
		fmt.Fprintln(out, "\nreplaying the log from its start with `gamestream replay`")
		if sum.Replay, err = replayAndCompare(ctx, &base, specs, cfg.Logger, out); err != nil {
			return nil, err
		}
	}
	dlq, err := EndOffsets(ctx, base.Kafka.Brokers, base.Kafka.DeadLetterTopic)
	if err != nil {
		return nil, err
	}
	for _, n := range dlq {
		sum.DeadLettered += n
	}
	sum.Published = published
	sum.PublishTime = publishedAt
	sum.Elapsed = elapsed
	sum.PostgresDSN, sum.MySQLDSN = redactPostgres(pgDSN), myDSN
	return sum, nil
}

func inputTopics(cfg *configs.Config) []string {
	var topics []string
	for topic := range cfg.Topics() {
		topics = append(topics, topic)
	}
	return topics
}

func publish(ctx context.Context, cfg Config, base *configs.Config, start time.Time, p *router.Processor) (int64, error) {
	var published atomic.Int64
	lastLine := time.Now()
	pub, err := loadgen.NewPublisher(loadgen.PublishConfig{
		Brokers: base.Kafka.Brokers,
		Topics:  base.Kafka.Topics,
		MixedTopic: func() string {
			if len(base.Kafka.MixedTopics) > 0 {
				return base.Kafka.MixedTopics[0]
			}
			return ""
		}(),
		Progress: func(n int64) {
			published.Store(n)
			if time.Since(lastLine) >= 2*time.Second {
				progressLine(cfg.Out, start, n, p.Progress())
				lastLine = time.Now()
			}
		},
	})
	if err != nil {
		return 0, err
	}
	defer pub.Close()

	if len(cfg.Files) > 0 {
		fmt.Fprintf(cfg.Out, "publishing %s\n", strings.Join(cfg.Files, ", "))
		return pub.PublishFiles(ctx, cfg.Files...)
	}
	fmt.Fprintf(cfg.Out, "publishing %d generated events (seed %d)\n", cfg.Generator.Events, cfg.Generator.Seed)
	return pub.Publish(ctx, func(yield func([]byte) bool) {
		_ = loadgen.Generate(cfg.Generator, func(line []byte) error {
			if !yield(line) {
				return context.Canceled
			}
			return nil
		})
	})
}
