package handlers

import (
	"testing"
	"time"
)

func BenchmarkDecodeSpin(b *testing.B) {
	rates, err := NewRates("USD", DefaultRates())
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewValidator(ValidatorConfig{DefaultCurrency: "USD", Rates: rates, MaxFutureSkew: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"msg_id": "bustabit-854", "type": "spin", "uid": "6e4540f74c223319", "app_id": "bustabit", "timestamp": "2021-10-31T15:38:43Z", "spin_count": 1, "bet": "100", "win": "0", "currency": "bits"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Decode(payload, KindSpin); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkParseObject(b *testing.B) {
	payload := []byte(`{"msg_id": "bustabit-854", "type": "spin", "uid": "6e4540f74c223319", "app_id": "bustabit", "timestamp": "2021-10-31T15:38:43Z", "spin_count": 1, "bet": "100", "win": "0", "currency": "bits"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseObject(payload)
		}
	})
	b.Run("tokens", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseObjectTokens(payload)
		}
	})
}
