package loadgen

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// Session and login behaviour of generated players.
const (
	// reloginPerMille is the chance, out of 1000, that a session after the
	// first one starts with a new login.
	reloginPerMille = 120
	// emailChangePerMille and phoneChangePerMille are the chances, out of
	// 1000, that a new login comes with a changed email or phone number.
	emailChangePerMille = 250
	phoneChangePerMille = 200
	// phonePerMille is the share of players who give a phone number at
	// their first login.
	phonePerMille = 600
	// autoSpinPerMille is the share of spin events that bundle several
	// rounds of auto-play.
	autoSpinPerMille = 150
	// betChangePerMille is the chance that a session is played one bet level
	// higher or lower than the previous one.
	betChangePerMille = 200
	// maxSpinGapMs is the mean time between two events of a session when a
	// player has plenty of time for their events.
	maxSpinGapMs = 6000
)

// player is the state of one generated user, whose events are a sequence of
// sessions within the span. The first session starts with a login, and each
// later one does with probability reloginPerMille. The other events of a
// session are spins and purchases on one of the player's favourite apps.
type player struct {
	uid      string
	zone     *time.Location
	prices   *priceList
	domain   int
	betLevel int

	emailVersion int
	phone        string

	favourites     [3]int
	favouriteCount int
	app            int // app of the current session

	next        int64 // time of the next event, Unix milliseconds
	end         int64 // end of the span (exclusive), Unix milliseconds
	remaining   int   // events left to generate, logins included
	sessionLeft int   // spins and purchases left in the current session
	pendingAuth bool  // the next event is a login
	logins      int

	gapMs       float64 // mean time between two events of a session
	meanSession float64 // mean number of spins and purchases per session
}

// initPlayer sets up player index with a budget of events and places its
// first session.
func (g *generator) initPlayer(p *player, index int, budget int) {
	rng := g.rng
	p.uid = uidFor(g.cfg.Seed, index)
	p.zone = playerZones[0]
	if rng.IntN(1000) >= utcPerMille {
		p.zone = playerZones[1+rng.IntN(len(playerZones)-1)]
	}
	p.prices = g.currencies[0]
	if len(g.currencies) > 1 && rng.IntN(2) == 1 {
		p.prices = g.currencies[1+rng.IntN(len(g.currencies)-1)]
	}
	p.domain = rng.IntN(len(emailDomains))
	p.betLevel = pickCumulative(rng, betLevelWeights[:])
	if rng.IntN(1000) < phonePerMille {
		p.phone = newPhone(rng)
	}
	g.pickFavourites(p)

	p.end = g.startMs + g.spanMs
	p.remaining = budget

	// Spins and purchases take at most half of the player's time, and the
	// rest is spread between sessions. Heavier players play longer sessions.
	p.gapMs = math.Min(maxSpinGapMs, 0.5*float64(g.spanMs)/float64(budget))
	p.meanSession = 3 + 1.5*math.Sqrt(float64(budget))
	p.startSession(rng, g.startMs, true)
}

// uidFor returns the uid of player index: 16 hex digits of a bijective mix
// of the seed and the index, so uids are unique within a seed.
func uidFor(seed int64, index int) string {
	x := uint64(seed)*0x9E3779B97F4A7C15 + uint64(index)
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31

	var digits [16]byte
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		digits[i] = hex[x&0xF]
		x >>= 4
	}
	return string(digits[:])
}

// newPhone returns a fictional E.164 number: a US number 555-01xx or a UK
// mobile number 07700 900xxx.
func newPhone(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return ukDramaPrefix + strconv.Itoa(1000 + rng.IntN(1000))[1:]
	}
	area := usAreaCodes[rng.IntN(len(usAreaCodes))]
	return "+1" + area + "55501" + strconv.Itoa(100 + rng.IntN(100))[1:]
}

// pickFavourites gives p one to three favourite apps, chosen by app
// popularity.
func (g *generator) pickFavourites(p *player) {
	rng := g.rng
	want := 1
	switch r := rng.IntN(100); {
	case r >= 85:
		want = 3
	case r >= 50:
		want = 2
	}
	want = min(want, len(g.apps))

	// Redraw an app that is already a favourite a bounded number of times,
	// so a player can end up with fewer favourites than drawn.
	for attempt := 0; p.favouriteCount < want && attempt < 20; attempt++ {
		app := pickCumulativeFloat(rng, g.appPopularity)
		duplicate := false
		for _, f := range p.favourites[:p.favouriteCount] {
			duplicate = duplicate || f == app
		}
		if !duplicate {
			p.favourites[p.favouriteCount] = app
			p.favouriteCount++
		}
	}
}

// step fills ev with the player's next event and advances the player to the
// event after it.
func (p *player) step(g *generator, ev *event) {
	rng := g.rng
	now := p.next
	*ev = event{player: p, app: p.app, timeMs: now, msgID: g.nextMsgID()}
	p.remaining--

	if p.pendingAuth {
		ev.kind = kindAuth
		ev.emailVersion = p.emailVersion
		ev.phone = p.phone
		p.pendingAuth = false
		p.logins++
		p.advanceWithinSession(rng, now)
		return
	}

	if g.cfg.PurchaseRate > 0 && rng.Float64() < g.cfg.PurchaseRate {
		p.fillPurchase(rng, ev)
	} else {
		p.fillSpin(rng, ev)
	}

	p.sessionLeft--
	if p.sessionLeft > 0 {
		p.advanceWithinSession(rng, now)
	} else if p.remaining > 0 {
		p.startSession(rng, now, false)
	}
}

func (p *player) fillSpin(rng *rand.Rand, ev *event) {
	ev.kind = kindSpin
	ev.spinCount = 1
	if rng.IntN(1000) < autoSpinPerMille {
		ev.spinCount = autoSpinCounts[rng.IntN(len(autoSpinCounts))]
	}

	bet := betLevels[p.betLevel]
	ev.bet = bet * int64(ev.spinCount)
	for range ev.spinCount {
		ev.win += spinWin(rng, bet)
	}
}

// spinWin returns the win of one round at the given bet, drawn from
// winBands.
func spinWin(rng *rand.Rand, bet int64) int64 {
	r := rng.IntN(1000)
	for _, band := range winBands {
		if r < band.perMille {
			tenths := band.minTenths + rng.Int64N(band.maxTenths-band.minTenths+1)
			return bet * tenths / 10
		}
		r -= band.perMille
	}
	return 0
}

func (p *player) fillPurchase(rng *rand.Rand, ev *event) {
	ev.kind = kindPurchase
	ev.prices = p.prices
	ev.currency = p.prices.code
	ev.tier = pickCumulative(rng, tierWeights[:])
}

// advanceWithinSession moves the next event a random gap of 0.5 to 1.5
// times gapMs after now.
func (p *player) advanceWithinSession(rng *rand.Rand, now int64) {
	gap := int64(p.gapMs * (0.5 + rng.Float64()))
	p.next = min(now+gap, p.end-1)
}

// startSession places the next session after an idle gap from now. Gaps
// between sessions are exponential, with a mean that spreads the idle time
// left evenly over the expected number of sessions left. The first session
// starts uniformly within the first of those shares, so players with a
// single session are spread over the whole span. No session starts so late
// that its player's remaining events at gapMs would pass the end of the span.
func (p *player) startSession(rng *rand.Rand, now int64, first bool) {
	sessions := math.Max(1, float64(p.remaining)/p.meanSession)
	busy := float64(p.remaining) * p.gapMs
	idle := float64(p.end-now) - busy

	start := now
	if idle > 0 {
		if first {
			start += int64(rng.Float64() * idle / sessions)
		} else {
			start += int64(rng.ExpFloat64() * idle / (sessions + 1))
		}
	}
	if latest := p.end - int64(busy); start > latest {
		start = max(now, latest)
	}
	p.next = min(start, p.end-1)
	p.beginSession(rng)
}

// beginSession picks the app, length and bet of the session that starts at
// p.next, and whether it starts with a login.
func (p *player) beginSession(rng *rand.Rand) {
	switch r := rng.IntN(100); {
	case r < 60 || p.favouriteCount == 1:
		p.app = p.favourites[0]
	case r < 90 || p.favouriteCount == 2:
		p.app = p.favourites[1]
	default:
		p.app = p.favourites[2]
	}
	p.sessionLeft = 1 + int(rng.ExpFloat64()*(p.meanSession-1))

	if rng.IntN(1000) < betChangePerMille {
		if rng.IntN(2) == 0 {
			p.betLevel = max(0, p.betLevel-1)
		} else {
			p.betLevel = min(len(betLevels)-1, p.betLevel+1)
		}
	}

	if p.logins == 0 {
		p.pendingAuth = true
		return
	}
	if rng.IntN(1000) < reloginPerMille {
		p.pendingAuth = true
		if rng.IntN(1000) < emailChangePerMille {
			p.emailVersion++
		}
		if rng.IntN(1000) < phoneChangePerMille {
			p.phone = newPhone(rng)
		}
	}
}

// pickCumulative returns the index of the weight band that a uniform draw
// below the last cumulative weight falls into.
func pickCumulative(rng *rand.Rand, cumulative []int) int {
	r := rng.IntN(cumulative[len(cumulative)-1])
	for i, c := range cumulative {
		if r < c {
			return i
		}
	}
	return len(cumulative) - 1
}

// pickCumulativeFloat is pickCumulative for float weights.
func pickCumulativeFloat(rng *rand.Rand, cumulative []float64) int {
	r := rng.Float64() * cumulative[len(cumulative)-1]
	i := sort.Search(len(cumulative), func(i int) bool { return cumulative[i] > r })
	return min(i, len(cumulative)-1)
}
