package router

import (
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/stores/postgres"
)

// writeJob is one batch for the vault.
type writeJob struct {
	records []postgres.Record
	next    map[postgres.TopicPartition]int64
	size    int // records in the batch, dead-lettered ones included
	// loadTime is the load_dts of the batch's rows.
	loadTime time.Time
}

// writeResult is a written batch with the vault's result per record.
type writeResult struct {
	job      writeJob
	stored   []bool
	inserted map[handlers.Kind]int
}

// writeLoop writes batches to PostgreSQL in the order they were dispatched,
// retrying each with capped exponential backoff until it succeeds, so the
// processor goroutine folds one batch while the next is being written. It
// returns when stopWriter is called.
func (p *Processor) writeLoop() {
	ctx := p.writerCtx
	for {
		var job writeJob
		select {
		case job = <-p.jobs:
		case <-ctx.Done():
			return
		}

		write := func() (writeResult, error) {
			start := time.Now()
			stored, inserted, err := p.vault.WriteBatch(ctx, p.cfg.Group, job.records, job.next, job.loadTime)
			if err != nil {
				p.metrics.writeErrors.WithLabelValues("postgres").Inc()
				p.health.Set("postgres", err)
				return writeResult{}, err
			}
			p.metrics.writeSeconds.WithLabelValues("postgres").Observe(time.Since(start).Seconds())
			return writeResult{job: job, stored: stored, inserted: inserted}, nil
		}
		res, err := backoff.Retry(ctx, write, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
		if err != nil {
			return // stopped while retrying; the batch is read again after a restart
		}
		p.health.Set("postgres", nil)

		select {
		case p.results <- res:
		case <-ctx.Done():
			return
		}
	}
}
