package faults

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// broker is a single kfake broker on a fixed port of 127.0.0.1. With a data
// directory it keeps its log, offsets and groups across restart.
type broker struct {
	t          *testing.T
	port       int
	dataDir    string
	partitions int32
	topics     []string
	cluster    *kfake.Cluster
}

// startBroker starts a broker with every topic created with the given number
// of partitions. dataDir may be empty, which keeps the log in memory only.
func startBroker(t *testing.T, partitions int32, dataDir string, topics ...string) *broker {
	t.Helper()
	b := &broker{t: t, port: freePort(t), dataDir: dataDir, partitions: partitions, topics: topics}
	if err := b.open(); err != nil {
		t.Fatalf("starting the kfake broker on 127.0.0.1:%d failed: %v", b.port, err)
	}
	t.Cleanup(b.close)
	return b
}

func (b *broker) open() error {
	opts := []kfake.Opt{
		kfake.Ports(b.port),
		kfake.SeedTopics(b.partitions, b.topics...),
		kfake.DefaultNumPartitions(int(b.partitions)),
		kfake.GroupMinSessionTimeout(time.Second),
	}
	if b.dataDir != "" {
		opts = append(opts, kfake.DataDir(b.dataDir))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	b.cluster = cluster
	return nil
}

// addr returns the broker's host:port.
func (b *broker) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

func (b *broker) close() {
	if b.cluster != nil {
		b.cluster.Close()
		b.cluster = nil
	}
}

// restart closes the broker, waits for down and starts it again on the same
// port and data directory. Starting is retried for up to 10 s because the
// port can stay bound for a moment after the close.
func (b *broker) restart(down time.Duration) {
	b.t.Helper()
	b.close()
	time.Sleep(down)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := b.open()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("restarting the kfake broker on %s with data directory %s failed: %v", b.addr(), b.dataDir, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port on 127.0.0.1 failed: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
