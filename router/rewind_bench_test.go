package router

import (
	"context"
	"testing"
	"time"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/loadgen"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// rewindBenchEvents is the number of generated events in the vault that
// BenchmarkRewind rebuilds the state from.
const rewindBenchEvents = 200_000

// BenchmarkRewind measures a rebuild of the state from the vault: the three
// satellite scans and the fold of every event into users and windows, as a
// replay and a lost-state recovery do before reading Kafka.
func BenchmarkRewind(b *testing.B) {
	ctx := context.Background()
	cfg, err := configs.Load("", nil)
	if err != nil {
		b.Fatal(err)
	}
	specs, err := windows.ValidateSpecs(cfg.Windows)
	if err != nil {
		b.Fatal(err)
	}
	dsn := testdb.Postgres(b)
	if err := postgres.Migrate(ctx, dsn); err != nil {
		b.Fatal(err)
	}
	vault, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer vault.Close()
	starts := loadRewindBench(b, ctx, cfg, vault)

	b.ReportAllocs()
	b.ResetTimer()
	var folded int64
	for b.Loop() {
		rw, err := rewind(ctx, vault, cfg, specs, starts)
		if err != nil {
			b.Fatal(err)
		}
		folded += rw.folded
	}
	b.ReportMetric(float64(folded)/b.Elapsed().Seconds(), "events/s")
}

// loadRewindBench stores rewindBenchEvents generated events, spread over
// three partitions of each kind's topic, and returns the next offset of every
// partition.
func loadRewindBench(b *testing.B, ctx context.Context, cfg *configs.Config, vault *postgres.Vault) map[postgres.TopicPartition]int64 {
	b.Helper()
	rates, err := handlers.NewRates(cfg.Events.ReportingCurrency, cfg.Events.Rates)
	if err != nil {
		b.Fatal(err)
	}
	validator, err := handlers.NewValidator(handlers.ValidatorConfig{
		DefaultCurrency: cfg.Events.DefaultCurrency, Rates: rates, MaxFutureSkew: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}

	gen := loadgen.DefaultGeneratorConfig()
	gen.Events = rewindBenchEvents
	next := make(map[postgres.TopicPartition]int64)
	var batch []postgres.Record
	write := func() {
		if _, _, err := vault.WriteBatch(ctx, cfg.Kafka.ConsumerGroup, batch, next, time.Now()); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	err = loadgen.Generate(gen, func(line []byte) error {
		e, err := validator.Decode(line, "")
		if err != nil {
			return err
		}
		// A valid event has a non-empty uid.
		tp := postgres.TopicPartition{Topic: cfg.Kafka.Topics[string(e.Kind)], Partition: int32(e.UID[len(e.UID)-1] % 3)}
		batch = append(batch, postgres.Record{Event: e, Source: handlers.Source{Topic: tp.Topic, Partition: tp.Partition, Offset: next[tp]}})
		next[tp]++
		if len(batch) == 5000 {
			write()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	write()
	return next
}
