package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// MaxLineBytes is the longest NDJSON line, without its line feed, that
// PublishReader and PublishFiles accept.
//
// NOTE: kgo v1.22.3 fails a record larger than its ProducerBatchMaxBytes,
// 1,000,012 bytes by default, with MessageTooLarge. Lines between about
// 1,000,000 bytes and MaxLineBytes therefore fail in Publish unless
// ClientOptions raise that limit and the topic's max.message.bytes allows it.
const MaxLineBytes = 1 << 20

// progressInterval is the time between two calls of PublishConfig.Progress.
const progressInterval = 500 * time.Millisecond

// Defaults of PublishConfig.
const (
	DefaultLinger             = 5 * time.Millisecond
	DefaultMaxBufferedRecords = 10_000
	DefaultMaxBufferedBytes   = 64 << 20
)

// PublishConfig configures a Publisher.
type PublishConfig struct {
	// Brokers are the seed brokers, as host:port.
	Brokers []string
	// Topics maps an event type ("auth", "spin", "purchase") to its topic.
	// It is used only when MixedTopic is empty.
	Topics map[string]string
	// MixedTopic, when set, receives every line whatever its type. It must be
	// set when Topics is empty.
	MixedTopic string
	// FallbackTopic receives the lines whose type cannot be read or has no
	// entry in Topics, when MixedTopic is empty. It defaults to Topics["spin"].
	FallbackTopic string
	// Progress, when set, is called with the number of records acknowledged
	// so far in the running Publish call, every 500 ms from a separate
	// goroutine. It is not called after Publish returns.
	Progress func(published int64)
	// Linger is how long the client waits to fill a batch before sending it.
	// Zero means DefaultLinger.
	Linger time.Duration
	// MaxBufferedRecords and MaxBufferedBytes bound the records handed to
	// the client and not yet acknowledged. Publish blocks while either bound
	// is reached. Zero means DefaultMaxBufferedRecords and
	// DefaultMaxBufferedBytes.
	MaxBufferedRecords int
	MaxBufferedBytes   int
	// ClientOptions are appended to the options of the Kafka client, for
	// example for TLS or SASL. They can override the options above.
	ClientOptions []kgo.Opt
}

func (cfg *PublishConfig) setDefaults() {
	if cfg.FallbackTopic == "" && cfg.MixedTopic == "" {
		cfg.FallbackTopic = cfg.Topics["spin"]
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.MaxBufferedRecords == 0 {
		cfg.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if cfg.MaxBufferedBytes == 0 {
		cfg.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
}

// Validate returns an error naming the first invalid field of cfg.
func (cfg PublishConfig) Validate() error {
	if len(cfg.Brokers) == 0 {
		return errors.New("invalid publish config: Brokers is empty, want at least one host:port")
	}
	if cfg.MixedTopic == "" {
		if len(cfg.Topics) == 0 {
			return errors.New("invalid publish config: set MixedTopic or Topics")
		}
		for typ, topic := range cfg.Topics {
			if topic == "" {
				return fmt.Errorf("invalid publish config: Topics[%q] is empty", typ)
			}
		}
		if cfg.FallbackTopic == "" && cfg.Topics["spin"] == "" {
			return errors.New(`invalid publish config: FallbackTopic is empty and Topics has no "spin" entry to default to`)
		}
	}
	if cfg.Linger < 0 {
		return fmt.Errorf("invalid publish config: Linger is %v, must not be negative", cfg.Linger)
	}
	if cfg.MaxBufferedRecords < 0 {
		return fmt.Errorf("invalid publish config: MaxBufferedRecords is %d, must not be negative", cfg.MaxBufferedRecords)
	}
	if cfg.MaxBufferedBytes < 0 {
		return fmt.Errorf("invalid publish config: MaxBufferedBytes is %d, must not be negative", cfg.MaxBufferedBytes)
	}
	return nil
}

// Publisher sends NDJSON lines to Kafka, one record per line, with the
// line's uid as the record key and the line unchanged as the value.
//
// Routing: with MixedTopic set, every line goes to MixedTopic. Otherwise a
// line goes to the topic of its "type" in Topics, and a line whose type
// cannot be read or is not in Topics goes to FallbackTopic. A line whose uid
// cannot be read is published without a key. Publisher sends every line
// unchanged, whatever its content, so bad input reaches the processor, which
// sends it to its dead-letter topic. Only PublishReader and PublishFiles drop
// anything: blank lines and line ends. Publisher reads only the top-level
// "type" and "uid" string members and does not validate the rest of the line.
//
// Ordering: records are keyed by uid and partitioned by kgo's default
// partitioner, which hashes keys with murmur2 as the Java client does, so
// all lines of one uid in one topic land on one partition. The client
// produces idempotently, so those lines keep their input order when they
// succeed, retries included.
//
// Publish, PublishReader, PublishFiles and PublishGenerated may be called
// from several goroutines, but run one at a time.
type Publisher struct {
	client   *kgo.Client
	mixed    string
	topics   map[string]string
	fallback string
	progress func(published int64)

	mu sync.Mutex
}

// NewPublisher validates cfg and creates a Publisher. The Kafka client
// connects lazily, so NewPublisher succeeds even when no broker is reachable,
// and Publish then retries until ctx ends.
func NewPublisher(cfg PublishConfig) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()

	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ProducerLinger(cfg.Linger),
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords),
		kgo.MaxBufferedBytes(cfg.MaxBufferedBytes),
	}
	opts = append(opts, cfg.ClientOptions...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create Kafka client for brokers %v: %w", cfg.Brokers, err)
	}

	return &Publisher{
		client:   client,
		mixed:    cfg.MixedTopic,
		topics:   maps.Clone(cfg.Topics),
		fallback: cfg.FallbackTopic,
		progress: cfg.Progress,
	}, nil
}

// Close closes the Kafka client. Records still buffered from an interrupted
// Publish call are failed.
func (p *Publisher) Close() {
	p.client.Close()
}

// Publish sends every line that lines yields, including empty ones, and
// waits until each record is acknowledged. Publish copies each line, so the
// iterator may reuse its buffer after yield returns.
//
// Publish returns the number of records the brokers acknowledged and the
// first produce error. After a produce error it stops reading lines and
// waits for the records already handed to the client. When ctx ends, Publish
// returns ctx's error. Records that were already sent may still be written
// then, and the client fails the rest.
func (p *Publisher) Publish(ctx context.Context, lines iter.Seq[[]byte]) (int64, error) {
	return p.run(ctx, func(send func([]byte) bool) error {
		for line := range lines {
			if !send(line) {
				break
			}
		}
		return nil
	})
}

// PublishReader sends the NDJSON lines of r as Publish does. It strips line
// feeds and carriage returns, skips lines that are empty or only white
// space, and fails on a line longer than MaxLineBytes.
func (p *Publisher) PublishReader(ctx context.Context, r io.Reader) (int64, error) {
	return p.run(ctx, func(send func([]byte) bool) error {
		return scanLines(r, "input", send)
	})
}

// PublishFiles sends the NDJSON lines of each file in turn, as PublishReader
// does.
func (p *Publisher) PublishFiles(ctx context.Context, paths ...string) (int64, error) {
	return p.run(ctx, func(send func([]byte) bool) error {
		for _, path := range paths {
			if err := publishFile(path, send); err != nil {
				return err
			}
		}
		return nil
	})
}

// PublishGenerated sends the lines that Generate generates for cfg, as
// Publish does.
func (p *Publisher) PublishGenerated(ctx context.Context, cfg GeneratorConfig) (int64, error) {
	return p.run(ctx, func(send func([]byte) bool) error {
		err := Generate(cfg, func(line []byte) error {
			if !send(line) {
				return errSendStopped
			}
			return nil
		})
		if errors.Is(err, errSendStopped) {
			return nil
		}
		return err
	})
}

// errSendStopped ends a line source early. run reports the reason.
var errSendStopped = errors.New("publishing stopped")

func publishFile(path string, send func([]byte) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open NDJSON file: %w", err)
	}
	defer f.Close()
	return scanLines(f, path, send)
}

// scanLines passes each non-blank line of r to send until send returns
// false. name identifies r in errors.
func scanLines(r io.Reader, name string, send func([]byte) bool) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+1)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := scanner.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !send(line) {
			return nil
		}
	}
	if err := scanner.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read %s: line %d is longer than %d bytes", name, lineNumber+1, MaxLineBytes)
		}
		return fmt.Errorf("read %s after line %d: %w", name, lineNumber, err)
	}
	return nil
}

// run produces every line that source passes to send, then flushes. send
// returns false once publishing must stop: after a produce error or when ctx
// ends.
func (p *Publisher) run(ctx context.Context, source func(send func([]byte) bool) error) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	// produceCtx ends on the first produce error, which unblocks a Produce
	// call waiting for buffer space and fails records not yet sent.
	produceCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		acked    atomic.Int64
		errMu    sync.Mutex
		firstErr error
	)
	promise := func(_ *kgo.Record, err error) {
		if err == nil {
			acked.Add(1)
			return
		}
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		errMu.Unlock()
	}

	stopProgress := p.reportProgress(&acked)
	defer stopProgress()

	var records recordArena
	send := func(line []byte) bool {
		if produceCtx.Err() != nil {
			return false
		}
		p.client.Produce(produceCtx, p.record(&records, line), promise)
		return true
	}
	sourceErr := source(send)

	// Flush waits on ctx, not produceCtx, so a produce error still lets the
	// records in flight finish.
	flushErr := p.client.Flush(ctx)
	stopProgress()

	errMu.Lock()
	produceErr := firstErr
	errMu.Unlock()

	switch {
	case sourceErr != nil:
		return acked.Load(), sourceErr
	case ctx.Err() != nil:
		return acked.Load(), ctx.Err()
	case flushErr != nil:
		return acked.Load(), fmt.Errorf("flush records: %w", flushErr)
	case produceErr != nil:
		return acked.Load(), fmt.Errorf("produce record: %w", produceErr)
	}
	return acked.Load(), nil
}

// reportProgress calls p.progress every progressInterval until the returned
// function is called. That function waits for a running call to finish and
// may be called more than once.
func (p *Publisher) reportProgress(acked *atomic.Int64) (stop func()) {
	if p.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				p.progress(acked.Load())
			}
		}
	}()

	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// record builds the record for one line, with the line copied into arena.
func (p *Publisher) record(arena *recordArena, line []byte) *kgo.Record {
	value := arena.copyLine(line)
	typ, uid := readRouting(value)

	rec := arena.newRecord()
	rec.Value = value
	if len(uid) > 0 {
		rec.Key = uid
	}
	switch {
	case p.mixed != "":
		rec.Topic = p.mixed
	default:
		rec.Topic = p.topics[string(typ)]
		if rec.Topic == "" {
			rec.Topic = p.fallback
		}
	}
	return rec
}

// recordArena allocates records and line copies in chunks, so publishing
// does not allocate once per line. The client holds each record until it is
// acknowledged, and a chunk is never reused, so records stay valid for as
// long as the client or a promise refers to them.
type recordArena struct {
	records []kgo.Record
	bytes   []byte
}

const (
	arenaRecords = 1024
	arenaBytes   = 256 << 10
)

func (a *recordArena) newRecord() *kgo.Record {
	if len(a.records) == 0 {
		a.records = make([]kgo.Record, arenaRecords)
	}
	rec := &a.records[0]
	a.records = a.records[1:]
	return rec
}

// copyLine returns a copy of line whose capacity equals its length, so no
// append through it can reach the next copy.
func (a *recordArena) copyLine(line []byte) []byte {
	if len(line) > arenaBytes/8 {
		return bytes.Clone(line)
	}
	if len(a.bytes) < len(line) {
		a.bytes = make([]byte, arenaBytes)
	}
	dst := a.bytes[:len(line):len(line)]
	copy(dst, line)
	a.bytes = a.bytes[len(line):]
	return dst
}
