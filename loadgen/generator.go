package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// GeneratorConfig configures Generate. DefaultGeneratorConfig returns a
// working configuration.
type GeneratorConfig struct {
	// Seed selects the event stream: the same configuration always
	// generates the same lines. Seed is also part of every msg_id.
	Seed int64
	// Users is the number of distinct users. Activity follows a Zipf
	// distribution, so some users may generate no events at all.
	Users int
	// Apps is the number of distinct app_ids.
	Apps int
	// Events is the number of lines to generate, invalid lines and re-sends
	// included.
	Events int
	// Start and Span set the time range [Start, Start+Span) of the event
	// timestamps.
	Start time.Time
	Span  time.Duration
	// PurchaseRate is the fraction of non-auth events that are purchases,
	// between 0 and 1.
	PurchaseRate float64
	// Currencies lists the ISO 4217 codes of purchases. Each user pays in one
	// of them: half of the users in the first, the rest spread evenly over
	// the others. SupportedCurrencies lists the accepted codes.
	Currencies []string
	// InvalidRate is the fraction of lines that are invalid input: truncated
	// JSON, a missing uid, a negative purchase_amount or an unknown currency,
	// in equal shares. Each invalid line has a msg_id of its own.
	InvalidRate float64
	// DuplicateRate is the fraction of lines that re-send one of the last 64
	// valid lines byte for byte, so with the same msg_id.
	DuplicateRate float64
}

// DefaultGeneratorConfig returns a week of load: 100,000 events from 2,000
// users on 8 apps, from Monday 2025-05-26 00:00 UTC to the next Monday,
// with 2% purchases in USD, EUR, GBP and JPY, and seed 1.
func DefaultGeneratorConfig() GeneratorConfig {
	return GeneratorConfig{
		Seed:         1,
		Users:        2000,
		Apps:         8,
		Events:       100_000,
		Start:        time.Date(2025, time.May, 26, 0, 0, 0, 0, time.UTC),
		Span:         7 * 24 * time.Hour,
		PurchaseRate: 0.02,
		Currencies:   []string{"USD", "EUR", "GBP", "JPY"},
	}
}

// Validate returns an error naming the first invalid field of cfg.
func (cfg GeneratorConfig) Validate() error {
	switch {
	case cfg.Users < 1 || cfg.Users > math.MaxInt32:
		return fmt.Errorf("invalid generator config: Users is %d, must be between 1 and %d", cfg.Users, math.MaxInt32)
	case cfg.Apps < 1:
		return fmt.Errorf("invalid generator config: Apps is %d, must be at least 1", cfg.Apps)
	case cfg.Events < 0:
		return fmt.Errorf("invalid generator config: Events is %d, must not be negative", cfg.Events)
	case cfg.Start.IsZero():
		return errors.New("invalid generator config: Start is not set")
	case cfg.Span < time.Millisecond:
		return fmt.Errorf("invalid generator config: Span is %v, must be at least 1ms", cfg.Span)
	case !isFraction(cfg.PurchaseRate):
		return fmt.Errorf("invalid generator config: PurchaseRate is %v, must be between 0 and 1", cfg.PurchaseRate)
	case !isFraction(cfg.InvalidRate):
		return fmt.Errorf("invalid generator config: InvalidRate is %v, must be between 0 and 1", cfg.InvalidRate)
	case !isFraction(cfg.DuplicateRate):
		return fmt.Errorf("invalid generator config: DuplicateRate is %v, must be between 0 and 1", cfg.DuplicateRate)
	case cfg.InvalidRate+cfg.DuplicateRate >= 1:
		return fmt.Errorf("invalid generator config: InvalidRate %v plus DuplicateRate %v must be below 1",
			cfg.InvalidRate, cfg.DuplicateRate)
	case len(cfg.Currencies) == 0:
		return errors.New("invalid generator config: Currencies is empty, want at least one of " +
			strings.Join(SupportedCurrencies(), ", "))
	}
	for _, code := range cfg.Currencies {
		if priceLists[code] == nil {
			return fmt.Errorf("invalid generator config: currency %q has no price list, want one of %s",
				code, strings.Join(SupportedCurrencies(), ", "))
		}
	}
	return nil
}

func isFraction(x float64) bool { return x >= 0 && x <= 1 }

// Generate generates cfg.Events NDJSON lines and passes each one to emit,
// without the line feed. The line is valid only until emit returns, because
// Generate reuses its buffer. Generate stops at the first error from emit and
// returns it wrapped.
//
// The output depends only on cfg. Valid events come in event-time order,
// globally and so also per user, with ties in a fixed order. Re-sends and
// invalid lines repeat the uid and timestamp of a recent valid event, so they
// arrive late.
//
// Users' activity follows a Zipf distribution (exponent 1.1, offset 10). With
// DefaultGeneratorConfig the busiest user generates about 2.4% of the events
// and the busiest 10% of users about 64%. Every user logs in before their
// first spin and again at about one in eight later sessions, sometimes with a
// new email or phone. Sessions are runs of spins a few seconds apart on one
// of the user's one to three favourite apps.
func Generate(cfg GeneratorConfig, emit func(line []byte) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	g := newGenerator(cfg)
	for i := range cfg.Events {
		line, err := g.nextLine()
		if err != nil {
			return err
		}
		if err := emit(line); err != nil {
			return fmt.Errorf("emit line %d: %w", i+1, err)
		}
	}
	return nil
}

// recentLines is the number of recent valid events that re-sends and invalid
// lines are built from.
const recentLines = 64

// Kinds of invalid lines, each equally likely.
const (
	invalidTruncated = iota
	invalidMissingUID
	invalidNegativeAmount
	invalidUnknownCurrency
	invalidKinds
)

// generator is the state of one Generate call.
type generator struct {
	cfg           GeneratorConfig
	rng           *rand.Rand
	startMs       int64
	spanMs        int64
	apps          []string
	appPopularity []float64 // cumulative weights of the apps
	currencies    []*priceList

	players []player
	queue   playerQueue
	lastID  uint64
	event   event
	buf     []byte

	// recent contains the last valid events and their lines in a ring, when
	// InvalidRate or DuplicateRate is set.
	recent      []event
	recentLines [][]byte
	recentNext  int
}

func newGenerator(cfg GeneratorConfig) *generator {
	g := &generator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6761_6d65_7374_7265)),
		startMs: cfg.Start.UnixMilli(),
		spanMs:  cfg.Span.Milliseconds(),
		buf:     make([]byte, 0, 512),
	}

	g.apps = make([]string, cfg.Apps)
	g.appPopularity = make([]float64, cfg.Apps)
	total := 0.0
	for i := range g.apps {
		g.apps[i] = appName(i)
		total += 1 / float64(i+1)
		g.appPopularity[i] = total
	}
	for _, code := range cfg.Currencies {
		g.currencies = append(g.currencies, priceLists[code])
	}

	g.initPlayers()
	return g
}

// initPlayers draws each user's number of events from a Zipf distribution
// and queues every user with at least one event.
func (g *generator) initPlayers() {
	budgets := make([]int, g.cfg.Users)
	zipf := rand.NewZipf(g.rng, 1.1, 10, uint64(g.cfg.Users-1))
	for range g.cfg.Events {
		budgets[zipf.Uint64()]++
	}

	g.players = make([]player, g.cfg.Users)
	for i, budget := range budgets {
		if budget == 0 {
			continue
		}
		g.initPlayer(&g.players[i], i, budget)
		g.queue.push(g.players, int32(i))
	}
}

func (g *generator) nextMsgID() uint64 {
	g.lastID++
	return g.lastID
}

// nextLine returns the next line, encoded into g.buf.
func (g *generator) nextLine() ([]byte, error) {
	if len(g.recent) > 0 {
		r := g.rng.Float64()
		if r < g.cfg.InvalidRate {
			return g.invalidLine(), nil
		}
		if r < g.cfg.InvalidRate+g.cfg.DuplicateRate {
			return g.recentLines[g.rng.IntN(len(g.recent))], nil
		}
	}
	return g.validLine()
}

func (g *generator) validLine() ([]byte, error) {
	if g.queue.len() == 0 {
		// The budgets add up to cfg.Events and every valid line uses one, so
		// this happens only if that accounting is broken.
		return nil, errors.New("generate: no events left before the configured number of lines")
	}
	index := g.queue.top()
	p := &g.players[index]
	p.step(g, &g.event)
	if p.remaining == 0 {
		g.queue.pop(g.players)
	} else {
		g.queue.fixTop(g.players)
	}

	g.buf = g.appendEvent(g.buf[:0], &g.event)
	if g.cfg.InvalidRate > 0 || g.cfg.DuplicateRate > 0 {
		g.remember(&g.event, g.buf)
	}
	return g.buf, nil
}

// remember stores a valid event and its line in the ring of recent events.
func (g *generator) remember(ev *event, line []byte) {
	if len(g.recent) < recentLines {
		g.recent = append(g.recent, *ev)
		g.recentLines = append(g.recentLines, append([]byte(nil), line...))
		return
	}
	g.recent[g.recentNext] = *ev
	g.recentLines[g.recentNext] = append(g.recentLines[g.recentNext][:0], line...)
	g.recentNext = (g.recentNext + 1) % recentLines
}

// invalidLine returns a line that the processor must reject, built from a
// recent valid event with a new msg_id.
func (g *generator) invalidLine() []byte {
	ev := g.recent[g.rng.IntN(len(g.recent))]
	ev.msgID = g.nextMsgID()

	switch g.rng.IntN(invalidKinds) {
	case invalidTruncated:
		g.buf = g.appendEvent(g.buf[:0], &ev)
		// Cutting the line anywhere before its closing brace leaves an
		// unterminated object.
		cut := len(g.buf)/2 + g.rng.IntN(len(g.buf)/2-1)
		return g.buf[:cut]
	case invalidMissingUID:
		ev.omitUID = true
	case invalidNegativeAmount:
		ev.player.fillPurchase(g.rng, &ev)
		ev.negativeAmount = true
	case invalidUnknownCurrency:
		ev.player.fillPurchase(g.rng, &ev)
		ev.currency = unknownCurrency
	}
	g.buf = g.appendEvent(g.buf[:0], &ev)
	return g.buf
}

// playerQueue is a binary min-heap of player indexes ordered by the time of
// each player's next event, then by index.
type playerQueue struct {
	heap []int32
}

func (q *playerQueue) len() int   { return len(q.heap) }
func (q *playerQueue) top() int32 { return q.heap[0] }

func (q *playerQueue) push(players []player, index int32) {
	q.heap = append(q.heap, index)
	i := len(q.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !before(players, q.heap[i], q.heap[parent]) {
			break
		}
		q.heap[i], q.heap[parent] = q.heap[parent], q.heap[i]
		i = parent
	}
}

func (q *playerQueue) pop(players []player) {
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap = q.heap[:last]
	if last > 0 {
		q.fixTop(players)
	}
}

// fixTop restores the heap order after the first player's next event moved
// later.
func (q *playerQueue) fixTop(players []player) {
	i, n := 0, len(q.heap)
	for {
		smallest := i
		for _, child := range [2]int{2*i + 1, 2*i + 2} {
			if child < n && before(players, q.heap[child], q.heap[smallest]) {
				smallest = child
			}
		}
		if smallest == i {
			return
		}
		q.heap[i], q.heap[smallest] = q.heap[smallest], q.heap[i]
		i = smallest
	}
}

func before(players []player, a, b int32) bool {
	ta, tb := players[a].next, players[b].next
	return ta < tb || (ta == tb && a < b)
}
