package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/demo"
	"github.com/gamestream/gamestream/loadgen"
)

// sharedDataDir is the folder of the real game data beside a checkout.
const sharedDataDir = "../shared/data"

func newDemoCommand(flags *globalFlags) *cobra.Command {
	gen := loadgen.DefaultGeneratorConfig()
	var partitions int32
	var idle time.Duration
	var generate, replay bool
	cmd := &cobra.Command{
		Use:   "demo [FILE.ndjson ...]",
		Short: "Run the whole pipeline on this machine with an in-process Kafka broker",
		Long: `Demo starts an in-process Kafka-protocol broker on 127.0.0.1, recreates the
database gamestream_demo on the configured PostgreSQL and MySQL servers,
runs the processor, publishes the given NDJSON files (default: the real game
data in ../shared/data when present, otherwise generated events), waits until
the input is drained and every window is final, and prints a summary.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			files := args
			if len(files) == 0 && !generate {
				files = demo.SharedDataFiles(sharedDataDir)
			}
			for _, f := range files {
				if _, err := os.Stat(f); err != nil {
					return fmt.Errorf("reading input file: %w", err)
				}
			}
			cfg.Watermark.IdleTimeout = idle
			cfg.Processor.CommitInterval = 500 * time.Millisecond
			cfg.HTTP.Listen = "127.0.0.1:0"
			logger := newLogger(cfg.Log.Level)

			sum, err := demo.Run(cmd.Context(), demo.Config{
				Files:      files,
				Generator:  gen,
				Partitions: partitions,
				Base:       cfg,
				Out:        cmd.OutOrStdout(),
				Logger:     logger,
				Replay:     replay,
			})
			if err != nil {
				return err
			}
			sum.Print(cmd.OutOrStdout())
			if !sum.Consistent() {
				return fmt.Errorf("the MySQL totals differ from the vault; see the summary above")
			}
			return nil
		},
	}
	cmd.Flags().Int32Var(&partitions, "partitions", 4, "partitions of each input topic")
	cmd.Flags().DurationVar(&idle, "idle-timeout", 2*time.Second, "watermark idle timeout; the last windows close this long after the input ends")
	cmd.Flags().BoolVar(&generate, "generate", false, "publish generated events even when ../shared/data exists")
	cmd.Flags().BoolVar(&replay, "replay", false,
		"after the first pass, run `gamestream replay` from the log start and compare MySQL before and after it")
	cmd.Flags().IntVar(&gen.Events, "events", gen.Events, "generated events, with --generate or when no file is given and ../shared/data is absent")
	cmd.Flags().IntVar(&gen.Users, "users", gen.Users, "generated users")
	cmd.Flags().Int64Var(&gen.Seed, "seed", gen.Seed, "seed of the generated events")
	return cmd
}
