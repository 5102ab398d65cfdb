package loadgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testEvent is a generated line decoded with encoding/json. Pointer fields
// tell a missing member from an empty one.
type testEvent struct {
	MsgID          string  `json:"msg_id"`
	Type           string  `json:"type"`
	UID            *string `json:"uid"`
	AppID          string  `json:"app_id"`
	Timestamp      string  `json:"timestamp"`
	Email          string  `json:"email"`
	Phone          string  `json:"phone"`
	SpinCount      *int    `json:"spin_count"`
	Bet            string  `json:"bet"`
	Win            string  `json:"win"`
	Currency       string  `json:"currency"`
	PurchaseAmount string  `json:"purchase_amount"`
	ProductID      string  `json:"product_id"`

	time time.Time
	line string
}

// isoMinorUnits is the number of decimals ISO 4217 allows for each currency
// the generator supports. It is kept apart from the generator's price lists
// so the tests check those lists.
var isoMinorUnits = map[string]int{
	"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "BRL": 2, "INR": 2,
	"JPY": 0, "KRW": 0, "KWD": 3,
}

var (
	decimalPattern = regexp.MustCompile(`^[0-9]+(\.([0-9]+))?$`)
	e164Pattern    = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	emailPattern   = regexp.MustCompile(`^[a-z0-9.]+@[a-z.]+$`)
	appPattern     = regexp.MustCompile(`^slots-[a-z]+(-[a-z]+)*(-[0-9]+)?$`)
	uidPattern     = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// generateLines returns copies of the lines Generate emits for cfg.
func generateLines(t testing.TB, cfg GeneratorConfig) [][]byte {
	t.Helper()
	lines := make([][]byte, 0, cfg.Events)
	err := Generate(cfg, func(line []byte) error {
		lines = append(lines, bytes.Clone(line))
		return nil
	})
	require.NoError(t, err)
	return lines
}

// decodeEvent decodes and checks one line against the event contract, with
// the currencies that the generator supports. It returns an error for every
// line that the processor must reject.
func decodeEvent(line []byte) (testEvent, error) {
	var ev testEvent
	ev.line = string(line)
	if err := json.Unmarshal(line, &ev); err != nil {
		return ev, fmt.Errorf("bad JSON: %w", err)
	}
	if ev.MsgID == "" {
		return ev, errors.New("missing msg_id")
	}
	if ev.UID == nil || *ev.UID == "" {
		return ev, errors.New("missing uid")
	}
	if ev.AppID == "" {
		return ev, errors.New("missing app_id")
	}
	ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	if err != nil {
		return ev, fmt.Errorf("bad timestamp: %w", err)
	}
	ev.time = ts

	switch ev.Type {
	case "auth":
		return ev, checkAuth(ev)
	case "spin":
		return ev, checkSpin(ev)
	case "purchase":
		return ev, checkPurchase(ev)
	}
	return ev, fmt.Errorf("unknown type %q", ev.Type)
}

func checkAuth(ev testEvent) error {
	if !emailPattern.MatchString(ev.Email) {
		return fmt.Errorf("bad email %q", ev.Email)
	}
	if ev.Phone != "" && !e164Pattern.MatchString(ev.Phone) {
		return fmt.Errorf("phone %q is not E.164", ev.Phone)
	}
	return nil
}

func checkSpin(ev testEvent) error {
	if ev.SpinCount == nil || *ev.SpinCount < 1 {
		return errors.New("spin_count missing or below 1")
	}
	if !decimalPattern.MatchString(ev.Bet) {
		return fmt.Errorf("bet %q is not a decimal >= 0", ev.Bet)
	}
	if !decimalPattern.MatchString(ev.Win) {
		return fmt.Errorf("win %q is not a decimal >= 0", ev.Win)
	}
	return nil
}

func checkPurchase(ev testEvent) error {
	digits, ok := isoMinorUnits[ev.Currency]
	if !ok {
		return fmt.Errorf("unknown currency %q", ev.Currency)
	}
	match := decimalPattern.FindStringSubmatch(ev.PurchaseAmount)
	if match == nil {
		return fmt.Errorf("purchase_amount %q is not a decimal", ev.PurchaseAmount)
	}
	if len(match[2]) > digits {
		return fmt.Errorf("purchase_amount %q has more than %d decimals for %s", ev.PurchaseAmount, digits, ev.Currency)
	}
	if strings.Trim(ev.PurchaseAmount, "0.") == "" {
		return fmt.Errorf("purchase_amount %q is not positive", ev.PurchaseAmount)
	}
	return nil
}

// decodeAll decodes lines that must all be valid.
func decodeAll(t *testing.T, lines [][]byte) []testEvent {
	t.Helper()
	events := make([]testEvent, 0, len(lines))
	for i, line := range lines {
		ev, err := decodeEvent(line)
		require.NoError(t, err, "line %d: %s", i+1, line)
		events = append(events, ev)
	}
	return events
}

func testGeneratorConfig() GeneratorConfig {
	cfg := DefaultGeneratorConfig()
	cfg.Events = 20_000
	cfg.Users = 500
	return cfg
}

func TestGenerateDeterministicForSeed(t *testing.T) {
	digest := func(cfg GeneratorConfig) [32]byte {
		var all []byte
		for _, line := range generateLines(t, cfg) {
			all = append(all, line...)
			all = append(all, '\n')
		}
		return sha256.Sum256(all)
	}

	cfg := testGeneratorConfig()
	cfg.InvalidRate = 0.02
	cfg.DuplicateRate = 0.02
	first := digest(cfg)
	assert.Equal(t, first, digest(cfg), "same seed")

	cfg.Seed = 2
	assert.NotEqual(t, first, digest(cfg), "other seed")
}

func TestGenerateLineCountAndMsgIDs(t *testing.T) {
	cfg := testGeneratorConfig()
	cfg.Seed = 42
	events := decodeAll(t, generateLines(t, cfg))

	require.Len(t, events, cfg.Events)
	seen := make(map[string]bool, len(events))
	for _, ev := range events {
		assert.True(t, strings.HasPrefix(ev.MsgID, "gen-42-"), "msg_id %q", ev.MsgID)
		assert.False(t, seen[ev.MsgID], "msg_id %q repeats", ev.MsgID)
		seen[ev.MsgID] = true
	}
}

func TestGenerateAuthBeforeFirstSpin(t *testing.T) {
	events := decodeAll(t, generateLines(t, testGeneratorConfig()))

	loggedIn := map[string]bool{}
	for _, ev := range events {
		uid := *ev.UID
		if ev.Type == "auth" {
			loggedIn[uid] = true
			continue
		}
		require.True(t, loggedIn[uid], "uid %s plays before any auth event: %s", uid, ev.line)
	}
}

func TestGenerateTimeOrderAndRange(t *testing.T) {
	cfg := testGeneratorConfig()
	events := decodeAll(t, generateLines(t, cfg))
	end := cfg.Start.Add(cfg.Span)

	last := map[string]time.Time{}
	var previous time.Time
	for _, ev := range events {
		assert.False(t, ev.time.Before(cfg.Start), "before Start: %s", ev.line)
		assert.True(t, ev.time.Before(end), "not before Start+Span: %s", ev.line)
		assert.False(t, ev.time.Before(previous), "out of global order: %s", ev.line)
		assert.False(t, ev.time.Before(last[*ev.UID]), "out of order for its uid: %s", ev.line)
		previous = ev.time
		last[*ev.UID] = ev.time
	}

	// Events fill the span: the last one is in its final day.
	assert.True(t, previous.After(end.Add(-24*time.Hour)), "last event at %v", previous)
}

func TestGenerateTimestampsWithOffsets(t *testing.T) {
	events := decodeAll(t, generateLines(t, testGeneratorConfig()))

	utc, offset := 0, 0
	for _, ev := range events {
		if strings.HasSuffix(ev.Timestamp, "Z") {
			utc++
		} else {
			offset++
		}
	}
	assert.Greater(t, utc, offset, "most timestamps are UTC")
	assert.Positive(t, offset, "some timestamps carry an offset")
}

func TestGeneratePurchasesUseStorePrices(t *testing.T) {
	cfg := DefaultGeneratorConfig()
	cfg.Currencies = SupportedCurrencies()
	events := decodeAll(t, generateLines(t, cfg))

	nonAuth, purchases := 0, 0
	perCurrency := map[string]int{}
	for _, ev := range events {
		if ev.Type == "auth" {
			continue
		}
		nonAuth++
		if ev.Type != "purchase" {
			continue
		}
		purchases++
		perCurrency[ev.Currency]++

		prices := priceLists[ev.Currency]
		require.NotNil(t, prices, "currency %q", ev.Currency)
		tier := slices.Index(productIDs[:], ev.ProductID)
		require.GreaterOrEqual(t, tier, 0, "product_id %q", ev.ProductID)
		assert.Equal(t, prices.points[tier], ev.PurchaseAmount, "price of %s in %s", ev.ProductID, ev.Currency)
	}

	rate := float64(purchases) / float64(nonAuth)
	assert.InDelta(t, cfg.PurchaseRate, rate, 0.005, "purchase fraction of non-auth events")
	assert.Len(t, perCurrency, len(cfg.Currencies), "purchases per currency: %v", perCurrency)
	assert.Greater(t, perCurrency[cfg.Currencies[0]], perCurrency[cfg.Currencies[1]],
		"the first currency is the most common")
}

func TestGeneratePriceListsFitMinorUnits(t *testing.T) {
	for code, prices := range priceLists {
		digits, ok := isoMinorUnits[code]
		require.True(t, ok, "no ISO 4217 minor unit known to the test for %s", code)
		assert.Equal(t, digits, prices.decimals, code)
		for _, point := range prices.points {
			ev := testEvent{Currency: code, PurchaseAmount: point}
			assert.NoError(t, checkPurchase(ev), "%s %s", point, code)
		}
	}
}

func TestGenerateActivityIsSkewed(t *testing.T) {
	cfg := DefaultGeneratorConfig()
	events := decodeAll(t, generateLines(t, cfg))

	perUser := map[string]int{}
	for _, ev := range events {
		perUser[*ev.UID]++
	}
	counts := make([]int, 0, len(perUser))
	for _, n := range perUser {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)

	top := 0
	for _, n := range counts[:len(counts)/10] {
		top += n
	}
	assert.Greater(t, float64(top)/float64(len(events)), 0.4, "share of the busiest 10%% of users")
	assert.Less(t, float64(counts[0])/float64(len(events)), 0.1, "share of the busiest user")
	assert.Less(t, counts[len(counts)-1], 20, "the least active user")
	assert.Greater(t, len(perUser), cfg.Users*9/10, "active users")
}

func TestGenerateFavouriteApps(t *testing.T) {
	cfg := testGeneratorConfig()
	events := decodeAll(t, generateLines(t, cfg))

	appsPerUser := map[string]map[string]bool{}
	allApps := map[string]bool{}
	for _, ev := range events {
		assert.Regexp(t, appPattern, ev.AppID)
		if appsPerUser[*ev.UID] == nil {
			appsPerUser[*ev.UID] = map[string]bool{}
		}
		appsPerUser[*ev.UID][ev.AppID] = true
		allApps[ev.AppID] = true
	}

	for uid, apps := range appsPerUser {
		assert.LessOrEqual(t, len(apps), 3, "apps of uid %s", uid)
	}
	assert.Len(t, allApps, cfg.Apps)
}

func TestGenerateAppNamesUnique(t *testing.T) {
	names := map[string]bool{}
	for i := range 40 {
		name := appName(i)
		assert.Regexp(t, appPattern, name)
		assert.False(t, names[name], "app name %q repeats", name)
		names[name] = true
	}
}

func TestGenerateReloginChangesContact(t *testing.T) {
	events := decodeAll(t, generateLines(t, DefaultGeneratorConfig()))

	type contact struct{ email, phone string }
	first := map[string]contact{}
	relogins, emailChanges, phoneChanges := 0, 0, 0
	for _, ev := range events {
		if ev.Type != "auth" {
			continue
		}
		uid := *ev.UID
		assert.Regexp(t, uidPattern, uid)
		previous, seen := first[uid]
		if seen {
			relogins++
			if ev.Email != previous.email {
				emailChanges++
			}
			if ev.Phone != previous.phone {
				phoneChanges++
			}
		}
		first[uid] = contact{ev.Email, ev.Phone}
	}

	assert.Positive(t, relogins, "users who log in again")
	assert.Positive(t, emailChanges, "logins with a changed email")
	assert.Positive(t, phoneChanges, "logins with a changed phone")
	assert.Less(t, emailChanges, relogins/2, "most logins keep the email")
}

func TestGenerateSpinsHaveRealisticBetsAndWins(t *testing.T) {
	events := decodeAll(t, generateLines(t, DefaultGeneratorConfig()))

	singles, zeroWins, bigWins, autoPlays := 0, 0, 0, 0
	var totalBet, totalWin int64
	for _, ev := range events {
		if ev.Type != "spin" {
			continue
		}
		assert.Equal(t, "coins", ev.Currency)
		bet, err := strconv.ParseInt(ev.Bet, 10, 64)
		require.NoError(t, err)
		win, err := strconv.ParseInt(ev.Win, 10, 64)
		require.NoError(t, err)
		assert.Zero(t, bet%int64(*ev.SpinCount*10), "bet %d is not a multiple of 10 per round: %s", bet, ev.line)
		totalBet += bet
		totalWin += win

		if *ev.SpinCount > 1 {
			autoPlays++
			continue
		}
		singles++
		if win == 0 {
			zeroWins++
		}
		if win >= 10*bet {
			bigWins++
		}
	}

	assert.InDelta(t, 0.7, float64(zeroWins)/float64(singles), 0.03, "share of single spins that win nothing")
	assert.Positive(t, bigWins, "single spins that win 10 times the bet or more")
	assert.Positive(t, autoPlays, "auto-play events")
	assert.InDelta(t, 0.9, float64(totalWin)/float64(totalBet), 0.25, "return to player")
}

func TestGenerateInvalidAndDuplicateLines(t *testing.T) {
	cfg := testGeneratorConfig()
	cfg.Events = 50_000
	cfg.InvalidRate = 0.04
	cfg.DuplicateRate = 0.03
	lines := generateLines(t, cfg)
	require.Len(t, lines, cfg.Events)

	firstLine := map[string][]byte{}
	invalid, duplicates := 0, 0
	reasons := map[string]int{}
	for _, line := range lines {
		ev, err := decodeEvent(line)
		if err != nil {
			invalid++
			reasons[strings.SplitN(err.Error(), " ", 2)[0]]++
			continue
		}
		if earlier, ok := firstLine[ev.MsgID]; ok {
			duplicates++
			assert.Equal(t, string(earlier), string(line), "re-send of %s", ev.MsgID)
			continue
		}
		firstLine[ev.MsgID] = line
	}

	assert.InDelta(t, cfg.InvalidRate, float64(invalid)/float64(len(lines)), 0.005, "invalid fraction")
	assert.InDelta(t, cfg.DuplicateRate, float64(duplicates)/float64(len(lines)), 0.005, "duplicate fraction")
	assert.Positive(t, reasons["bad"], "truncated JSON lines: %v", reasons)
	assert.Positive(t, reasons["missing"], "lines without uid: %v", reasons)
	assert.Positive(t, reasons["purchase_amount"], "negative amounts: %v", reasons)
	assert.Positive(t, reasons["unknown"], "unknown currencies: %v", reasons)
	assert.Len(t, reasons, 4, "reasons: %v", reasons)
}

func TestGenerateNoInjectionByDefault(t *testing.T) {
	cfg := DefaultGeneratorConfig()
	assert.Zero(t, cfg.InvalidRate)
	assert.Zero(t, cfg.DuplicateRate)
}

func TestGenerateRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*GeneratorConfig)
		want   string
	}{
		{"no users", func(c *GeneratorConfig) { c.Users = 0 }, "Users is 0"},
		{"too many users", func(c *GeneratorConfig) { c.Users = math.MaxInt32 + 1 }, "Users is 2147483648"},
		{"no apps", func(c *GeneratorConfig) { c.Apps = 0 }, "Apps is 0"},
		{"negative events", func(c *GeneratorConfig) { c.Events = -1 }, "Events is -1"},
		{"zero start", func(c *GeneratorConfig) { c.Start = time.Time{} }, "Start is not set"},
		{"short span", func(c *GeneratorConfig) { c.Span = time.Microsecond }, "Span is 1µs"},
		{"purchase rate above 1", func(c *GeneratorConfig) { c.PurchaseRate = 1.5 }, "PurchaseRate is 1.5"},
		{"negative invalid rate", func(c *GeneratorConfig) { c.InvalidRate = -0.1 }, "InvalidRate is -0.1"},
		{"rates add up to 1", func(c *GeneratorConfig) { c.InvalidRate, c.DuplicateRate = 0.5, 0.5 }, "must be below 1"},
		{"no currencies", func(c *GeneratorConfig) { c.Currencies = nil }, "Currencies is empty"},
		{"unknown currency", func(c *GeneratorConfig) { c.Currencies = []string{"USD", "XYZ"} }, `currency "XYZ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultGeneratorConfig()
			tt.change(&cfg)
			err := Generate(cfg, func([]byte) error {
				t.Fatal("emit called for an invalid config")
				return nil
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGenerateStopsOnEmitError(t *testing.T) {
	stop := errors.New("stop")
	emitted := 0
	err := Generate(DefaultGeneratorConfig(), func([]byte) error {
		emitted++
		if emitted == 10 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 10, emitted)
}

func TestGenerateSmallConfigs(t *testing.T) {
	tests := []struct {
		name   string
		change func(*GeneratorConfig)
	}{
		{"zero events", func(c *GeneratorConfig) { c.Events = 0 }},
		{"one user", func(c *GeneratorConfig) { c.Users, c.Events = 1, 500 }},
		{"one app", func(c *GeneratorConfig) { c.Apps, c.Events = 1, 500 }},
		{"one currency", func(c *GeneratorConfig) { c.Currencies, c.Events = []string{"JPY"}, 500 }},
		{"one millisecond span", func(c *GeneratorConfig) { c.Span, c.Events = time.Millisecond, 500 }},
		{"only purchases", func(c *GeneratorConfig) { c.PurchaseRate, c.Events = 1, 500 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultGeneratorConfig()
			tt.change(&cfg)
			events := decodeAll(t, generateLines(t, cfg))
			assert.Len(t, events, cfg.Events)
		})
	}
}

// BenchmarkGenerate measures Generate with the default configuration and
// reports generated events per second.
func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultGeneratorConfig()
	var total int64
	start := time.Now()
	for b.Loop() {
		err := Generate(cfg, func(line []byte) error {
			total++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}
