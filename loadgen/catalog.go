package loadgen

import (
	"slices"
	"strconv"
	"time"
)

// gameCurrency is the currency of every spin's bet and win.
const gameCurrency = "coins"

// unknownCurrency is the currency of injected purchases with an unknown
// currency. ISO 4217 codes start with an ISO 3166 country code, and ZZ is a
// user-assigned code there, so no official currency has this code.
const unknownCurrency = "ZZZ"

// appNames are the base names of the generated apps. GeneratorConfig.Apps
// beyond their number reuse them with a numeric suffix.
var appNames = []string{
	"slots-gold-rush",
	"slots-lucky-sevens",
	"slots-dragon-fortune",
	"slots-pharaoh-treasure",
	"slots-fruit-fiesta",
	"slots-viking-gold",
	"slots-diamond-deluxe",
	"slots-wild-buffalo",
	"slots-ocean-pearls",
	"slots-neon-nights",
	"slots-jungle-jackpot",
	"slots-cosmic-cash",
}

// appName returns the app_id of the app with index i.
func appName(i int) string {
	name := appNames[i%len(appNames)]
	if round := i / len(appNames); round > 0 {
		name += "-" + strconv.Itoa(round+1)
	}
	return name
}

// priceList is the store price points of one currency, cheapest first, and
// the number of decimals that ISO 4217 allows for the currency.
type priceList struct {
	code     string
	decimals int
	points   [len(productIDs)]string
}

// productIDs names the product sold at each price tier.
var productIDs = [...]string{
	"starter_pack",
	"coins_small",
	"coins_medium",
	"coins_large",
	"coins_huge",
	"vip_pass",
	"mega_bundle",
}

// tierWeights is the cumulative weight, out of 1000, of each price tier:
// cheap packs sell far more often than expensive ones.
var tierWeights = [len(productIDs)]int{380, 600, 770, 880, 950, 985, 1000}

// priceLists contains the price points of every currency the generator can use.
// The points follow common app store tiers in each currency, none with more
// decimals than the currency's ISO 4217 minor unit.
var priceLists = map[string]*priceList{
	"USD": {code: "USD", decimals: 2, points: [...]string{"0.99", "1.99", "4.99", "9.99", "19.99", "49.99", "99.99"}},
	"EUR": {code: "EUR", decimals: 2, points: [...]string{"0.99", "1.99", "5.49", "10.99", "21.99", "54.99", "109.99"}},
	"GBP": {code: "GBP", decimals: 2, points: [...]string{"0.99", "1.99", "4.99", "9.99", "19.99", "49.99", "99.99"}},
	"CAD": {code: "CAD", decimals: 2, points: [...]string{"1.39", "2.79", "6.99", "13.99", "27.99", "69.99", "139.99"}},
	"AUD": {code: "AUD", decimals: 2, points: [...]string{"1.49", "2.99", "7.99", "15.99", "29.99", "79.99", "149.99"}},
	"CHF": {code: "CHF", decimals: 2, points: [...]string{"1.00", "2.00", "6.00", "11.00", "22.00", "55.00", "110.00"}},
	"BRL": {code: "BRL", decimals: 2, points: [...]string{"5.90", "10.90", "27.90", "54.90", "109.90", "279.90", "549.90"}},
	"INR": {code: "INR", decimals: 2, points: [...]string{"89", "179", "449", "899", "1799", "4499", "8999"}},
	"JPY": {code: "JPY", decimals: 0, points: [...]string{"120", "250", "600", "1200", "3000", "6000", "12000"}},
	"KRW": {code: "KRW", decimals: 0, points: [...]string{"1200", "2500", "6500", "12000", "25000", "65000", "129000"}},
	"KWD": {code: "KWD", decimals: 3, points: [...]string{"0.300", "0.600", "1.500", "3.000", "6.000", "15.000", "30.000"}},
}

// SupportedCurrencies returns the ISO 4217 codes that
// GeneratorConfig.Currencies accepts, sorted.
func SupportedCurrencies() []string {
	codes := make([]string, 0, len(priceLists))
	for code := range priceLists {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// betLevels are the per-spin bets in coins. Every level is a multiple of 10,
// so a win of a whole number of tenths of the bet is a whole number of coins.
var betLevels = [...]int64{10, 20, 50, 100, 200, 500, 1000, 2000, 5000}

// betLevelWeights is the cumulative weight, out of 100, of each bet level.
var betLevelWeights = [len(betLevels)]int{15, 40, 62, 77, 87, 93, 97, 99, 100}

// autoSpinCounts are the spin_count values of auto-play events, which bundle
// several rounds into one event.
var autoSpinCounts = [...]int{5, 10, 20, 50}

// winBand is one band of the win table: a spin lands in the band with
// probability per mille (out of 1000) and then wins between minTenths and
// maxTenths tenths of its bet.
type winBand struct {
	perMille             int
	minTenths, maxTenths int64
}

// winBands is the win table of one spin. 70% of spins win nothing, and the
// return to player is about 90% of the bets.
var winBands = [...]winBand{
	{perMille: 200, minTenths: 5, maxTenths: 15},
	{perMille: 70, minTenths: 20, maxTenths: 30},
	{perMille: 25, minTenths: 50, maxTenths: 100},
	{perMille: 4, minTenths: 200, maxTenths: 500},
	{perMille: 1, minTenths: 1000, maxTenths: 3000},
}

// emailDomains are domains reserved for examples by RFC 2606.
var emailDomains = [...]string{"example.com", "example.net", "example.org", "mail.example"}

// usAreaCodes are the area codes of generated US phone numbers. Numbers
// 555-0100 to 555-0199 in every North American area code are reserved for
// fictional use.
var usAreaCodes = [...]string{"201", "212", "305", "415", "512", "617", "702", "808"}

// ukDramaPrefix starts the UK mobile numbers 07700 900000 to 07700 900999,
// which Ofcom reserves for drama.
const ukDramaPrefix = "+447700900"

// playerZones are the time zones in which clients write timestamps. Most
// clients write UTC ("Z"), the others their local offset.
var playerZones = []*time.Location{
	time.UTC,
	time.FixedZone("UTC+9", 9*3600),
	time.FixedZone("UTC+1", 3600),
	time.FixedZone("UTC-5", -5*3600),
	time.FixedZone("UTC+5:30", 5*3600+1800),
	time.FixedZone("UTC-3", -3*3600),
}

// utcPerMille is the share, out of 1000, of players whose clients write UTC.
const utcPerMille = 700
