// Package configs loads and validates the gamestream configuration: the
// embedded default YAML file, an optional file of the operator's, and
// environment-variable overrides, in that order.
package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/windows"
)

// EnvPrefix starts the name of every environment variable that overrides a
// setting. Variables under EnvPrefix+"TEST_" belong to the test suite and are
// not settings.
const EnvPrefix = "GAMESTREAM_"

//go:embed gamestream.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration file.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Config is the whole configuration of the processor and its commands.
type Config struct {
	Kafka     Kafka                `koanf:"kafka"`
	Postgres  Postgres             `koanf:"postgres"`
	MySQL     MySQL                `koanf:"mysql"`
	State     State                `koanf:"state"`
	Processor Processor            `koanf:"processor"`
	Events    Events               `koanf:"events"`
	Watermark Watermark            `koanf:"watermark"`
	Windows   []windows.SpecConfig `koanf:"windows"`
	HTTP      HTTP                 `koanf:"http"`
	Log       Log                  `koanf:"log"`
}

// Kafka configures the consumer group, topics and the dead-letter topic.
type Kafka struct {
	Brokers         []string          `koanf:"brokers"`
	ConsumerGroup   string            `koanf:"consumer_group"`
	Topics          map[string]string `koanf:"topics"`
	MixedTopics     []string          `koanf:"mixed_topics"`
	DeadLetterTopic string            `koanf:"dead_letter_topic"`
	SessionTimeout  time.Duration     `koanf:"session_timeout"`
	InstanceID      string            `koanf:"instance_id"`
	FetchMaxWait    time.Duration     `koanf:"fetch_max_wait"`
}

// Postgres configures the raw event vault.
type Postgres struct {
	DSN string `koanf:"dsn"`
}

// MySQL configures the database of profiles and reports.
type MySQL struct {
	DSN string `koanf:"dsn"`
}

// State configures the Badger checkpoint store.
type State struct {
	Dir string `koanf:"dir"`
	// Recovery is the start-up policy for when the checkpoint is missing or
	// unreadable while PostgreSQL shows that events were processed before:
	// "replay" rebuilds the state from the log, "refuse" stops with an error.
	Recovery string `koanf:"recovery"`
}

// Recovery policies of State.Recovery.
const (
	RecoveryReplay = "replay"
	RecoveryRefuse = "refuse"
)

// Processor configures batching, commits and shutdown.
type Processor struct {
	BufferSize              int           `koanf:"buffer_size"`
	BatchSize               int           `koanf:"batch_size"`
	BatchTimeout            time.Duration `koanf:"batch_timeout"`
	CommitInterval          time.Duration `koanf:"commit_interval"`
	CheckpointMaxDirtyUsers int           `koanf:"checkpoint_max_dirty_users"`
	ShutdownTimeout         time.Duration `koanf:"shutdown_timeout"`
}

// Events configures validation and currency conversion.
type Events struct {
	MaxFutureSkew     time.Duration     `koanf:"max_future_skew"`
	DefaultCurrency   string            `koanf:"default_currency"`
	ReportingCurrency string            `koanf:"reporting_currency"`
	Rates             map[string]string `koanf:"rates"`
}

// Watermark configures event-time progress.
type Watermark struct {
	OutOfOrderness time.Duration `koanf:"out_of_orderness"`
	IdleTimeout    time.Duration `koanf:"idle_timeout"`
}

// HTTP configures the metrics and health endpoint.
type HTTP struct {
	Listen string `koanf:"listen"`
}

// Log configures structured logging.
type Log struct {
	Level string `koanf:"level"`
}

// Load reads the embedded defaults, then path when it is not empty, then the
// environment, and validates the result. environ is usually os.Environ().
func Load(path string, environ []string) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(defaultYAML), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("parsing the embedded default configuration: %w", err)
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("reading configuration file: %w", err)
		}
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("parsing configuration file %s: %w", path, err)
		}
	}
	if err := loadEnv(k, environ); err != nil {
		return nil, err
	}

	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("decoding configuration: %w (durations are written like 500ms, 5s or 2m, counts as whole numbers)", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// loadEnv applies GAMESTREAM_* variables. A variable maps to the known setting
// whose path, upper-cased with dots turned into underscores, equals the rest
// of its name; GAMESTREAM_EVENTS_RATES_<CODE> sets one exchange rate. Any
// other GAMESTREAM_* variable is an error, so a misspelt override is not
// silently ignored.
func loadEnv(k *koanf.Koanf, environ []string) error {
	known := make(map[string]string)
	for _, key := range k.Keys() {
		known[strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
	}
	for _, key := range []string{"kafka.topics.auth", "kafka.topics.spin", "kafka.topics.purchase"} {
		known[strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
	}
	listKeys := map[string]bool{"kafka.brokers": true, "kafka.mixed_topics": true}

	var unknown []string
	provider := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, EnvPrefix)
			if strings.HasPrefix(rest, "TEST_") {
				return "", nil
			}
			if code, ok := strings.CutPrefix(rest, "EVENTS_RATES_"); ok && code != "" {
				return "events.rates." + code, value
			}
			key, ok := known[rest]
			if !ok {
				unknown = append(unknown, name)
				return "", nil
			}
			if listKeys[key] {
				return key, splitList(value)
			}
			return key, value
		},
	})
	if err := k.Load(provider, nil); err != nil {
		return fmt.Errorf("reading environment overrides: %w", err)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown setting in environment: %s (names are %s plus the setting's path in upper case, such as %sPOSTGRES_DSN)",
			strings.Join(unknown, ", "), EnvPrefix, EnvPrefix)
	}
	return nil
}

func splitList(value string) []string {
	var out []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Validate checks every setting and returns all problems found, each naming
// the setting and its value.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	c.validateKafka(add)
	if c.Postgres.DSN == "" {
		add("postgres.dsn: must not be empty")
	}
	if c.MySQL.DSN == "" {
		add("mysql.dsn: must not be empty")
	}
	if c.State.Dir == "" {
		add("state.dir: must not be empty")
	}
	if c.State.Recovery != RecoveryReplay && c.State.Recovery != RecoveryRefuse {
		add("state.recovery: invalid value %q: want replay or refuse", c.State.Recovery)
	}
	c.validateProcessor(add)
	c.validateEvents(add)
	if c.Watermark.OutOfOrderness < 0 {
		add("watermark.out_of_orderness: invalid value %s: must not be negative", c.Watermark.OutOfOrderness)
	}
	if c.Watermark.IdleTimeout <= 0 {
		add("watermark.idle_timeout: invalid value %s: must be positive", c.Watermark.IdleTimeout)
	}
	if _, err := windows.ValidateSpecs(c.Windows); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		add("http.listen: invalid value %q: want host:port", c.HTTP.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: invalid value %q: want debug, info, warn or error", c.Log.Level)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

func (c *Config) validateKafka(add func(string, ...any)) {
	if len(c.Kafka.Brokers) == 0 {
		add("kafka.brokers: must list at least one host:port")
	}
	for i, b := range c.Kafka.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			add("kafka.brokers[%d]: invalid value %q: want host:port", i, b)
		}
	}
	if c.Kafka.ConsumerGroup == "" {
		add("kafka.consumer_group: must not be empty")
	}
	seen := make(map[string]string)
	for kind, topic := range c.Kafka.Topics {
		if _, err := handlers.ParseKind(kind); err != nil {
			add("kafka.topics.%s: invalid key: want auth, spin or purchase", kind)
		}
		if topic == "" {
			continue
		}
		if other, dup := seen[topic]; dup {
			add("kafka.topics.%s: topic %q is also configured for %s", kind, topic, other)
		}
		seen[topic] = kind
	}
	for i, topic := range c.Kafka.MixedTopics {
		if topic == "" {
			add("kafka.mixed_topics[%d]: must not be empty", i)
		} else if other, dup := seen[topic]; dup {
			add("kafka.mixed_topics[%d]: topic %q is also configured for %s", i, topic, other)
		}
		seen[topic] = "mixed"
	}
	if len(seen) == 0 {
		add("kafka.topics: no input topic configured: set kafka.topics or kafka.mixed_topics")
	}
	if c.Kafka.DeadLetterTopic == "" {
		add("kafka.dead_letter_topic: must not be empty")
	} else if _, dup := seen[c.Kafka.DeadLetterTopic]; dup {
		add("kafka.dead_letter_topic: topic %q is also an input topic", c.Kafka.DeadLetterTopic)
	}
	if c.Kafka.SessionTimeout < time.Second {
		add("kafka.session_timeout: invalid value %s: must be at least 1s", c.Kafka.SessionTimeout)
	}
	if c.Kafka.FetchMaxWait <= 0 {
		add("kafka.fetch_max_wait: invalid value %s: must be positive", c.Kafka.FetchMaxWait)
	}
}

func (c *Config) validateProcessor(add func(string, ...any)) {
	p := c.Processor
	if p.BufferSize < 1 {
		add("processor.buffer_size: invalid value %d: must be at least 1", p.BufferSize)
	}
	if p.BatchSize < 1 {
		add("processor.batch_size: invalid value %d: must be at least 1", p.BatchSize)
	}
	if p.BatchTimeout <= 0 {
		add("processor.batch_timeout: invalid value %s: must be positive", p.BatchTimeout)
	}
	if p.CommitInterval <= 0 {
		add("processor.commit_interval: invalid value %s: must be positive", p.CommitInterval)
	}
	if p.CheckpointMaxDirtyUsers < 1 {
		add("processor.checkpoint_max_dirty_users: invalid value %d: must be at least 1", p.CheckpointMaxDirtyUsers)
	}
	if p.ShutdownTimeout <= 0 {
		add("processor.shutdown_timeout: invalid value %s: must be positive", p.ShutdownTimeout)
	}
}

func (c *Config) validateEvents(add func(string, ...any)) {
	if c.Events.MaxFutureSkew <= 0 {
		add("events.max_future_skew: invalid value %s: must be positive", c.Events.MaxFutureSkew)
	}
	if _, ok := handlers.MinorUnits(c.Events.ReportingCurrency); !ok {
		add("events.reporting_currency: invalid value %q: not an ISO 4217 currency code", c.Events.ReportingCurrency)
		return
	}
	rates, err := handlers.NewRates(c.Events.ReportingCurrency, c.Events.Rates)
	if err != nil {
		add("events.%v", err) // the error starts with the key, as in rates.EUR
		return
	}
	if _, err := rates.Convert(decimalOne, c.Events.DefaultCurrency); err != nil {
		add("events.default_currency: invalid value %q: no rate in events.rates", c.Events.DefaultCurrency)
	}
}

// Topics returns the input topics with the kind each carries; a mixed topic
// maps to the empty Kind.
func (c *Config) Topics() map[string]handlers.Kind {
	out := make(map[string]handlers.Kind)
	for kind, topic := range c.Kafka.Topics {
		if topic != "" {
			out[topic] = handlers.Kind(kind)
		}
	}
	for _, topic := range c.Kafka.MixedTopics {
		out[topic] = ""
	}
	return out
}

var decimalOne = decimal.NewFromInt(1)
