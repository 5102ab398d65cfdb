package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/state"
	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// tickInterval is how often the processor advances the watermark, fires
// windows and checks whether a batch or a commit is due.
const tickInterval = 100 * time.Millisecond

// ProcessorConfig configures batching and commits.
type ProcessorConfig struct {
	Group                   string
	BufferSize              int
	BatchSize               int
	BatchTimeout            time.Duration
	CommitInterval          time.Duration
	CheckpointMaxDirtyUsers int
	// VaultOffsets are the next offsets recorded in PostgreSQL. A partition
	// in the checkpoint starts at the lower of its offset there and here:
	// records below the checkpoint's offset are stored again but not folded
	// again. A partition missing from the checkpoint starts at the log start,
	// and so does a checkpointed partition missing here, whose rows the vault
	// lost. Nil means the vault's offsets are unknown and not used.
	VaultOffsets map[windows.PartitionKey]int64
}

// Processor is the single writer of the pipeline. Handlers Submit records in
// partition order and return, so the records are acknowledged to Kafka at
// once. The offsets that count are the processor's own. It writes records in batches to PostgreSQL,
// with the next offset of every partition in the same transaction, then folds
// the events that the vault stored from exactly their Kafka position into the
// state. Every commit interval it checkpoints the state with its offsets to
// Badger and then writes changed profiles and fired windows to MySQL, so MySQL
// never shows state that a restart could lose.
//
// On restart the consumer seeks every partition to the checkpointed offset.
// Records re-read after it are inserted idempotently. An event is folded only
// when the vault's row for its msg_id was read from the same topic, partition
// and offset. So re-reads and producer duplicates are never counted twice,
// and the first stored copy wins.
type Processor struct {
	cfg      ProcessorConfig
	in       chan handlers.Record
	vault    *postgres.Vault
	reports  *mysql.Reports
	ckpt     *state.Checkpointer
	st       *state.State
	specs    []windows.Spec
	metrics  *Metrics
	health   *Health
	logger   *slog.Logger
	now      func() time.Time
	progress atomic.Pointer[Progress]
	done     chan struct{}

	// The batch writer: one batch queued and one being written at a time.
	jobs            chan writeJob
	results         chan writeResult
	inflight        int
	inflightRecords int
	inflightLoads   []time.Time
	writerCtx       context.Context
	stopWriter      context.CancelFunc

	// mu guards the fields below, which sarama's goroutines read and write.
	mu        sync.Mutex
	accepted  map[windows.PartitionKey]int64
	submitted map[windows.PartitionKey]int64
	hwm       map[windows.PartitionKey]int64
	assigned  map[windows.PartitionKey]bool
	added     []windows.PartitionKey

	batch        []handlers.Record
	batchStarted time.Time
	lastCommit   time.Time
	nearEndSince time.Time
	commitRetry  retryClock
	stored       map[handlers.Kind]int64
	duplicates   int64
	late         int64
}

// Progress is a snapshot of the processor for progress reports and for
// deciding that the input is drained.
type Progress struct {
	Stored       map[handlers.Kind]int64
	Duplicates   int64
	Folded       map[windows.PartitionKey]int64
	Late         int64
	Lag          int64
	Buffered     int
	Partitions   int
	OpenWindows  int
	PendingFlush int
	Watermark    time.Time
	LastCommit   time.Time
	Rebuilding   bool
}

// CaughtUp reports whether every assigned partition is folded up to its end,
// nothing waits in memory and every change is written to MySQL; windows may
// still be open.
func (p Progress) CaughtUp() bool {
	return p.Partitions > 0 && p.Lag == 0 && p.Buffered == 0 && p.PendingFlush == 0 && !p.Rebuilding
}

// Drained reports whether every assigned partition is folded up to its end,
// nothing waits in memory and every window has fired final.
func (p Progress) Drained() bool {
	return p.Partitions > 0 && p.Lag == 0 && p.Buffered == 0 && p.OpenWindows == 0 && p.PendingFlush == 0
}

// NewProcessor returns a processor that continues from st, which was loaded
// from ckpt.
func NewProcessor(cfg ProcessorConfig, vault *postgres.Vault, reports *mysql.Reports, ckpt *state.Checkpointer,
	st *state.State, specs []windows.Spec, m *Metrics, health *Health, logger *slog.Logger) *Processor {
	p := &Processor{
		cfg:       cfg,
		in:        make(chan handlers.Record, cfg.BufferSize),
		jobs:      make(chan writeJob, 1),
		results:   make(chan writeResult, 2),
		vault:     vault,
		reports:   reports,
		ckpt:      ckpt,
		st:        st,
		specs:     specs,
		metrics:   m,
		health:    health,
		logger:    logger,
		now:       time.Now,
		done:      make(chan struct{}),
		accepted:  make(map[windows.PartitionKey]int64),
		submitted: make(map[windows.PartitionKey]int64),
		hwm:       make(map[windows.PartitionKey]int64),
		assigned:  make(map[windows.PartitionKey]bool),
		stored:    make(map[handlers.Kind]int64),
	}
	for k, next := range st.Offsets {
		p.accepted[k] = next
	}
	if cfg.VaultOffsets != nil {
		for k, folded := range p.accepted {
			if stored, ok := cfg.VaultOffsets[k]; !ok {
				p.accepted[k] = 0 // the vault lost this partition's rows: store them again
			} else if stored < folded {
				p.accepted[k] = stored
			}
		}
	}
	p.writerCtx, p.stopWriter = context.WithCancel(context.Background())
	p.progress.Store(&Progress{})
	return p
}

// Submit hands one record to the processor; it blocks while the buffer is
// full. It implements handlers.Sink.
//
// The next offset after r becomes the partition's start after a rebalance:
// a record handed over is processed by this process, so reading it again
// would only publish an invalid record to the dead-letter topic twice.
func (p *Processor) Submit(ctx context.Context, r handlers.Record) error {
	select {
	case p.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	key := windows.PartitionKey{Topic: r.Source.Topic, Partition: r.Source.Partition}
	p.mu.Lock()
	if r.Source.Offset+1 > p.submitted[key] {
		p.submitted[key] = r.Source.Offset + 1
	}
	p.mu.Unlock()
	return nil
}

// Done returns a channel that is closed when Run has returned.
func (p *Processor) Done() <-chan struct{} { return p.done }

// Progress returns the latest snapshot, updated every tick.
func (p *Processor) Progress() Progress { return *p.progress.Load() }

// Run processes records until ctx is cancelled, then returns ctx's error.
// Call Drain afterwards to finish the records already acknowledged.
func (p *Processor) Run(ctx context.Context) error {
	defer close(p.done)
	go p.writeLoop()
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	p.lastCommit = p.now()

	for {
		select {
		case r := <-p.in:
			p.accept(r)
			if len(p.batch) >= p.cfg.BatchSize {
				if err := p.dispatch(ctx); err != nil {
					return err
				}
			}
		case res := <-p.results:
			p.apply(res)
		case <-ticker.C:
			if err := p.tick(ctx, false); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Drain writes every record still buffered, waits for the batches in
// flight, then checkpoints and flushes, retrying failed writes until ctx
// ends. The caller stops the consumers first, so no record arrives during
// Drain. The batch writer stops when Drain returns.
func (p *Processor) Drain(ctx context.Context) error {
	defer p.stopWriter()
	for {
		select {
		case r := <-p.in:
			p.accept(r)
			if len(p.batch) >= p.cfg.BatchSize {
				if err := p.dispatch(ctx); err != nil {
					return err
				}
			}
			continue
		default:
		}
		break
	}
	if err := p.dispatch(ctx); err != nil {
		return err
	}
	for p.inflight > 0 {
		select {
		case res := <-p.results:
			p.apply(res)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d batches to be written to PostgreSQL: %w", p.inflight, ctx.Err())
		}
	}
	return p.tick(ctx, true)
}

// accept adds r to the current batch unless its offset was accepted before:
// after a rebalance the consumer re-reads from the last accepted offset, and
// records already buffered must not be written and folded twice.
func (p *Processor) accept(r handlers.Record) {
	key := windows.PartitionKey{Topic: r.Source.Topic, Partition: r.Source.Partition}
	p.mu.Lock()
	next, seen := p.accepted[key]
	if seen && r.Source.Offset < next {
		p.mu.Unlock()
		return
	}
	p.accepted[key] = r.Source.Offset + 1
	p.mu.Unlock()

	if len(p.batch) == 0 {
		p.batchStarted = p.now()
	}
	p.batch = append(p.batch, r)
}

func (p *Processor) tick(ctx context.Context, force bool) error {
	now := p.now()
	if len(p.batch) > 0 && now.Sub(p.batchStarted) >= p.cfg.BatchTimeout {
		if err := p.dispatch(ctx); err != nil {
			return err
		}
	}

	p.applyAssignments()
	p.updateLag()
	watermark := p.st.Watermarks.Advance(now)
	for _, e := range p.st.Windows.Advance(watermark, now) {
		p.st.Queue(e)
	}
	if force {
		// The last flush before shutdown carries every change, so MySQL
		// matches the checkpoint even for windows within their emit interval.
		for _, e := range p.st.Windows.EmitChanged(now) {
			p.st.Queue(e)
		}
	}

	due := now.Sub(p.lastCommit) >= p.cfg.CommitInterval ||
		p.st.DirtyForCheckpoint() >= p.cfg.CheckpointMaxDirtyUsers
	if force || (due && p.commitRetry.ready(now)) {
		if err := p.commit(ctx, force); err != nil {
			return err
		}
	}
	p.publishProgress(watermark)
	return nil
}

// dispatch hands the current batch to the batch writer. While the writer's
// queue is full it applies finished batches, so the two never wait on each
// other.
func (p *Processor) dispatch(ctx context.Context) error {
	if len(p.batch) == 0 {
		return nil
	}
	records, next := p.batchRecords()
	job := writeJob{records: records, next: next, size: len(p.batch), loadTime: p.now().UTC().Truncate(time.Microsecond)}
	for {
		select {
		case p.jobs <- job:
			p.inflight++
			p.inflightRecords += job.size
			p.inflightLoads = append(p.inflightLoads, job.loadTime)
			p.batch = make([]handlers.Record, 0, p.cfg.BatchSize)
			return nil
		case res := <-p.results:
			p.apply(res)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// apply folds the events of a written batch and advances the offsets.
func (p *Processor) apply(res writeResult) {
	p.inflight--
	p.inflightRecords -= res.job.size
	p.inflightLoads = p.inflightLoads[1:]
	p.fold(res.job.records, res.stored, res.inserted)
	for tp, n := range res.job.next {
		p.st.Advance(windows.PartitionKey{Topic: tp.Topic, Partition: tp.Partition}, n)
	}
}

func (p *Processor) batchRecords() ([]postgres.Record, map[postgres.TopicPartition]int64) {
	records := make([]postgres.Record, 0, len(p.batch))
	next := make(map[postgres.TopicPartition]int64)
	for _, r := range p.batch {
		tp := postgres.TopicPartition{Topic: r.Source.Topic, Partition: r.Source.Partition}
		if r.Source.Offset+1 > next[tp] {
			next[tp] = r.Source.Offset + 1
		}
		if r.Event != nil {
			records = append(records, postgres.Record{Event: *r.Event, Source: r.Source})
		}
	}
	return records, next
}

func (p *Processor) fold(records []postgres.Record, stored []bool, inserted map[handlers.Kind]int) {
	p.applyAssignments()
	now := p.now()
	for i := range records {
		r := &records[i]
		if !stored[i] {
			p.metrics.duplicates.WithLabelValues(string(r.Event.Kind)).Inc()
			p.duplicates++
			continue
		}
		key := windows.PartitionKey{Topic: r.Source.Topic, Partition: r.Source.Partition}
		if r.Source.Offset < p.st.Offsets[key] {
			continue // already in the checkpointed state
		}
		for _, name := range p.st.Fold(&r.Event, r.Source, now) {
			p.metrics.late.WithLabelValues(name).Inc()
			p.late++
		}
	}
	for kind, n := range inserted {
		p.metrics.stored.WithLabelValues(string(kind)).Add(float64(n))
		p.stored[kind] += int64(n)
	}
}

func (p *Processor) updateLag() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key := range p.assigned {
		lag := p.hwm[key] - p.st.Offsets[key]
		if lag < 0 {
			lag = 0
		}
		p.st.Watermarks.SetLag(key, lag)
		p.metrics.lag.WithLabelValues(key.Topic, fmt.Sprint(key.Partition)).Set(float64(lag))
	}
}

func (p *Processor) publishProgress(watermark time.Time) {
	p.mu.Lock()
	var lag int64
	for key := range p.assigned {
		if l := p.hwm[key] - p.st.Offsets[key]; l > 0 {
			lag += l
		}
	}
	partitions := len(p.assigned)
	p.mu.Unlock()

	stored := make(map[handlers.Kind]int64, len(p.stored))
	for k, v := range p.stored {
		stored[k] = v
	}
	open := p.st.Windows.OpenWindows()
	p.metrics.openWindows.Set(float64(open))
	buffered := len(p.in) + len(p.batch) + p.inflightRecords
	p.metrics.bufferedItems.Set(float64(buffered))
	if !watermark.IsZero() {
		p.metrics.watermark.Set(float64(watermark.UnixMilli()) / 1000)
		p.metrics.watermarkLag.Set(p.now().Sub(watermark).Seconds())
	}
	folded := make(map[windows.PartitionKey]int64, len(p.st.Offsets))
	for k, v := range p.st.Offsets {
		folded[k] = v
	}
	p.progress.Store(&Progress{
		Stored:       stored,
		Duplicates:   p.duplicates,
		Folded:       folded,
		Late:         p.late,
		Lag:          lag,
		Buffered:     buffered,
		Partitions:   partitions,
		OpenWindows:  open,
		PendingFlush: p.st.PendingFlush(),
		Watermark:    watermark,
		LastCommit:   p.lastCommit,
		Rebuilding:   p.st.Rebuilding,
	})
}

func newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	return b
}

// retryClock spaces out attempts of an operation that failed, with capped
// exponential backoff, without blocking the caller in between.
type retryClock struct {
	b    *backoff.ExponentialBackOff
	next time.Time
}

func (r *retryClock) ready(now time.Time) bool { return !now.Before(r.next) }

func (r *retryClock) failed(now time.Time) {
	if r.b == nil {
		r.b = newBackoff()
	}
	r.next = now.Add(r.b.NextBackOff())
}

func (r *retryClock) succeeded() {
	if r.b != nil {
		r.b.Reset()
	}
	r.next = time.Time{}
}

// position returns the next offset the processor expects from the partition:
// the one after the last record handed to it.
func (p *Processor) position(key windows.PartitionKey) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next, ok := p.accepted[key]
	if submitted, handed := p.submitted[key]; handed && submitted > next {
		return submitted, true
	}
	return next, ok
}

// assign records partitions of the input topics and their log ends. The
// watermark tracker learns of them at the next tick.
//
// Every partition of every input topic counts, whether or not its group
// member has its claim yet: watermill-kafka joins the group once per topic,
// so the members of the three topics get their partitions at different
// moments. A partition with unread records is never idle, so it holds the
// watermark back until it is read. A revoked partition keeps counting too,
// because one instance owns every partition and gets it back at the next
// rebalance.
func (p *Processor) assign(ends map[windows.PartitionKey]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, end := range ends {
		if end > p.hwm[key] {
			p.hwm[key] = end
		}
		if !p.assigned[key] {
			p.assigned[key] = true
			p.added = append(p.added, key)
		}
	}
}

func (p *Processor) setHighWaterMark(key windows.PartitionKey, hwm int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hwm[key] = hwm
}

// applyAssignments hands newly tracked partitions to the watermark tracker,
// which only the processor goroutine touches.
func (p *Processor) applyAssignments() {
	p.mu.Lock()
	added := p.added
	p.added = nil
	p.mu.Unlock()

	now := p.now()
	for _, key := range added {
		p.st.Watermarks.Assign(key, now)
	}
}

// asOf returns the time up to which every stored batch is folded: now, or
// just before the load time of the oldest batch still being written. MySQL
// rows carry it as their write time, so a row written at T includes every
// event whose load_dts is before T, which reconcile relies on.
func (p *Processor) asOf(now time.Time) time.Time {
	if len(p.inflightLoads) > 0 && p.inflightLoads[0].Before(now) {
		return p.inflightLoads[0].Add(-time.Microsecond)
	}
	return now
}
