// Package loadgen produces load for the game telemetry processor: Generate
// writes a deterministic, realistic stream of auth, spin and purchase events as
// NDJSON lines, and Publisher sends NDJSON lines to Kafka, keyed by uid.
//
// Every line is one JSON object in the event contract:
//
//	{"msg_id":"gen-1-7","type":"spin","uid":"3f9c0e5b2a417d68","app_id":"slots-gold-rush","timestamp":"2025-05-26T08:14:03.512Z","spin_count":1,"bet":"100","win":"0","currency":"coins"}
//
// Auth events carry "email" and an optional E.164 "phone". Spin events carry
// "spin_count", "bet" and "win" as decimal strings in the game currency
// "coins". Purchase events carry "purchase_amount" as a decimal string, an ISO
// 4217 "currency" and a "product_id".
package loadgen
