// Package demo runs the whole pipeline on one machine: an in-process
// Kafka-protocol broker (kfake) on loopback, the local PostgreSQL and MySQL
// servers, the processor, and a publisher of NDJSON files or generated load.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/loadgen"
	"github.com/gamestream/gamestream/router"
	"github.com/gamestream/gamestream/windows"
)

// Config configures a demo run.
type Config struct {
	// Files are NDJSON files of events; when empty, Generator makes the input.
	Files     []string
	Generator loadgen.GeneratorConfig
	// Partitions is the partition count of each input topic.
	Partitions int32
	// Base is the processor configuration; the demo replaces its brokers.
	Base *configs.Config
	// Out receives progress lines and the summary.
	Out    io.Writer
	Logger *slog.Logger
	// Replay runs a replay from the log start after the first pass and
	// compares MySQL before and after it.
	Replay bool
	// Database is the database that Run recreates on both servers;
	// empty means DatabaseName.
	Database string
}

// Broker is an in-process Kafka-protocol broker on loopback.
type Broker struct {
	cluster *kfake.Cluster
	Addrs   []string
}

// StartBroker starts a kfake broker on 127.0.0.1 with the topics created.
// A group member may use session timeouts down to one second.
func StartBroker(partitions int32, topics ...string) (*Broker, error) {
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(int(partitions)),
		kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.AllowAutoTopicCreation(),
	)
	if err != nil {
		return nil, fmt.Errorf("starting in-process Kafka broker: %w", err)
	}
	return &Broker{cluster: cluster, Addrs: cluster.ListenAddrs()}, nil
}

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }

// EndOffsets returns the end offset of every partition of the topics.
func EndOffsets(ctx context.Context, brokers []string, topics ...string) (map[windows.PartitionKey]int64, error) {
	client, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ends, err := kadm.NewClient(client).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	out := make(map[windows.PartitionKey]int64)
	var firstErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("end offset of %s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		out[windows.PartitionKey{Topic: o.Topic, Partition: o.Partition}] = o.Offset
	})
	return out, firstErr
}

// WaitDrained blocks until the processor has folded every partition up to
// ends, nothing is buffered and every window is final and flushed. report,
// when not nil, is called about every interval with the latest progress.
func WaitDrained(ctx context.Context, p *router.Processor, ends map[windows.PartitionKey]int64, interval time.Duration, report func(router.Progress)) error {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	lastReport := time.Now()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the input to drain: %w", ctx.Err())
		case <-ticker.C:
		}
		prog := p.Progress()
		if report != nil && time.Since(lastReport) >= interval {
			report(prog)
			lastReport = time.Now()
		}
		if prog.Drained() && covers(prog.Folded, ends) {
			return nil
		}
	}
}

func covers(folded, ends map[windows.PartitionKey]int64) bool {
	for k, end := range ends {
		if end > 0 && folded[k] < end {
			return false
		}
	}
	return true
}

// RunService starts svc in a goroutine and returns a function that stops it
// and returns the error of its Run.
func RunService(ctx context.Context, svc *router.Service) (stop func() error) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	return func() error {
		cancel()
		err := <-done
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

func progressLine(out io.Writer, start time.Time, published int64, prog router.Progress) {
	var stored int64
	for _, n := range prog.Stored {
		stored += n
	}
	elapsed := time.Since(start).Seconds()
	fmt.Fprintf(out, "  %5.1fs  published %d  stored %d  lag %d  buffered %d  open windows %d  watermark %s\n",
		elapsed, published, stored, prog.Lag, prog.Buffered, prog.OpenWindows, formatTime(prog.Watermark))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
