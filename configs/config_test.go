package configs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/windows"
)

// writeConfig writes yamlText to a file in a fresh temporary folder and
// returns its path.
func writeConfig(t *testing.T, yamlText string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gamestream.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yamlText), 0o600))
	return path
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := configs.Load("", nil)
	require.NoError(t, err)

	assert.Equal(t, []string{"127.0.0.1:9092"}, cfg.Kafka.Brokers)
	assert.Equal(t, "gamestream", cfg.Kafka.ConsumerGroup)
	assert.Equal(t, map[string]handlers.Kind{
		"game.auth":     handlers.KindAuth,
		"game.spin":     handlers.KindSpin,
		"game.purchase": handlers.KindPurchase,
	}, cfg.Topics())
	assert.Equal(t, "game.dlq", cfg.Kafka.DeadLetterTopic)
	assert.Equal(t, 10*time.Second, cfg.Kafka.SessionTimeout)
	assert.Equal(t, configs.RecoveryReplay, cfg.State.Recovery)
	assert.Equal(t, 5000, cfg.Processor.BatchSize)
	assert.Equal(t, "USD", cfg.Events.ReportingCurrency)
	assert.Equal(t, "1.08", cfg.Events.Rates["EUR"])
	assert.Equal(t, 5*time.Second, cfg.Watermark.OutOfOrderness)
	assert.Equal(t, 30*time.Second, cfg.Watermark.IdleTimeout)
	assert.Len(t, cfg.Windows, 4)
	assert.Equal(t, "127.0.0.1:9464", cfg.HTTP.Listen)
	assert.Equal(t, "info", cfg.Log.Level)
}

func TestLoadDefaultYAMLAsFile(t *testing.T) {
	path := writeConfig(t, string(configs.DefaultYAML()))
	_, err := configs.Load(path, nil)
	require.NoError(t, err)
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := configs.Load(path, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}

func TestLoadFileOverridesDefaults(t *testing.T) {
	path := writeConfig(t, `
kafka:
  consumer_group: reports
events:
  rates:
    EUR: "1.10"
`)
	cfg, err := configs.Load(path, nil)
	require.NoError(t, err)

	assert.Equal(t, "reports", cfg.Kafka.ConsumerGroup)
	assert.Equal(t, "1.10", cfg.Events.Rates["EUR"])
	assert.Equal(t, "1.27", cfg.Events.Rates["GBP"], "a rate that the file leaves out keeps its default")
	assert.Equal(t, []string{"127.0.0.1:9092"}, cfg.Kafka.Brokers)
}

// TestValidateInvalid loads one override file per case. Every case breaks one
// setting, so the error must name that setting and the value.
func TestValidateInvalid(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"brokers empty", "kafka: {brokers: []}",
			[]string{"kafka.brokers", "at least one host:port"}},
		{"broker without port", `kafka: {brokers: ["127.0.0.1:9092", "kafka"]}`,
			[]string{"kafka.brokers[1]", `"kafka"`}},
		{"consumer group empty", `kafka: {consumer_group: ""}`,
			[]string{"kafka.consumer_group", "must not be empty"}},
		{"topics key unknown", "kafka: {topics: {login: game.login}}",
			[]string{"kafka.topics.login", "invalid key"}},
		{"topic configured twice", "kafka: {topics: {spin: game.auth}}",
			[]string{"kafka.topics.", `"game.auth"`, "also configured"}},
		{"mixed topic also per-kind topic", "kafka: {mixed_topics: [game.spin]}",
			[]string{"kafka.mixed_topics[0]", `"game.spin"`, "also configured"}},
		{"mixed topic empty", `kafka: {mixed_topics: [""]}`,
			[]string{"kafka.mixed_topics[0]", "must not be empty"}},
		{"no input topic", `kafka: {topics: {auth: "", spin: "", purchase: ""}}`,
			[]string{"kafka.topics", "no input topic"}},
		{"dead-letter topic empty", `kafka: {dead_letter_topic: ""}`,
			[]string{"kafka.dead_letter_topic", "must not be empty"}},
		{"dead-letter topic is input", "kafka: {dead_letter_topic: game.spin}",
			[]string{"kafka.dead_letter_topic", `"game.spin"`, "also an input topic"}},
		{"session timeout below 1s", "kafka: {session_timeout: 500ms}",
			[]string{"kafka.session_timeout", "500ms"}},
		{"fetch max wait zero", "kafka: {fetch_max_wait: 0s}",
			[]string{"kafka.fetch_max_wait", "0s"}},
		{"postgres dsn empty", `postgres: {dsn: ""}`,
			[]string{"postgres.dsn", "must not be empty"}},
		{"mysql dsn empty", `mysql: {dsn: ""}`,
			[]string{"mysql.dsn", "must not be empty"}},
		{"state dir empty", `state: {dir: ""}`,
			[]string{"state.dir", "must not be empty"}},
		{"state recovery unknown", "state: {recovery: ignore}",
			[]string{"state.recovery", `"ignore"`}},
		{"buffer size zero", "processor: {buffer_size: 0}",
			[]string{"processor.buffer_size", "invalid value 0"}},
		{"batch size negative", "processor: {batch_size: -5}",
			[]string{"processor.batch_size", "invalid value -5"}},
		{"batch timeout zero", "processor: {batch_timeout: 0s}",
			[]string{"processor.batch_timeout", "0s"}},
		{"commit interval negative", "processor: {commit_interval: -1s}",
			[]string{"processor.commit_interval", "-1s"}},
		{"checkpoint dirty users zero", "processor: {checkpoint_max_dirty_users: 0}",
			[]string{"processor.checkpoint_max_dirty_users", "invalid value 0"}},
		{"shutdown timeout zero", "processor: {shutdown_timeout: 0s}",
			[]string{"processor.shutdown_timeout", "0s"}},
		{"max future skew zero", "events: {max_future_skew: 0s}",
			[]string{"events.max_future_skew", "0s"}},
		{"reporting currency unknown", "events: {reporting_currency: XYZ}",
			[]string{"events.reporting_currency", `"XYZ"`}},
		{"rates key unknown", `events: {rates: {XYZ: "2"}}`,
			[]string{"events.rates.XYZ", "unknown ISO 4217"}},
		{"rate not a number", `events: {rates: {EUR: "one"}}`,
			[]string{"events.rates.EUR", `"one"`}},
		{"default currency without rate", "events: {default_currency: PLN}",
			[]string{"events.default_currency", `"PLN"`}},
		{"out of orderness negative", "watermark: {out_of_orderness: -1s}",
			[]string{"watermark.out_of_orderness", "-1s"}},
		{"idle timeout zero", "watermark: {idle_timeout: 0s}",
			[]string{"watermark.idle_timeout", "0s"}},
		{"windows empty", "windows: []",
			[]string{"windows", "at least one window spec"}},
		{"window size invalid", "windows: [{name: daily, size: fortnight, emit_interval: 5s}]",
			[]string{"windows[0].size", `"fortnight"`}},
		{"window size below 1s", "windows: [{name: fast, size: 500ms, emit_interval: 5s}]",
			[]string{"windows[0].size", `"500ms"`}},
		{"window names duplicate", `windows:
  - {name: daily, size: day, emit_interval: 5s}
  - {name: daily, size: 24h, emit_interval: 5s}`,
			[]string{"windows[1].name", `"daily"`, "windows[0]"}},
		{"window name invalid", "windows: [{name: Daily, size: day, emit_interval: 5s}]",
			[]string{"windows[0].name", `"Daily"`}},
		{"window time zone unknown", "windows: [{name: daily, size: day, timezone: Europe/Berlinn, emit_interval: 5s}]",
			[]string{"windows[0].timezone", `"Europe/Berlinn"`}},
		{"fixed window in local zone", "windows: [{name: hourly, size: 1h, timezone: Europe/Berlin, emit_interval: 5s}]",
			[]string{"windows[0].timezone", `"Europe/Berlin"`}},
		{"allowed lateness negative", "windows: [{name: daily, size: day, allowed_lateness: -1m, emit_interval: 5s}]",
			[]string{"windows[0].allowed_lateness", "-1m0s"}},
		{"emit interval zero", "windows: [{name: daily, size: day, emit_interval: 0s}]",
			[]string{"windows[0].emit_interval", "0s"}},
		{"http listen without port", "http: {listen: localhost}",
			[]string{"http.listen", `"localhost"`}},
		{"log level unknown", "log: {level: verbose}",
			[]string{"log.level", `"verbose"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configs.Load(writeConfig(t, tc.yaml), nil)
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	path := writeConfig(t, `
postgres: {dsn: ""}
log: {level: loud}
`)
	_, err := configs.Load(path, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "postgres.dsn")
	assert.Contains(t, err.Error(), "log.level")
}

// NOTE: the decoder's error names the setting but not the value: it reads
// "'kafka.session_timeout' time: invalid duration" for "ten".
func TestLoadDurationNotParsable(t *testing.T) {
	path := writeConfig(t, "kafka: {session_timeout: ten}")
	_, err := configs.Load(path, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kafka.session_timeout")
	assert.Contains(t, err.Error(), "invalid duration")
}

func TestEnvOverrides(t *testing.T) {
	environ := []string{
		"GAMESTREAM_POSTGRES_DSN=postgres://gamestream@db:5432/gamestream?sslmode=disable",
		"GAMESTREAM_KAFKA_BROKERS=a:1,b:2",
		"GAMESTREAM_EVENTS_RATES_EUR=1.10",
		"GAMESTREAM_EVENTS_RATES_PLN=0.25",
		"GAMESTREAM_PROCESSOR_BATCH_SIZE=250",
		"GAMESTREAM_WATERMARK_IDLE_TIMEOUT=2m",
		"PATH=/usr/bin",
	}
	cfg, err := configs.Load("", environ)
	require.NoError(t, err)

	assert.Equal(t, "postgres://gamestream@db:5432/gamestream?sslmode=disable", cfg.Postgres.DSN)
	assert.Equal(t, []string{"a:1", "b:2"}, cfg.Kafka.Brokers)
	assert.Equal(t, "1.10", cfg.Events.Rates["EUR"])
	assert.Equal(t, "0.25", cfg.Events.Rates["PLN"])
	assert.Equal(t, "1.27", cfg.Events.Rates["GBP"], "a rate without a variable keeps its default")
	assert.Equal(t, 250, cfg.Processor.BatchSize)
	assert.Equal(t, 2*time.Minute, cfg.Watermark.IdleTimeout)
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeConfig(t, "processor: {batch_size: 100}")
	cfg, err := configs.Load(path, []string{"GAMESTREAM_PROCESSOR_BATCH_SIZE=300"})
	require.NoError(t, err)
	assert.Equal(t, 300, cfg.Processor.BatchSize)
}

func TestEnvBrokerListTrimsSpaces(t *testing.T) {
	cfg, err := configs.Load("", []string{"GAMESTREAM_KAFKA_BROKERS= a:1 , ,b:2 "})
	require.NoError(t, err)
	assert.Equal(t, []string{"a:1", "b:2"}, cfg.Kafka.Brokers)
}

func TestEnvValueValidated(t *testing.T) {
	_, err := configs.Load("", []string{"GAMESTREAM_PROCESSOR_BATCH_SIZE=0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "processor.batch_size")
}

func TestEnvUnknownVariableRejected(t *testing.T) {
	_, err := configs.Load("", []string{
		"GAMESTREAM_MYSQL_DSN=gamestream:secret@tcp(db:3306)/gamestream",
		"GAMESTREAM_KAFKA_BROKER=a:1",
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GAMESTREAM_KAFKA_BROKER")
	assert.NotContains(t, err.Error(), "GAMESTREAM_MYSQL_DSN", "a known variable is not reported")
	assert.NotContains(t, err.Error(), "secret", "the error must not show values")
}

func TestEnvTestVariablesIgnored(t *testing.T) {
	cfg, err := configs.Load("", []string{
		"GAMESTREAM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test",
		"GAMESTREAM_TEST_ANYTHING=1",
	})
	require.NoError(t, err)
	assert.Equal(t, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", cfg.Postgres.DSN)
}

func TestExampleBerlinDaily(t *testing.T) {
	cfg, err := configs.Load(filepath.Join("examples", "berlin-daily.yaml"), nil)
	require.NoError(t, err)
	specs, err := windows.ValidateSpecs(cfg.Windows)
	require.NoError(t, err)

	byName := map[string]windows.Spec{}
	for _, spec := range specs {
		byName[spec.Name] = spec
	}
	require.Contains(t, byName, "daily_berlin")
	require.Contains(t, byName, "weekly_berlin")
	require.Contains(t, byName, "monthly_new_york")
	assert.Positive(t, byName["daily_berlin"].AllowedLateness)
	assert.Positive(t, byName["daily_berlin"].EmitInterval)

	// The window bounds that the comments of the example file quote.
	utc := func(s string) time.Time {
		parsed, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return parsed
	}
	bounds := []struct {
		spec       string
		event      string
		start, end string
	}{
		{"daily_berlin", "2024-03-31T12:00:00Z", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"daily_berlin", "2024-10-27T12:00:00Z", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
		{"weekly_berlin", "2024-03-27T12:00:00Z", "2024-03-24T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"monthly_new_york", "2024-03-15T12:00:00Z", "2024-03-01T05:00:00Z", "2024-04-01T04:00:00Z"},
	}
	for _, b := range bounds {
		start, end := byName[b.spec].Assign(utc(b.event))
		assert.Equal(t, utc(b.start), start, "%s window of %s", b.spec, b.event)
		assert.Equal(t, utc(b.end), end, "%s window of %s", b.spec, b.event)
	}
	start, end := byName["daily_berlin"].Assign(utc("2024-03-31T12:00:00Z"))
	assert.Equal(t, 23*time.Hour, end.Sub(start), "length of the Berlin day when clocks go forward")
}

func TestExampleMixedTopic(t *testing.T) {
	cfg, err := configs.Load(filepath.Join("examples", "mixed-topic.yaml"), nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]handlers.Kind{"game.events": ""}, cfg.Topics())
	assert.Equal(t, []string{"game.events"}, cfg.Kafka.MixedTopics)
	assert.Equal(t, "game.dlq", cfg.Kafka.DeadLetterTopic)
}

// composeService returns the service called name from the repository's
// docker-compose.yml.
func composeService(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	require.NoError(t, err)
	doc, err := yaml.Parser().Unmarshal(raw)
	require.NoError(t, err, "docker-compose.yml is not valid YAML")
	services, ok := doc["services"].(map[string]any)
	require.True(t, ok, "docker-compose.yml has no services map")
	service, ok := services[name].(map[string]any)
	require.True(t, ok, "docker-compose.yml has no service %q", name)
	return service
}

// TestComposeEnvironmentLoads checks that the GAMESTREAM_* variables of the
// processor in docker-compose.yml are settings that Load accepts, alone and
// on top of an example file.
func TestComposeEnvironmentLoads(t *testing.T) {
	env, ok := composeService(t, "gamestream")["environment"].(map[string]any)
	require.True(t, ok, "the gamestream service has no environment map")
	var environ []string
	for name, value := range env {
		environ = append(environ, name+"="+fmt.Sprint(value))
	}

	cfg, err := configs.Load("", environ)
	require.NoError(t, err)
	assert.Equal(t, []string{"kafka:9092"}, cfg.Kafka.Brokers)
	assert.True(t, strings.HasPrefix(cfg.Postgres.DSN, "postgres://"), "postgres.dsn %q", cfg.Postgres.DSN)
	assert.Contains(t, cfg.MySQL.DSN, "@tcp(mysql:3306)/gamestream")
	assert.Equal(t, "0.0.0.0:9464", cfg.HTTP.Listen)
	assert.Equal(t, "/var/lib/gamestream/state", cfg.State.Dir)

	_, err = configs.Load(filepath.Join("examples", "berlin-daily.yaml"), environ)
	require.NoError(t, err)
}

// TestComposeCreatesTopics checks that the kafka-init service creates every
// topic of the default configuration, because the broker of
// docker-compose.yml does not create topics on first use.
func TestComposeCreatesTopics(t *testing.T) {
	command, ok := composeService(t, "kafka-init")["command"].([]any)
	require.True(t, ok, "the kafka-init service has no command list")
	script := fmt.Sprint(command...)

	cfg, err := configs.Load("", nil)
	require.NoError(t, err)
	for topic := range cfg.Topics() {
		assert.Contains(t, script, "create "+topic+" 6")
	}
	assert.Contains(t, script, "create "+cfg.Kafka.DeadLetterTopic+" 1")
}
