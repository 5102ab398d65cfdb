package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
)

const benchBatchSize = 5000

// benchBatch returns benchBatchSize new records: 70% spins, 20% auth and
// 10% purchases from 1,000 users in 20 apps, with msg_ids unique per round.
func benchBatch(round int) []Record {
	records := make([]Record, benchBatchSize)
	for i := range records {
		n := round*benchBatchSize + i
		msgID := fmt.Sprintf("bench-%09d", n)
		uid := fmt.Sprintf("user-%04d", n%1000)
		appID := fmt.Sprintf("app-%02d", n%20)
		var e handlers.Event
		switch {
		case i%10 < 7:
			e = spin(msgID, uid, appID, int64(i%5+1))
		case i%10 < 9:
			e = auth(msgID, uid, appID, uid+"@example.com")
		default:
			e = purchase(msgID, uid, appID, "4.99", "EUR", "5.74")
			e.Amount = decimal.New(int64(100+i%900), -2)
		}
		records[i] = Record{Event: e, Source: at("events", int32(i%4), int64(n))}
	}
	return records
}

func BenchmarkWriteBatch(b *testing.B) {
	ctx := context.Background()
	vault, _ := openTestVault(b)

	batches := make([][]Record, 0, 64)
	round := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if round == len(batches) {
			batches = append(batches, benchBatch(round))
		}
		records := batches[round]
		offsets := map[TopicPartition]int64{}
		for _, r := range records {
			offsets[TopicPartition{r.Source.Topic, r.Source.Partition}] = r.Source.Offset + 1
		}
		b.StartTimer()

		_, _, err := vault.WriteBatch(ctx, testGroup, records, offsets, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(round*benchBatchSize)/b.Elapsed().Seconds(), "rows/s")
}
