// Command gamestream is the game-telemetry stream processor and its
// operator tools: run, demo, produce, migrate.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // IANA zones for window specs on machines without a zone database

	"github.com/spf13/cobra"

	"github.com/gamestream/gamestream/configs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := newRootCommand()
	if err := root.ExecuteContext(ctx); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "gamestream:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status other than 1 without printing.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

type globalFlags struct {
	configPath string
	cpuProfile string
}

func newRootCommand() *cobra.Command {
	flags := &globalFlags{}
	root := &cobra.Command{
		Use:           "gamestream",
		Short:         "Stream processor for game telemetry: Kafka to a PostgreSQL vault, windows and MySQL reports",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&flags.configPath, "config", "c", "",
		"YAML configuration file; settings missing from it keep their defaults (see configs/gamestream.yaml)")
	root.PersistentFlags().StringVar(&flags.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return flags.startProfile() }
	root.PersistentPostRun = func(*cobra.Command, []string) { pprof.StopCPUProfile() }
	root.AddCommand(
		newRunCommand(flags),
		newMigrateCommand(flags),
		newProduceCommand(flags),
		newDemoCommand(flags),
		newReconcileCommand(flags),
		newReplayCommand(flags),
	)
	return root
}

func (f *globalFlags) startProfile() error {
	if f.cpuProfile == "" {
		return nil
	}
	out, err := os.Create(f.cpuProfile)
	if err != nil {
		return fmt.Errorf("creating CPU profile: %w", err)
	}
	return pprof.StartCPUProfile(out)
}

func (f *globalFlags) load() (*configs.Config, error) {
	return configs.Load(f.configPath, os.Environ())
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
