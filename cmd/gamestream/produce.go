package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/loadgen"
)

func newProduceCommand(flags *globalFlags) *cobra.Command {
	gen := loadgen.DefaultGeneratorConfig()
	var generate bool
	cmd := &cobra.Command{
		Use:   "produce [FILE.ndjson ...]",
		Short: "Publish NDJSON event files, or generated events, to the configured topics",
		Long: `Produce publishes each line of the files as one Kafka record keyed by its uid,
to the topic of its "type" (kafka.topics), or to the first of
kafka.mixed_topics when that is set. With --generate it publishes synthetic
events instead.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !generate {
				return fmt.Errorf("give NDJSON files to publish, or --generate")
			}
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			mixed := ""
			if len(cfg.Kafka.MixedTopics) > 0 {
				mixed = cfg.Kafka.MixedTopics[0]
			}
			out := cmd.OutOrStdout()
			pub, err := loadgen.NewPublisher(loadgen.PublishConfig{
				Brokers:    cfg.Kafka.Brokers,
				Topics:     cfg.Kafka.Topics,
				MixedTopic: mixed,
				Progress:   func(n int64) { fmt.Fprintf(out, "published %d\n", n) },
			})
			if err != nil {
				return err
			}
			defer pub.Close()

			start := time.Now()
			var n int64
			if generate {
				n, err = pub.Publish(cmd.Context(), func(yield func([]byte) bool) {
					_ = loadgen.Generate(gen, func(line []byte) error {
						if !yield(line) {
							return fmt.Errorf("publishing stopped")
						}
						return nil
					})
				})
			} else {
				n, err = pub.PublishFiles(cmd.Context(), args...)
			}
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			fmt.Fprintf(out, "published %d records in %s (%.0f records/s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
			return nil
		},
	}
	cmd.Flags().BoolVar(&generate, "generate", false, "publish generated events instead of files")
	cmd.Flags().IntVar(&gen.Events, "events", gen.Events, "number of generated events")
	cmd.Flags().IntVar(&gen.Users, "users", gen.Users, "number of generated users")
	cmd.Flags().Int64Var(&gen.Seed, "seed", gen.Seed, "seed of the generated events")
	return cmd
}
