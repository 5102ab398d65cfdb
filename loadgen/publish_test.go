package loadgen

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testPartitions = 3

var typeTopics = map[string]string{
	"auth":     "game.auth",
	"spin":     "game.spin",
	"purchase": "game.purchase",
}

// newTestCluster starts an in-process Kafka-protocol broker on 127.0.0.1
// with the given topics, each with testPartitions partitions, and returns
// its address.
func newTestCluster(t testing.TB, topics ...string) []string {
	t.Helper()
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(testPartitions, topics...),
	)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)

	addrs := cluster.ListenAddrs()
	for _, addr := range addrs {
		require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), "broker address %s is not on loopback", addr)
	}
	return addrs
}

func newTestPublisher(t testing.TB, cfg PublishConfig) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// consumeAll reads topics from the start until it has want records, fails
// the test after 30 s, and then checks for 200 ms that no more arrive.
func consumeAll(t *testing.T, brokers []string, want int, topics ...string) []*kgo.Record {
	t.Helper()
	client, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	require.NoError(t, err)
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var records []*kgo.Record
	for len(records) < want {
		fetches := client.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", len(records), want)
		for _, fetchErr := range fetches.Errors() {
			require.NoError(t, fetchErr.Err, "fetch %s/%d", fetchErr.Topic, fetchErr.Partition)
		}
		records = append(records, fetches.Records()...)
	}

	extraCtx, extraCancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer extraCancel()
	records = append(records, client.PollFetches(extraCtx).Records()...)
	return records
}

// lineSeq yields each line in turn.
func lineSeq(lines [][]byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, line := range lines {
			if !yield(line) {
				return
			}
		}
	}
}

// murmur2 is the Java client's murmur2 hash of record keys, written from
// the algorithm in org.apache.kafka.common.utils.Utils.murmur2.
func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}

	tail := length &^ 3
	switch length % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}

	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// javaPartition is the partition the Java client's default partitioner
// picks for a keyed record.
func javaPartition(key []byte, partitions int) int32 {
	return int32((murmur2(key) & 0x7fffffff) % uint32(partitions))
}

func TestMurmur2MatchesJavaClient(t *testing.T) {
	// Expected values from Apache Kafka's UtilsTest.testMurmur2.
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for key, want := range cases {
		assert.Equal(t, want, int32(murmur2([]byte(key))), key)
	}
}

func TestPublishRoutesByType(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	cfg := testGeneratorConfig()
	cfg.PurchaseRate = 0.05
	lines := generateLines(t, cfg)
	require.Len(t, lines, 20_000)

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.Publish(t.Context(), lineSeq(lines))
	require.NoError(t, err)
	assert.EqualValues(t, len(lines), published)

	// What each topic must hold: per uid, the msg_ids in generation order.
	wantPerTopic := map[string]int{}
	wantOrder := map[string][]string{} // topic + "/" + uid → msg_ids
	for _, ev := range decodeAll(t, lines) {
		topic := typeTopics[ev.Type]
		wantPerTopic[topic]++
		wantOrder[topic+"/"+*ev.UID] = append(wantOrder[topic+"/"+*ev.UID], ev.MsgID)
	}

	records := consumeAll(t, brokers, len(lines), "game.auth", "game.spin", "game.purchase")
	require.Len(t, records, len(lines))

	gotPerTopic := map[string]int{}
	gotOrder := map[string][]string{}
	partitionOf := map[string]int32{}
	byLine := map[string]bool{}
	for _, line := range lines {
		byLine[string(line)] = true
	}
	for _, rec := range records {
		ev, err := decodeEvent(rec.Value)
		require.NoError(t, err, "record value %s", rec.Value)
		assert.True(t, byLine[string(rec.Value)], "record value is not an input line: %s", rec.Value)
		assert.Equal(t, typeTopics[ev.Type], rec.Topic, "topic of %s", ev.MsgID)
		assert.Equal(t, *ev.UID, string(rec.Key), "key of %s", ev.MsgID)
		assert.Equal(t, javaPartition(rec.Key, testPartitions), rec.Partition, "partition of %s", ev.MsgID)

		userTopic := rec.Topic + "/" + *ev.UID
		if partition, seen := partitionOf[userTopic]; seen {
			assert.Equal(t, partition, rec.Partition, "partition of %s", userTopic)
		}
		partitionOf[userTopic] = rec.Partition
		gotPerTopic[rec.Topic]++
		gotOrder[userTopic] = append(gotOrder[userTopic], ev.MsgID)
	}

	assert.Equal(t, wantPerTopic, gotPerTopic, "records per topic")
	assert.Len(t, wantPerTopic, 3, "every topic receives records")
	for userTopic, want := range wantOrder {
		assert.Equal(t, want, gotOrder[userTopic], "order of %s", userTopic)
	}
}

func TestPublishUnreadableLinesToFallbackTopic(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	lines := [][]byte{
		[]byte(`{"msg_id":"m1","type":"purchase","app_id":"a","purchase_amount":"0.99","currency":"USD"}`),
		[]byte(`{"msg_id":"m2","type":"login","uid":"u2"}`),
		[]byte(`not json at all`),
		[]byte(`{"msg_id":"m4","type":"auth","uid":"u4","email":`),
		[]byte(``),
	}

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.Publish(t.Context(), lineSeq(lines))
	require.NoError(t, err)
	assert.EqualValues(t, len(lines), published)

	records := consumeAll(t, brokers, len(lines), "game.auth", "game.spin", "game.purchase")
	require.Len(t, records, len(lines))
	got := map[string]*kgo.Record{}
	for _, rec := range records {
		got[string(rec.Value)] = rec
	}

	tests := []struct {
		name, line, topic, key string
	}{
		{"missing uid keeps its type's topic", string(lines[0]), "game.purchase", ""},
		{"unknown type goes to fallback", string(lines[1]), "game.spin", "u2"},
		{"not JSON goes to fallback", string(lines[2]), "game.spin", ""},
		{"truncated line keeps what was read", string(lines[3]), "game.auth", "u4"},
		{"empty line goes to fallback", string(lines[4]), "game.spin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := got[tt.line]
			require.NotNil(t, rec, "line not consumed unchanged: %s", tt.line)
			assert.Equal(t, tt.topic, rec.Topic)
			if tt.key == "" {
				assert.Nil(t, rec.Key)
			} else {
				assert.Equal(t, tt.key, string(rec.Key))
			}
		})
	}
}

func TestPublishMixedTopic(t *testing.T) {
	brokers := newTestCluster(t, "game.events")
	cfg := testGeneratorConfig()
	cfg.Events = 5_000
	cfg.InvalidRate = 0.05
	lines := generateLines(t, cfg)

	// MixedTopic wins over Topics.
	p := newTestPublisher(t, PublishConfig{Brokers: brokers, MixedTopic: "game.events", Topics: typeTopics})
	published, err := p.Publish(t.Context(), lineSeq(lines))
	require.NoError(t, err)
	assert.EqualValues(t, len(lines), published)

	records := consumeAll(t, brokers, len(lines), "game.events")
	require.Len(t, records, len(lines))

	var want, got []string
	for _, line := range lines {
		want = append(want, string(line))
	}
	partitionOf := map[string]int32{}
	unkeyed := 0
	for _, rec := range records {
		got = append(got, string(rec.Value))
		assert.Equal(t, "game.events", rec.Topic)
		if rec.Key == nil {
			unkeyed++
			continue
		}
		if partition, seen := partitionOf[string(rec.Key)]; seen {
			assert.Equal(t, partition, rec.Partition, "partition of uid %s", rec.Key)
		}
		partitionOf[string(rec.Key)] = rec.Partition
	}
	slices.Sort(want)
	slices.Sort(got)
	assert.Equal(t, want, got, "every line arrives unchanged")
	assert.Positive(t, unkeyed, "lines without a readable uid are published without a key")
}

func TestPublishFilesSkipsBlankLines(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	dir := t.TempDir()
	first := filepath.Join(dir, "first.ndjson")
	second := filepath.Join(dir, "second.ndjson")
	require.NoError(t, os.WriteFile(first, []byte(
		"{\"type\":\"auth\",\"uid\":\"u1\"}\r\n\r\n   \n{\"type\":\"spin\",\"uid\":\"u1\"}\n"), 0o600))
	require.NoError(t, os.WriteFile(second, []byte(
		"\n{\"type\":\"purchase\",\"uid\":\"u1\"}"), 0o600))

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.PublishFiles(t.Context(), first, second)
	require.NoError(t, err)
	assert.EqualValues(t, 3, published)

	records := consumeAll(t, brokers, 3, "game.auth", "game.spin", "game.purchase")
	require.Len(t, records, 3)
	values := map[string]string{}
	for _, rec := range records {
		values[rec.Topic] = string(rec.Value)
	}
	assert.Equal(t, `{"type":"auth","uid":"u1"}`, values["game.auth"], "carriage return stripped")
	assert.Equal(t, `{"type":"spin","uid":"u1"}`, values["game.spin"])
	assert.Equal(t, `{"type":"purchase","uid":"u1"}`, values["game.purchase"], "last line without line feed")
}

func TestPublishFilesMissingFile(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	missing := filepath.Join(t.TempDir(), "missing.ndjson")

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.PublishFiles(t.Context(), missing)
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
	assert.Zero(t, published)
}

func TestPublishReaderLineTooLong(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	input := `{"type":"spin","uid":"u1"}` + "\n" +
		`{"type":"spin","uid":"u1","pad":"` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n"

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.PublishReader(t.Context(), strings.NewReader(input))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2 is longer than 1048576 bytes")
	assert.EqualValues(t, 1, published, "the line before the long one is published")
}

func TestPublishReaderLongestLine(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	prefix := `{"type":"spin","uid":"u1","pad":"`
	line := prefix + strings.Repeat("x", MaxLineBytes-len(prefix)-2) + `"}`
	require.Len(t, line, MaxLineBytes)

	// The client's default batch limit is below MaxLineBytes, so the test
	// raises it. kfake accepts batches up to its message.max.bytes of
	// 1048588 bytes.
	p := newTestPublisher(t, PublishConfig{
		Brokers:       brokers,
		Topics:        typeTopics,
		ClientOptions: []kgo.Opt{kgo.ProducerBatchMaxBytes(MaxLineBytes + 512)},
	})
	published, err := p.PublishReader(t.Context(), strings.NewReader(line+"\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, published)
}

func TestPublishRecordTooLargeForDefaultBatch(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	line := `{"type":"spin","uid":"u1","pad":"` + strings.Repeat("x", 1_000_100) + `"}`

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.Publish(t.Context(), lineSeq([][]byte{[]byte(line)}))
	require.ErrorIs(t, err, kerr.MessageTooLarge)
	assert.Zero(t, published)
}

func TestPublishUnknownTopicFails(t *testing.T) {
	brokers := newTestCluster(t, "game.spin")
	lines := [][]byte{
		[]byte(`{"type":"spin","uid":"u1"}`),
		[]byte(`{"type":"auth","uid":"u1"}`),
	}

	p := newTestPublisher(t, PublishConfig{
		Brokers:       brokers,
		Topics:        map[string]string{"spin": "game.spin", "auth": "game.missing"},
		ClientOptions: []kgo.Opt{kgo.UnknownTopicRetries(1)},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	published, err := p.Publish(ctx, lineSeq(lines))
	require.ErrorIs(t, err, kerr.UnknownTopicOrPartition)
	assert.Contains(t, err.Error(), "produce record")
	assert.EqualValues(t, 1, published, "the record for the existing topic is acknowledged")
}

func TestPublishCanceledContext(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	_, err := p.PublishGenerated(ctx, testGeneratorConfig())
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestPublishBrokerDownWaitsForContext(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(testPartitions, "game.spin"))
	require.NoError(t, err)
	brokers := cluster.ListenAddrs()
	cluster.Close()

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, MixedTopic: "game.spin"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	published, err := p.Publish(ctx, lineSeq([][]byte{[]byte(`{"type":"spin","uid":"u1"}`)}))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, published)
}

func TestPublishGenerated(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	cfg := testGeneratorConfig()
	cfg.Events = 5_000

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})
	published, err := p.PublishGenerated(t.Context(), cfg)
	require.NoError(t, err)
	assert.EqualValues(t, cfg.Events, published)

	records := consumeAll(t, brokers, cfg.Events, "game.auth", "game.spin", "game.purchase")
	assert.Len(t, records, cfg.Events)
}

func TestPublishGeneratedInvalidConfig(t *testing.T) {
	brokers := newTestCluster(t, "game.spin")
	cfg := testGeneratorConfig()
	cfg.Users = 0

	p := newTestPublisher(t, PublishConfig{Brokers: brokers, MixedTopic: "game.spin"})
	published, err := p.PublishGenerated(t.Context(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Users is 0")
	assert.Zero(t, published)
}

func TestPublishProgress(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	var (
		mu    sync.Mutex
		calls []int64
	)
	p := newTestPublisher(t, PublishConfig{
		Brokers: brokers,
		Topics:  typeTopics,
		Progress: func(published int64) {
			mu.Lock()
			calls = append(calls, published)
			mu.Unlock()
		},
	})

	// Four bursts of 10 lines, 400 ms apart, keep Publish running for about
	// 1.2 s.
	slowLines := func(yield func([]byte) bool) {
		for burst := range 4 {
			if burst > 0 {
				time.Sleep(400 * time.Millisecond)
			}
			for range 10 {
				if !yield([]byte(`{"type":"spin","uid":"u1"}`)) {
					return
				}
			}
		}
	}
	start := time.Now()
	published, err := p.Publish(t.Context(), slowLines)
	elapsed := time.Since(start)
	require.NoError(t, err)
	assert.EqualValues(t, 40, published)

	mu.Lock()
	callsAtReturn := slices.Clone(calls)
	mu.Unlock()
	maxCalls := int(elapsed / progressInterval)
	assert.GreaterOrEqual(t, len(callsAtReturn), 2, "progress calls: %v", callsAtReturn)
	assert.LessOrEqual(t, len(callsAtReturn), maxCalls, "progress calls in %v: %v", elapsed, callsAtReturn)
	assert.True(t, slices.IsSorted(callsAtReturn), "progress never goes back: %v", callsAtReturn)
	for _, n := range callsAtReturn {
		assert.LessOrEqual(t, n, int64(40))
	}

	time.Sleep(700 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, callsAtReturn, calls, "no progress calls after Publish returns")
}

func TestPublishConcurrentCalls(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.spin", "game.purchase")
	cfg := testGeneratorConfig()
	cfg.Events = 3_000
	p := newTestPublisher(t, PublishConfig{Brokers: brokers, Topics: typeTopics})

	var wg sync.WaitGroup
	results := make([]int64, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() {
			runCfg := cfg
			runCfg.Seed = int64(i + 1)
			results[i], errs[i] = p.PublishGenerated(t.Context(), runCfg)
		})
	}
	wg.Wait()

	for i := range results {
		assert.NoError(t, errs[i])
		assert.EqualValues(t, cfg.Events, results[i], "call %d", i)
	}
	records := consumeAll(t, brokers, 3*cfg.Events, "game.auth", "game.spin", "game.purchase")
	assert.Len(t, records, 3*cfg.Events)
}

func TestNewPublisherRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  PublishConfig
		want string
	}{
		{"no brokers", PublishConfig{MixedTopic: "t"}, "Brokers is empty"},
		{"no topics", PublishConfig{Brokers: []string{"127.0.0.1:1"}}, "set MixedTopic or Topics"},
		{"empty topic name", PublishConfig{Brokers: []string{"127.0.0.1:1"}, Topics: map[string]string{"spin": ""}}, `Topics["spin"] is empty`},
		{"no fallback", PublishConfig{Brokers: []string{"127.0.0.1:1"}, Topics: map[string]string{"auth": "game.auth"}}, "FallbackTopic is empty"},
		{"negative linger", PublishConfig{Brokers: []string{"127.0.0.1:1"}, MixedTopic: "t", Linger: -time.Millisecond}, "Linger is -1ms"},
		{"negative buffer", PublishConfig{Brokers: []string{"127.0.0.1:1"}, MixedTopic: "t", MaxBufferedRecords: -1}, "MaxBufferedRecords is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPublisher(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewPublisherExplicitFallback(t *testing.T) {
	brokers := newTestCluster(t, "game.auth", "game.dlq-input")
	p := newTestPublisher(t, PublishConfig{
		Brokers:       brokers,
		Topics:        map[string]string{"auth": "game.auth"},
		FallbackTopic: "game.dlq-input",
	})
	published, err := p.Publish(t.Context(), lineSeq([][]byte{[]byte(`{"type":"spin","uid":"u1"}`)}))
	require.NoError(t, err)
	assert.EqualValues(t, 1, published)

	records := consumeAll(t, brokers, 1, "game.auth", "game.dlq-input")
	require.Len(t, records, 1)
	assert.Equal(t, "game.dlq-input", records[0].Topic)
}

// BenchmarkPublish measures Publish of 50,000 generated lines into an
// in-process kfake broker with three topics of three partitions and reports
// records acknowledged per second. kfake runs on one event loop in the same
// process and shares the CPU with the publisher, so the figure is no measure
// of a real broker's throughput.
func BenchmarkPublish(b *testing.B) {
	brokers := newTestCluster(b, "game.auth", "game.spin", "game.purchase")
	cfg := DefaultGeneratorConfig()
	cfg.Events = 50_000
	lines := generateLines(b, cfg)
	var bytesPerRun int64
	for _, line := range lines {
		bytesPerRun += int64(len(line))
	}

	p := newTestPublisher(b, PublishConfig{Brokers: brokers, Topics: typeTopics})
	b.SetBytes(bytesPerRun)
	var total int64
	start := time.Now()
	for b.Loop() {
		published, err := p.Publish(b.Context(), lineSeq(lines))
		if err != nil {
			b.Fatal(err)
		}
		total += published
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkPublishBlackhole is BenchmarkPublish against a kfake broker that
// acknowledges records without storing them.
func BenchmarkPublishBlackhole(b *testing.B) {
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(testPartitions, "game.auth", "game.spin", "game.purchase"),
		kfake.BlackholeProduce(),
	)
	require.NoError(b, err)
	b.Cleanup(cluster.Close)
	cfg := DefaultGeneratorConfig()
	cfg.Events = 50_000
	lines := generateLines(b, cfg)

	p := newTestPublisher(b, PublishConfig{Brokers: cluster.ListenAddrs(), Topics: typeTopics})
	var total int64
	start := time.Now()
	for b.Loop() {
		published, err := p.Publish(b.Context(), lineSeq(lines))
		if err != nil {
			b.Fatal(err)
		}
		total += published
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
}
